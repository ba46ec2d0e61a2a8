"""Typed readers for keys of ``extra_config`` namespace objects, with KrakenD-style errors.

One place for the wording, so every namespace reports a bad value the same way.
"""
from __future__ import annotations

from typing import Any, Mapping

from app.errors import ConfigError


def typed(raw: Mapping[str, Any], key: str, path: str, kind: type, default: Any) -> Any:
    """``raw[key]`` if it is a ``kind`` (``default`` when absent or null); else a ConfigError at ``path.key``.

    Booleans are not numbers here (JSON ``true`` is not ``1``); a JSON integer
    is accepted where a float is wanted.
    """
    value = raw.get(key, default)
    if value is None:
        return default
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ConfigError(f"{path}.{key}", f"expected {kind.__name__}, got {value!r}")
    return value


def strings(raw: Mapping[str, Any], key: str, path: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    """``raw[key]`` as a list of strings (``default`` when absent, null or empty).

    A non-list is a ConfigError at ``path.key``, a non-string item at ``path.key[i]``.
    """
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, list):
        raise ConfigError(f"{path}.{key}", f"expected a list of strings, got {value!r}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError(f"{path}.{key}[{index}]", f"expected a string, got {item!r}")
    return tuple(value) or default


def flag(raw: Mapping[str, Any], key: str, path: str, default: bool = False) -> bool:
    """``raw[key]`` as a boolean (``default`` when absent); a non-boolean is a ConfigError at ``path.key``."""
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{path}.{key}", f"expected true or false, got {value!r}")
    return value
