"""Go duration strings (``150us``, ``100ms``, ``3s``, ``1h30m``) to seconds."""
from __future__ import annotations

import math
import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(value: object) -> float:
    """Seconds for a Go duration.

    Accepts what Go's ``time.ParseDuration`` accepts (an optional sign, one or
    more ``<number><unit>`` pairs, or a bare ``0``).  A JSON number is taken as
    nanoseconds, as KrakenD's config decoder does.  Raises ``ValueError`` with
    a message naming the value.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a duration")
        return float(value) * 1e-9
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration")
    text = value.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    body = text[1:] if text[:1] in ("+", "-") else text
    if body == "0":
        return 0.0
    total, pos = 0.0, 0
    while pos < len(body):
        match = _PART.match(body, pos)
        if match is None:
            raise ValueError(f"{value!r} is not a duration (use a number with ns, us, ms, s, m or h, e.g. \"3s\")")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos == 0:
        raise ValueError(f"{value!r} is not a duration (use a number with ns, us, ms, s, m or h, e.g. \"3s\")")
    return sign * total
