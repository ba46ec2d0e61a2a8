"""The Flask view of one endpoint: flask.request -> ProxyRequest -> Response.

Per request it only does request work: check the path parameters, read the
body once (capped by ``GATEWAY_MAX_BODY`` -> 413), filter query strings and
headers, set the deadline, call the endpoint proxy and render.  Everything
else was compiled when the view was built.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Mapping, Optional, Union

from flask import request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.wrappers import Response

from app.config.model import EndpointConfig
from app.errors import BackendError, GatewayError, MergeError
from app.proxy.model import Proxy, ProxyRequest, ProxyResponse
from app.router.clientip import client_ip
from app.router.forwarding import HeaderPolicy
from app.router.options import RouterSettings
from app.router.params import BAD_PARAMS_BODY, params_ok
from app.router.render import build_endpoint_renderer, error_response, plain
from app.settings import Settings

log = logging.getLogger("propylon.endpoint")

#: WSGI environ keys the auth and tracing layers use to hand data to the handler.
CLAIMS_KEY = "propylon.claims"
HEADERS_KEY = "propylon.headers"
TRACE_KEY = "propylon.span"
REQUEST_ID_KEY = "propylon.request_id"
#: A view decorator (``auth/signer``) may put an ``OutcomeRenderer`` here: the
#: handler then hands it the proxy's outcome (the ProxyResponse, or the
#: GatewayError it raised) instead of rendering it the endpoint's way.
RENDER_KEY = "propylon.render"

View = Callable[..., Response]
Outcome = Union[ProxyResponse, GatewayError]
OutcomeRenderer = Callable[[Outcome], Response]


def param_names(endpoint: EndpointConfig) -> tuple[str, ...]:
    """Flask rule variable names (``p0``, ``p1``...): KrakenD names may hold ``-``."""
    return tuple(f"p{i}" for i in range(len(endpoint.params)))


def build_view(endpoint: EndpointConfig, proxy: Proxy, router: RouterSettings, settings: Settings) -> View:
    names = tuple(zip(param_names(endpoint), endpoint.params))
    policy = HeaderPolicy(endpoint.input_headers)
    allowed = endpoint.input_query_strings
    keep_all_query = "*" in allowed
    query_names = frozenset(allowed)
    timeout = endpoint.timeout
    render = build_endpoint_renderer(endpoint.output_encoding, endpoint.cache_ttl, router.version_header)
    version = router.version_header
    trusted = settings.trusted_proxies
    check_encoding = not router.disable_path_decoding
    prefix = f"[ENDPOINT: {endpoint.endpoint}]"
    max_body = settings.max_body
    id_header = settings.request_id_header

    def endpoint_view(**variables: str) -> Response:
        environ = request.environ
        params = {name: variables[var] for var, name in names}
        if not params_ok(params.values(), environ, check_encoding):
            return plain(400, BAD_PARAMS_BODY)
        body = read_body(environ, max_body)
        query: tuple[tuple[str, str], ...] = ()
        if query_names and environ.get("QUERY_STRING"):
            query = tuple((k, v) for k, v in request.args.items(multi=True) if keep_all_query or k in query_names)
        claims: Optional[Mapping[str, Any]] = environ.get(CLAIMS_KEY)
        proxy_request = ProxyRequest(
            method=request.method, path=request.path, url="", params=params, query=query,
            headers=policy.build(environ, client_ip(environ, trusted), body, environ.get(HEADERS_KEY),
                                 (id_header, environ.get(REQUEST_ID_KEY, "")) if id_header else None),
            body=body, deadline=time.monotonic() + timeout, claims=claims, trace=environ.get(TRACE_KEY),
        )
        override: Optional[OutcomeRenderer] = environ.get(RENDER_KEY)
        try:
            response: ProxyResponse = proxy(proxy_request)
        except GatewayError as exc:
            _log_error(prefix, exc)
            return override(exc) if override else error_response(exc, version, router.return_error_msg)
        for error in response.errors:
            _log_error(prefix, error)
        return override(response) if override else render(response)
    endpoint_view.__name__ = f"endpoint {endpoint.method} {endpoint.endpoint}"
    return endpoint_view


def read_body(environ: Mapping[str, Any], limit: int) -> bytes:
    """The whole client body, or 413 when it is larger than ``limit`` bytes.

    Read here rather than through ``request.get_data``: werkzeug's capped
    stream silently stops at the cap on the first read, which would forward
    a truncated chunked body.
    """
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            size = int(length)
        except ValueError:
            raise BadRequest("invalid Content-Length") from None
        if size > limit:
            raise RequestEntityTooLarge()
        return bytes(stream.read(size)) if size else b""
    if "chunked" not in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower():
        return b""
    chunks, total = [], 0
    while total <= limit:
        chunk = stream.read(limit + 1 - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        raise RequestEntityTooLarge()
    return b"".join(chunks)


def _log_error(prefix: str, error: GatewayError) -> None:
    if log.isEnabledFor(logging.WARNING):
        text = error.log_text() if isinstance(error, (BackendError, MergeError)) else str(error)
        log.warning("%s %s", prefix, text)
