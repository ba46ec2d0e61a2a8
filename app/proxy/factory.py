"""Stack assembly: configuration -> Proxy, in lura's order.

Backend stack, outermost first: request building (query filter,
url_pattern, balancer, header filter) -> concurrent calls -> proxy-seam
feature layers (metrics, circuit breaker, rate limit: injected) -> HTTP proxy
(status policy, decoding, shaping) over an executor chain (martian, cache:
injected) -> transport.

Endpoint stack, outermost first: static data -> endpoint flatmap -> merge
(parallel or sequential) or the single backend stack.

The feature lists are parameters so the core can be built and tested
without any feature; ``app.wiring`` supplies them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

from app.config.model import BackendConfig, EndpointConfig
from app.deps import GatewayDeps
from app.config.values import flag
from app.errors import ConfigError
from app.proxy import backend_errors, flatmap, merge, static
from app.proxy.concurrent import concurrent
from app.proxy.formatting import build_shaper
from app.proxy.http import build_http_proxy
from app.proxy.model import Executor, Middleware, Proxy, ProxyRequest, ProxyResponse
from app.proxy.request_builder import build_request_layer

#: ``from_config(backend, deps) -> decorator | None`` for each seam.
ExecutorFeature = Callable[[BackendConfig, GatewayDeps], Optional[Callable[[Executor], Executor]]]
ProxyFeature = Callable[[BackendConfig, GatewayDeps], Optional[Middleware]]
EndpointFeature = Callable[[EndpointConfig, GatewayDeps], Optional[Middleware]]


#: Keys of the ``proxy`` namespace Propylon reads.  ``sequential_propagated_params``
#: is accepted but not consulted: at ``modifier/lua-backend`` of a sequential
#: endpoint ``params('Resp<N>_<field>')`` / ``params('Resp<N>')`` read any earlier
#: answer on demand, listed or not (``app.lua.objects``); KrakenD copies only the
#: listed ones into the params.  Nothing else (url_pattern's ``{respN_x}``, CEL) reads it.
PROXY_KEYS = frozenset({"sequential", "static", "flatmap_filter", "shadow", "sequential_propagated_params"})


@dataclass(frozen=True)
class ProxyNamespace:
    """The ``proxy`` namespace (core, lura's own): one parsed view per scope."""

    sequential: bool = False
    static: Optional[static.StaticSettings] = None
    flatmap: Optional[tuple[flatmap.Operation, ...]] = None
    shadow: bool = False


def parse_proxy_namespace(extra: Mapping[str, Any], path: str) -> ProxyNamespace:
    raw = extra.get("proxy")
    if raw is None:
        return ProxyNamespace()
    where = f"{path}.extra_config.proxy"
    if not isinstance(raw, dict):
        raise ConfigError(where, f"expected an object, got {raw!r}")
    sequential = flag(raw, "sequential", where)
    shadow = flag(raw, "shadow", where)
    return ProxyNamespace(
        sequential=sequential,
        static=static.parse(raw["static"], f"{where}.static") if "static" in raw else None,
        flatmap=flatmap.parse(raw["flatmap_filter"], f"{where}.flatmap_filter") or None
        if "flatmap_filter" in raw else None,
        shadow=shadow,
    )


def _check_keys(extra: Mapping[str, Any], path: str, deps: GatewayDeps) -> None:
    for namespace, known in (("proxy", PROXY_KEYS), (backend_errors.NAMESPACE, backend_errors.KEYS)):
        if isinstance(extra.get(namespace), dict):
            deps.warn_unknown_keys(extra[namespace], known, f"{path}.extra_config.{namespace}")


def build_backend_proxy(backend: BackendConfig, deps: GatewayDeps,
                        executor_features: Sequence[ExecutorFeature] = (),
                        proxy_features: Sequence[ProxyFeature] = ()) -> Proxy:
    """The whole stack of one backend; raises ``ConfigError`` for a bad namespace."""
    _check_keys(backend.extra_config, backend.path, deps)
    executor = deps.transport
    for executor_feature in reversed(executor_features):
        decorate = executor_feature(backend, deps)
        if decorate is not None:
            executor = decorate(executor)
    options = parse_proxy_namespace(backend.extra_config, backend.path)
    shaper = build_shaper(backend.target, backend.allow, backend.deny, backend.mapping, backend.group,
                          flatmap.build(options.flatmap) if options.flatmap else None)
    proxy = build_http_proxy(backend, executor, shaper, backend_errors.from_config(backend.extra_config,
                                                                                   backend.path))
    for proxy_feature in reversed(proxy_features):
        middleware = proxy_feature(backend, deps)
        if middleware is not None:
            proxy = middleware(proxy)
    if backend.concurrent_calls > 1:
        proxy = concurrent(proxy, backend.concurrent_calls, deps.concurrent_pool, backend.timeout)
    return build_request_layer(backend, proxy)


def build_endpoint_proxy(endpoint: EndpointConfig, deps: GatewayDeps,
                         executor_features: Sequence[ExecutorFeature] = (),
                         proxy_features: Sequence[ProxyFeature] = (),
                         endpoint_features: Sequence[EndpointFeature] = ()) -> Proxy:
    """The whole stack of one endpoint; raises ``ConfigError`` for a bad namespace.

    ``endpoint_features`` (outermost first) wrap everything else, static data
    included, as krakend-ce's proxy factory wraps lura's default factory.
    """
    _check_keys(endpoint.extra_config, endpoint.path, deps)
    options = parse_proxy_namespace(endpoint.extra_config, endpoint.path)
    backends = [b for b in endpoint.backends
                if not parse_proxy_namespace(b.extra_config, b.path).shadow]
    shadows = [b for b in endpoint.backends if b not in backends]
    proxies = [build_backend_proxy(b, deps, executor_features, proxy_features) for b in backends]
    if len(proxies) == 1:
        proxy = proxies[0]
    elif options.sequential:
        proxy = merge.sequential(proxies, endpoint.timeout)
    else:
        proxy = merge.parallel(proxies, deps.pool, endpoint.timeout)
    if options.flatmap and len(endpoint.backends) > 1:
        proxy = _endpoint_flatmap(proxy, flatmap.build(options.flatmap))
    if shadows:
        proxy = _with_shadows(proxy, [build_backend_proxy(b, deps, executor_features, proxy_features)
                                      for b in shadows], deps)
    if options.static is not None:
        proxy = static.static_layer(options.static, proxy)
    for endpoint_feature in reversed(endpoint_features):
        middleware = endpoint_feature(endpoint, deps)
        if middleware is not None:
            proxy = middleware(proxy)
    return proxy


def _endpoint_flatmap(inner: Proxy, shape: Callable[[dict[str, Any]], dict[str, Any]]) -> Proxy:
    def with_endpoint_flatmap(request: ProxyRequest) -> ProxyResponse:
        response = inner(request)
        return ProxyResponse(shape(response.data), response.is_complete, response.status,
                             response.headers, response.raw, response.errors)
    return with_endpoint_flatmap


def _with_shadows(inner: Proxy, shadows: Sequence[Proxy], deps: GatewayDeps) -> Proxy:
    """``proxy.shadow`` backends get a copy of the request; their answers are ignored."""
    def with_shadow_backends(request: ProxyRequest) -> ProxyResponse:
        for shadow in shadows:
            deps.pool.submit(_ignore_errors, shadow, request)
        return inner(request)
    return with_shadow_backends


def _ignore_errors(proxy: Proxy, request: ProxyRequest) -> None:
    try:
        proxy(request)
    except Exception:  # noqa: BLE001 - a shadow copy must never affect anything
        pass
