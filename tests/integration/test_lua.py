"""Lua modifiers against real backends: the three levels, the API, errors, the sandbox and its bounds."""
from __future__ import annotations

import hashlib
import io
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.cli import main
from tests.conftest import write_config

ROUTER = {"router": {"return_error_msg": True}}


def service(*endpoints, router=ROUTER):
    return {"extra_config": router, "endpoints": list(endpoints)}


def endpoint(path, backends, method="GET", **extra):
    return {"endpoint": path, "method": method, "backend": backends, **extra}


def echo(backend, pattern="/echo/x", **extra):
    return {"host": [backend.url], "url_pattern": pattern, **extra}


def lua_backend(**keys):
    return {"extra_config": {"modifier/lua-backend": keys}}


def echoed(backend):
    return [r for r in backend.requests if r.path.startswith("/echo")]


def test_proxy_pre_changes_what_every_backend_receives(gateway, backend):
    pre = """local r = request.load()
r:headers('X-Lua', r:params('Id') .. ' [' .. r:url() .. ']')
r:params('Id', 'changed'); r:body('from-lua'); r:query('q=1')"""
    backends = [echo(backend, "/echo/a/{id}", group="a"), echo(backend, "/echo/b/{id}", group="b")]
    live = gateway(service(endpoint("/items/{id}", backends, method="POST",
                                    extra_config={"modifier/lua-proxy": {"pre": pre}})))
    response = live.request("POST", "/items/7", data=b"original")
    assert response.status_code == 200
    seen = sorted(echoed(backend), key=lambda r: r.path)
    assert [r.path for r in seen] == ["/echo/a/changed", "/echo/b/changed"]
    for request in seen:
        assert request.header("X-Lua") == ["7 []"]  # the URL is built later, per backend
        assert request.query == {"q": ["1"]} and request.body == b"from-lua"


def test_proxy_post_reshapes_the_merged_answer(gateway, backend):
    post = """local data = response.load():data()
local col = data:get('collection')
data:set('total', col:len())
local items = {}
for i = 0, col:len() - 1 do table.insert(items, col:get(i):get('i') * 10) end
data:set('items', items)
data:set('nested', {list = items, empty = {}})
data:del('collection')
response.load():isComplete(false)"""
    live = gateway(service(endpoint("/c", [echo(backend, "/array", is_collection=True)],
                                    extra_config={"modifier/lua-proxy": {"post": post}})))
    response = live.get("/c")
    assert response.status_code == 200
    # krakend-lua: a Lua array set at the top is an object; nested ones are arrays, empty ones null.
    assert response.json() == {"total": 2, "items": {"1": 0, "2": 10}, "nested": {"list": [0, 10], "empty": None}}
    assert response.headers["X-Krakend-Completed"] == "false"


def test_backend_pre_sees_the_full_url_and_can_change_it(gateway, backend):
    pre = "local r = request.load(); r:headers('X-Seen-Url', r:url()); r:url(r:url() .. '/more')"
    live = gateway(service(endpoint("/u", [echo(backend, "/echo/x", **lua_backend(pre=pre))])))
    assert live.get("/u").status_code == 200
    (seen,) = echoed(backend)
    assert seen.path == "/echo/x/more"
    assert seen.header("X-Seen-Url") == [backend.url + "/echo/x"]


def test_backend_post_changes_its_answer_before_the_merge(gateway, backend):
    document = backend.json("doc", {"keep": 1.0, "drop": True})
    post = """local d = response.load():data()
d:del('drop'); d:set('added', d:get('keep') + 1); d:set('ratio', 0.25); d:set('none', luaNil.new())"""
    live = gateway(service(endpoint("/m", [echo(backend, document, **lua_backend(post=post)),
                                           echo(backend, "/echo/other", group="other")])))
    response = live.get("/m")
    body = response.text
    assert response.status_code == 200 and response.headers["X-Krakend-Completed"] == "true"
    assert '"keep":1.0' in body  # untouched numbers keep their literal
    data = json.loads(body)
    assert data["added"] == 2 and data["ratio"] == 0.25 and data["none"] is None and "drop" not in data
    assert data["other"]["path"] == "/echo/other"


