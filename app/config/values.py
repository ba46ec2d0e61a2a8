"""Typed readers for keys of ``extra_config`` namespace objects, with KrakenD-style errors.

One place for the wording, so every namespace reports a bad value the same way.
"""
from __future__ import annotations

from typing import Any, Mapping

from app.errors import ConfigError


def flag(raw: Mapping[str, Any], key: str, path: str, default: bool = False) -> bool:
    """``raw[key]`` as a boolean (``default`` when absent); a non-boolean is a ConfigError at ``path.key``."""
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{path}.{key}", f"expected true or false, got {value!r}")
    return value
