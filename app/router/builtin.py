"""Built-in endpoints: ``/__health`` always; ``/__debug/`` and ``/__echo/`` on request.

* health (router ``health_path``, off with ``disable_health``):
  ``{"agents": {}, "now": "<server time>", "status": "ok"}``;
* ``/__debug/...`` (config ``debug_endpoint`` or ``GATEWAY_DEBUG=1``): logs
  the request at DEBUG and answers ``{"message": "pong"}``;
* ``/__echo/...`` (config ``echo_endpoint`` or ``GATEWAY_DEBUG=1``): the
  request as JSON (``req_uri``, ``req_uri_details``, ``req_method``,
  ``req_querystring``, ``req_body``, ``req_headers``).  It reflects every
  header, cookies included: keep it off on a public listener.
"""
from __future__ import annotations

import datetime
import logging
from typing import Any

from flask import request
from werkzeug.wrappers import Response

from app import jsoncodec
from app.router.render import JSON, GatewayResponse

log = logging.getLogger("propylon.debug")

ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE"]


def health() -> Response:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f +0000 UTC")
    return GatewayResponse(jsoncodec.dumps({"agents": {}, "now": now, "status": "ok"}), 200,
                           [("Content-Type", JSON)])


def debug(rest: str = "") -> Response:
    if log.isEnabledFor(logging.DEBUG):
        log.debug("[ENDPOINT: /__debug/*] Method: %s URL: %s Query: %s Params: %s Headers: %s Body: %r",
                  request.method, request.full_path, dict(request.args.lists()), {"param": "/" + rest},
                  dict(request.headers), request.get_data(cache=False)[:4096])
    return GatewayResponse(b'{"message":"pong"}', 200, [("Content-Type", JSON)])


def echo(rest: str = "") -> Response:
    environ = request.environ
    uri = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path)
    headers: dict[str, list[str]] = {}
    for key, value in request.headers.items():
        headers.setdefault(key, []).append(value)
    body: dict[str, Any] = {
        "req_uri": uri,
        "req_uri_details": {"user": "", "host": request.host, "path": request.path,
                            "query": request.query_string.decode("latin-1"), "fragment": ""},
        "req_method": request.method,
        "req_querystring": {k: v for k, v in request.args.lists()},
        "req_body": request.get_data(cache=False).decode("utf-8", "replace"),
        "req_headers": headers,
    }
    return GatewayResponse(jsoncodec.dumps(body), 200, [("Content-Type", JSON)])
