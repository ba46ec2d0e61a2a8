"""The central types of the pipeline and its three seams.

* ``Executor``: raw HTTP, ``(WireRequest, deadline) -> WireResponse``;
* ``Proxy``: ``ProxyRequest -> ProxyResponse`` (the central type, as in lura);
* the Flask view (see ``app.router``).

A ``Middleware`` turns one Proxy into another; a ``Merger`` combines several.
Requests are frozen: layers derive changed copies with ``dataclasses.replace``
so parallel branches never share mutable state.  Time is an absolute
``time.monotonic()`` deadline carried on the request.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

from app.errors import GatewayError

Headers = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class WireRequest:
    method: str
    url: str
    headers: Headers
    body: Optional[bytes]


@dataclass(frozen=True, slots=True)
class WireResponse:
    status: int
    #: Every header line in order; repeated names (Set-Cookie) stay separate.
    headers: tuple[tuple[str, str], ...]
    body: bytes
    url: str

    def header(self, name: str) -> str:
        """The first value of header ``name`` (case-insensitive), or ``""``."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return ""


@dataclass(frozen=True, slots=True)
class ProxyRequest:
    method: str
    #: Backend path (+ pattern query) once the request builder ran; the client path before.
    path: str
    #: Full backend URL once the balancer chose a host.
    url: str
    params: Mapping[str, str]
    #: Client query string pairs, in order (already filtered by ``input_query_strings``).
    query: tuple[tuple[str, str], ...]
    #: Headers to send, canonical names (already filtered by ``input_headers``).
    headers: Headers
    body: bytes
    deadline: float
    #: Validated JWT claims, for ``{JWT.x}`` placeholders (None without auth/validator).
    claims: Optional[Mapping[str, Any]] = None
    #: Earlier sequential responses by backend index, for ``{respN_x}``.
    previous: Mapping[int, "ProxyResponse"] = field(default_factory=dict)
    #: The endpoint's trace span (OpenTelemetry), parent of the backend spans; None without tracing.
    trace: Any = None


@dataclass(frozen=True, slots=True)
class ProxyResponse:
    data: dict[str, Any]
    is_complete: bool
    status: int = 200
    #: Only ``no-op`` responses carry backend headers to the client.
    headers: tuple[tuple[str, str], ...] = ()
    #: ``no-op``: the backend body, untouched.
    raw: Optional[bytes] = None
    #: Errors of branches that failed while others answered (partial responses).
    errors: tuple[GatewayError, ...] = ()


Executor = Callable[[WireRequest, float], WireResponse]
Proxy = Callable[[ProxyRequest], ProxyResponse]
Middleware = Callable[[Proxy], Proxy]
Merger = Callable[[Sequence[Proxy]], Proxy]
