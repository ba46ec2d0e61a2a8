"""Read a configuration file into a raw tree (JSON, or YAML by extension)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from app.config import flexible
from app.errors import ConfigError


def load_raw(path: str) -> dict[str, Any]:
    """The decoded top-level object of the file at ``path``.

    ``.yml``/``.yaml`` files are read as YAML, anything else as JSON (as
    KrakenD's parser does).  Raises ``ConfigError`` with the line and column
    of a syntax error, or when the file is missing or not an object.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("", f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    if flexible.enabled(os.environ):
        text = flexible.render(text, path, os.environ)
    tree = parse_text(text, yaml_syntax=file.suffix.lower() in (".yml", ".yaml"), name=path)
    return apply_env_overrides(tree, os.environ)


def _flag(text: str) -> bool:
    if text.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if text.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


#: Top-level keys ``KRAKEND_<KEY>`` may set, and how the text is read (KrakenD's reserved overrides).
OVERRIDES: Mapping[str, Callable[[str], Any]] = {
    "port": int, "name": str, "timeout": str, "cache_ttl": str, "output_encoding": str, "listen_ip": str,
    "debug_endpoint": _flag, "echo_endpoint": _flag, "disable_rest": _flag,
}


def apply_env_overrides(tree: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """``KRAKEND_PORT=9000`` and friends replace top-level scalar keys, as in KrakenD.

    Raises ``ConfigError`` naming the variable when its value does not fit the key.
    """
    for variable, text in environ.items():
        key = variable[len("KRAKEND_"):].lower() if variable.startswith("KRAKEND_") else ""
        if key in OVERRIDES:
            try:
                tree[key] = OVERRIDES[key](text)
            except ValueError as exc:
                raise ConfigError(key, f"{variable}={text!r}: {exc}") from exc
    return tree


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def parse_text(text: str, *, yaml_syntax: bool = False, name: str = "<config>") -> dict[str, Any]:
    """Decode config text; see ``load_raw``."""
    if yaml_syntax:
        try:
            tree = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError("", f"{name}: invalid YAML{where}: {problem}") from exc
    else:
        try:
            tree = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise ConfigError("", f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
        except ValueError as exc:
            raise ConfigError("", f"{name}: invalid JSON: {exc}") from exc
    if not isinstance(tree, dict):
        raise ConfigError("", f"{name}: the configuration must be a JSON object, got {type(tree).__name__}")
    return tree
