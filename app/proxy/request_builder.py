"""Per-backend request building: URL from ``url_pattern``, host, query, headers.

Runs in lura's order (query filter -> url_pattern -> balancer -> header
filter) as one closure, since none of these steps has state of its own:

* the path comes from the compiled ``url_pattern`` (endpoint params,
  ``{JWT.x}`` claims, ``{respN_x}`` sequential values);
* the host is picked at random from the list (KrakenD picks randomly on
  multi-core machines too);
* the client query (already filtered by the endpoint) is filtered again by
  a backend ``input_query_strings`` and appended after the pattern's own;
* a backend ``input_headers`` filters the endpoint's header set again
  (``[""]`` strips everything).
"""
from __future__ import annotations

import dataclasses
import random
from typing import Any, Mapping, Optional
from urllib.parse import urlencode

from app import jsoncodec
from app.config.model import BackendConfig
from app.config.urlpattern import JWT, PARAM, Placeholder
from app.proxy.formatting import dig
from app.proxy.model import Proxy, ProxyRequest


_UNSET = object()


def claim_text(value: Any) -> Optional[str]:
    """A claim as KrakenD writes it into a URL; None when it cannot be used."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.6f}"
    if isinstance(value, list):
        parts = [_json_text(v) if isinstance(v, (list, dict)) else claim_text(v) for v in value]
        return ",".join(p for p in parts if p is not None)
    return _json_text(value)


def _json_text(value: Any) -> Optional[str]:
    """Nested values as JSON text; None when they cannot be encoded (too deep, odd types)."""
    try:
        return jsoncodec.dumps(value).decode()
    except (TypeError, ValueError, RecursionError):
        return None


def claim_value(claims: Mapping[str, Any], name: str) -> Optional[str]:
    """The text a ``{JWT.name}`` placeholder takes from ``claims`` (None when missing)."""
    return claim_text(_claim(claims, name))


def _claim(claims: Mapping[str, Any], name: str) -> Any:
    """A claim by its exact name (URLs and ``a:b`` names included), else by a dotted path into objects."""
    return claims[name] if name in claims else dig(claims, name)


def _lookup(request: ProxyRequest, ph: Placeholder) -> Optional[str]:
    if ph.kind == PARAM:
        return request.params.get(ph.name)
    if ph.kind == JWT:
        return claim_text(_claim(request.claims, ph.name)) if request.claims is not None else None
    previous = request.previous.get(ph.index)
    if previous is None:
        return None
    if not ph.field:
        return previous.raw.decode("utf-8", "replace") if previous.raw is not None else None
    node = dig(previous.data, ph.field, _UNSET)
    return None if node is _UNSET else jsoncodec.scalar_text(node)


def query_filter(allowed: tuple[str, ...]) -> Optional[frozenset[str]]:
    """``None`` = keep all (``["*"]``), else the allowed names (empty = keep none)."""
    return None if "*" in allowed else frozenset(allowed)


def encode_query(pairs: tuple[tuple[str, str], ...]) -> str:
    """Go's ``url.Values.Encode``: keys sorted, values of a key in order."""
    return urlencode(sorted(pairs, key=lambda kv: kv[0]))


def build_request_layer(backend: BackendConfig, inner: Proxy) -> Proxy:
    pattern = backend.url_pattern
    static_path = pattern.render(lambda ph: None) if not pattern.placeholders else None
    hosts = backend.hosts
    single_host = hosts[0] if len(hosts) == 1 else None
    method = backend.method
    query_names = query_filter(backend.input_query_strings) if backend.input_query_strings else None
    header_names: Optional[frozenset[str]] = (
        frozenset(h.lower() for h in backend.input_headers if h) if backend.input_headers else None)

    def with_backend_request(request: ProxyRequest) -> ProxyRequest:
        path = static_path if static_path is not None else pattern.render(lambda ph: _lookup(request, ph))
        pairs = request.query
        if query_names is not None and pairs:
            pairs = tuple(kv for kv in pairs if kv[0] in query_names)
        if pairs:
            path = f"{path}{'&' if '?' in path else '?'}{encode_query(pairs)}"
        headers: Mapping[str, str] = request.headers
        if header_names is not None:
            headers = {k: v for k, v in headers.items() if k.lower() in header_names}
        host = single_host or random.choice(hosts)
        return dataclasses.replace(request, method=method, path=path, url=host + path, headers=headers)

    def call(request: ProxyRequest) -> Any:
        return inner(with_backend_request(request))
    return call
