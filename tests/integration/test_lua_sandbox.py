"""The Lua sandbox under attack: library calls the hook cannot stop, Python objects, memory, state, data shapes.

Gateway tests run scripts through a live gateway; the ``block`` tests drive one script block's
runtime directly, in one thread, because state shared between requests lives per thread (the
test server gives each request a thread of its own).
"""
from __future__ import annotations

import gc
import json
import re
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.lua.objects import RequestState, ResponseState
from app.lua.runtime import ScriptBlock
from app.lua.settings import LuaSettings, Sources
from app.proxy.model import ProxyRequest, ProxyResponse
from tests.integration.test_lua import echo, endpoint, lua_backend, service

DEADLINE = (500, b"context deadline exceeded")
SCRIPT_ERROR = (500, b"lua script error")


def proxy_pre(backend, code, **extra):
    return endpoint("/e", [echo(backend)], timeout="1s", extra_config={"modifier/lua-proxy": {"pre": code}}, **extra)


def answer(live, path="/e", **kwargs):
    started = time.monotonic()
    response = live.request(kwargs.pop("method", "GET"), path, **kwargs)
    return response, time.monotonic() - started


@pytest.mark.parametrize("code, expected", [
    ("request.load():headers('X-Len', #string.rep('', math.maxinteger))", (200, "0")),
    ("request.load():headers('X-Len', #(''):rep(2^62, ''))", (200, "0")),
    ("table.move({}, 1, 2^62, 1, {})", SCRIPT_ERROR),
    ("local t = setmetatable({}, {__len = function() return math.maxinteger - 1 end}); table.insert(t, 1, 'x')",
     DEADLINE),
    ("local t = setmetatable({}, {__len = function() return math.maxinteger - 1 end}); table.remove(t, 1)", DEADLINE),
    ("xpcall(function() while true do end end, function() while true do end end)", DEADLINE),
    ("string.find(string.rep('a', 300000), 'a*b')", DEADLINE),
    ("string.match(string.rep('a', 60), string.rep('(.-)', 14) .. 'b')", DEADLINE),
    ("for w in string.gmatch(string.rep('a', 300000), '%a*b') do end", DEADLINE),
    ("string.gsub(string.rep('a', 300000), 'a*c', '')", DEADLINE),
], ids=["rep-empty", "rep-empty-sep", "move", "insert-len", "remove-len", "xpcall-handler", "find-quadratic",
        "match-exponential", "gmatch-quadratic", "gsub-quadratic"])
def test_library_calls_that_would_never_return_are_bounded(gateway, backend, code, expected):
    live = gateway(service(proxy_pre(backend, code), endpoint("/ok", [echo(backend)])))
    response, took = answer(live)
    assert took < 4
    if expected[0] == 200:
        assert (response.status_code, response.json()["headers"]["X-Len"][0]) == (200, expected[1])
    else:
        assert (response.status_code, response.content) == expected
    assert live.get("/ok").status_code == 200


def test_patterns_over_request_data_answer_as_lua_does(gateway, backend):
    # Large subjects take the Lua matcher (the C one's worst case is too long): same answers.
    pre = """local r = request.load(); local b = r:body()
local squeezed, count = b:gsub('%s+', ' ')
local words = 0; for _ in b:gmatch('%a+') do words = words + 1 end
r:headers('X-Result', table.concat({count, #squeezed, words, b:find('needle', 1, true), b:match('^%s*(%a+)')}, ','))"""
    body = "  " + "word  " * 40000 + "needle"
    live = gateway(service(proxy_pre(backend, pre, method="POST")))
    response, _ = answer(live, method="POST", data=body.encode())
    assert response.status_code == 200
    runs, words = re.findall(r"\s+", body), re.findall("[A-Za-z]+", body)
    squeezed = len(body) - sum(len(run) - 1 for run in runs)
    assert response.json()["headers"]["X-Result"] == [
        f"{len(runs)},{squeezed},{len(words)},{body.find('needle') + 1},{words[0]}"]


