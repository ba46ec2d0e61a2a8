"""Parallel aggregation and shaping against real backends."""
from __future__ import annotations

import json
import time

import pytest

from app import demo


@pytest.fixture
def demo_services():
    servers = demo.start("127.0.0.1", 0)
    yield [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def test_user_profile_example_merges_three_services(gateway, demo_services):
    config = json.loads((pytest.importorskip("pathlib").Path(__file__).parents[2]
                         / "config/examples/user-profile.json").read_text())
    for backend, host in zip(config["endpoints"][0]["backend"], demo_services):
        backend["host"] = [host]
    del config["version"]
    gw = gateway(config)
    response = gw.get("/api/v1/user-profile/42")
    assert response.status_code == 200
    assert response.content == (b'{"contact_email":"alice@example.com","id":42,"name":"Alice",'
                                b'"preferences":{"language":"en","theme":"dark"},"subscription_plan":"pro"}')
    assert response.headers["X-Krakend-Completed"] == "true"
    assert response.headers["Cache-Control"] == "public, max-age=30"
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_backends_run_in_parallel_and_shaping_is_applied(gateway, backend):
    gw = gateway({"endpoints": [{
        "endpoint": "/agg/{id}",
        "backend": [
            {"host": [backend.url], "url_pattern": "/sleep/300/a/{id}", "allow": ["path"], "group": "a"},
            {"host": [backend.url], "url_pattern": "/sleep/300/b/{id}", "target": "query", "group": "b"},
            {"host": [backend.url], "url_pattern": "/sleep/300/c?x={id}",
             "deny": ["headers", "body", "chunked", "method", "path"], "mapping": {"query": "c_query"}},
        ]}]})
    started = time.monotonic()
    response = gw.get("/agg/7")
    elapsed = time.monotonic() - started
    assert response.json() == {"a": {"path": "/sleep/300/a/7"}, "b": {}, "c_query": {"x": ["7"]}}
    assert response.headers["X-Krakend-Completed"] == "true"
    assert elapsed < 0.85, f"three 300 ms backends took {elapsed:.2f}s: not parallel"


def test_partial_answer_when_one_backend_fails(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/p", "backend": [
        {"host": [backend.url], "url_pattern": "/echo/ok", "allow": ["path"]},
        {"host": [backend.url], "url_pattern": "/status/503"},
    ]}]})
    response = gw.get("/p")
    assert response.status_code == 200
    assert response.json() == {"path": "/echo/ok"}
    assert response.headers["X-Krakend-Completed"] == "false"
    assert "Cache-Control" not in response.headers


def test_partial_answer_on_timeout(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/t", "timeout": "200ms", "backend": [
        {"host": [backend.url], "url_pattern": "/echo/fast", "allow": ["path"], "group": "fast"},
        {"host": [backend.url], "url_pattern": "/sleep/1000/slow", "group": "slow"},
    ]}]})
    started = time.monotonic()
    response = gw.get("/t")
    assert time.monotonic() - started < 0.6
    assert response.status_code == 200
    assert response.json() == {"fast": {"path": "/echo/fast"}}
    assert response.headers["X-Krakend-Completed"] == "false"


def test_all_backends_failing_is_500_with_messages(gateway, backend):
    gw = gateway({"extra_config": {"router": {"return_error_msg": True}}, "endpoints": [{"endpoint": "/f", "backend": [
        {"host": [backend.url], "url_pattern": "/status/500"},
        {"host": ["http://127.0.0.1:39"], "url_pattern": "/nothing"},
    ]}]})
    response = gw.get("/f")
    assert response.status_code == 500
    assert sorted(response.text.split("\n")) == ["backend unavailable", "invalid status code"]
    assert response.headers["X-Krakend-Completed"] == "false"
    assert "Traceback" not in response.text


def test_collection_mapping_and_numbers_kept_literally(gateway, backend):
    path = backend.json("nums", b'{"price": 1.50, "big": 12345678901234567890123, "exp": 1e5, "html": "<b>&"}')
    gw = gateway({"endpoints": [{"endpoint": "/c", "backend": [
        {"host": [backend.url], "url_pattern": "/array", "is_collection": True, "mapping": {"collection": "items"}},
        {"host": [backend.url], "url_pattern": path},
    ]}]})
    response = gw.get("/c")
    assert response.content == (b'{"big":12345678901234567890123,"exp":1e5,"html":"\\u003cb\\u003e\\u0026",'
                                b'"items":[{"i":0},{"i":1}],"price":1.50}')


def test_sequential_proxy_uses_previous_answer(gateway, backend):
    path = backend.json("user", {"id": 42, "team": {"name": "core"}})
    gw = gateway({"endpoints": [{"endpoint": "/seq", "extra_config": {"proxy": {"sequential": True}}, "backend": [
        {"host": [backend.url], "url_pattern": path, "group": "user"},
        {"host": [backend.url], "url_pattern": "/echo/teams/{resp0_user.team.name}?id={resp0_user.id}",
         "allow": ["path", "query"]},
    ]}]})
    response = gw.get("/seq")
    assert response.json() == {"user": {"id": 42, "team": {"name": "core"}},
                               "path": "/echo/teams/core", "query": {"id": ["42"]}}
    assert response.headers["X-Krakend-Completed"] == "true"


def test_static_data_on_errors(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/s", "extra_config": {"proxy": {"static": {
        "strategy": "errored", "data": {"fallback": True}}}},
        "backend": [{"host": [backend.url], "url_pattern": "/status/500"}]}]})
    response = gw.get("/s")
    assert response.status_code == 200
    assert response.json() == {"fallback": True}
    assert response.headers["X-Krakend-Completed"] == "false"


def test_concurrent_calls_first_complete_answer_wins(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/cc", "concurrent_calls": 3, "backend": [
        {"host": [backend.url], "url_pattern": "/echo/cc", "allow": ["path"]}]}]})
    response = gw.get("/cc")
    assert response.json() == {"path": "/echo/cc"}
    deadline = time.monotonic() + 2
    while backend.hits["echo"] < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert backend.hits["echo"] == 3


def test_user_profile_jwt_example_end_to_end(gateway, demo_services):
    import requests as client
    from tests.conftest import ROOT
    config = json.loads((ROOT / "config/examples/user-profile-jwt.json").read_text())
    endpoint = config["endpoints"][0]
    for backend_config, host in zip(endpoint["backend"], demo_services):
        backend_config["host"] = [host]
    endpoint["extra_config"]["auth/validator"]["jwk_url"] = f"{demo_services[3]}/jwks.json"
    del config["version"]
    gw = gateway(config)
    token = client.get(f"{demo_services[3]}/token?user_id=7", timeout=5).text
    response = gw.get("/api/v1/user-profile", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"contact_email": "alice@example.com", "id": 7, "name": "Alice",
                               "preferences": {"language": "en", "theme": "dark"}, "subscription_plan": "pro"}
    assert gw.get("/api/v1/user-profile").status_code == 401
    guest = client.get(f"{demo_services[3]}/token?user_id=7&roles=guest", timeout=5).text
    assert gw.get("/api/v1/user-profile", headers={"Authorization": f"Bearer {guest}"}).status_code == 403
