"""Zero-trust request headers: what the client may pass to backends.

KrakenD's policy, built from scratch for every request (the client's headers
are never forwarded wholesale):

* no ``input_headers``: only ``Content-Type``;
* a list: exactly those headers (case-insensitive, Go-canonical names);
* ``["*"]``: every client header;
* always set by the gateway: ``X-Forwarded-For`` (the client IP, see
  ``clientip``), ``X-Forwarded-Host``, ``Accept-Encoding: gzip`` and the
  gateway ``User-Agent`` (or, when the client's agent is forwarded,
  ``X-Forwarded-Via``);
* ``Content-Length`` only when listed (or ``*``) and there is a body, with
  the real length; otherwise a body goes out chunked, as in KrakenD.

Deviation: hop-by-hop and framing headers, and every header the client
names in ``Connection``, are never forwarded, even with ``*``; since the
gateway's own headers are added after the filter, ``Connection`` can never
remove them.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Mapping, Optional, Sequence

from app.version import IDENTITY

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "transfer-encoding", "upgrade", "host", "content-length", "expect", "accept-encoding",
    "x-forwarded-for", "x-forwarded-host", "x-forwarded-via", "http2-settings",
})


#: An HTTP field name (an RFC 9110 token).
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: What no field value may hold: control characters but HTAB (CR/LF split a header, clients
#: refuse NUL) and characters outside latin-1 (what the wire carries).
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]")


def header_field_ok(name: str, value: str) -> bool:
    """Whether ``name: value`` can be written as an HTTP header line as it is."""
    return HEADER_NAME.fullmatch(name) is not None and _BAD_VALUE.search(value) is None


@lru_cache(maxsize=2048)
def canonical(name: str) -> str:
    """Go's ``CanonicalMIMEHeaderKey``: ``x-y-Z`` -> ``X-Y-Z``; a name that is not a token is returned unchanged."""
    if not HEADER_NAME.fullmatch(name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def environ_key(name: str) -> str:
    upper = name.upper().replace("-", "_")
    return upper if upper in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + upper


def _environ_headers(environ: Mapping[str, object]) -> dict[str, str]:
    """Every client header from the WSGI environ, Go-canonical names."""
    out = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out[canonical(key[5:].replace("_", "-"))] = str(value)
        elif key == "CONTENT_TYPE" and value:
            out["Content-Type"] = str(value)
    return out


class HeaderPolicy:
    """Builds the backend header set of one endpoint (compiled from ``input_headers``)."""

    def __init__(self, input_headers: Sequence[str]) -> None:
        self.forward_all = "*" in input_headers
        names = input_headers if input_headers else ("Content-Type",)
        self.length = self.forward_all or any(n.lower() == "content-length" for n in names)
        self.listed: tuple[tuple[str, str], ...] = tuple(
            (canonical(n), environ_key(n)) for n in names if n != "*" and n.lower() not in HOP_BY_HOP)
        self.user_agent = self.forward_all or any(n.lower() == "user-agent" for n in names)

    def build(self, environ: Mapping[str, object], client_ip: str, body: bytes,
              overrides: Optional[Mapping[str, str]] = None,
              request_id: Optional[tuple[str, str]] = None) -> dict[str, str]:
        """Headers for the backend; ``overrides`` (e.g. propagated claims) replace client values."""
        headers: dict[str, str]
        if self.forward_all:
            headers = {k: v for k, v in _environ_headers(environ).items() if k.lower() not in HOP_BY_HOP}
        else:
            headers = {}
            for name, key in self.listed:
                value = environ.get(key)
                # WSGI servers may set CONTENT_TYPE to "" when the client sent none.
                if value is not None and (value or not key.startswith("CONTENT_")):
                    headers[name] = str(value)
        connection = environ.get("HTTP_CONNECTION")
        if connection:
            for nominated in str(connection).split(","):
                headers.pop(canonical(nominated.strip()), None)
        if overrides:
            for name, value in overrides.items():
                if self.forward_all or any(name.lower() == listed.lower() for listed, _ in self.listed):
                    headers[canonical(name)] = value
        if body and self.length:
            headers["Content-Length"] = str(len(body))
        if self.user_agent and "User-Agent" in headers:
            headers["X-Forwarded-Via"] = IDENTITY
        else:
            headers["User-Agent"] = IDENTITY
        headers["X-Forwarded-For"] = client_ip
        host = environ.get("HTTP_HOST")
        if host:
            headers["X-Forwarded-Host"] = str(host)
        headers["Accept-Encoding"] = "gzip"
        if request_id is not None:
            headers[request_id[0]] = request_id[1]  # (header name, id): GATEWAY_REQUEST_ID_HEADER
        return headers
