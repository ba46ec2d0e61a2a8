"""rs/cors v1.11's decisions, as pure functions over a compiled ``Policy``.

The ``security/cors`` middleware (``app.security.cors``) asks these: is an
origin, a method, a requested header list allowed; which headers does a
preflight or an actual request get; how the app's own headers merge with
them.  Kept apart so the rules can be read (and tested) next to rs/cors's
``cors.go`` and ``internal/sortedset.go``.  Stateless.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

Header = tuple[str, str]

#: Response headers only the gateway's policy may set.
OWNED = frozenset({"access-control-allow-origin", "access-control-allow-credentials", "access-control-allow-methods",
                   "access-control-allow-headers", "access-control-expose-headers", "access-control-max-age",
                   "access-control-allow-private-network"})
_MAX_OWS, _MAX_EMPTY = 1, 16  # rs/cors: spaces tolerated around a requested name; empty list elements


@dataclass(frozen=True)
class Policy:
    """A compiled ``CorsSettings`` (what rs/cors's ``New`` precomputes)."""

    all_origins: bool
    origins: frozenset[str]                    # lower-cased
    wildcards: tuple[tuple[str, str], ...]     # (prefix, suffix), lower-cased
    methods: tuple[str, ...]
    all_headers: bool
    headers: Mapping[str, int]                 # lower-cased name -> position in sorted order
    exposed: str = ""
    max_age: str = ""
    credentials: bool = False
    private_network: bool = False
    passthrough: bool = False
    success_status: int = 204
    debug: bool = False

    @property
    def preflight_vary(self) -> str:
        vary = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        return vary + ", Access-Control-Request-Private-Network" if self.private_network else vary


#: The fail-closed policy of a broken configuration: no origin, no method.
CLOSED = Policy(all_origins=False, origins=frozenset(), wildcards=(), methods=(), all_headers=False, headers={})


def origin_allowed(policy: Policy, origin: str) -> bool:
    if policy.all_origins:
        return True
    origin = origin.lower()
    return origin in policy.origins or any(
        len(origin) >= len(prefix) + len(suffix) and origin.startswith(prefix) and origin.endswith(suffix)
        for prefix, suffix in policy.wildcards)


def method_allowed(policy: Policy, method: str) -> bool:
    if not policy.methods:
        return False
    return method == "OPTIONS" or method in policy.methods


def _trim_side(text: str, left: bool) -> Optional[str]:
    """rs/cors's trimLeftOWS/trimRightOWS, step for step (None: too much whitespace)."""
    count = 0
    while text:
        if count > _MAX_OWS:
            return None
        if (text[0] if left else text[-1]) not in " \t":
            break
        text, count = (text[1:] if left else text[:-1]), count + 1
    return text


def headers_accepted(policy: Policy, requested: str) -> bool:
    """rs/cors's ``SortedSet.Accepts``: every name allowed, sorted, unique, exact (browsers send lower case)."""
    if policy.all_headers:
        return True
    last, empty = -1, 0
    for element in requested.split(","):
        right = _trim_side(element, left=False)
        name = _trim_side(right, left=True) if right is not None else None
        if name is None:
            return False
        if not name:
            empty += 1
            if empty > _MAX_EMPTY:
                return False
            continue
        position = policy.headers.get(name)
        if position is None or position <= last:
            return False
        last = position
    return True


def preflight(policy: Policy, environ: Mapping[str, Any]) -> tuple[list[Header], str]:
    """rs/cors's handlePreflight: the answer's headers and the reason (for debug logs)."""
    headers: list[Header] = [("Vary", policy.preflight_vary)]
    origin = str(environ.get("HTTP_ORIGIN", ""))
    method = str(environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", ""))
    requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
    if not origin:
        return headers, "aborted: empty origin"
    if not origin_allowed(policy, origin):
        return headers, f"aborted: origin {origin!r} not allowed"
    if not method_allowed(policy, method):
        return headers, f"aborted: method {method!r} not allowed"
    if requested is not None and not headers_accepted(policy, str(requested)):
        return headers, f"aborted: headers {requested!r} not allowed"
    headers.append(("Access-Control-Allow-Origin", "*" if policy.all_origins else origin))
    headers.append(("Access-Control-Allow-Methods", method))
    if requested:
        headers.append(("Access-Control-Allow-Headers", str(requested)))
    if policy.credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    if policy.private_network and environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK") == "true":
        headers.append(("Access-Control-Allow-Private-Network", "true"))
    if policy.max_age:
        headers.append(("Access-Control-Max-Age", policy.max_age))
    return headers, "allowed"


def actual(policy: Policy, method: str, environ: Mapping[str, Any]) -> tuple[list[Header], str]:
    """rs/cors's handleActualRequest: the headers added to the app's answer, and the reason."""
    headers: list[Header] = [("Vary", "Origin")]
    origin = str(environ.get("HTTP_ORIGIN", ""))
    if not origin:
        return headers, "no headers added: missing origin"
    if not origin_allowed(policy, origin):
        return headers, f"no headers added: origin {origin!r} not allowed"
    if not method_allowed(policy, method):
        return headers, f"no headers added: method {method!r} not allowed"
    headers.append(("Access-Control-Allow-Origin", "*" if policy.all_origins else origin))
    if policy.exposed:
        headers.append(("Access-Control-Expose-Headers", policy.exposed))
    if policy.credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    return headers, "allowed"


def merge_headers(cors: list[Header], inner: Iterable[Header]) -> list[Header]:
    """``cors`` plus the app's headers, minus its CORS headers and any Vary token already sent."""
    merged = list(cors)
    seen = {token.strip().lower() for name, value in cors if name == "Vary" for token in value.split(",")}
    for name, value in inner:
        lower = name.lower()
        if lower in OWNED:
            continue
        if lower == "vary":
            fresh = [t.strip() for t in value.split(",") if t.strip() and t.strip().lower() not in seen]
            seen.update(t.lower() for t in fresh)
            if fresh:
                merged.append((name, ", ".join(fresh)))
            continue
        merged.append((name, value))
    return merged
