"""``modifier/lua-endpoint``: a Lua ``pre`` script on the client's HTTP request, before the endpoint runs.

Namespace ``modifier/lua-endpoint`` (legacy
``github.com/devopsfaith/krakend-lua/router``) on an endpoint::

    "modifier/lua-endpoint": {
        "sources": ["auth_helpers.lua"],
        "pre": "local c = ctx.load(); c:headers('X-Tenant', c:params('Tenant'))"
    }

Keys: ``sources``, ``md5``, ``pre``, ``live``, ``allow_open_libs`` (see
``app.lua.settings``).  ``post`` and ``skip_next`` have no effect at this
level (as in KrakenD: the router only runs ``pre``) and are reported as
warnings.  A view decorator, after JWT validation and the JWT signer and
before the endpoint rate limit (krakend-ce's handler order).

The script sees ``ctx.load()`` (krakend-lua's gin context): ``method``,
``url`` (path and query, ``/a?b=c``), ``host``, ``query(key[, value])``,
``params`` (``params()`` a ``luaTable``; names title-cased or as in the
endpoint), ``headers``, ``headerList``, ``body``; changes shape what the
endpoint then reads: headers (still filtered by ``input_headers``), query
(filtered by ``input_query_strings``), body and the values of the
endpoint's own parameters (a name the endpoint does not declare is
ignored).  ``custom_error`` answers at once with its status; other failures
answer 500 (see ``app.lua.runtime``).  Errors are rendered like the
endpoint's (``X-Krakend`` headers, body with ``router.return_error_msg``);
KrakenD's gin handler aborts with the bare status.

The same namespace at the top level runs for every request: ``app.lua.service``.

State: per worker and thread (see ``app.lua.runtime``).
"""
from __future__ import annotations

import io
import logging
import time
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Request, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app.config.model import EndpointConfig
from app.deps import GatewayDeps
from app.errors import GatewayError
from app.lua.convert import LIST, TABLE, VALUE, text
from app.lua.objects import APIError, Result, sendable_header, title
from app.lua.runtime import build_block
from app.lua.settings import ENDPOINT, KEYS, parse
from app.router.forwarding import canonical, environ_key
from app.router.handler import View, param_names, read_body
from app.router.options import RouterSettings
from app.router.render import error_response

NAMESPACE = ENDPOINT
log = logging.getLogger("propylon.lua")


def _string(value: str) -> tuple[int, bytes]:
    return VALUE, value.encode()