def test_endpoint_pre_changes_the_client_request(gateway, backend):
    pre = """local c = ctx.load()
c:headers('X-Tenant', 'acme-' .. c:params('User') .. '-' .. c:method())
c:headers('X-Not-Listed', 'dropped'); c:query('page', '2'); c:params('User', 'bob')
c:body(c:body() .. '+lua')"""
    live = gateway(service(endpoint("/users/{user}", [echo(backend, "/echo/{user}")], method="POST",
                                    input_headers=["X-Tenant"], input_query_strings=["page"],
                                    extra_config={"modifier/lua-endpoint": {"pre": pre}})))
    response = live.request("POST", "/users/ann?page=1", data=b"body")
    assert response.status_code == 200
    (seen,) = echoed(backend)
    assert seen.path == "/echo/bob" and seen.query == {"page": ["2"]} and seen.body == b"body+lua"
    assert seen.header("X-Tenant") == ["acme-ann-POST"]
    assert seen.header("X-Not-Listed") == []  # input_headers still decides what reaches the backend


LEVELS = {
    "endpoint": lambda backend, code: endpoint("/e", [echo(backend)],
                                               extra_config={"modifier/lua-endpoint": {"pre": code}}),
    "proxy": lambda backend, code: endpoint("/e", [echo(backend)], extra_config={"modifier/lua-proxy": {"pre": code}}),
    "backend": lambda backend, code: endpoint("/e", [echo(backend, **lua_backend(pre=code))]),
}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("code, status, body, content_type", [
    ("custom_error('{\"msg\":\"teapot\"}', 418, 'application/json')", 418, b'{"msg":"teapot"}', "application/json"),
    ("custom_error('I refuse')", 500, b"I refuse", "text/plain; charset=utf-8"),
    ("local ok, e = pcall(custom_error, 'caught and raised again', 402); error(e)", 402,
     b"caught and raised again", "text/plain; charset=utf-8"),
], ids=["status-and-type", "message-only", "rethrown"])
def test_custom_error_answers_with_its_status_and_body(gateway, backend, level, code, status, body, content_type):
    live = gateway(service(LEVELS[level](backend, code)))
    response = live.get("/e")
    assert (response.status_code, response.content, response.headers["Content-Type"]) == (status, body, content_type)
    assert echoed(backend) == []


def test_custom_error_without_return_error_msg_has_status_only(gateway, backend):
    live = gateway(service(LEVELS["backend"](backend, "custom_error('secret', 418)"), router={}))
    response = live.get("/e")
    assert response.status_code == 418 and response.content == b""


def test_params_are_title_cased(gateway, backend):
    pre = """local r = request.load(); local p = r:params()
r:headers('X-Params', p:get('Id') .. ',' .. p:get('FooBar') .. ',' .. tostring(p:keyExists('id')))
r:headers('X-Lookup', r:params('Id') .. ',' .. r:params('FooBar') .. ',[' .. r:params('Missing') .. ']')"""
    live = gateway(service(endpoint("/a/{id}/{fooBar}", [echo(backend)],
                                    extra_config={"modifier/lua-proxy": {"pre": pre}})))
    assert live.get("/a/7/x").status_code == 200
    (seen,) = echoed(backend)
    assert seen.header("X-Params") == ["7,x,false"] and seen.header("X-Lookup") == ["7,x,[]"]


def test_sequential_answers_are_params_of_later_backends(gateway, backend):
    first = backend.json("first", {"foo": 42, "deep": {"list": [1, 2]}})
    pre = """local r = request.load()
r:url(r:url() .. r:params('Resp0_first.foo') .. '/' .. r:params('Resp0_first.deep.list'))"""
    live = gateway(service(endpoint("/s", [echo(backend, first, group="first"),
                                           echo(backend, "/echo/", group="second", **lua_backend(pre=pre))],
                                    extra_config={"proxy": {"sequential": True,
                                                            "sequential_propagated_params": ["resp0_first.foo"]}})))
    response = live.get("/s")
    assert response.status_code == 200
    assert response.json()["second"]["path"] == "/echo/42/1,2"


