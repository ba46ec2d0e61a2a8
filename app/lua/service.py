"""``modifier/lua-endpoint`` at the top level: a Lua ``pre`` script on every request, before its endpoint.

Namespace ``modifier/lua-endpoint`` (legacy ``github.com/devopsfaith/krakend-lua/router``)
in the service ``extra_config``::

    "extra_config": {
        "modifier/lua-endpoint": {
            "sources": ["scripts/tenant.lua"],
            "pre": "local c = ctx.load(); c:headers('X-Tenant', tenant_of(c:host()))"
        }
    }

Keys, the ``ctx`` API, sandbox, bounds and errors as at endpoint level
(``app.lua.endpoint``): ``post`` and ``skip_next`` have no effect (warned).
krakend-lua's ``Register`` makes it a global gin middleware; Propylon makes
it a WSGI middleware between ``security/cors`` and the service-level
``security/bot-detector``, krakend-ce's order (CORS wraps the engine;
``NewEngine`` registers Lua before the bot detector, so a script may even
rewrite the User-Agent the detector judges).  It runs on every path,
unknown ones (404/405) included, as gin runs global middlewares on its
NoRoute/NoMethod handlers; not on ``GET`` of the health endpoint, which lura
registers before krakend-ce's middlewares; not on CORS preflights.  Its
deadline is the matched endpoint's ``timeout`` (the service ``timeout`` for
unknown paths).  A script error answers at once: ``custom_error`` with its
status, anything else 500, rendered like endpoint errors.

Deviations: gin routes before the middleware runs, so ``ctx:params(name)``
reads the matched route's parameters here too (Propylon matches the route
itself) and setters never re-route; but unlike KrakenD, ``params(name, v)``,
``method(v)`` and the path of ``url(v)`` have no effect on the endpoint
(query, headers, host and body changes do reach it).  KrakenD aborts with a
bare 500 for every error at this level, ``custom_error`` included: Propylon
keeps the script's status and message, as at endpoint level.  A missing
source is a ``propylon check`` error at ``extra_config.modifier/lua-endpoint.
sources[0]``; the running gateway then answers every request but the health
check with 500 (fail closed; KrakenD fails each request too).  It also runs
on requests the router answers with a redirect (gin's redirects skip it).

State: per worker and thread (see ``app.lua.runtime``).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Optional

from flask import Request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map
from werkzeug.wrappers import Response

from app.config.model import EndpointConfig, ServiceConfig
from app.deps import GatewayDeps
from app.errors import GatewayError
from app.lua.convert import text
from app.lua.endpoint import CtxState
from app.lua.objects import Result
from app.lua.runtime import ScriptBlock, build_block
from app.lua.settings import ENDPOINT, KEYS, parse
from app.router import options
from app.router.handler import param_names
from app.router.registration import ExactMethodsRule
from app.router.render import error_response, plain
from app.router.routes import to_werkzeug

NAMESPACE = ENDPOINT
PREFIX = "[SERVICE: Gin]"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]
Names = tuple[tuple[str, str], ...]


class ServiceCtx(CtxState):
    """``ctx.load()`` before routing: a new method is seen by nothing after (gin has already routed)."""

    def lua_method(self, *args: Any) -> Result:
        if not args:
            return super().lua_method()
        self.request.method = text(args[0])
        return None


class Routes:
    """The endpoints' rules, matched here to give a script its route's parameters and timeout."""

    def __init__(self, endpoints: Iterable[EndpointConfig], default_timeout: float) -> None:
        self.endpoints = tuple(endpoints)
        self.names: list[Names] = [tuple(zip(param_names(e), e.params)) for e in self.endpoints]
        self.default_timeout = default_timeout
        self.map = Map([ExactMethodsRule(to_werkzeug(e.endpoint, param_names(e)), endpoint=str(index),
                                         methods=[e.method])
                        for index, e in enumerate(self.endpoints)], merge_slashes=False)

    def match(self, environ: dict[str, Any]) -> tuple[dict[str, str], Names, float]:
        """(variables, names, timeout) of the endpoint ``environ`` asks for; empty ones when none."""
        try:
            rule, variables = self.map.bind_to_environ(environ).match()
        except HTTPException:  # 404, 405 or a redirect: no route, no parameters
            return {}, (), self.default_timeout
        index = int(rule)
        return dict(variables), self.names[index], self.endpoints[index].timeout


def from_config(service: ServiceConfig, deps: GatewayDeps) -> Optional[Callable[[WSGIApp], WSGIApp]]:
    """The service-level ``modifier/lua-endpoint`` as a WSGI middleware, or None when absent."""
    raw = service.extra_config.get(NAMESPACE)
    if raw is None:
        return None
    path = f"extra_config.{NAMESPACE}"
    settings = parse(raw, path)
    deps.warn_unknown_keys(raw, KEYS, path)
    for key in ("post", "skip_next"):
        if raw.get(key):
            deps.warnings.append(f"{path}.{key}: has no effect in {NAMESPACE} (KrakenD runs only pre there)")
    block = build_block(settings, path, "service", PREFIX, deps)
    router = options.from_config(service.extra_config)
    exempt = "" if router.disable_health else router.health_path
    routes = Routes(service.endpoints, service.timeout)
    max_body = deps.settings.max_body
    return lambda app: LuaServiceMiddleware(app, block, routes, exempt, router, max_body)


class LuaServiceMiddleware:
    """Run the script, then the app; or answer the script's error."""

    def __init__(self, app: WSGIApp, block: ScriptBlock, routes: Routes, exempt: str,
                 router: options.RouterSettings, max_body: int) -> None:
        self.app = app
        self.block = block
        self.routes = routes
        self.exempt = exempt
        self.router = router
        self.max_body = max_body

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.exempt and environ.get("PATH_INFO") == self.exempt and environ.get("REQUEST_METHOD") == "GET":
            return self.app(environ, start_response)
        answer = self.run(environ)
        if answer is not None:
            return answer(environ, start_response)
        return self.app(environ, start_response)

    def run(self, environ: dict[str, Any]) -> Optional[Response]:
        """Run ``pre`` on the request; the answer when it stops the request, else None."""
        variables, names, timeout = self.routes.match(environ)
        ctx = ServiceCtx(Request(environ), variables, names, self.max_body)
        try:
            session = self.block.session(time.monotonic() + timeout, ctx=ctx)
            try:
                session.run("pre")
            finally:
                session.close()
        except GatewayError as exc:
            if ctx.abort is None:
                return error_response(exc, self.router.version_header, self.router.return_error_msg)
        if ctx.abort is not None:  # the body was refused (413...), whether the script caught it or not
            code = ctx.abort.code or 400
            return plain(code, f"{code} {(ctx.abort.name or 'error').lower()}".encode())
        return None
