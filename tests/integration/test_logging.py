"""telemetry/logging: formats, access log, and the request id on logs, backends and answers."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT, write_config


def test_request_id_is_generated_passed_on_and_returned(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/a", "backend": [
        {"host": [backend.url], "url_pattern": "/echo/a", "group": "a"},
        {"host": [backend.url], "url_pattern": "/echo/b", "group": "b"}]}]}, request_id_header="X-Request-Id")
    response = gw.get("/a")
    rid = response.headers["X-Request-Id"]
    assert len(rid) == 36
    assert {tuple(r.header("X-Request-Id")) for r in backend.requests} == {(rid,)}
    assert gw.get("/a", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    forged = gw.get("/a", headers={"X-Request-Id": "bad id\\n"}).headers["X-Request-Id"]
    assert forged != "bad id\\n" and len(forged) == 36


def test_request_id_not_sent_to_backends_by_default(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/a", "backend": [{"host": [backend.url], "url_pattern": "/echo/a"}]}]})
    assert gw.get("/a").headers["X-Request-Id"]
    assert backend.last().header("X-Request-Id") == []


def run_gateway_logging(tmp_path, backend, logging_config, requests=("/a",)):
    """Serve a config in a child process and return what it printed (the real handlers, not pytest's)."""
    config = write_config(tmp_path, {"extra_config": {"telemetry/logging": logging_config}, "endpoints": [
        {"endpoint": "/a", "backend": [{"host": [backend.url], "url_pattern": "/echo/a"}]},
        {"endpoint": "/down", "backend": [{"host": ["http://127.0.0.1:39"], "url_pattern": "/x"}]}]})
    script = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from app import create_app
from app.settings import Settings
app = create_app(Settings(config_path={str(config)!r}))
client = app.test_client()
for path in {list(requests)!r}:
    client.get(path, headers={{"X-Request-Id": "rid-1"}})
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin"})
    return result.stdout, result.stderr


def test_logstash_json_lines_with_access_log_and_request_id(tmp_path, backend):
    out, err = run_gateway_logging(tmp_path, backend, {"level": "INFO", "stdout": True, "format": "logstash"},
                                   ("/a", "/down"))
    lines = [json.loads(line) for line in out.splitlines()]
    access = [line for line in lines if line["logger"] == "propylon.access"]
    expected = [["GET", "/a", "/a", "200"], ["GET", "/down", "/down", "500"]]
    assert [a["message"].split()[:4] for a in access] == expected
    assert all(a["request_id"] == "rid-1" for a in access)
    warning = [line for line in lines if line["level"] == "WARNING" and "backend unavailable" in line["message"]]
    assert warning and warning[0]["request_id"] == "rid-1"
    assert err == ""


def test_text_lines_with_prefix_and_level(tmp_path, backend):
    out, _ = run_gateway_logging(tmp_path, backend, {"level": "WARNING", "prefix": "[GW]", "stdout": True},
                                 ("/a", "/down"))
    lines = out.splitlines()
    assert lines and all(line.startswith("[GW] ") for line in lines)
    assert not any("propylon.access" in line for line in lines)  # INFO is below WARNING
    assert any("[rid-1]" in line and "backend unavailable" in line for line in lines)


def test_no_output_when_neither_stdout_nor_syslog(tmp_path, backend):
    out, err = run_gateway_logging(tmp_path, backend, {"level": "DEBUG"}, ("/a", "/down"))
    assert out == "" and err == ""


def test_bad_logging_config_is_a_config_error(tmp_path):
    config = write_config(tmp_path, {"extra_config": {"telemetry/logging": {"level": "LOUD"}}, "endpoints": []})
    result = subprocess.run([sys.executable, "-m", "app", "check", "-c", str(config)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "extra_config.telemetry/logging.level: expected one of DEBUG" in result.stdout
