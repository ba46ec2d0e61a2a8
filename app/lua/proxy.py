"""``modifier/lua-proxy`` (endpoint) and ``modifier/lua-backend`` (backend): Lua around the next proxy layer.

One module for both namespaces because krakend-lua builds both with the
same middleware (``proxy.New``); they differ only in where they sit:

* ``modifier/lua-proxy`` on an endpoint, around the merge of its backends
  (an endpoint-seam middleware): ``pre`` sees the request before any backend
  request is built (``url()`` is empty; ``params``, ``headers``, ``body``
  and ``query`` changes reach every backend), ``post`` the merged answer;
* ``modifier/lua-backend`` on a backend, between the request builder and the
  HTTP call (a proxy-seam middleware, inside the circuit breaker and the
  backend rate limit): ``pre`` sees the final ``url()`` (with host, and the
  earlier answers of a sequential endpoint as ``params('Resp0_x')``),
  ``post`` this backend's answer before the merge::

    "modifier/lua-backend": {
        "pre": "local r = request.load(); r:url(r:url() .. r:params('Resp0_first.foo'))",
        "post": "local d = response.load():data(); d:set('checked', true)"
    }

Keys: see ``app.lua.settings`` (``sources``, ``md5``, ``pre``, ``post``,
``live``, ``allow_open_libs``, ``skip_next``).  The API (``request``,
``response``, ``luaTable``, ``luaList``, ``luaNil``, ``custom_error``,
``http_response``) is described in ``app.lua.api``; errors and bounds in
``app.lua.runtime``.  A failing ``pre`` stops the call (the next layer is
not called); an error of the next layer skips ``post``, as in KrakenD.

Deviations: see the docs (``/tmp/docs/lua.md`` merged into the README):
sandbox without ``allow_open_libs`` (KrakenD opens no library at all there,
not even ``string``, and has no time or memory bound), ``http_response``
only with ``allow_open_libs``, fixed error text for failing scripts, a
missing source fails the stack at start-up in ``propylon check``.

State: per worker and thread (see ``runtime``); nothing survives a request.
"""
from __future__ import annotations

from typing import Optional

from app.config.model import BackendConfig, EndpointConfig
from app.deps import GatewayDeps
from app.lua.objects import RequestState, ResponseState
from app.lua.runtime import ScriptBlock, build_block
from app.lua.settings import BACKEND, KEYS, PROXY, parse
from app.proxy.model import Middleware, Proxy, ProxyRequest, ProxyResponse

NAMESPACES = (PROXY, BACKEND)


def endpoint_from_config(endpoint: EndpointConfig, deps: GatewayDeps) -> Optional[Middleware]:
    """``modifier/lua-proxy`` of ``endpoint``, or None when absent."""
    settings = deps.namespace(endpoint.extra_config, endpoint.path, PROXY, KEYS, parse)
    if settings is None:
        return None
    block = build_block(settings, f"{endpoint.path}.extra_config.{PROXY}", endpoint.endpoint,
                        f"[ENDPOINT: {endpoint.endpoint}]", deps)
    return lambda inner: lua_layer(block, inner)


def backend_from_config(backend: BackendConfig, deps: GatewayDeps) -> Optional[Middleware]:
    """``modifier/lua-backend`` of ``backend``, or None when absent."""
    settings = deps.namespace(backend.extra_config, backend.path, BACKEND, KEYS, parse)
    if settings is None:
        return None
    block = build_block(settings, f"{backend.path}.extra_config.{BACKEND}", backend.label,
                        f"[BACKEND: {backend.label}]", deps)
    return lambda inner: lua_layer(block, inner)


def lua_layer(block: ScriptBlock, inner: Proxy) -> Proxy:
    """``pre`` -> the next layer (unless ``skip_next``) -> ``post``; raises GatewayError."""
    pre, post, skip_next = bool(block.settings.pre), bool(block.settings.post), block.settings.skip_next

    def with_lua_script(request: ProxyRequest) -> ProxyResponse:
        state = RequestState(request)
        session = block.session(request.deadline, state)
        try:
            if pre:
                session.run("pre")
            response = ProxyResponse({}, False) if skip_next else inner(state.applied(request))
            if post:
                answer = ResponseState(response)
                session.set_response(answer)
                session.run("post")
                response = answer.result()
                session.export(response.data)
            return response
        finally:
            session.close()
    return with_lua_script
