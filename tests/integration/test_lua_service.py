"""``modifier/lua-endpoint`` at the service level, against real backends: every request, before its endpoint."""
from __future__ import annotations

import io
import time

import pytest

from app.cli import main
from tests.conftest import write_config

ROUTER = {"return_error_msg": True}


def service(backend, pre, *endpoints, extra=None, **keys):
    lua = {"pre": pre, **keys}
    default = [{"endpoint": "/items/{id}", "input_headers": ["*"], "input_query_strings": ["*"],
                "backend": [{"host": [backend.url], "url_pattern": "/echo/items/{id}"}]},
               {"endpoint": "/other", "input_headers": ["*"],
                "backend": [{"host": [backend.url], "url_pattern": "/echo/other"}]}]
    return {"extra_config": {"router": ROUTER, "modifier/lua-endpoint": lua, **(extra or {})},
            "endpoints": list(endpoints) or default}


def echoed(backend):
    return [r for r in backend.requests if r.path.startswith("/echo")]


def test_the_script_changes_every_request_before_its_endpoint(gateway, backend):
    pre = """local c = ctx.load()
c:headers('X-Lua', c:method() .. ' ' .. c:url() .. ' id=' .. c:params('id'))
c:query('added', 'yes')"""
    live = gateway(service(backend, pre))
    assert live.get("/items/7?q=1").status_code == live.get("/other").status_code == 200
    items, other = echoed(backend)
    assert items.header("X-Lua") == ["GET /items/7?q=1 id=7"]  # the matched route's parameters
    assert items.query == {"q": ["1"], "added": ["yes"]}
    assert other.header("X-Lua") == ["GET /other id="]


def test_it_runs_before_the_endpoint_level_script(gateway, backend):
    endpoint = {"endpoint": "/both", "input_headers": ["X-Order"],
                "extra_config": {"modifier/lua-endpoint": {
                    "pre": "local c = ctx.load(); c:headers('X-Order', c:headers('X-Order') .. ',endpoint')"}},
                "backend": [{"host": [backend.url], "url_pattern": "/echo/both"}]}
    live = gateway(service(backend, "ctx.load():headers('X-Order', 'service')", endpoint))
    assert live.get("/both").status_code == 200
    assert echoed(backend)[0].header("X-Order") == ["service,endpoint"]


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/nowhere", 418),        # gin runs global middlewares on NoRoute
    ("DELETE", "/other", 418),       # ... and on NoMethod (405)
    ("GET", "/__health", 200),       # lura registers the health endpoint before them
    ("POST", "/__health", 418),      # only GET is the health endpoint
    ("GET", "/other", 418),
], ids=["unknown-path", "wrong-method", "health", "health-path-other-method", "endpoint"])
def test_where_the_script_runs(gateway, backend, method, path, status):
    pre = "if ctx.load():headers('X-Block') ~= '' then custom_error('blocked', 418) end"
    live = gateway(service(backend, pre))
    assert live.request(method, path, headers={"X-Block": "1"}).status_code == status
    if path != "/__health":  # without the header the router answers as usual
        assert live.request(method, path).status_code in (200, 404, 405)


def test_unknown_paths_get_the_router_answer_after_the_script(gateway, backend):
    live = gateway(service(backend, "ctx.load():headers('X-Seen', '1')"))
    response = live.get("/nowhere")
    assert (response.status_code, response.text) == (404, "404 page not found")


def test_custom_error_answers_at_once_with_status_and_body(gateway, backend):
    pre = """local c = ctx.load()
if c:headers('Authorization') == '' then custom_error('{"error":"no token"}', 401, 'application/json') end"""
    live = gateway(service(backend, pre))
    refused = live.get("/items/1")
    assert (refused.status_code, refused.json()) == (401, {"error": "no token"})
    assert refused.headers["Content-Type"] == "application/json"
    assert echoed(backend) == []
    assert live.get("/items/1", headers={"Authorization": "Bearer x"}).status_code == 200


def test_script_errors_fail_closed_with_a_fixed_text(gateway, backend, capfd):
    live = gateway(service(backend, "local t = nil; t.x = 1"))
    response = live.get("/other")
    assert (response.status_code, response.text) == (500, "lua script error")
    assert echoed(backend) == []
    assert "[SERVICE: Gin][Lua]" in capfd.readouterr().err


def test_endless_scripts_stop_at_the_endpoint_timeout(gateway, backend):
    endpoint = {"endpoint": "/slow", "timeout": "300ms", "backend": [{"host": [backend.url], "url_pattern": "/echo/x"}]}
    live = gateway(service(backend, "while true do end", endpoint))
    started = time.monotonic()
    response = live.get("/slow")
    assert response.status_code == 500 and time.monotonic() - started < 3
    assert echoed(backend) == []


def test_a_new_method_does_not_reroute(gateway, backend):
    live = gateway(service(backend, "ctx.load():method('DELETE')"))
    assert live.get("/other").status_code == 200
    assert echoed(backend)[0].method == "GET"


def test_it_runs_before_the_bot_detector(gateway, backend):
    # krakend-ce registers the Lua middleware before the bot detector: the detector judges what the script left.
    extra = {"security/bot-detector": {"deny": ["evil-bot"]}}
    pre = "local c = ctx.load(); if c:headers('X-Trusted') == '1' then c:headers('User-Agent', 'friend') end"
    live = gateway(service(backend, pre, extra=extra))
    assert live.get("/other", headers={"User-Agent": "evil-bot"}).status_code == 403
    assert live.get("/other", headers={"User-Agent": "evil-bot", "X-Trusted": "1"}).status_code == 200


def test_a_missing_source_is_reported_by_check_and_fails_every_request(gateway, backend, tmp_path, monkeypatch,
                                                                       capfd):
    monkeypatch.chdir(tmp_path)
    config = service(backend, "helper()", sources=["missing.lua"])
    out = io.StringIO()
    assert main(["check", "-c", str(write_config(tmp_path, config))], out) != 0
    assert "extra_config.modifier/lua-endpoint.sources[0]: unable to load required source 'missing.lua'" \
        in out.getvalue()
    live = gateway(config)
    assert "extra_config.modifier/lua-endpoint.sources[0]" in capfd.readouterr().err
    assert [live.get(p).status_code for p in ("/items/1", "/other", "/nowhere", "/__health")] == [500, 500, 500, 200]
    assert echoed(backend) == []


def test_check_accepts_a_good_service_script_and_warns_about_post(tmp_path, monkeypatch, backend):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.lua").write_text("function ok() return 1 end\n")
    config = service(backend, "ok()", sources=["ok.lua"], post="ok()")
    out = io.StringIO()
    assert main(["check", "-c", str(write_config(tmp_path, config))], out) == 0, out.getvalue()
    assert "extra_config.modifier/lua-endpoint.post: has no effect" in out.getvalue()
    assert "not implemented" not in out.getvalue()