@pytest.mark.parametrize("code", [
    "io.open('/etc/hostname')", "dofile('/etc/hostname')", "loadfile('/etc/hostname')", "require('socket')",
    "os.execute('true')", "debug.getinfo(1)", "python.eval('1')", "load(string.dump(print))",
    "getmetatable('').__index.dump(print)", "collectgarbage('count')", "setmetatable({}, {__gc = print})",
    "package.loadlib('libc.so.6', 'system')",
], ids=["io", "dofile", "loadfile", "require", "os", "debug", "python", "dump", "dump-via-metatable",
        "collectgarbage", "gc-metamethod", "loadlib"])
def test_sandbox_refuses_files_os_modules_and_debug(gateway, backend, code):
    live = gateway(service(LEVELS["backend"](backend, code)))
    response = live.get("/e")
    assert (response.status_code, response.content) == (500, b"lua script error")
    assert echoed(backend) == []


def test_http_response_needs_allow_open_libs(gateway, backend):
    code = f"http_response.new('{backend.url}/echo/side')"
    live = gateway(service(LEVELS["proxy"](backend, code)))
    assert live.get("/e").status_code == 500
    assert echoed(backend) == []  # no request left the gateway


def test_open_libs_read_files_and_make_http_calls(gateway, backend, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("from-file")
    pre = f"""local f = io.open('{secret}'); local text = f:read('a'); f:close()
local side = http_response.new('{backend.url}/echo/side', 'POST', 'ping', {{['X-Side'] = 'yes'}})
local r = request.load(); r:headers('X-File', text)
r:headers('X-Side-Status', side:statusCode()); r:headers('X-Side-Type', side:headers('Content-Type'))
side:close()"""
    live = gateway(service(endpoint("/e", [echo(backend, **lua_backend(pre=pre, allow_open_libs=True))])))
    assert live.get("/e").status_code == 200
    side, main_call = echoed(backend)
    assert side.path == "/echo/side" and side.method == "POST" and side.body == b"ping"
    assert side.header("X-Side") == ["yes"]
    assert main_call.header("X-File") == ["from-file"] and main_call.header("X-Side-Status") == ["200"]
    assert main_call.header("X-Side-Type") == ["application/json"]


@pytest.mark.parametrize("code", [
    "while true do end",
    "local function spin() while true do end end; while true do pcall(spin) end",
    "coroutine.wrap(function() while true do end end)()",
    "local co = coroutine.create(function() while true do end end); while true do coroutine.resume(co) end",
], ids=["loop", "loop-in-pcall", "loop-in-coroutine", "resumed-again"])
def test_endless_scripts_are_stopped_at_the_deadline(gateway, backend, code):
    live = gateway(service(endpoint("/e", [echo(backend)], timeout="1s",
                                    extra_config={"modifier/lua-proxy": {"pre": code}}),
                           endpoint("/ok", [echo(backend)])))
    started = time.monotonic()
    response = live.get("/e")
    assert time.monotonic() - started < 5
    assert response.status_code == 500 and response.content == b"context deadline exceeded"
    assert live.get("/ok").status_code == 200


def test_memory_is_bounded(gateway, backend):
    live = gateway(service(LEVELS["backend"](backend, "local s = string.rep('x', 2^30)")))
    response = live.get("/e")
    assert (response.status_code, response.content) == (500, b"lua script error")


def test_script_errors_are_logged_never_shown(gateway, backend, capfd):
    live = gateway(service(LEVELS["backend"](backend, "error('secret detail')")))
    response = live.get("/e")
    assert response.content == b"lua script error"
    assert "[BACKEND: /echo/x][Lua] pre:1: secret detail" in capfd.readouterr().err


def test_globals_die_with_their_request(gateway, backend):
    pre = "counter = (counter or 0) + 1; request.load():headers('X-Count', counter)"
    live = gateway(service(LEVELS["proxy"](backend, pre)))
    for _ in range(3):
        assert live.get("/e").status_code == 200
    assert [r.header("X-Count") for r in echoed(backend)] == [["1"]] * 3


def test_sources_define_functions_and_skip_next_answers_alone(gateway, backend, tmp_path):
    helpers = tmp_path / "helpers.lua"
    helpers.write_text("local prefix = 'made by '\n"
                       "function answer(resp) resp:data():set('from', prefix .. 'lua') end\n")
    live = gateway(service(endpoint("/skip", [echo(backend)], extra_config={"modifier/lua-proxy": {
        "sources": [str(helpers)], "post": "answer(response.load())", "skip_next": True}})))
    response = live.get("/skip")
    assert response.json() == {"from": "made by lua"}
    assert echoed(backend) == []


def test_noop_post_sets_status_headers_and_body(gateway, backend):
    post = """local r = response.load()
r:headers('X-Status-Seen', r:statusCode()); r:statusCode(201); r:body(r:body() .. '!')"""
    live = gateway(service(endpoint("/raw", [echo(backend, "/scalar", encoding="no-op", **lua_backend(post=post))],
                                    output_encoding="no-op")))
    response = live.get("/raw")
    assert (response.status_code, response.content) == (201, b"42!")
    assert response.headers["X-Status-Seen"] == "200"


def test_live_sources_are_read_again_when_they_change(gateway, backend, tmp_path):
    source = tmp_path / "tag.lua"
    source.write_text("function tag() return 'one' end")
    pre = "request.load():headers('X-Tag', tag())"
    live = gateway(service(
        endpoint("/live", [echo(backend)], extra_config={"modifier/lua-proxy": {
            "sources": [str(source)], "pre": pre, "live": True}}),
        endpoint("/once", [echo(backend)],
                 extra_config={"modifier/lua-proxy": {"sources": [str(source)], "pre": pre}})))
    assert live.get("/live").status_code == live.get("/once").status_code == 200
    source.write_text("function tag() return 'two!' end")
    stamp = time.time() + 5
    os.utime(source, (stamp, stamp))
    assert live.get("/live").status_code == live.get("/once").status_code == 200
    assert [r.header("X-Tag")[0] for r in echoed(backend)] == ["one", "one", "two!", "one"]


def test_a_missing_source_fails_only_its_stack(gateway, backend, tmp_path, capfd):
    live = gateway(service(
        endpoint("/broken", [echo(backend, **lua_backend(sources=[str(tmp_path / "nope.lua")], pre="f()"))]),
        endpoint("/fine", [echo(backend)])))
    assert "endpoints[0].backend[0].extra_config.modifier/lua-backend.sources[0]: unable to load required " \
           "source" in capfd.readouterr().err
    assert (live.get("/broken").status_code, live.get("/fine").status_code) == (500, 200)
    assert len(echoed(backend)) == 1


def test_concurrent_requests_use_separate_runtimes(gateway, backend):
    pre = "local r = request.load(); r:headers('X-Echo', r:params('N'))"
    live = gateway(service(endpoint("/n/{n}", [echo(backend, "/echo/{n}")],
                                    extra_config={"modifier/lua-proxy": {"pre": pre}})))
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda n: live.get(f"/n/{n}").status_code, range(40)))
    assert statuses == [200] * 40
    assert all(r.header("X-Echo") == [r.path.rsplit("/", 1)[1]] for r in echoed(backend))


