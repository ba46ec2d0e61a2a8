"""Pure claim checks: roles, scopes, nested keys, propagated headers."""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from app.proxy.formatting import dig


def lookup(claims: Mapping[str, Any], key: str, nested: bool) -> Any:
    """A claim by name; dotted names are walked when ``nested`` and not a URL (KrakenD's rule)."""
    if key in claims or not nested or "." not in key or key.startswith("http"):
        return claims.get(key)
    return dig(claims, key)


def as_strings(value: Any) -> tuple[str, ...]:
    """A list of strings, or a space-separated string; anything else (or non-strings inside) drops out."""
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def has_any_role(claims: Mapping[str, Any], key: str, nested: bool, roles: Sequence[str]) -> bool:
    held = as_strings(lookup(claims, key, nested))
    return any(role in held for role in roles)


def has_scopes(claims: Mapping[str, Any], key: str, scopes: Sequence[str], match_all: bool) -> bool:
    held = as_strings(lookup(claims, key, True))
    test = all if match_all else any
    return test(scope in held for scope in scopes)


def header_value(value: Any) -> Optional[str]:
    """A claim as a header value (arrays comma-joined, objects as JSON); None when unsafe to send.

    A value with control characters, over 1 KiB, or outside Latin-1 cannot be
    sent as an HTTP header faithfully, so the request is refused instead.
    """
    from app import jsoncodec
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    elif isinstance(value, list):
        parts = [header_value(v) for v in value]
        if any(p is None for p in parts):
            return None
        text = ",".join(p for p in parts if p is not None)
    else:
        text = jsoncodec.dumps(value).decode()
    if len(text) > 1024 or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        return None
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return None
    return text
