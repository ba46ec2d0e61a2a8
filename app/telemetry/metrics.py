"""Prometheus metrics, named as KrakenD's OpenTelemetry exporter names them.

Configured by ``telemetry/opentelemetry`` (``exporters.prometheus``) or
``telemetry/metrics`` (``listen_address``); see ``app.telemetry.listeners``
for where they are served.  Measured (Prometheus names):

* ``propylon_http_request_duration_seconds{method, http_route, status}`` and
  ``propylon_http_request_total``: every request of an endpoint, by the
  endpoint template (never the raw path), from prometheus-flask-exporter;
* ``http_server_active_requests``: requests in flight (summed over workers);
* ``krakend_proxy_duration{http_request_method, http_route, complete, error}``:
  the endpoint pipe (all backends, merge, shaping);
* ``krakend_backend_duration{http_request_method, http_route (url_pattern),
  krakend_endpoint_route, krakend_endpoint_method, complete, error}``: one
  backend, breaker and limits included;
* ``http_client_duration{..., http_response_status_code}`` and
  ``http_client_request_failed_total``: the network round trip;
* ``propylon_ratelimit_rejections_total{http_route, limit}``,
  ``propylon_http_cache_requests_total{backend, result}``,
  ``propylon_circuit_breaker_state{backend, name}`` (0 closed, 1 half-open,
  2 open; the worst worker) and ``propylon_jwks_fetches_total{result}``.

Durations are seconds.  ``/__health``, ``/__debug/`` and ``/__echo/`` are not
counted (KrakenD's ``skip_paths``).  Under gunicorn the values live in
prometheus_client's multiprocess files, so one scrape sums every worker.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable, Optional

from flask import Flask
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornPrometheusMetrics

from app.config.model import BackendConfig, EndpointConfig
from app.errors import BackendStatusError, GatewayError
from app.proxy.model import Executor, Middleware, Proxy, ProxyRequest, ProxyResponse, WireRequest, WireResponse
from app.telemetry.listeners import MetricsSettings

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}
SKIPPED = ("/__health", "/__debug", "/__echo")


class Metrics:
    """The metrics of one app (one worker); see the module docstring."""

    def __init__(self, settings: MetricsSettings, registry: Optional[CollectorRegistry] = None) -> None:
        self.settings = settings
        self.registry = registry or CollectorRegistry()
        self.routes: dict[str, str] = {}   # Flask endpoint name -> KrakenD template
        r = self.registry
        self.active = Gauge("http_server_active_requests", "Requests being served", registry=r,
                            multiprocess_mode="livesum")
        self.proxy_duration = Histogram("krakend_proxy_duration", "Endpoint pipe duration in seconds",
                                        ["http_request_method", "http_route", "complete", "error"],
                                        registry=r, buckets=BUCKETS)
        self.backend_duration = Histogram(
            "krakend_backend_duration", "Backend duration in seconds",
            ["http_request_method", "http_route", "krakend_endpoint_route", "krakend_endpoint_method", "complete",
             "error"], registry=r, buckets=BUCKETS)
        self.client_duration = Histogram(
            "http_client_duration", "Backend round trip in seconds",
            ["http_request_method", "http_route", "krakend_endpoint_route", "http_response_status_code"],
            registry=r, buckets=BUCKETS)
        self.client_failed = Counter("http_client_request_failed", "Backend calls without an answer",
                                     ["http_request_method", "http_route", "krakend_endpoint_route"], registry=r)
        self.ratelimit = Counter("propylon_ratelimit_rejections", "Requests refused by a rate limit",
                                 ["http_route", "limit"], registry=r)
        self.cache = Counter("propylon_http_cache_requests", "Backend cache lookups", ["backend", "result"],
                             registry=r)
        self.breaker = Gauge("propylon_circuit_breaker_state", "0 closed, 1 half-open, 2 open",
                             ["backend", "name"], registry=r, multiprocess_mode="livemax")
        self.jwks = Counter("propylon_jwks_fetches", "JWK set downloads", ["result"], registry=r)

    def install(self, app: Flask) -> None:
        """Request metrics for every endpoint through prometheus-flask-exporter (no route on the public port)."""
        if not self.settings.router:
            return
        routes = self.routes

        def http_route(req: Any) -> str:
            """The KrakenD endpoint template of the request (prometheus-flask-exporter's group_by)."""
            rule = req.url_rule
            return routes.get(rule.endpoint, rule.rule) if rule is not None else "__unmatched__"
        options: dict[str, Any] = dict(registry=self.registry, defaults_prefix="propylon", group_by=http_route,
                                       excluded_paths=[f"^{p}" for p in SKIPPED], buckets=BUCKETS)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            GunicornPrometheusMetrics(app, **options)
        else:
            PrometheusMetrics(app, path=None, **options)

    def view(self, view: Callable[..., Any]) -> Callable[..., Any]:
        active = self.active

        def with_active_gauge(**variables: str) -> Any:
            active.inc()
            try:
                return view(**variables)
            finally:
                active.dec()
        return with_active_gauge

    def endpoint_proxy(self, endpoint: EndpointConfig, inner: Proxy) -> Proxy:
        if not self.settings.proxy:
            return inner
        histogram, method, route = self.proxy_duration, endpoint.method, endpoint.endpoint

        def with_proxy_metrics(req: ProxyRequest) -> ProxyResponse:
            started = time.perf_counter()
            try:
                response = inner(req)
            except GatewayError:
                histogram.labels(method, route, "false", "true").observe(time.perf_counter() - started)
                raise
            histogram.labels(method, route, str(response.is_complete).lower(),
                             str(bool(response.errors)).lower()).observe(time.perf_counter() - started)
            return response
        return with_proxy_metrics

    def backend_layer(self, backend: BackendConfig) -> Optional[Middleware]:
        if not self.settings.backend:
            return None
        method, _, route = backend.owner.partition(" ")
        labels = (backend.method, backend.label, route, method)
        histogram = self.backend_duration

        def middleware(inner: Proxy) -> Proxy:
            def with_backend_metrics(req: ProxyRequest) -> ProxyResponse:
                started = time.perf_counter()
                try:
                    response = inner(req)
                except GatewayError:
                    histogram.labels(*labels, "false", "true").observe(time.perf_counter() - started)
                    raise
                histogram.labels(*labels, str(response.is_complete).lower(), "false").observe(
                    time.perf_counter() - started)
                return response
            return with_backend_metrics
        return middleware

    def client_layer(self, backend: BackendConfig) -> Optional[Callable[[Executor], Executor]]:
        if not self.settings.backend:
            return None
        labels = (backend.method, backend.label, backend.owner.partition(" ")[2])
        histogram, failed = self.client_duration, self.client_failed

        def decorate(inner: Executor) -> Executor:
            def with_client_metrics(wire: WireRequest, deadline: float) -> WireResponse:
                started = time.perf_counter()
                try:
                    response = inner(wire, deadline)
                except BackendStatusError:
                    raise
                except GatewayError:
                    failed.labels(*labels).inc()
                    raise
                histogram.labels(*labels, str(response.status)).observe(time.perf_counter() - started)
                return response
            return with_client_metrics
        return decorate
