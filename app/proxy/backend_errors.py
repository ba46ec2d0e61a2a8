"""``backend/http``: what a failed backend status turns into.

Namespace ``backend/http`` on a backend::

    "extra_config": {"backend/http": {"return_error_code": true}}
    "extra_config": {"backend/http": {"return_error_details": "users"}}

* ``return_error_code``: a single-backend endpoint answers with the
  backend's status (and, with router ``return_error_msg``, its body and
  Content-Type) instead of 500;
* ``return_error_details: "<alias>"``: the failure becomes data,
  ``{"error_<alias>": {"http_status_code", "http_body", "http_body_encoding"}}``,
  merged like any answer (200, ``X-Krakend-Completed: false``); it wins when
  both keys are set.

Stateless; no deviation from KrakenD.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from app.config.values import flag
from app.errors import ConfigError

NAMESPACE = "backend/http"
KEYS = frozenset({"return_error_code", "return_error_details"})


@dataclass(frozen=True)
class BackendHTTPSettings:
    return_error_code: bool = False        # "return_error_code"
    return_error_details: str = ""         # "return_error_details"


def parse(raw: Any, path: str) -> BackendHTTPSettings:
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object, got {raw!r}")
    code = flag(raw, "return_error_code", path)
    details = raw.get("return_error_details", "")
    if not isinstance(details, str):
        raise ConfigError(f"{path}.return_error_details", f"expected a string alias, got {details!r}")
    return BackendHTTPSettings(code, details)


def from_config(extra: Mapping[str, Any], path: str) -> Optional[BackendHTTPSettings]:
    if NAMESPACE not in extra:
        return None
    return parse(extra[NAMESPACE], f"{path}.extra_config.{NAMESPACE}")


def details(alias: str, status: int, body: bytes, content_type: str) -> dict[str, Any]:
    """The data a failed call becomes under ``return_error_details``."""
    detail: dict[str, Any] = {"http_status_code": status}
    if body:
        detail["http_body"] = body.decode("utf-8", "replace")
    if content_type:
        detail["http_body_encoding"] = content_type
    return {f"error_{alias}": detail}
