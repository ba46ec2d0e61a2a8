"""Endpoint configs -> Flask rules, and the router's answers for misses.

``GatewayFlask`` turns Werkzeug's routing exceptions into KrakenD's answers:
404 ``404 page not found`` / 405 ``405 method not allowed`` (text/plain,
``X-Krakend`` and ``X-Krakend-Completed: false``), and near-miss redirects
(301 for GET, 307 otherwise) for a toggled trailing slash or a cleaned,
case-insensitive path.  Rules never get Flask's automatic HEAD and OPTIONS:
KrakenD answers those methods with 405 unless an endpoint declares them.
"""
from __future__ import annotations

import json
from typing import Any, Optional

from flask import Flask, Request
from flask.globals import request_ctx
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Response

from app.router.options import RouterSettings
from app.router.render import GatewayResponse, plain
from app.router.routes import Route, fixed_path


class ExactMethodsRule(Rule):
    """A rule that matches exactly its declared methods (no implicit HEAD)."""

    def __init__(self, string: str, **kwargs: Any) -> None:
        methods = kwargs.get("methods")
        super().__init__(string, **kwargs)
        if self.methods is not None and methods is not None and "HEAD" not in {m.upper() for m in methods}:
            self.methods.discard("HEAD")


class GatewayFlask(Flask):
    url_rule_class = ExactMethodsRule  # type: ignore[assignment]
    url_map_class = Map

    router_settings: RouterSettings = RouterSettings()
    routes: tuple[Route, ...] = ()

    def dispatch_request(self) -> Any:
        req: Request = request_ctx.request
        if req.routing_exception is not None:
            return self.routing_miss(req, req.routing_exception)
        return super().dispatch_request()

    def routing_miss(self, req: Request, exc: HTTPException) -> Response:
        """KrakenD's answer for a request no rule took as it is."""
        options = self.router_settings
        headers = [("X-Krakend", options.version_header), ("X-Krakend-Completed", "false")]
        redirect = self._redirect_target(req, exc)
        if redirect is not None:
            location = redirect + (f"?{req.query_string.decode('latin-1')}" if req.query_string else "")
            status = 301 if req.method == "GET" else 307
            body = f'<a href="{location}">Moved Permanently</a>.\n\n'.encode() if req.method == "GET" else b""
            response = GatewayResponse(body, status, [("Location", location)])
            if body:
                response.headers["Content-Type"] = "text/html; charset=utf-8"
            return response
        if isinstance(exc, MethodNotAllowed) and not options.disable_handle_method_not_allowed:
            return self._miss(405, b"405 method not allowed", headers)
        return self._miss(404, b"404 page not found", headers)

    def _miss(self, status: int, text: bytes, headers: list[tuple[str, str]]) -> Response:
        custom = self.router_settings.error_body.get(str(status))
        if custom is not None:
            return plain(status, json.dumps(custom).encode(), headers, "application/json; charset=utf-8")
        return plain(status, text, headers, "text/plain")

    def _redirect_target(self, req: Request, exc: HTTPException) -> Optional[str]:
        options = self.router_settings
        path = req.path
        # gin's redirects are computed in the tree of the request's method only.
        if isinstance(exc, RequestRedirect):
            return None if options.disable_redirect_trailing_slash else path + "/"
        if not isinstance(exc, NotFound) or path == "/":
            return None
        if not options.disable_redirect_trailing_slash:
            toggled = path[:-1] if path.endswith("/") else path + "/"
            if self._matches(req, toggled):
                return toggled
        if not options.disable_redirect_fixed_path:
            fixed = fixed_path(self.routes, req.method, path)
            if fixed is not None and fixed != path:
                return fixed
        return None

    def _matches(self, req: Request, path: str) -> bool:
        adapter = self.url_map.bind_to_environ(req.environ)
        try:
            adapter.match(path, req.method)
        except HTTPException:
            return False
        return True