def test_a_trim_of_hostile_data_stops_at_the_deadline(gateway, backend):
    pre = "local r = request.load(); r:headers('X-Trimmed', #r:body():match('^%s*(.-)%s*$'))"
    live = gateway(service(proxy_pre(backend, pre, method="POST")))
    assert answer(live, method="POST", data=b"  a b  ")[0].json()["headers"]["X-Trimmed"] == ["3"]
    response, took = answer(live, method="POST", data=b"x" + b" " * 300000 + b"x!")
    assert (response.status_code, response.content) == DEADLINE and took < 4


def test_python_objects_never_reach_a_script(gateway, backend):
    # custom_error's message used to be read by Python, which ran its __tostring: the error
    # came back to Lua as a Python exception object whose metatable (lupa's, shared by every
    # Python object) could then be rewired, here to disable the deadline check for good.
    pre = """local ok, e = pcall(custom_error, setmetatable({}, {__tostring = function() error('boom') end}))
request.load():headers('X-Type', type(e) .. ',' .. tostring(getmetatable(e)))
local mt = getmetatable(e)
if type(mt) == 'table' then mt.__call = function() return false end; while true do end end"""
    live = gateway(service(proxy_pre(backend, pre)))
    response, took = answer(live)
    assert response.status_code == 200 and took < 4
    assert response.json()["headers"]["X-Type"] == ["string,false"]


def test_a_custom_error_content_type_cannot_add_headers(gateway, backend):
    code = "custom_error('no', 400, 'text/plain\\r\\nSet-Cookie: session=evil')"
    live = gateway(service(proxy_pre(backend, code)))
    response = live.get("/e")
    assert (response.status_code, response.content) == (400, b"no")
    assert "Set-Cookie" not in response.headers and response.headers["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("code", [
    "local t = luaTable.new(); local s = string.rep('x', 2^20); for i = 1, 200 do t:set(tostring(i), s) end",
    "luaList.new():set(2^24, 1)",
    "local t = luaTable.new(); for i = 1, 2^14 do t:set(tostring(i), i) end; for i = 1, 1000 do t:keys() end",
], ids=["stored-strings", "list-padding", "key-copies"])
def test_python_data_a_script_makes_is_bounded(gateway, backend, code):
    live = gateway(service(proxy_pre(backend, code)))
    response, took = answer(live)
    assert (response.status_code, response.content) == SCRIPT_ERROR and took < 4


def post_endpoint(backend, post):
    return endpoint("/e", [echo(backend, "/echo/x", **lua_backend(post=post))], timeout="2s")


@pytest.mark.parametrize("post", [
    "local d = response.load():data(); d:set('self', d)",
    """local d = response.load():data(); local a = luaList.new(); a:set(0, 'x')
for i = 1, 40 do local b = luaList.new(); b:set(0, a); b:set(1, a); a = b end
d:set('x', a)""",
], ids=["cycle", "exponential-dag"])
def test_answers_whose_json_never_ends_are_script_errors(gateway, backend, post):
    live = gateway(service(post_endpoint(backend, post)))
    response, took = answer(live)
    assert (response.status_code, response.content) == SCRIPT_ERROR and took < 4


def test_containers_stored_in_data_still_change_with_it(gateway, backend):
    post = """local d = response.load():data(); local meta = luaTable.new()
d:set('meta', meta); d:set('again', meta); meta:set('x', 1)"""
    live = gateway(service(post_endpoint(backend, post)))
    data = live.get("/e").json()
    assert data["meta"] == data["again"] == {"x": 1}  # linked, as in krakend-lua


@pytest.mark.parametrize("level", ["modifier/lua-proxy", "modifier/lua-endpoint"])
def test_header_lists_of_tables_are_not_expanded(gateway, backend, level):
    pre = f"""local a = luaList.new(); a:set(0, 'x')
for i = 1, 40 do local b = luaList.new(); b:set(0, a); b:set(1, a); a = b end
{"request" if level.endswith("proxy") else "ctx"}.load():headerList('X-List', a)"""
    live = gateway(service(endpoint("/e", [echo(backend)], timeout="1s", input_headers=["X-List"],
                                    extra_config={level: {"pre": pre}})))
    response, took = answer(live)
    assert response.status_code == 200 and took < 4
    assert response.json()["headers"]["X-List"][0].startswith("userdata: 0x")