def run_check(path):
    out = io.StringIO()
    return main(["check", "-c", str(path)], out), out.getvalue()


@pytest.mark.parametrize("extra, where, message", [
    ({"pre": "local = 1"}, "endpoints[0].backend[0].extra_config.modifier/lua-backend.pre", "Lua syntax error"),
    ({"post": "if then"}, "endpoints[0].backend[0].extra_config.modifier/lua-backend.post", "Lua syntax error"),
    ({"sources": ["missing.lua"]}, "endpoints[0].backend[0].extra_config.modifier/lua-backend.sources[0]",
     "unable to load required source"),
    ({"sources": "one.lua"}, "endpoints[0].backend[0].extra_config.modifier/lua-backend.sources",
     "expected a list"),
    ({"live": "yes"}, "endpoints[0].backend[0].extra_config.modifier/lua-backend.live", "expected true or false"),
], ids=["pre-syntax", "post-syntax", "missing-source", "sources-not-a-list", "live-not-a-flag"])
def test_check_reports_lua_problems_with_their_json_path(tmp_path, monkeypatch, extra, where, message):
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, {"endpoints": [
        {"endpoint": "/e", "backend": [{"host": ["http://127.0.0.1:8081"], "url_pattern": "/x",
                                        "extra_config": {"modifier/lua-backend": extra}}]}]})
    code, out = run_check(config)
    assert code != 0
    assert f"{where}: " in out and message in out


