"""``url_pattern`` templates, compiled once: literal text and placeholders.

Placeholders:

* ``{name}``: an endpoint path parameter;
* ``{resp<N>_a.b}`` / ``{resp<N>}``: a value from an earlier sequential
  backend (``proxy.sequential``);
* ``{JWT.claim}`` (KrakenD) and ``{JWT_CLAIMS.claim}`` (the product brief's
  spelling): a claim of the validated token.

Substituted values are percent-encoded for where they land (deviation from
KrakenD, which inserts them raw): a value can never add a path segment, a
query parameter or a fragment.  An unresolved placeholder stays as literal
text, which the encoder turns into ``%7Bname%7D`` (KrakenD sends its internal
template text there; either way the backend sees an obviously unfilled URL).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Optional
from urllib.parse import quote

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_RESP = re.compile(r"^resp(\d+)(?:_(.+))?$")
_JWT = re.compile(r"^(?:JWT|JWT_CLAIMS)\.(.+)$")

# RFC 3986 pchar without "/" and ";" (a value is one segment, and ";" starts
# matrix parameters on some servers).
PATH_SAFE = "-._~!$&'()*+,=:@"
# In the query only unreserved characters stay: "&", "=", "+" and "#" must not
# be able to start another parameter.
QUERY_SAFE = "-._~"
# What may stay unencoded in the literal text of a pattern (requests' requote set).
_LITERAL_SAFE = "!#$%&'()*+,/:;=?@[]~"

PARAM, RESP, JWT = "param", "resp", "jwt"


@dataclass(frozen=True)
class Placeholder:
    kind: str          # PARAM, RESP or JWT
    name: str          # param name, claim name, or "N_path" / "N" for RESP
    text: str          # the placeholder as written, braces included
    in_query: bool     # after the first "?" of the pattern
    index: int = -1    # RESP: the backend index N
    field: str = ""    # RESP: the dotted field after "respN_" ("" = whole body)


@dataclass(frozen=True)
class URLPattern:
    source: str
    parts: tuple["str | Placeholder", ...]

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(p for p in self.parts if isinstance(p, Placeholder))

    @property
    def is_static(self) -> bool:
        return len(self.parts) <= 1 and not self.placeholders

    def render(self, lookup: Callable[[Placeholder], Optional[str]]) -> str:
        """The path (and query) with every resolvable placeholder filled in.

        ``lookup`` returns the raw value for a placeholder or ``None`` when it
        cannot be resolved; values are percent-encoded here.
        """
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = lookup(part)
            if value is None:
                out.append(quote(part.text, safe=""))
            else:
                out.append(quote(value, safe=QUERY_SAFE if part.in_query else PATH_SAFE))
        return "".join(out)


def compile_pattern(source: str) -> URLPattern:
    """Compile a ``url_pattern`` (a leading ``/`` is added when missing)."""
    text = source if source.startswith("/") else "/" + source
    query_at = text.find("?")
    parts: list[str | Placeholder] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > pos:
            parts.append(quote(text[pos:match.start()], safe=_LITERAL_SAFE))
        parts.append(_placeholder(match.group(1), match.group(0), 0 <= query_at < match.start()))
        pos = match.end()
    if pos < len(text):
        parts.append(quote(text[pos:], safe=_LITERAL_SAFE))
    return URLPattern(source=text, parts=tuple(parts))


def _placeholder(name: str, text: str, in_query: bool) -> Placeholder:
    jwt = _JWT.match(name)
    if jwt:
        return Placeholder(JWT, jwt.group(1), text, in_query)
    resp = _RESP.match(name)
    if resp:
        return Placeholder(RESP, name, text, in_query, index=int(resp.group(1)), field=resp.group(2) or "")
    return Placeholder(PARAM, name, text, in_query)
