"""ProxyResponse / GatewayError -> HTTP response, per ``output_encoding``.

Headers on endpoint answers: ``X-Krakend: Version ...``,
``X-Krakend-Completed: true|false`` (true only when every backend answered
and there is data), ``Cache-Control: public, max-age=N`` only on complete
answers of endpoints with a ``cache_ttl``.  Backend headers reach the client
only with ``no-op``.  Under every other encoding the answer's own headers
(``ProxyResponse.headers``: only a Lua ``post`` script sets them there, see
``answer_headers``) are added when there is data, as lura's endpoint handler
copies ``Metadata.Headers``; an answer still carrying a raw body (a ``no-op``
backend under another encoding) adds none, since its headers are the
backend's.  ``error_response`` is the one place that turns a
``GatewayError`` into a status; error answers are the same under every
encoding (lura renders nothing when there is no data).

Encodings: ``json``; ``json-collection`` (the value under ``collection``,
whatever it is, ``[]`` when absent, as lura); ``xml`` (krakend-xml's mxj
writer, ``app.proxy.xmlcodec``); ``yaml`` (gin's YAML, ``yamlcodec``; KrakenD
only reaches it through ``negotiate``, Propylon also accepts it by name);
``negotiate`` (``negotiate.choose`` on the request's ``Accept``); ``string``;
``no-op``.  When XML or YAML cannot represent the data (an attribute key
holding an object, nesting deeper than 200) the answer is 200 with the
content type and an empty body, as when mxj refuses a map in KrakenD.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Collection, Iterable, Optional

from flask import request
from werkzeug.wrappers import Response

from app import jsoncodec
from app.errors import BackendStatusError, GatewayError, InvalidRequestError, MergeError
from app.proxy import xmlcodec
from app.proxy.http import NOOP_DROP
from app.proxy.model import ProxyResponse
from app.router import negotiate, yamlcodec
from app.router.forwarding import header_field_ok

JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
XML = "application/xml"  # krakend-xml sets gin.MIMEXML, without charset
YAML = "application/x-yaml; charset=utf-8"  # gin 1.9 (KrakenD v2.9.1)
IMPLEMENTED = ("json", "json-collection", "string", "no-op", "xml", "yaml", "negotiate")
#: Set by the gateway on every endpoint answer: an answer's own header never replaces them.
OWN_HEADERS = frozenset({"x-krakend", "x-krakend-completed"})
log = logging.getLogger("propylon.render")


class GatewayResponse(Response):
    """A response that gets no Content-Type unless one is given (401/403/204 have none)."""

    default_mimetype = None


Renderer = Callable[[ProxyResponse, list[tuple[str, str]]], Response]


def _json(response: ProxyResponse, headers: list[tuple[str, str]]) -> Response:
    headers.append(("Content-Type", JSON))
    return GatewayResponse(jsoncodec.dumps(response.data), 200, headers)


def _json_collection(response: ProxyResponse, headers: list[tuple[str, str]]) -> Response:
    headers.append(("Content-Type", JSON))
    return GatewayResponse(jsoncodec.dumps(response.data.get("collection", [])), 200, headers)


def _encoded(content_type: str, dumps: Callable[[Any], bytes], refused: type[ValueError]) -> Renderer:
    """A renderer for a codec that may refuse the data: then 200 with an empty body, as when mxj refuses."""
    def render(response: ProxyResponse, headers: list[tuple[str, str]]) -> Response:
        headers.append(("Content-Type", content_type))
        try:
            body = dumps(response.data)
        except refused:
            body = b""
        return GatewayResponse(body, 200, headers)
    return render


_xml = _encoded(XML, xmlcodec.dumps, xmlcodec.XMLEncodeError)
_yaml = _encoded(YAML, yamlcodec.dumps, yamlcodec.YAMLEncodeError)


def _negotiated(response: ProxyResponse, headers: list[tuple[str, str]]) -> Response:
    # Deviation: KrakenD sends no Vary, so a shared cache could hand one client's
    # XML (public, max-age=N) to a client that asked for JSON.
    headers.append(("Vary", "Accept"))
    return _RENDERERS[negotiate.choose(request.headers.get("Accept", ""))](response, headers)


def _string(response: ProxyResponse, headers: list[tuple[str, str]]) -> Response:
    content = response.data.get("content")
    headers.append(("Content-Type", TEXT))
    return GatewayResponse(content if isinstance(content, str) else "", 200, headers)


_RENDERERS: dict[str, Renderer] = {
    "json": _json, "json-collection": _json_collection, "string": _string, "xml": _xml, "yaml": _yaml,
    "negotiate": _negotiated,
}


def renderer_for(encoding: str) -> Renderer:
    """Unknown encodings render as JSON, as KrakenD does."""
    return _RENDERERS.get(encoding, _json)


def answer_headers(headers: Iterable[tuple[str, str]], taken: Collection[str]) -> list[tuple[str, str]]:
    """The headers of an answer that may reach the client, in order.

    Never framing, hop-by-hop or fingerprinting headers (``NOOP_DROP``), nor a
    name in ``taken`` (lower case: what the gateway sets itself).  A name that
    is not an HTTP token, or a value with control characters or characters
    outside latin-1 (a Lua script's doing), is dropped and logged: werkzeug
    raises on a newline in a value, and lets one in a name split the header.
    """
    kept = []
    for name, value in headers:
        lname = name.lower()
        if lname in NOOP_DROP or lname in taken:
            continue
        if not header_field_ok(name, value):
            log.warning("answer header %r dropped: not a valid header name or value", name[:64])
            continue
        kept.append((name, value))
    return kept


def build_endpoint_renderer(encoding: str, cache_ttl: float, version: str) -> Callable[[ProxyResponse], Response]:
    cache_control = f"public, max-age={int(cache_ttl)}" if cache_ttl >= 1 else ""
    if encoding == "no-op":
        def render_noop(response: ProxyResponse) -> Response:
            headers = answer_headers(response.headers, OWN_HEADERS)
            headers += [("X-Krakend", version), ("X-Krakend-Completed", "false")]
            return GatewayResponse(response.raw or b"", response.status, headers)
        return render_noop
    render = renderer_for(encoding)

    def render_response(response: ProxyResponse) -> Response:
        complete = response.is_complete and bool(response.data)
        headers = [("X-Krakend", version), ("X-Krakend-Completed", "true" if complete else "false")]
        if complete and cache_control:
            headers.append(("Cache-Control", cache_control))
        answer = render(response, headers)
        # lura copies Metadata.Headers only when there is data; a raw body means a no-op
        # backend's answer, whose headers are the backend's (never passed but with no-op).
        if response.headers and response.data and response.raw is None:
            # The gateway's own headers (Content-Type, Content-Length, Vary...) win over the script's.
            taken = {name.lower() for name in answer.headers.keys()}
            for name, value in answer_headers(response.headers, taken):
                answer.headers.add(name, value)
        return answer
    return render_response


def _messages(error: GatewayError) -> Iterable[str]:
    if isinstance(error, MergeError):
        for inner in error.errors:
            yield from _messages(inner)
    else:
        yield str(error)


def error_response(error: GatewayError, version: str, return_error_msg: bool) -> Response:
    """The answer when the endpoint produced no data at all."""
    status = 500
    body: Optional[bytes] = None
    content_type = TEXT
    if isinstance(error, InvalidRequestError):
        status = error.status
    if isinstance(error, BackendStatusError) and error.return_code:
        status = error.status
        if return_error_msg:
            body, content_type = error.body, error.content_type or TEXT
    if body is None and return_error_msg:
        body = "\n".join(_messages(error)).encode()
    headers = [("X-Krakend", version), ("X-Krakend-Completed", "false")]
    if body:
        headers.append(("Content-Type", content_type))
    return GatewayResponse(body or b"", status, headers)


def plain(status: int, body: bytes, headers: Iterable[tuple[str, str]] = (),
          content_type: str = TEXT) -> Response:
    """A small plain-text answer (router errors, limits)."""
    return GatewayResponse(body, status, [*headers, ("Content-Type", content_type)])
