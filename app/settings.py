"""Process settings, read only from ``GATEWAY_*`` environment variables.

Every variable is declared once in ``SETTINGS`` with its type, default and a
one-line description.  ``gunicorn.conf.py`` and the app read through the same
helpers, ``propylon settings`` renders the table as Markdown, and a test keeps
the README's copy identical to it.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Union

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {raw!r} (use 1/0, true/false, yes/no, on/off)")


def _positive_int(raw: str) -> int:
    value = int(raw.strip())
    if value < 1:
        raise ValueError(f"must be at least 1, got {value}")
    return value


def _count(raw: str) -> int:
    value = int(raw.strip())
    if value < 0:
        raise ValueError(f"must be 0 or more, got {value}")
    return value


def _size(raw: str) -> int:
    """Bytes, with an optional K/M/G suffix (powers of 1024)."""
    text = raw.strip().upper().removesuffix("B").removesuffix("I")
    factor = 1
    for suffix, mult in (("K", 1024), ("M", 1024 ** 2), ("G", 1024 ** 3)):
        if text.endswith(suffix):
            text, factor = text[:-1], mult
            break
    value = int(text) * factor
    if value < 1:
        raise ValueError(f"must be positive, got {raw!r}")
    return value


def _networks(raw: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in raw.split(",") if part.strip())


def _text(raw: str) -> str:
    return raw.strip()


def _level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"unknown log level {raw!r}")
    return value


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str                      # shown in the docs table
    cast: Callable[[str], Any]
    default: str                   # raw text, cast like a value from the environment
    description: str


#: The one table of environment settings.  ``default`` is a string so the
#: docs show exactly what a user would type; ``""`` means "derived" and the
#: description says from what.
SETTINGS: tuple[Setting, ...] = (
    Setting("GATEWAY_CONFIG", "path", _text, "config/krakend.json",
            "KrakenD configuration file (`.json`, `.yaml` or `.yml`)."),
    Setting("GATEWAY_BIND", "host:port", _text, "",
            "Listen address; default `0.0.0.0:<port from the config>` (8080 when the config has none)."),
    Setting("GATEWAY_DEBUG", "bool", _bool, "0",
            "Enable `/__debug/` and `/__echo/` and debug logs, like `krakend run -d`."),
    Setting("GATEWAY_WORKERS", "int", _positive_int, "",
            "gunicorn worker processes; default `WEB_CONCURRENCY`, else 2 x CPU cores."),
    Setting("GATEWAY_THREADS", "int", _positive_int, "8",
            "Request threads per worker (gunicorn gthread)."),
    Setting("GATEWAY_POOL_SIZE", "int", _positive_int, "",
            "Fan-out threads per worker for parallel backend calls; default 4 x `GATEWAY_THREADS`."),
    Setting("GATEWAY_MAX_BODY", "size", _size, "1M",
            "Largest accepted client request body (K/M/G suffixes); larger bodies get 413."),
    Setting("GATEWAY_MAX_RESPONSE", "size", _size, "10M",
            "Largest decoded backend response body; a larger one fails that backend."),
    Setting("GATEWAY_TRUSTED_PROXIES", "CIDR list", _networks, "",
            "Comma-separated proxies whose `X-Forwarded-For` is believed; none: the socket peer is the client "
            "(also gunicorn's `forwarded_allow_ips`, else `127.0.0.1,::1`)."),
    Setting("GATEWAY_STORAGE_URL", "URL", _text, "",
            "Redis shared by every worker and VM for rate limits, circuit breakers and the backend cache "
            "(`redis://[:password@]host:6379/0`); none: state is per worker."),
    Setting("GATEWAY_METRICS_DIR", "path", _text, "",
            "Directory where gunicorn workers keep Prometheus metrics (wiped at start); default a fresh "
            "directory under the system temp dir."),
    Setting("GATEWAY_REQUEST_ID_HEADER", "header", _text, "",
            "Send each request's id to the backends in this header (e.g. `X-Request-Id`); none: not sent, "
            "as KrakenD."),
    Setting("GATEWAY_KEEPALIVE", "seconds", _positive_int, "5",
            "Seconds gunicorn keeps an idle client connection open."),
    Setting("GATEWAY_WORKER_TIMEOUT", "seconds", _positive_int, "30",
            "gunicorn's worker heartbeat: a worker silent this long is restarted (not a request deadline)."),
    Setting("GATEWAY_MAX_REQUESTS", "int", _count, "10000",
            "Restart a worker after this many requests (bounds leaks); 0: never."),
    Setting("GATEWAY_MAX_REQUESTS_JITTER", "int", _count, "1000",
            "Random extra requests per worker before that restart, so workers do not restart together."),
    Setting("GATEWAY_LIMIT_REQUEST_LINE", "bytes", _count, "4094",
            "Longest request line gunicorn accepts (414 above)."),
    Setting("GATEWAY_LIMIT_REQUEST_FIELDS", "int", _count, "100",
            "Most request header fields gunicorn accepts."),
    Setting("GATEWAY_LIMIT_REQUEST_FIELD_SIZE", "bytes", _count, "8190",
            "Longest request header line gunicorn accepts."),
    Setting("GATEWAY_GRACEFUL_TIMEOUT", "seconds", _positive_int, "",
            "Seconds a stopping worker may finish requests; default longest endpoint timeout + 5 s."),
    Setting("GATEWAY_LOG_LEVEL", "level", _level, "INFO",
            "Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL (`GATEWAY_DEBUG=1` forces DEBUG)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def read(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The cast value of one setting; ``None`` when unset and the default is derived.

    Raises ``ValueError`` naming the variable when the value does not cast.
    """
    setting = _BY_NAME[name]
    env = os.environ if environ is None else environ
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        raw = setting.default
        if raw == "":
            return None if setting.kind != "CIDR list" else ()
    try:
        return setting.cast(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r}: {exc}") from None


