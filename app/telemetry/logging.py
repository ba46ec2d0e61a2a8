"""``telemetry/logging``: where the gateway logs, in what shape, and the request id on every line.

Namespace ``telemetry/logging`` at the top level::

    "telemetry/logging": {"level": "INFO", "prefix": "[GATEWAY]", "stdout": true, "format": "logstash"}

Keys: ``level`` (DEBUG, INFO, WARNING, ERROR, CRITICAL), ``prefix`` (text
before each line), ``stdout`` (write to stdout), ``syslog`` (write to the
local syslog, ``syslog_facility`` default ``local3``) and ``format``:
``default`` (text lines) or ``logstash`` (one JSON object per line, for log
shippers).  With the namespace, one access-log line per request is written
(method, path, endpoint template, status, duration, client, request id)
unless router ``disable_access_log``.  Without it, Propylon logs text to
stderr at ``GATEWAY_LOG_LEVEL``; ``GATEWAY_LOG_LEVEL``, when set, and
``GATEWAY_DEBUG=1`` win over ``level``.

Every line carries the request id: the client's ``X-Request-Id`` when it is
a plain token (letters, digits, ``._-``, at most 128), else a new UUID.  It
is returned to the client as ``X-Request-Id``, and sent to backends in the
header ``GATEWAY_REQUEST_ID_HEADER`` names (none by default, as KrakenD).
Deviation: ``custom`` formats are not implemented (they fall back to
``default``).
"""
from __future__ import annotations

import contextvars
import datetime
import json
import logging
import logging.handlers
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from app.errors import ConfigError
from app.settings import Settings

NAMESPACE = "telemetry/logging"
REQUEST_ID = contextvars.ContextVar("propylon_request_id", default="-")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"
    prefix: str = ""
    stdout: bool = False
    syslog: bool = False
    facility: str = "local3"
    json: bool = False
    access_log: bool = True


def parse(raw: Any, path: str = f"extra_config.{NAMESPACE}") -> LoggingSettings:
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object, got {raw!r}")
    level = str(raw.get("level", "INFO")).upper()
    if level not in LEVELS:
        raise ConfigError(f"{path}.level", f"expected one of {', '.join(LEVELS)}, got {raw.get('level')!r}")
    form = raw.get("format", "default") or "default"
    if form not in ("default", "logstash", "custom"):
        raise ConfigError(f"{path}.format", f"expected default, logstash or custom, got {form!r}")
    facility = str(raw.get("syslog_facility", "local3"))
    if facility not in logging.handlers.SysLogHandler.facility_names:
        raise ConfigError(f"{path}.syslog_facility", f"unknown syslog facility {facility!r}")
    return LoggingSettings(level, str(raw.get("prefix", "")), bool(raw.get("stdout", False)),
                           bool(raw.get("syslog", False)), facility, form == "logstash")


def request_id(incoming: Optional[str]) -> str:
    """The client's id when it is a plain token, else a new one."""
    import uuid
    return incoming if incoming and _VALID_ID.match(incoming) else str(uuid.uuid4())


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class _JSONFormatter(logging.Formatter):
    """Logstash-style JSON lines."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "@timestamp": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).isoformat(),
            "@version": 1, "level": record.levelname, "message": record.getMessage(), "module": "PROPYLON",
            "logger": record.name, "request_id": getattr(record, "request_id", "-")}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(settings: Settings, extra: Mapping[str, Any]) -> Optional[LoggingSettings]:
    """Set up the ``propylon`` logger; returns the namespace's settings when present."""
    raw = extra.get(NAMESPACE)
    options = parse(raw) if raw is not None else None
    logger = logging.getLogger("propylon")
    level = options.level if options is not None and "GATEWAY_LOG_LEVEL" not in os.environ else settings.log_level
    logger.setLevel("DEBUG" if settings.debug else level)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    prefix = f"{options.prefix} " if options is not None and options.prefix else ""
    text = logging.Formatter(f"{prefix}%(asctime)s [%(process)d] %(levelname)s [%(request_id)s] %(name)s: "
                             "%(message)s")
    formatter = _JSONFormatter() if options is not None and options.json else text
    handlers: list[logging.Handler] = []
    if options is None:
        handlers.append(logging.StreamHandler(sys.stderr))
    else:
        if options.stdout:
            handlers.append(logging.StreamHandler(sys.stdout))
        if options.syslog:
            address = "/dev/log" if os.path.exists("/dev/log") else ("localhost", 514)
            handlers.append(logging.handlers.SysLogHandler(
                address=address, facility=logging.handlers.SysLogHandler.facility_names[options.facility]))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(_RequestIdFilter())
        logger.addHandler(handler)
    if not handlers:
        logger.addHandler(logging.NullHandler())
    # pybreaker logs a traceback for every Redis error it swallows; app.storage
    # already reports an outage once per back-off.
    logging.getLogger("pybreaker").setLevel(logging.CRITICAL)
    return options
