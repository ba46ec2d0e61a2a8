"""The Designer's API over real HTTP: open, check, save one file; refuse other origins."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from typing import Any

import pytest
import requests

from app.cli import main
from app.config import load
from app.designer.api import create_designer, detect_indent
from app.errors import ConfigError
from tests.conftest import EXAMPLE, ROOT, Designer


def two_backend_endpoint(url_pattern: str, host: str) -> dict[str, Any]:
    return {"endpoint": "/v1/summary/{id}", "backend": [
        {"host": [host], "url_pattern": url_pattern, "mapping": {"name": "full_name"}},
        {"host": [host], "url_pattern": "/echo/{id}", "group": "other", "allow": ["path"]},
    ]}


@pytest.mark.parametrize("text, indent", [
    ('{\n  "a": 1\n}\n', 2),
    ('{\n    "a": {\n        "b": 1\n    }\n}', 4),
    ('{"a": 1}', 2),
    ("", 2),
])
def test_detect_indent(text, indent):
    assert detect_indent(text) == indent


def test_open_returns_text_and_config_in_file_order(designer):
    body = designer.get("/api/config").json()
    assert body["exists"] is True and body["text"] == EXAMPLE.read_text()
    assert list(body["config"]) == list(json.loads(EXAMPLE.read_text()))
    assert body["path"] == str(designer.path.resolve())


def test_open_a_new_file_starts_from_an_empty_config(tmp_path):
    served = Designer(tmp_path / "new.json")
    try:
        body = served.get("/api/config").json()
        assert body["exists"] is False and body["config"] == {"version": 3, "endpoints": []}
    finally:
        served.server.shutdown()


def test_check_names_the_bad_url_pattern_and_clears_when_fixed(designer, backend):
    config = designer.get("/api/config").json()["config"]
    config["endpoints"].append(two_backend_endpoint("/json/{idd}", backend.url))
    index = len(config["endpoints"]) - 1
    report = designer.post("/api/check", json=config).json()
    assert report["ok"] is False
    assert [e["path"] for e in report["errors"]] == [f"endpoints[{index}].backend[0].url_pattern"]
    assert "idd" in report["errors"][0]["message"]
    config["endpoints"][index] = two_backend_endpoint("/json/{id}", backend.url)
    report = designer.post("/api/check", json=config).json()
    assert report["ok"] is True and report["errors"] == []
    assert {"endpoint": "/v1/summary/{id}", "method": "GET", "backends": [
        {"hosts": [backend.url], "url_pattern": "/json/{id}", "method": "GET"},
        {"hosts": [backend.url], "url_pattern": "/echo/{id}", "method": "GET"},
    ]} in report["endpoints"]


def test_save_refuses_errors_and_keeps_the_file(designer, backend):
    before = designer.path.read_bytes()
    config = json.loads(before)
    config["endpoints"].append(two_backend_endpoint("/json/{idd}", backend.url))
    response = designer.post("/api/save", json=config)
    assert response.status_code == 422 and response.json()["saved"] is False
    assert designer.path.read_bytes() == before


def test_save_unchanged_is_byte_identical(designer):
    before = designer.path.read_bytes()
    response = designer.post("/api/save", json=json.loads(before))
    assert response.status_code == 200 and response.json()["saved"] is True
    assert designer.path.read_bytes() == before


def test_save_keeps_a_hand_formatted_file_except_what_changed(tmp_path):
    path = tmp_path / "krakend.json"
    shutil.copy(ROOT / "config" / "examples" / "user-profile-jwt.json", path)
    before = path.read_text()
    served = Designer(path)
    try:
        config = json.loads(before)
        assert served.post("/api/save", json=config).json()["saved"] is True
        assert path.read_text() == before
        config["endpoints"][0]["timeout"] = "2s"
        assert served.post("/api/save", json=config).json()["saved"] is True
        after = path.read_text().splitlines()
        added = [line for line in after if line not in before.splitlines()]
        assert added and all('"timeout": "2s"' in line or line.strip() in ("}", "},") or line.rstrip().endswith(",")
                             for line in added), added
        assert '"audience": ["propylon-demo"],' in path.read_text()  # one-line arrays stay one line
    finally:
        served.server.shutdown()


def test_saved_config_passes_check_and_the_gateway_serves_it(designer, backend, gateway, capsys):
    backend.json("7", {"name": "Ada"})
    config = designer.get("/api/config").json()["config"]
    config["endpoints"].append(two_backend_endpoint("/json/{id}", backend.url))
    assert designer.post("/api/save", json=config).json()["saved"] is True
    assert main(["check", "-c", str(designer.path)]) == 0
    saved = json.loads(designer.path.read_text())
    assert list(saved) == list(config) and saved["endpoints"][-1] == config["endpoints"][-1]
    assert load(str(designer.path)).endpoints[-1].endpoint == "/v1/summary/{id}"
    live = gateway(saved)
    answer = live.get("/v1/summary/7")
    assert answer.status_code == 200
    assert answer.json() == {"full_name": "Ada", "other": {"path": "/echo/7"}}


@pytest.mark.parametrize("headers, status", [
    ({"Host": "evil.example:80"}, 403),                      # DNS rebinding
    ({"Origin": "http://evil.example"}, 403),                # another site's page
    ({"Content-Type": "text/plain"}, 415),                   # a cross-site "simple" request
])
def test_foreign_requests_are_refused(designer, headers, status):
    before = designer.path.read_bytes()
    send = {"Content-Type": "application/json", **headers}
    response = designer.post("/api/save", data=json.dumps({"version": 3, "endpoints": []}), headers=send)
    assert response.status_code == status and "error" in response.json()
    assert designer.path.read_bytes() == before


def test_body_must_be_a_config_object(designer):
    response = designer.post("/api/check", data="[1]", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "JSON object" in response.json()["error"]


@pytest.mark.parametrize("name, message", [
    ("k.yaml", "JSON files only"),
    ("missing-dir/k.json", "does not exist"),
])
def test_designer_refuses_what_it_cannot_edit(tmp_path, name, message):
    with pytest.raises(ConfigError, match=message):
        create_designer(str(tmp_path / name))


def test_cli_serves_on_loopback(tmp_path):
    path = tmp_path / "krakend.json"
    shutil.copy(EXAMPLE, path)
    process = subprocess.Popen([sys.executable, "-m", "app", "designer", "-c", str(path), "--port", "0"],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(f"Designer for {path} on http://127.0.0.1:")
        url = line.split(" on ", 1)[1].split("/ ", 1)[0]
        with requests.Session() as session:
            session.trust_env = False
            assert session.get(url + "/api/config", timeout=10).json()["exists"] is True
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_try_runs_the_edited_config_in_a_sandbox_gateway(designer, backend):
    backend.json("7", {"name": "Ada"})
    config = designer.get("/api/config").json()["config"]
    config["endpoints"].append(two_backend_endpoint("/json/{id}", backend.url))
    first = designer.post("/api/try", json={"config": config, "path": "/v1/summary/7"}).json()
    assert first["status"] == 200 and json.loads(first["body"]) == {"full_name": "Ada", "other": {"path": "/echo/7"}}
    assert ["Content-Type", "application/json; charset=utf-8"] in first["headers"]
    assert first["sandbox"]["reused"] is False and first["truncated"] is False
    again = designer.post("/api/try", json={"config": config, "path": "/v1/summary/7", "method": "get"}).json()
    assert again["sandbox"] == {**first["sandbox"], "reused": True}
    missing = designer.post("/api/try", json={"config": config, "path": "/nope"}).json()
    assert missing["status"] == 404 and missing["sandbox"]["reused"] is True
    config["endpoints"][-1]["endpoint"] = "/v2/summary/{id}"
    changed = designer.post("/api/try", json={"config": config, "path": "/v2/summary/7"}).json()
    assert changed["status"] == 200 and changed["sandbox"]["reused"] is False
    assert not alive(first["sandbox"]["pid"]) and alive(changed["sandbox"]["pid"])


def test_try_refuses_a_config_with_errors_without_starting(designer, backend):
    config = designer.get("/api/config").json()["config"]
    config["endpoints"].append(two_backend_endpoint("/json/{idd}", backend.url))
    response = designer.post("/api/try", json={"config": config, "path": "/v1/summary/7"})
    assert response.status_code == 422 and response.json()["errors"][0]["path"].endswith("url_pattern")
    assert designer.app.extensions["designer_sandbox"].pid == 0


@pytest.mark.parametrize("change, field", [
    ({"config": [1]}, "config"),
    ({"method": "TRACE"}, "method"),
    ({"path": "v1/summary"}, "path"),
    ({"path": "/a b"}, "path"),
    ({"path": "/a\r\nX-Evil: 1"}, "path"),
    ({"headers": {"X-A": 1}}, "headers"),
    ({"body": {"a": 1}}, "body"),
])
def test_try_validates_the_request(designer, change, field):
    body = {"config": {"version": 3, "endpoints": []}, "path": "/", **change}
    response = designer.post("/api/try", json=body)
    assert response.status_code == 400 and response.json()["error"].startswith(f"{field}:")


@pytest.mark.slow
def test_cli_stops_its_sandbox_on_sigterm(tmp_path, backend):
    path = tmp_path / "krakend.json"
    path.write_text(json.dumps({"version": 3, "endpoints": [two_backend_endpoint("/json/{id}", backend.url)]}))
    process = subprocess.Popen([sys.executable, "-m", "app", "designer", "-c", str(path), "--port", "0"],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(" on ", 1)[1].split("/ ", 1)[0]
        with requests.Session() as session:
            session.trust_env = False
            tried = session.post(url + "/api/try", timeout=60, json={
                "config": json.loads(path.read_text()), "path": "/v1/summary/1"}).json()
        pid = tried["sandbox"]["pid"]
        assert alive(pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert not alive(pid)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.slow
def test_try_shows_why_the_sandbox_gateway_failed(designer):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = {"version": 3, "endpoints": [],
                  "extra_config": {"telemetry/metrics": {"listen_address": f"127.0.0.1:{port}"}}}
        response = designer.post("/api/try", json={"config": config, "path": "/__health"})
    assert response.status_code == 502
    assert "sandbox gateway did not" in response.json()["error"]
    assert "Address already in use" in response.json()["log"]


def test_page_and_assets_are_served_locked_down(designer):
    page = designer.get("/")
    assert page.status_code == 200 and "designer.js" in page.text
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    script = designer.get("/static/designer.js")
    assert script.status_code == 200 and script.headers["X-Content-Type-Options"] == "nosniff"


def test_deeply_nested_body_is_a_400_not_a_500(designer):
    deep = "[" * 5000 + "]" * 5000
    body = '{"version": 3, "endpoints": [], "x": ' + deep + "}"
    for route in ("/api/check", "/api/save"):
        response = designer.post(route, data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        assert "error" in response.json() and "Traceback" not in response.text