def test_check_reports_a_syntax_error_in_a_source_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.lua").write_text("function broken(\n")
    config = write_config(tmp_path, {"endpoints": [
        {"endpoint": "/e", "extra_config": {"modifier/lua-proxy": {"sources": ["bad.lua"], "pre": "broken()"}},
         "backend": [{"host": ["http://127.0.0.1:8081"], "url_pattern": "/x"}]}]})
    code, out = run_check(config)
    assert code != 0
    assert "endpoints[0].extra_config.modifier/lua-proxy.sources[0]: Lua syntax error: bad.lua:2:" in out


def test_check_accepts_good_scripts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.lua").write_text("function ok() return 1 end\n")
    config = write_config(tmp_path, {"endpoints": [
        {"endpoint": "/e", "extra_config": {"modifier/lua-endpoint": {"sources": ["good.lua"], "pre": "ok()"}},
         "backend": [{"host": ["http://127.0.0.1:8081"], "url_pattern": "/x",
                      "extra_config": {"modifier/lua-backend": {"post": "ok()", "sources": ["good.lua"]}}}]}]})
    code, out = run_check(config)
    assert code == 0, out


def test_checksums_are_enforced(tmp_path, monkeypatch, gateway, backend):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.lua").write_text("function tag() return 'ok' end\n")
    good = hashlib.md5((tmp_path / "s.lua").read_bytes()).hexdigest()
    pre = "request.load():headers('X-Tag', tag())"
    config = {"endpoints": [
        endpoint("/good", [echo(backend)], extra_config={"modifier/lua-proxy": {
            "sources": ["s.lua"], "md5": {"s.lua": good}, "pre": pre}}),
        endpoint("/bad", [echo(backend)], extra_config={"modifier/lua-proxy": {
            "sources": ["s.lua"], "md5": {"s.lua": "0" * 32}, "pre": pre}})]}
    code, out = run_check(write_config(tmp_path, config))
    assert code != 0 and "endpoints[1].extra_config.modifier/lua-proxy.sources[0]: wrong checksum" in out
    assert "endpoints[0]" not in out
    live = gateway(config)
    assert (live.get("/good").status_code, live.get("/bad").status_code) == (200, 500)
    assert [r.header("X-Tag") for r in echoed(backend)] == [["ok"]]


@pytest.mark.parametrize("pre", ["ctx.load():body()", "pcall(ctx.load().body, ctx.load())"],
                         ids=["failing-script", "script-swallowing-the-error"])
def test_reading_a_too_large_body_in_the_router_script_is_413(gateway, backend, pre):
    live = gateway(service(endpoint("/big", [echo(backend)], method="POST",
                                    extra_config={"modifier/lua-endpoint": {"pre": pre}})), max_body=16)
    assert live.request("POST", "/big", data=b"x" * 100).status_code == 413
    assert echoed(backend) == []


@pytest.mark.parametrize("value", ["'a' .. string.char(0) .. 'b'", "'a' .. string.char(13, 10) .. 'X-Evil: 1'"],
                         ids=["nul", "crlf"])
@pytest.mark.parametrize("level", ["backend", "proxy", "endpoint"])
def test_a_header_no_http_client_may_send_is_a_script_error_and_no_call(gateway, backend, value, level):
    # Go's client refuses such a request; urllib3 would send a NUL through.
    if level == "endpoint":
        code = f"ctx.load():headers('X-Bad', {value})"
    else:
        code = f"request.load():headers('X-Bad', {value})"
    config = service(endpoint("/e", [echo(backend)], input_headers=["X-Bad"]))
    target = config["endpoints"][0]
    if level == "backend":
        target["backend"][0]["extra_config"] = {"modifier/lua-backend": {"pre": code}}
    else:
        target["extra_config"] = {f"modifier/lua-{'proxy' if level == 'proxy' else 'endpoint'}": {"pre": code}}
    response = gateway(config).get("/e")
    assert response.status_code == 500
    assert echoed(backend) == []