def block_of(pre="", post=""):
    settings = LuaSettings(pre=pre, post=post)
    return ScriptBlock(settings, Sources(settings, "test"), "/x", "[BACKEND: /x]", lambda wire, deadline: None)


def run(block, request, response=None):
    session = block.session(time.monotonic() + 5, RequestState(request))
    try:
        session.run("pre")
        if response is not None:
            session.set_response(response)
            session.run("post")
    finally:
        session.close()


def proxy_request(**headers):
    return ProxyRequest(method="GET", path="/x", url="http://b/x", params={}, query=(), headers=dict(headers),
                        body=b"", deadline=time.monotonic() + 5)


def test_nothing_a_script_leaves_reaches_the_next_request_on_its_thread():
    pre = """local r = request.load()
r:headers('X-Seen', tostring(rawget(luaNil.new(), 'mark')) .. ',' .. tostring(leftover))
rawset(luaNil.new(), 'mark', r:headers('X-Secret')); leftover = r:headers('X-Secret')"""
    block = block_of(pre)
    seen = []
    for secret in ("alice-token", "bob-token"):
        state = RequestState(proxy_request(**{"X-Secret": secret}))
        session = block.session(time.monotonic() + 5, state)
        session.run("pre")
        session.close()
        seen.append(state.headers["X-Seen"])
    assert seen == ["nil,nil", "nil,nil"]


def test_concurrent_requests_of_one_script_never_see_each_other():
    pre = """local r = request.load(); mine = r:headers('X-N'); local n = luaNil.new(); rawset(n, 'v', mine)
for i = 1, 20000 do end
r:headers('X-Back', mine .. ',' .. rawget(n, 'v') .. ',' .. request.load():headers('X-N'))"""
    block = block_of(pre)
    threads = set()

    def one(n):
        threads.add(threading.get_ident())
        state = RequestState(proxy_request(**{"X-N": str(n)}))
        session = block.session(time.monotonic() + 5, state)
        session.run("pre")
        session.close()
        return state.headers["X-Back"]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(200)))
    assert results == [f"{n},{n},{n}" for n in range(200)]
    assert len(threads) > 1


def test_python_data_of_a_request_is_released_when_it_ends():
    block = block_of(post="local d = response.load():data(); d:set('n', d:keys():len())")
    answer_state = ResponseState(ProxyResponse({"big": "x" * 1000}, True))
    alive = weakref.ref(answer_state)
    run(block, proxy_request(), answer_state)
    assert json.loads(json.dumps(answer_state.result().data)) == {"big": "x" * 1000, "n": 1}
    del answer_state
    gc.collect()
    assert alive() is None  # not kept by a garbage Lua handle until the state's next collection


@pytest.mark.parametrize("path, allowed", [
    ("/redirect/302?to={other}/echo/elsewhere", False),
    ("/redirect/302?to=/echo/same-origin", True),
    ("/big/64", False),
], ids=["redirect-to-another-origin", "redirect-same-origin", "over-max-response"])
def test_http_response_follows_the_gateway_transport_rules(gateway, backend, other_backend, path, allowed):
    url = backend.url + path.format(other=other_backend.url)
    pre = f"""local ok, e = pcall(http_response.new, '{url}')
request.load():headers('X-Side', ok and tostring(e:statusCode()) or 'refused')"""
    live = gateway(service(endpoint("/e", [echo(backend, **lua_backend(pre=pre, allow_open_libs=True))])),
                   max_response=16 * 1024)
    response = live.get("/e")
    assert response.status_code == 200
    assert response.json()["headers"]["X-Side"] == (["200"] if allowed else ["refused"])
    assert [r.path for r in other_backend.requests] == []


def test_huge_error_messages_are_cut_in_the_log(gateway, backend, capfd):
    live = gateway(service(proxy_pre(backend, "error('start ' .. string.rep('x', 2^20))")))
    assert (live.get("/e").status_code, live.get("/e").content) == SCRIPT_ERROR
    err = capfd.readouterr().err
    assert "[Lua] pre:1: start xxx" in err and "xxx [...]" in err and len(err) < 64 * 1024
