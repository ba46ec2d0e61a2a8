"""Which feature sits on which seam, in execution order (our krakend-ce).

The only module that imports every feature package.  Each list holds
``from_config`` functions; a function returns ``None`` when its namespace
is absent, so an unconfigured feature adds nothing to the stack.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from app.auth import signer, validator
from app.lua import endpoint as lua_endpoint
from app.lua import proxy as lua_proxy
from app.lua import service as lua_service
from app.modifiers import martian
from app.qos import circuit_breaker, http_cache, ratelimit_proxy, ratelimit_router
from app.config.model import EndpointConfig, ServiceConfig
from app.deps import GatewayDeps
from app.errors import ConfigError, ConfigErrors, collect
from app.proxy import decoding
from app.proxy.factory import EndpointFeature, ExecutorFeature, ProxyFeature
from app.router import render
from app.router.handler import View
from app.security import botdetector, cors
from app.validation import cel, jsonschema

ViewDecorator = Callable[[View], View]
ViewFeature = Callable[[EndpointConfig, GatewayDeps], Optional[ViewDecorator]]
#: A WSGI application (``app.wsgi_app``) and a service-level feature wrapping it.
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]
WSGIFeature = Callable[[ServiceConfig, GatewayDeps], Optional[Callable[[WSGIApp], WSGIApp]]]

#: Around the whole Flask app, outermost first: what KrakenD runs before
#: routing, for every path (unknown ones and ``/__health`` included).  CORS
#: wraps everything (preflights end there); then KrakenD's global router
#: middlewares in krakend-ce's ``NewEngine`` order: the service-level Lua
#: script (``lua.Register``), then the bot detector (``botdetector.Register``).
WSGI_FEATURES: Sequence[WSGIFeature] = (
    cors.from_config,
    lua_service.from_config,
    botdetector.service_from_config,
)

#: Flask-view seam, outermost first: the endpoint bot detector sits outside
#: metrics and JWT (krakend-ce's handler factory), and JWT validation runs
#: before anything spends a rate-limit token (as in KrakenD CE); CEL's JWT
#: rejecter runs right after validation, as krakend-jose calls it, then the JWT
#: signer (krakend-jose's handler factory), which renders the endpoint's answer
#: itself but keeps the rate limit inside it.
VIEW_FEATURES: Sequence[ViewFeature] = (
    botdetector.from_config,
    lambda endpoint, deps: deps.metrics.view if deps.metrics is not None else None,
    lambda endpoint, deps: deps.tracing.view(endpoint) if deps.tracing is not None else None,
    validator.from_config,
    cel.token_from_config,
    signer.from_config,
    lua_endpoint.from_config,
    ratelimit_router.from_config,
)

#: Proxy seam per endpoint, outermost first, around the merge (and static
#: data): krakend-ce's proxy factory order; CEL is the outermost.
ENDPOINT_FEATURES: Sequence[EndpointFeature] = (
    cel.from_config,
    lua_proxy.endpoint_from_config,
    jsonschema.from_config,
)

#: Proxy seam per backend, outermost first: the breaker wraps the backend
#: rate limit, so its refusals count as failures (as in KrakenD).
PROXY_FEATURES: Sequence[ProxyFeature] = (
    lambda backend, deps: deps.metrics.backend_layer(backend) if deps.metrics is not None else None,
    lambda backend, deps: deps.tracing.backend_layer(backend) if deps.tracing is not None else None,
    circuit_breaker.from_config,
    ratelimit_proxy.from_config,
    lua_proxy.backend_from_config,
    cel.backend_from_config,
)

#: Executor seam per backend, outermost first: request modifiers run before the
#: cache lookup (the key sees what is really sent), response modifiers after it.
EXECUTOR_FEATURES: Sequence[ExecutorFeature] = (
    martian.from_config,
    http_cache.from_config,
    lambda backend, deps: deps.metrics.client_layer(backend) if deps.metrics is not None else None,
)


def view_decorators(endpoint: EndpointConfig, deps: GatewayDeps) -> list[ViewDecorator]:
    """The configured view decorators of an endpoint, innermost first (apply in order)."""
    decorators = [feature(endpoint, deps) for feature in reversed(VIEW_FEATURES)]
    return [d for d in decorators if d is not None]


def wrap_wsgi(app: WSGIApp, service: ServiceConfig, deps: GatewayDeps) -> WSGIApp:
    """``app`` inside the configured service-level WSGI features.

    Every feature is built before any error is raised, so ``propylon check``
    reports the problems of all of them in one pass.
    """
    errors: list[ConfigError] = []
    for feature in reversed(WSGI_FEATURES):
        wrap = collect(errors, lambda: feature(service, deps))
        if wrap is not None:
            app = wrap(app)
    if errors:
        raise ConfigErrors(errors[::-1])  # in config order: outermost feature first
    return app


def service_warnings(service: ServiceConfig) -> list[str]:
    """Non-fatal findings: the config's own plus encodings Propylon does not implement yet."""
    warnings = list(service.warnings)
    for endpoint in service.endpoints:
        if endpoint.output_encoding not in render.IMPLEMENTED:
            warnings.append(f"{endpoint.path}.output_encoding: {endpoint.output_encoding!r} is not implemented; "
                            "answers are rendered as json")
        for backend in endpoint.backends:
            if backend.encoding not in decoding.IMPLEMENTED:
                warnings.append(f"{backend.path}.encoding: {backend.encoding!r} is not implemented; "
                                "the body is decoded as json")
    return warnings


def shared_state_warnings(service: ServiceConfig, workers: int, storage_url: str) -> list[str]:
    """What per-worker state means when several workers run without ``GATEWAY_STORAGE_URL``."""
    if storage_url or workers < 2:
        return []
    warnings = []
    for endpoint in service.endpoints:
        if ratelimit_router.NAMESPACE in endpoint.extra_config:
            warnings.append(f"{endpoint.path}.extra_config.{ratelimit_router.NAMESPACE}: limits are per worker; "
                            f"with {workers} workers this endpoint admits up to {workers} times its limit "
                            "(set GATEWAY_STORAGE_URL to share them)")
        for backend in endpoint.backends:
            for namespace in (ratelimit_proxy.NAMESPACE, circuit_breaker.NAMESPACE):
                if namespace in backend.extra_config:
                    warnings.append(f"{backend.path}.extra_config.{namespace}: state is per worker "
                                    f"({workers} workers; set GATEWAY_STORAGE_URL to share it)")
    return warnings
