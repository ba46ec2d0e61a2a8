"""Which feature sits on which seam, in execution order (our krakend-ce).

The only module that imports every feature package.  Each list holds
``from_config`` functions; a function returns ``None`` when its namespace
is absent, so an unconfigured feature adds nothing to the stack.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from app.auth import validator
from app.config.model import EndpointConfig
from app.deps import GatewayDeps
from app.proxy.factory import ExecutorFeature, ProxyFeature
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


def decorate_view(view: View, endpoint: EndpointConfig, deps: GatewayDeps) -> View:
    """Wrap an endpoint view with every configured view feature (outermost first)."""
    for feature in reversed(VIEW_FEATURES):
        decorator = feature(endpoint, deps)
        if decorator is not None:
            view = decorator(view)
    return view
