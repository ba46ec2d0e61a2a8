"""The files under deploy/: a systemd unit systemd accepts, an environment file of known settings."""
from __future__ import annotations

import configparser
import shutil
import subprocess

import pytest

from app.settings import SETTINGS
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "propylon.service")
    return parser


def test_unit_runs_gunicorn_hardened_and_reloadable():
    service = unit()["Service"]
    assert service["ExecStart"].endswith("gunicorn wsgi:app")
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["User"] == "propylon" and service["EnvironmentFile"] == "/etc/propylon/propylon.env"
    for directive, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                             ("ProtectHome", "yes"), ("Restart", "on-failure")):
        assert service[directive] == value, directive
    assert int(service["LimitNOFILE"]) >= 65536
    assert service["RuntimeDirectory"] == "propylon"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_the_unit():
    result = subprocess.run(["systemd-analyze", "verify", str(DEPLOY / "propylon.service")],
                            capture_output=True, text=True, timeout=60)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "is not executable" not in line and "/opt/propylon" not in line]
    assert problems == []


def test_environment_file_only_sets_known_settings():
    known = {s.name for s in SETTINGS}
    names = [line.split("=", 1)[0] for line in (DEPLOY / "propylon.env").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert names and set(names) <= known


def test_nginx_example_buffers_and_times_out_slow_clients():
    text = (DEPLOY / "nginx.conf").read_text()
    for directive in ("client_header_timeout", "client_body_timeout", "client_max_body_size",
                      "proxy_request_buffering on", "X-Forwarded-For $remote_addr"):
        assert directive in text
