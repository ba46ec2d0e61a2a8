"""OpenTelemetry traces: a span per endpoint request and one per backend call, exported over OTLP.

Namespace ``telemetry/opentelemetry`` at the top level::

    "telemetry/opentelemetry": {
        "service_name": "gateway", "trace_sample_rate": 0.25,
        "exporters": {"otlp": [{"name": "jaeger", "host": "127.0.0.1", "port": 4317, "use_http": false}]}
    }

Keys: ``service_name`` (default: the config's ``name``), ``trace_sample_rate``
(also ``sample_rate``; 0 to 1, default 1), ``exporters.otlp[]`` with ``host``,
``port`` (4317 gRPC, 4318 with ``use_http``), ``use_http`` and
``disable_traces``.  An incoming W3C ``traceparent`` is continued; every
backend call carries its own span's ``traceparent``, so backends join the
trace.  Spans leave through a batching exporter thread per worker.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from flask import request
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from app.config.model import BackendConfig, EndpointConfig
from app.errors import ConfigError, GatewayError
from app.proxy.model import Middleware, Proxy, ProxyRequest, ProxyResponse

NAMESPACE = "telemetry/opentelemetry"
TRACE_KEY = "propylon.span"
_PROPAGATOR = TraceContextTextMapPropagator()


@dataclass(frozen=True)
class OTLPExporter:
    host: str
    port: int
    use_http: bool


@dataclass(frozen=True)
class TracingSettings:
    service_name: str
    sample_rate: float
    exporters: tuple[OTLPExporter, ...]


def parse(raw: Any, service_name: str, path: str = f"extra_config.{NAMESPACE}") -> Optional[TracingSettings]:
    """The trace settings, or None when no OTLP exporter sends traces."""
    if not isinstance(raw, dict):
        return None
    rate = raw.get("trace_sample_rate", raw.get("sample_rate", 1.0))
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ConfigError(f"{path}.trace_sample_rate", f"expected a number from 0 to 1, got {rate!r}")
    exporters = []
    for i, item in enumerate((raw.get("exporters") or {}).get("otlp") or []):
        where = f"{path}.exporters.otlp[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("host"), str) or not item["host"]:
            raise ConfigError(where, "expected an object with a host")
        if item.get("disable_traces"):
            continue
        use_http = bool(item.get("use_http", False))
        port = item.get("port", 4318 if use_http else 4317)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(f"{where}.port", f"expected a port number, got {port!r}")
        exporters.append(OTLPExporter(item["host"], port, use_http))
    if not exporters:
        return None
    name = raw.get("service_name") or service_name or "propylon"
    return TracingSettings(str(name), float(rate), tuple(exporters))


def _exporter(target: OTLPExporter) -> Any:
    host = target.host if "://" in target.host else f"http://{target.host}"
    if target.use_http:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPExporter
        return HTTPExporter(endpoint=f"{host}:{target.port}/v1/traces")
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GRPCExporter
    return GRPCExporter(endpoint=f"{host}:{target.port}", insecure=host.startswith("http://"))


class Tracing:
    """One worker's tracer provider (not the process-global one: tests build many apps)."""

    def __init__(self, settings: TracingSettings) -> None:
        self.provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}),
                                       sampler=ParentBased(TraceIdRatioBased(settings.sample_rate)))
        for target in settings.exporters:
            self.provider.add_span_processor(BatchSpanProcessor(_exporter(target)))
        self.tracer = self.provider.get_tracer("propylon")

    def view(self, endpoint: EndpointConfig) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        tracer, name = self.tracer, f"{endpoint.method} {endpoint.endpoint}"
        attributes = {"http.request.method": endpoint.method, "http.route": endpoint.endpoint,
                      "krakend.stage": "global"}

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            def with_endpoint_span(**variables: str) -> Any:
                parent = _PROPAGATOR.extract(carrier=request.headers)
                with tracer.start_as_current_span(name, context=parent, kind=trace.SpanKind.SERVER,
                                                  attributes=attributes) as span:
                    request.environ[TRACE_KEY] = span
                    response = view(**variables)
                    span.set_attribute("http.response.status_code", response.status_code)
                    if response.status_code >= 500:
                        span.set_status(trace.Status(trace.StatusCode.ERROR))
                    return response
            return with_endpoint_span
        return decorate

    def backend_layer(self, backend: BackendConfig) -> Middleware:
        tracer, name = self.tracer, f"{backend.method} {backend.label}"
        attributes = {"http.request.method": backend.method, "http.route": backend.label,
                      "krakend.endpoint.route": backend.owner.partition(" ")[2], "krakend.stage": "backend"}

        def middleware(inner: Proxy) -> Proxy:
            def with_backend_span(req: ProxyRequest) -> ProxyResponse:
                parent = trace.set_span_in_context(req.trace) if req.trace is not None else None
                with tracer.start_as_current_span(name, context=parent, kind=trace.SpanKind.CLIENT,
                                                  attributes=attributes) as span:
                    carrier: dict[str, str] = {}
                    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
                    headers: Mapping[str, str] = {**req.headers, **carrier}
                    try:
                        return inner(_with_headers(req, headers))
                    except GatewayError as exc:
                        span.set_status(trace.Status(trace.StatusCode.ERROR, str(exc)))
                        raise
            return with_backend_span
        return middleware

    def shutdown(self) -> None:
        self.provider.shutdown()


def _with_headers(req: ProxyRequest, headers: Mapping[str, str]) -> ProxyRequest:
    import dataclasses
    return dataclasses.replace(req, headers=headers)
