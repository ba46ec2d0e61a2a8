"""app.settings: read, Settings.from_env, default_workers, markdown_table."""
from __future__ import annotations

import ipaddress
import os
import re
from typing import Any

import pytest

from app.settings import SETTINGS, Settings, default_workers, markdown_table, read

READ: list[tuple[str, str, dict[str, str], Any]] = [
    ("threads", "GATEWAY_THREADS", {"GATEWAY_THREADS": "4"}, 4),
    ("threads-spaces", "GATEWAY_THREADS", {"GATEWAY_THREADS": " 4 "}, 4),
    ("threads-default", "GATEWAY_THREADS", {}, 8),
    ("blank-is-default", "GATEWAY_THREADS", {"GATEWAY_THREADS": "  "}, 8),
    ("derived-default-is-none", "GATEWAY_WORKERS", {}, None),
    ("derived-pool-is-none", "GATEWAY_POOL_SIZE", {"GATEWAY_POOL_SIZE": ""}, None),
    ("config-default", "GATEWAY_CONFIG", {}, "config/krakend.json"),
    ("config-stripped", "GATEWAY_CONFIG", {"GATEWAY_CONFIG": " k.yaml "}, "k.yaml"),
    ("debug-default", "GATEWAY_DEBUG", {}, False),
    ("debug-yes", "GATEWAY_DEBUG", {"GATEWAY_DEBUG": "yes"}, True),
    ("debug-TRUE", "GATEWAY_DEBUG", {"GATEWAY_DEBUG": "TRUE"}, True),
    ("debug-1", "GATEWAY_DEBUG", {"GATEWAY_DEBUG": "1"}, True),
    ("debug-off", "GATEWAY_DEBUG", {"GATEWAY_DEBUG": "off"}, False),
    ("size-default", "GATEWAY_MAX_BODY", {}, 1024 * 1024),
    ("size-bytes", "GATEWAY_MAX_BODY", {"GATEWAY_MAX_BODY": "512"}, 512),
    ("size-k", "GATEWAY_MAX_BODY", {"GATEWAY_MAX_BODY": "2K"}, 2048),
    ("size-kb-lower", "GATEWAY_MAX_BODY", {"GATEWAY_MAX_BODY": "4kb"}, 4096),
    ("size-mib", "GATEWAY_MAX_BODY", {"GATEWAY_MAX_BODY": "1MiB"}, 1024 ** 2),
    ("size-g", "GATEWAY_MAX_RESPONSE", {"GATEWAY_MAX_RESPONSE": "1G"}, 1024 ** 3),
    ("response-default", "GATEWAY_MAX_RESPONSE", {}, 10 * 1024 ** 2),
    ("proxies-default", "GATEWAY_TRUSTED_PROXIES", {}, ()),
    ("proxies", "GATEWAY_TRUSTED_PROXIES", {"GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1,,::1"},
     (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.168.1.1/32"), ipaddress.ip_network("::1/128"))),
    ("proxies-host-bits", "GATEWAY_TRUSTED_PROXIES", {"GATEWAY_TRUSTED_PROXIES": "10.1.2.3/8"},
     (ipaddress.ip_network("10.0.0.0/8"),)),
    ("level-default", "GATEWAY_LOG_LEVEL", {}, "INFO"),
    ("level-lower", "GATEWAY_LOG_LEVEL", {"GATEWAY_LOG_LEVEL": "debug"}, "DEBUG"),
    ("keepalive", "GATEWAY_KEEPALIVE", {}, 5),
]


@pytest.mark.parametrize(("name", "environ", "expected"), [r[1:] for r in READ], ids=[r[0] for r in READ])
def test_read(name: str, environ: dict[str, str], expected: Any) -> None:
    assert read(name, environ) == expected


READ_ERRORS: list[tuple[str, str, str, str]] = [
    ("threads-zero", "GATEWAY_THREADS", "0", "must be at least 1, got 0"),
    ("threads-text", "GATEWAY_THREADS", "many", "invalid literal for int()"),
    ("workers-negative", "GATEWAY_WORKERS", "-2", "must be at least 1, got -2"),
    ("debug", "GATEWAY_DEBUG", "maybe", "not a boolean: 'maybe'"),
    ("size-zero", "GATEWAY_MAX_BODY", "0", "must be positive, got '0'"),
    ("size-negative", "GATEWAY_MAX_BODY", "-1K", "must be positive, got '-1K'"),
    ("size-fraction", "GATEWAY_MAX_BODY", "1.5M", "invalid literal for int()"),
    ("size-unit", "GATEWAY_MAX_RESPONSE", "10T", "invalid literal for int()"),
    ("proxies", "GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8,not-an-ip", "does not appear to be an IPv4 or IPv6 network"),
    ("level", "GATEWAY_LOG_LEVEL", "verbose", "unknown log level 'verbose'"),
]


@pytest.mark.parametrize(("name", "raw", "fragment"), [e[1:] for e in READ_ERRORS], ids=[e[0] for e in READ_ERRORS])
def test_read_errors_name_the_variable(name: str, raw: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(f"{name}={raw!r}: ")) as info:
        read(name, {name: raw})
    assert fragment in str(info.value)


def test_read_with_an_explicit_environ_ignores_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_THREADS", "3")
    assert read("GATEWAY_THREADS", {}) == 8
    assert read("GATEWAY_THREADS") == 3


def test_read_unknown_setting() -> None:
    with pytest.raises(KeyError):
        read("GATEWAY_NOPE", {})


FROM_ENV: list[tuple[str, dict[str, str], Settings]] = [
    ("defaults", {}, Settings()),
    ("pool-follows-threads", {"GATEWAY_THREADS": "4"}, Settings(threads=4, pool_size=16)),
    ("pool-explicit", {"GATEWAY_THREADS": "4", "GATEWAY_POOL_SIZE": "3"}, Settings(threads=4, pool_size=3)),
    ("everything", {
        "GATEWAY_CONFIG": "/etc/k.yaml", "GATEWAY_DEBUG": "on", "GATEWAY_MAX_BODY": "2K",
        "GATEWAY_MAX_RESPONSE": "1M", "GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8", "GATEWAY_LOG_LEVEL": "warning",
        "UNRELATED": "x",
    }, Settings(config_path="/etc/k.yaml", debug=True, max_body=2048, max_response=1024 ** 2,
                trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),), log_level="WARNING")),
]


