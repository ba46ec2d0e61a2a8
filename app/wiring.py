"""Which feature sits on which seam, in execution order (our krakend-ce).

The only module that imports every feature package.  Each list holds
``from_config`` functions; a function returns ``None`` when its namespace
is absent, so an unconfigured feature adds nothing to the stack.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from app.auth import validator
from app.config.model import EndpointConfig, ServiceConfig
from app.deps import GatewayDeps
from app.proxy import decoding
from app.proxy.factory import ExecutorFeature, ProxyFeature
from app.router import render
from app.router.handler import View

ViewDecorator = Callable[[View], View]
ViewFeature = Callable[[EndpointConfig, GatewayDeps], Optional[ViewDecorator]]

#: Flask-view seam, outermost first: JWT validation runs before anything
#: spends a rate-limit token (as in KrakenD CE).
VIEW_FEATURES: Sequence[ViewFeature] = (
    validator.from_config,
)

#: Proxy seam per backend, outermost first (circuit breaker, proxy rate limit: to come).
PROXY_FEATURES: Sequence[ProxyFeature] = ()

#: Executor seam per backend, outermost first (martian, http cache: to come).
EXECUTOR_FEATURES: Sequence[ExecutorFeature] = ()


def view_decorators(endpoint: EndpointConfig, deps: GatewayDeps) -> list[ViewDecorator]:
    """The configured view decorators of an endpoint, innermost first (apply in order)."""
    decorators = [feature(endpoint, deps) for feature in reversed(VIEW_FEATURES)]
    return [d for d in decorators if d is not None]


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
