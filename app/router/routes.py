"""Route table: KrakenD path syntax, conflict checks and fixed-path lookup.

KrakenD's router (gin/httprouter) panics at start-up on a duplicate
method+path and on sibling parameters with different names
(``/user/{id}`` vs ``/user/{uid}/x``); we report both as ``ConfigError``.
It also answers a near-miss with a redirect: a toggled trailing slash, or a
cleaned, case-insensitively matched path (``/StAtic`` -> ``/static``);
``fixed_path`` finds that path.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Iterable, Optional

from app.errors import ConfigError

_PARAM = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class Route:
    method: str
    path: str                 # KrakenD syntax, /users/{id}
    origin: str = ""          # JSON path for error messages

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/")) if self.path.strip("/") else ()


def to_werkzeug(path: str, variables: Iterable[str]) -> str:
    """``/users/{id}`` -> ``/users/<p0>`` (Werkzeug names must be identifiers)."""
    names = iter(variables)
    return _PARAM.sub(lambda m: f"<{next(names)}>", path)


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}") and segment.count("{") == 1


def check_conflicts(routes: Iterable[Route]) -> None:
    """Raise ``ConfigError`` on duplicates and on differently named sibling parameters."""
    seen: dict[tuple[str, str], Route] = {}
    params_at: dict[tuple[str, tuple[str, ...]], tuple[str, Route]] = {}
    for route in routes:
        key = (route.method, route.path)
        if key in seen:
            raise ConfigError(route.origin, f"{route.method} {route.path} is already defined at {seen[key].origin}")
        seen[key] = route
        prefix: tuple[str, ...] = ()
        for segment in route.segments:
            if _is_param(segment):
                level = (route.method, tuple("{}" if _is_param(s) else s for s in prefix))
                other = params_at.setdefault(level, (segment, route))
                if other[0] != segment:
                    raise ConfigError(route.origin, f"{route.method} {route.path}: parameter {segment} conflicts "
                                      f"with {other[0]} of {other[1].path} at the same position ({other[1].origin})")
            prefix += (segment,)


def clean_path(path: str) -> str:
    """Go's ``path.Clean`` for URLs: no ``//``, ``.`` or ``..``; a trailing slash kept."""
    cleaned = posixpath.normpath("/" + path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def fixed_path(routes: Iterable[Route], method: str, path: str) -> Optional[str]:
    """The registered path a cleaned, case-insensitive ``path`` stands for (trailing slash fixed too)."""
    wanted = tuple(s for s in clean_path(path).strip("/").split("/") if s)
    for route in routes:
        if route.method != method or len(route.segments) != len(wanted):
            continue
        out = []
        for have, want in zip(route.segments, wanted):
            if _is_param(have):
                out.append(want)
            elif have.lower() == want.lower():
                out.append(have)
            else:
                break
        else:
            fixed = "/" + "/".join(out)
            return fixed + "/" if route.path.endswith("/") and fixed != "/" else fixed
    return None