@pytest.mark.parametrize(("environ", "expected"), [f[1:] for f in FROM_ENV], ids=[f[0] for f in FROM_ENV])
def test_settings_from_env(environ: dict[str, str], expected: Settings) -> None:
    assert Settings.from_env(environ) == expected


def test_settings_from_env_error_names_the_variable() -> None:
    with pytest.raises(ValueError, match="^GATEWAY_POOL_SIZE='0': must be at least 1"):
        Settings.from_env({"GATEWAY_POOL_SIZE": "0"})


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


WORKERS: list[tuple[str, dict[str, str], int]] = [
    ("gateway-workers", {"GATEWAY_WORKERS": "3"}, 3),
    ("web-concurrency", {"WEB_CONCURRENCY": "5"}, 5),
    ("gateway-workers-wins", {"GATEWAY_WORKERS": "3", "WEB_CONCURRENCY": "5"}, 3),
    ("blank-gateway-workers-falls-back", {"GATEWAY_WORKERS": " ", "WEB_CONCURRENCY": " 6 "}, 6),
    ("blank-web-concurrency-falls-back", {"WEB_CONCURRENCY": "  "}, 2 * _cores()),
    ("neither", {}, 2 * _cores()),
]


@pytest.mark.parametrize(("environ", "expected"), [w[1:] for w in WORKERS], ids=[w[0] for w in WORKERS])
def test_default_workers(environ: dict[str, str], expected: int) -> None:
    assert default_workers(environ) == expected


@pytest.mark.parametrize("environ", [{"GATEWAY_WORKERS": "0"}, {"WEB_CONCURRENCY": "0"}, {"WEB_CONCURRENCY": "x"}],
                         ids=["gateway-workers-zero", "web-concurrency-zero", "web-concurrency-text"])
def test_default_workers_rejects_bad_values(environ: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        default_workers(environ)


@pytest.mark.parametrize("raw", ["x", "0"])
def test_default_workers_error_names_web_concurrency(raw: str) -> None:
    with pytest.raises(ValueError, match="WEB_CONCURRENCY"):
        default_workers({"WEB_CONCURRENCY": raw})


def test_markdown_table() -> None:
    table = markdown_table()
    lines = table.splitlines()
    assert table.endswith("|\n")
    assert lines[:2] == ["| variable | type | default | description |", "| --- | --- | --- | --- |"]
    assert len(lines) == len(SETTINGS) + 2
    assert [line.split("|")[1].strip() for line in lines[2:]] == [f"`{s.name}`" for s in SETTINGS]
    assert "| `GATEWAY_THREADS` | int | `8` | Request threads per worker (gunicorn gthread). |" in lines
    assert any(line.startswith("| `GATEWAY_WORKERS` | int | derived | ") for line in lines)
    assert any(line.startswith("| `GATEWAY_TRUSTED_PROXIES` | CIDR list | none | ") for line in lines)
