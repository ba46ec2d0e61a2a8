"""Propylon: a KrakenD-compatible API gateway on Flask and gunicorn.

``create_app`` is the app factory: it loads the configuration, builds every
endpoint stack once (failing fast with JSON paths) and registers the views.
"""
from __future__ import annotations

import logging
import time
from typing import Optional

from flask import Flask, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app import config as config_pkg
from app import wiring
from app.config.model import ServiceConfig
from app.config.namespaces import is_known
from app.deps import GatewayDeps
from app.errors import ConfigError, ConfigErrors, collect
from app.proxy.factory import build_endpoint_proxy
from app.router import builtin, options
from app.router.handler import build_view, param_names
from app.router.registration import GatewayFlask
from app.router.render import plain
from app.router.routes import Route, check_conflicts, to_werkzeug
from app.settings import Settings
from app.telemetry import listeners, tracing
from app.router.clientip import client_ip
from app.router.handler import REQUEST_ID_KEY
from app.telemetry.logging import REQUEST_ID, LoggingSettings, configure_logging, request_id
from app.telemetry.metrics import Metrics

log = logging.getLogger("propylon")


def create_app(settings: Optional[Settings] = None, service: Optional[ServiceConfig] = None,
               strict: bool = False) -> Flask:
    """Build the gateway for ``service`` (default: the file named by ``GATEWAY_CONFIG``).

    Raises ``ConfigError`` (with JSON paths) when the configuration cannot be
    served.  ``strict`` (the checker) also raises for problems that the
    running gateway answers by failing closed, such as a broken JWT validator.
    """
    settings = settings or Settings.from_env()
    service = service or config_pkg.load(settings.config_path)
    log_options = configure_logging(settings, service.extra_config)
    deps = GatewayDeps.create(settings, strict=strict)
    app = GatewayFlask("propylon", static_folder=None)
    app.url_map.merge_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    app.config["PROPYLON_SERVICE"] = service
    app.config["PROPYLON_DEPS"] = deps
    metrics_settings = listeners.parse(service.extra_config)
    if metrics_settings is not None:
        deps.metrics = Metrics(metrics_settings)
        deps.metrics.install(app)
    trace_settings = tracing.parse(service.extra_config.get(tracing.NAMESPACE), service.name)
    if trace_settings is not None:
        deps.tracing = tracing.Tracing(trace_settings)
    router = options.from_config(service.extra_config)
    raw_router = service.extra_config.get(options.NAMESPACE)
    if isinstance(raw_router, dict):
        deps.warn_unknown_keys(raw_router, options.KEYS | options.IGNORED, f"extra_config.{options.NAMESPACE}")
        deps.warnings.extend(f"extra_config.router.{key}: accepted but not implemented by Propylon"
                             + (" (client IPs come from GATEWAY_TRUSTED_PROXIES)" if "ip" in key or "prox" in key
                                else "")
                             for key in sorted(options.IGNORED & raw_router.keys()))
    app.router_settings = router
    routes = _register_builtins(app, service, settings, router)
    errors: list[ConfigError] = []
    for index, endpoint in enumerate(service.endpoints):
        before = len(errors)
        proxy = collect(errors, lambda: build_endpoint_proxy(
            endpoint, deps, wiring.EXECUTOR_FEATURES, wiring.PROXY_FEATURES, wiring.ENDPOINT_FEATURES))
        decorate = collect(errors, lambda: wiring.view_decorators(endpoint, deps))
        if len(errors) > before or proxy is None or decorate is None:
            continue
        if deps.metrics is not None:
            proxy = deps.metrics.endpoint_proxy(endpoint, proxy)
            deps.metrics.routes[f"endpoint-{index}"] = endpoint.endpoint
        view = build_view(endpoint, proxy, router, settings)
        for decorator in decorate:
            view = decorator(view)
        routes.append(Route(endpoint.method, endpoint.endpoint, endpoint.path))
        app.add_url_rule(to_werkzeug(endpoint.endpoint, param_names(endpoint)), endpoint=f"endpoint-{index}",
                         view_func=view, methods=[endpoint.method], provide_automatic_options=False)
    wrapped = collect(errors, lambda: wiring.wrap_wsgi(app.wsgi_app, service, deps))
    try:
        check_conflicts(routes)
    except ConfigError as exc:
        errors.append(exc)
    if errors:
        raise ConfigErrors(errors)
    app.routes = tuple(routes)
    app.config["PROPYLON_WARNINGS"] = tuple(deps.warnings)
    _install_request_ids(app, log_options, router, settings)
    app.wsgi_app = wrapped  # type: ignore[method-assign,assignment]
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    _log_findings(service, deps.warnings)
    log.info("[SERVICE] %d endpoints from %s", len(service.endpoints), service.source or "<memory>")
    return app