@dataclass(frozen=True)
class Settings:
    """The settings the app itself uses (gunicorn's own are read in gunicorn.conf.py)."""

    config_path: str = "config/krakend.json"
    debug: bool = False
    threads: int = 8
    pool_size: int = 32
    max_body: int = 1024 * 1024
    max_response: int = 10 * 1024 * 1024
    trusted_proxies: tuple[IPNetwork, ...] = ()
    log_level: str = "INFO"
    storage_url: str = ""
    request_id_header: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        threads = int(read("GATEWAY_THREADS", environ))
        pool = read("GATEWAY_POOL_SIZE", environ)
        env = os.environ if environ is None else environ
        return cls(
            # PROPYLON_ACTIVE_CONFIG: internal, the snapshot gunicorn's master validated (gunicorn.conf.py).
            config_path=env.get("PROPYLON_ACTIVE_CONFIG") or str(read("GATEWAY_CONFIG", environ)),
            debug=bool(read("GATEWAY_DEBUG", environ)),
            threads=threads,
            pool_size=int(pool) if pool is not None else 4 * threads,
            max_body=int(read("GATEWAY_MAX_BODY", environ)),
            max_response=int(read("GATEWAY_MAX_RESPONSE", environ)),
            trusted_proxies=read("GATEWAY_TRUSTED_PROXIES", environ),
            log_level=str(read("GATEWAY_LOG_LEVEL", environ)),
            storage_url=read("GATEWAY_STORAGE_URL", environ) or "",
            request_id_header=read("GATEWAY_REQUEST_ID_HEADER", environ) or "",
        )


def default_workers(environ: Mapping[str, str] | None = None) -> int:
    """``GATEWAY_WORKERS``, else gunicorn's ``WEB_CONCURRENCY``, else 2 x cores."""
    env = os.environ if environ is None else environ
    workers = read("GATEWAY_WORKERS", env)
    if workers is not None:
        return int(workers)
    if env.get("WEB_CONCURRENCY", "").strip():
        try:
            return _positive_int(env["WEB_CONCURRENCY"])
        except ValueError as exc:
            raise ValueError(f"WEB_CONCURRENCY={env['WEB_CONCURRENCY']!r}: {exc}") from None
    return 2 * _cores()


def markdown_table() -> str:
    """The settings table as Markdown, for the README (``propylon settings``)."""
    lines = ["| variable | type | default | description |", "| --- | --- | --- | --- |"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else ("none" if s.kind in ("CIDR list", "URL", "header")
                                                      else "derived")
        lines.append(f"| `{s.name}` | {s.kind} | {default} | {s.description} |")
    return "\n".join(lines) + "\n"
