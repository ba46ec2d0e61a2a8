"""``router`` (service scope): router behaviour switches.

Namespace ``router`` at the top level::

    "extra_config": {"router": {"return_error_msg": true, "health_path": "/health"}}

Supported keys: ``return_error_msg``, ``health_path``, ``disable_health``,
``hide_version_header``, ``error_body`` (``"404"``/``"405"`` JSON bodies),
``disable_redirect_trailing_slash``, ``disable_redirect_fixed_path``,
``disable_handle_method_not_allowed``, ``disable_path_decoding``.
Other keys (``auto_options``, access-log options, client-IP headers) are
accepted and ignored; client IPs come from ``GATEWAY_TRUSTED_PROXIES``
instead (deviation: KrakenD trusts ``X-Forwarded-For`` from anyone).
Stateless.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from app.config.values import flag
from app.errors import ConfigError
from app.version import VERSION_HEADER

NAMESPACE = "router"
_FLAGS = ("return_error_msg", "disable_health", "hide_version_header", "disable_redirect_trailing_slash",
          "disable_access_log",
          "disable_redirect_fixed_path", "disable_handle_method_not_allowed", "disable_path_decoding")


@dataclass(frozen=True)
class RouterSettings:
    return_error_msg: bool = False
    health_path: str = "/__health"
    disable_health: bool = False
    hide_version_header: bool = False
    error_body: Mapping[str, Any] = field(default_factory=dict)
    disable_redirect_trailing_slash: bool = False
    disable_redirect_fixed_path: bool = False
    disable_handle_method_not_allowed: bool = False
    disable_path_decoding: bool = False
    disable_access_log: bool = False

    @property
    def version_header(self) -> str:
        return "Version undefined" if self.hide_version_header else VERSION_HEADER


KEYS = frozenset(_FLAGS) | {"health_path", "error_body"}
#: KrakenD router keys Propylon accepts without acting on them.
IGNORED = frozenset({"auto_options", "logger_skip_paths", "forwarded_by_client_ip",
                     "remote_ip_headers", "trusted_proxies", "app_engine", "max_multipart_memory",
                     "remove_extra_slash", "use_h2c", "disable_gzip"})


def parse(raw: Any, path: str = "extra_config.router") -> RouterSettings:
    if raw is None:
        return RouterSettings()
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object, got {raw!r}")
    values: dict[str, Any] = {}
    for name in _FLAGS:
        values[name] = flag(raw, name, path)
    health = raw.get("health_path", "/__health") or "/__health"
    if not isinstance(health, str) or not health.startswith("/"):
        raise ConfigError(f"{path}.health_path", f"expected a path starting with /, got {health!r}")
    error_body = raw.get("error_body", {}) or {}
    if not isinstance(error_body, dict) or any(k not in ("404", "405") for k in error_body):
        raise ConfigError(f"{path}.error_body", "expected an object with keys \"404\" and/or \"405\"")
    return RouterSettings(health_path=health, error_body=error_body, **values)


def from_config(extra: Mapping[str, Any]) -> RouterSettings:
    return parse(extra.get(NAMESPACE))