def _register_builtins(app: GatewayFlask, service: ServiceConfig, settings: Settings,
                       router: options.RouterSettings) -> list[Route]:
    routes = []
    if not router.disable_health:
        app.add_url_rule(router.health_path, "health", builtin.health, methods=["GET"],
                         provide_automatic_options=False)
        routes.append(Route("GET", router.health_path, "extra_config.router.health_path"))
    for enabled, prefix, view in ((settings.debug or service.debug_endpoint, "/__debug", builtin.debug),
                                  (settings.debug or service.echo_endpoint, "/__echo", builtin.echo)):
        if enabled:
            for rule in (f"{prefix}/", f"{prefix}/<path:rest>"):
                app.add_url_rule(rule, f"{prefix}{rule}", view, methods=builtin.ANY_METHOD,
                                 provide_automatic_options=False)
            routes.extend(Route(m, f"{prefix}/", prefix) for m in builtin.ANY_METHOD)
    return routes


def _install_request_ids(app: Flask, log_options: Optional[LoggingSettings], router: options.RouterSettings,
                         settings: Settings) -> None:
    """A request id for every request (logs, backends, the answer) and, when asked, the access log."""
    access = logging.getLogger("propylon.access") if log_options is not None and log_options.access_log \
        and not router.disable_access_log else None
    routes = {f"endpoint-{i}": e.endpoint for i, e in enumerate(app.config["PROPYLON_SERVICE"].endpoints)}

    @app.before_request
    def start_request() -> None:
        environ = request.environ
        rid = request_id(environ.get("HTTP_X_REQUEST_ID"))
        environ[REQUEST_ID_KEY] = rid
        environ["propylon.started"] = time.perf_counter()
        REQUEST_ID.set(rid)

    @app.after_request
    def finish_request(response: Response) -> Response:
        environ = request.environ
        response.headers["X-Request-Id"] = environ.get(REQUEST_ID_KEY, "-")
        if access is not None:
            rule = request.url_rule
            route = routes.get(rule.endpoint, rule.rule) if rule is not None else "-"
            elapsed = (time.perf_counter() - environ.get("propylon.started", time.perf_counter())) * 1000
            access.info("%s %s %s %d %.1fms %s", request.method, request.path, route, response.status_code,
                        elapsed, client_ip(environ, settings.trusted_proxies))
        return response


def _http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    return plain(code, f"{code} {(exc.name or 'error').lower()}".encode())


def _unexpected_error(exc: Exception) -> Response:
    log.exception("unexpected error while serving a request")
    return plain(500, b"500 internal server error")


def _log_findings(service: ServiceConfig, build_warnings: list[str]) -> None:
    """Ignored namespaces once per namespace (with where), then every warning."""
    places: dict[str, list[str]] = {}
    for path, namespace in service.ignored_namespaces:
        places.setdefault(namespace, []).append(path)
    for namespace, paths in places.items():
        if is_known(namespace):
            log.info("[SERVICE] namespace %s is not implemented by Propylon; ignored at %s", namespace,
                     ", ".join(paths))
        else:
            log.warning("[SERVICE] unknown namespace %s (not a KrakenD namespace: a typo?); ignored at %s",
                        namespace, ", ".join(paths))
    for warning in wiring.service_warnings(service) + build_warnings:
        log.warning("[SERVICE] %s", warning)