class CtxState:
    """The client request as a script sees it (``ctx.load()``), changed in place."""

    def __init__(self, req: Request, variables: dict[str, str], names: tuple[tuple[str, str], ...],
                 max_body: int) -> None:
        self.request = req
        self.environ = req.environ
        self.variables = variables
        self.names = names
        self.max_body = max_body
        #: A werkzeug answer (413...) met while reading the body: re-raised after the script.
        self.abort: Optional[HTTPException] = None

    def _set_query(self, query: str) -> None:
        self.environ["QUERY_STRING"] = query
        self.request.query_string = query.encode("latin-1", "replace")
        self.request.__dict__.pop("args", None)  # werkzeug caches the parsed query

    def lua_method(self, *args: Any) -> Result:
        if not args:
            return _string(self.request.method)
        self.request.method = self.environ["REQUEST_METHOD"] = text(args[0])
        return None

    def lua_url(self, *args: Any) -> Result:
        query = self.environ.get("QUERY_STRING", "")
        if not args:
            return _string(self.request.path + (f"?{query}" if query else ""))
        parts = urlsplit(text(args[0]))
        if parts.path:
            self.request.path = parts.path
        self._set_query(parts.query)
        return None

    def lua_host(self, *args: Any) -> Result:
        if not args:
            return _string(str(self.environ.get("HTTP_HOST", "")))
        self.environ["HTTP_HOST"] = text(args[0])
        return None

    def lua_query(self, *args: Any) -> Result:
        if not args:
            raise APIError("need arguments")
        key = text(args[0])
        pairs = parse_qsl(self.environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if len(args) == 1:
            return _string(next((v for k, v in pairs if k == key), ""))
        pairs = [(k, v) for k, v in pairs if k != key] + [(key, text(args[1]))]
        self._set_query(urlencode(sorted(pairs, key=lambda kv: kv[0])))
        return None

    def lua_params(self, *args: Any) -> Result:
        if not args:
            return TABLE, {title(name): self.variables[var] for var, name in self.names}
        wanted = text(args[0])
        var = next((v for v, name in self.names if title(name) == wanted), None) \
            or next((v for v, name in self.names if name == wanted), None)
        if len(args) == 1:
            return _string(self.variables.get(var, "") if var else "")
        if var is not None:
            self.variables[var] = text(args[1])
        return None

    def lua_headers(self, *args: Any) -> Result:
        if not args:
            table: dict[str, list[str]] = {}
            for key, value in self.request.headers.items():
                table.setdefault(canonical(key), []).append(value)
            return TABLE, table
        key = environ_key(text(args[0]))
        if len(args) == 1:
            return _string(str(self.environ.get(key, "")))
        if args[1] is None:
            self.environ.pop(key, None)
        else:
            self.environ[key] = sendable_header(text(args[0]), text(args[1]))
        return None

    def lua_headerList(self, *args: Any) -> Result:  # noqa: N802 - KrakenD's method name
        if not args:
            raise APIError("need arguments")
        key = environ_key(text(args[0]))
        if len(args) == 1:
            value = self.environ.get(key)
            return LIST, [str(value)] if value is not None else []
        if not isinstance(args[1], list):
            raise APIError("invalid header value, must be a luaList")
        self.environ[key] = sendable_header(text(args[0]), ", ".join(text(v) for v in args[1]))
        return None

    def lua_body(self, *args: Any) -> Result:
        if args:
            body = args[0] if isinstance(args[0], bytes) else text(args[0]).encode()
        else:
            try:
                body = read_body(self.environ, self.max_body)
            except HTTPException as exc:
                self.abort = exc
                raise APIError("request body refused") from exc
        # Re-buffered with its length, so the endpoint reads it (again) as a plain body.
        self.environ["wsgi.input"] = io.BytesIO(body)
        self.environ["CONTENT_LENGTH"] = str(len(body))
        self.environ.pop("HTTP_TRANSFER_ENCODING", None)
        return None if args else (VALUE, body)


def from_config(endpoint: EndpointConfig, deps: GatewayDeps) -> Optional[Callable[[View], View]]:
    """The view decorator of ``endpoint``'s ``modifier/lua-endpoint``, or None when absent."""
    settings = deps.namespace(endpoint.extra_config, endpoint.path, NAMESPACE, KEYS, parse)
    if settings is None:
        return None
    path = f"{endpoint.path}.extra_config.{NAMESPACE}"
    raw = endpoint.extra_config[NAMESPACE]
    for key in ("post", "skip_next"):
        if raw.get(key):
            deps.warnings.append(f"{path}.{key}: has no effect in {NAMESPACE} (KrakenD runs only pre there)")
    block = build_block(settings, path, endpoint.endpoint, f"[ENDPOINT: {endpoint.endpoint}]", deps)
    names = tuple(zip(param_names(endpoint), endpoint.params))
    timeout, max_body = endpoint.timeout, deps.settings.max_body

    def decorate(view: View) -> View:
        def with_lua_endpoint(**variables: str) -> Response:
            ctx = CtxState(request, dict(variables), names, max_body)
            try:
                session = block.session(time.monotonic() + timeout, ctx=ctx)
                try:
                    session.run("pre")
                finally:
                    session.close()
            except GatewayError as exc:
                if ctx.abort is not None:
                    raise ctx.abort from None
                router: RouterSettings = getattr(current_app, "router_settings", RouterSettings())
                return error_response(exc, router.version_header, router.return_error_msg)
            if ctx.abort is not None:  # a script that caught the failed body read still fails
                raise ctx.abort
            return view(**ctx.variables)
        with_lua_endpoint.__name__ = getattr(view, "__name__", "endpoint")
        return with_lua_endpoint
    return decorate
