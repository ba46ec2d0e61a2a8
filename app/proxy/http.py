"""Executor -> Proxy for one backend: status policy, decoding, shaping.

The request arrives with its final URL and headers (see ``request_builder``);
the answer is the shaped data, or the backend's raw answer for ``no-op``.
"""
from __future__ import annotations

from typing import Optional

from app.config.model import BackendConfig
from app.errors import BackendStatusError, DecodeError
from app.proxy import backend_errors
from app.proxy.decoding import decoder_for
from app.proxy.formatting import Shaper
from app.proxy.model import Executor, Proxy, ProxyRequest, ProxyResponse, WireRequest

SUCCESS = frozenset({200, 201})

#: Never copied from a no-op backend answer: hop-by-hop and framing headers
#: (the gateway frames its own answer; the body is already decoded), and
#: headers that fingerprint the backend's software (deviation from KrakenD,
#: which copies everything).
NOOP_DROP = frozenset({
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length", "content-encoding",
    "server", "x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "via", "date",
})


def build_http_proxy(backend: BackendConfig, executor: Executor, shaper: Optional[Shaper],
                     errors: Optional[backend_errors.BackendHTTPSettings]) -> Proxy:
    """The innermost Proxy of a backend stack."""
    label = backend.label
    if backend.encoding == "no-op":
        def call_noop(request: ProxyRequest) -> ProxyResponse:
            wire = executor(WireRequest(request.method, request.url, request.headers, request.body or None),
                            request.deadline)
            headers = tuple((k, v) for k, v in wire.headers if k.lower() not in NOOP_DROP)
            return ProxyResponse({}, True, wire.status, headers, wire.body)
        return call_noop

    decode = decoder_for(backend.encoding, backend.is_collection)
    alias = errors.return_error_details if errors else ""
    return_code = bool(errors and errors.return_error_code)

    def call_backend(request: ProxyRequest) -> ProxyResponse:
        wire = executor(WireRequest(request.method, request.url, request.headers, request.body or None),
                        request.deadline)
        if wire.status not in SUCCESS:
            content_type = wire.header("Content-Type")
            if alias:
                return ProxyResponse(backend_errors.details(alias, wire.status, wire.body, content_type), False,
                                     wire.status)
            raise BackendStatusError(label, wire.status, wire.body, content_type, return_code)
        try:
            data = decode(wire.body)
        except (ValueError, RecursionError) as exc:
            raise DecodeError(label, f"{backend.encoding}: {exc}") from exc
        return ProxyResponse(shaper(data) if shaper else data, True)
    return call_backend
