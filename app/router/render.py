"""ProxyResponse / GatewayError -> HTTP response, per ``output_encoding``.

Headers on endpoint answers: ``X-Krakend: Version ...``,
``X-Krakend-Completed: true|false`` (true only when every backend answered
and there is data), ``Cache-Control: public, max-age=N`` only on complete
answers of endpoints with a ``cache_ttl``.  Backend headers reach the client
only with ``no-op``.  ``error_response`` is the one place that turns a
``GatewayError`` into a status.
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional

from werkzeug.wrappers import Response

from app import jsoncodec
from app.errors import BackendStatusError, GatewayError, MergeError
from app.proxy.model import ProxyResponse

JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
IMPLEMENTED = ("json", "json-collection", "string", "no-op")


class GatewayResponse(Response):
    """A response that gets no Content-Type unless one is given (401/403/204 have none)."""

    default_mimetype = None


Renderer = Callable[[ProxyResponse, list[tuple[str, str]]], Response]


def _json(response: ProxyResponse, headers: list[tuple[str, str]]) -> Response:
    headers.append(("Content-Type", JSON))
    return GatewayResponse(jsoncodec.dumps(response.data), 200, headers)


def _json_collection(response: ProxyResponse, headers: list[tuple[str, str]]) -> Response:
    collection = response.data.get("collection")
    headers.append(("Content-Type", JSON))
    return GatewayResponse(jsoncodec.dumps(collection if isinstance(collection, list) else []), 200, headers)


def _string(response: ProxyResponse, headers: list[tuple[str, str]]) -> Response:
    content = response.data.get("content")
    headers.append(("Content-Type", TEXT))
    return GatewayResponse(content if isinstance(content, str) else "", 200, headers)


def renderer_for(encoding: str) -> Renderer:
    """Unknown encodings render as JSON, as KrakenD does."""
    return {"json-collection": _json_collection, "string": _string}.get(encoding, _json)


def build_endpoint_renderer(encoding: str, cache_ttl: float, version: str) -> Callable[[ProxyResponse], Response]:
    cache_control = f"public, max-age={int(cache_ttl)}" if cache_ttl >= 1 else ""
    if encoding == "no-op":
        def render_noop(response: ProxyResponse) -> Response:
            headers = list(response.headers)
            headers += [("X-Krakend", version), ("X-Krakend-Completed", "false")]
            return GatewayResponse(response.raw or b"", response.status, headers)
        return render_noop
    render = renderer_for(encoding)

    def render_response(response: ProxyResponse) -> Response:
        complete = response.is_complete and bool(response.data)
        headers = [("X-Krakend", version), ("X-Krakend-Completed", "true" if complete else "false")]
        if complete and cache_control:
            headers.append(("Cache-Control", cache_control))
        return render(response, headers)
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
