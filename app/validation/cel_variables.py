"""The variables of ``validation/cel`` expressions, built from a request and a response (krakend-cel's names).

``request_activation`` and ``response_activation`` build only the variables
an expression names (handing a value to CEL costs about 6 us per string).
Pure functions, no state.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Sequence

from app.jsoncodec import RawNumber
from app.proxy.model import ProxyRequest, ProxyResponse

REQUEST_VARIABLES = frozenset({"req_method", "req_path", "req_params", "req_headers", "req_querystring"})
RESPONSE_VARIABLES = frozenset({"resp_completed", "resp_metadata_status", "resp_metadata_headers", "resp_data"})
NOW, JWT = "now", "JWT"


def plain(value: Any) -> Any:
    """Decoded JSON as CEL values: kept number literals become doubles, tuples lists."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return value  # the common leaves first: this walks every value of resp_data
    if isinstance(value, dict):
        return {k if type(k) is str else str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if kind is RawNumber:
        return float(value.literal)
    return value


def _multi(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


_REQUEST: Mapping[str, Callable[[ProxyRequest], Any]] = {
    "req_method": lambda r: r.method,
    "req_path": lambda r: r.path,
    # lura's router title-cases the first letter of every parameter name.
    "req_params": lambda r: {k[:1].upper() + k[1:]: v for k, v in r.params.items()},
    "req_headers": lambda r: {k: [v] for k, v in r.headers.items()},
    "req_querystring": lambda r: _multi(r.query),
}
_RESPONSE: Mapping[str, Callable[[ProxyResponse], Any]] = {
    "resp_completed": lambda r: r.is_complete,
    "resp_metadata_status": lambda r: r.status,
    "resp_metadata_headers": lambda r: _multi(r.headers),
    "resp_data": lambda r: plain(r.data),
}


def now_text() -> str:
    """``now`` as krakend-cel sets it: RFC 3339, seconds (UTC here)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def request_activation(request: ProxyRequest, names: frozenset[str], now: str) -> dict[str, Any]:
    """The request variables among ``names``; ``JWT`` only when a token was validated."""
    activation: dict[str, Any] = {name: build(request) for name, build in _REQUEST.items() if name in names}
    if NOW in names:
        activation[NOW] = now
    if JWT in names and request.claims is not None:
        activation[JWT] = plain(dict(request.claims))
    return activation


def response_activation(response: ProxyResponse, names: frozenset[str]) -> dict[str, Any]:
    return {name: build(response) for name, build in _RESPONSE.items() if name in names}
