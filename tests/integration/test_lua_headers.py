"""Headers a Lua ``post`` script sets on the answer reach the client under every encoding, safely."""
from __future__ import annotations

import pytest

ROUTER = {"router": {"return_error_msg": True}}
SET_HEADERS = r"""local r = response.load()
r:headers('X-From-Lua', 'yes')
local l = luaList.new(); l:set(0, 'one'); l:set(1, 'two')
r:headerList('X-Multi', l)"""


def one(backend, pattern="/echo/x", endpoint_extra=None, backend_extra=None, **keys):
    return {**ROUTER, "endpoints": [{
        "endpoint": "/e", "extra_config": endpoint_extra or {}, **keys,
        "backend": [{"host": [backend.url], "url_pattern": pattern, "extra_config": backend_extra or {}}]}]}


def proxy_post(code):
    return {"modifier/lua-proxy": {"post": code}}


@pytest.mark.parametrize("encoding, content_type", [
    ("json", "application/json; charset=utf-8"),
    ("xml", "application/xml"),
    ("json-collection", "application/json; charset=utf-8"),
], ids=["json", "xml", "json-collection"])
def test_proxy_post_headers_reach_the_client(gateway, backend, encoding, content_type):
    live = gateway(one(backend, endpoint_extra=proxy_post(SET_HEADERS), output_encoding=encoding))
    response = live.get("/e")
    assert response.status_code == 200
    assert response.headers["X-From-Lua"] == "yes"
    assert response.raw.headers.getlist("X-Multi") == ["one", "two"]
    assert response.headers["Content-Type"] == content_type


def test_backend_post_headers_reach_the_client(gateway, backend):
    live = gateway(one(backend, backend_extra={"modifier/lua-backend": {"post": SET_HEADERS}}))
    response = live.get("/e")
    assert response.status_code == 200 and response.headers["X-From-Lua"] == "yes"


@pytest.mark.parametrize("extra", [{}, proxy_post(SET_HEADERS)], ids=["no-script", "script-setting-headers"])
def test_backend_headers_still_never_reach_the_client(gateway, backend, extra):
    live = gateway(one(backend, "/leaky", endpoint_extra=extra))
    response = live.get("/e")
    assert response.status_code == 200 and response.json() == {"leaky": True}
    for name in ("Set-Cookie", "X-Powered-By", "X-Backend"):
        assert name not in response.headers
    # The gateway's test server names itself; the backend's names (Apache, BaseHTTP) never pass.
    assert "Apache" not in response.headers.get("Server", "") and "BaseHTTP" not in response.headers["Server"]
    assert ("X-From-Lua" in response.headers) == bool(extra)


def test_a_noop_backend_under_a_json_endpoint_passes_no_backend_header(gateway, backend):
    # Its answer keeps the backend's headers for the script; none may reach a json client.
    post = r"""local r = response.load()
r:data():set('seen', r:headers('X-Backend')); r:headers('X-From-Lua', 'yes')"""
    config = one(backend, "/leaky", backend_extra={"modifier/lua-backend": {"post": post}})
    config["endpoints"][0]["backend"][0]["encoding"] = "no-op"
    live = gateway(config)
    response = live.get("/e")
    assert response.status_code == 200 and response.json() == {"seen": "db-7"}
    assert "X-Backend" not in response.headers and "Set-Cookie" not in response.headers
    assert "X-From-Lua" not in response.headers  # not told apart from the backend's: none pass


def test_the_gateway_headers_win_and_framing_headers_never_pass(gateway, backend):
    post = r"""local r = response.load()
for k, v in pairs({['Content-Length'] = '1', ['Transfer-Encoding'] = 'chunked', ['Connection'] = 'upgrade',
                   ['X-Krakend'] = 'fake', ['X-Krakend-Completed'] = 'false', ['Content-Type'] = 'text/html',
                   ['Cache-Control'] = 'no-store', ['Server'] = 'lua', ['Content-Encoding'] = 'gzip',
                   ['X-Kept'] = 'kept'}) do
  r:headers(k, v)
end"""
    live = gateway(one(backend, endpoint_extra=proxy_post(post), cache_ttl="1m"))
    response = live.get("/e")
    assert response.status_code == 200 and response.json()["path"] == "/echo/x"
    headers = response.raw.headers
    assert headers.getlist("Content-Type") == ["application/json; charset=utf-8"]
    assert headers.getlist("Content-Length") == [str(len(response.content))]
    assert headers.getlist("X-Krakend-Completed") == ["true"] and headers.getlist("X-Krakend")[0] != "fake"
    assert len(headers.getlist("X-Krakend")) == 1
    assert headers.getlist("Cache-Control") == ["public, max-age=60"]
    assert "Transfer-Encoding" not in headers and "Content-Encoding" not in headers
    assert headers.get("Connection", "") != "upgrade" and headers.get("Server", "") != "lua"
    assert headers["X-Kept"] == "kept"


INVALID = r"""local r = response.load()
r:headers('X-Bad', 'a\r\nInjected: 1')
r:headers('X-Bad-Lf', 'a\nb')
r:headers('X-Nul', 'a\0b')
r:headers('X-Bad\r\nName', 'v')
r:headers('Bad Name', 'v')
r:headers('X-Good', 'ok')"""


@pytest.mark.parametrize("encoding", ["json", "xml", "no-op"])
def test_invalid_header_names_and_values_are_dropped(gateway, backend, encoding, capfd):
    config = one(backend, backend_extra={"modifier/lua-backend": {"post": INVALID}}, output_encoding=encoding)
    live = gateway(config)
    response = live.get("/e")
    assert response.status_code == 200 and response.headers["X-Good"] == "ok"
    for name in ("X-Bad", "X-Bad-Lf", "X-Nul", "Injected", "Name", "Bad Name"):
        assert name not in response.headers
    err = capfd.readouterr().err
    assert "answer header 'X-Bad' dropped" in err and "Traceback" not in err


def test_headers_pass_only_with_data(gateway, backend):
    # lura copies Metadata.Headers only when the answer has data.
    post = "local r = response.load(); r:headers('X-From-Lua', 'yes'); r:data():del('path')"
    live = gateway(one(backend, "/json/doc", endpoint_extra=proxy_post(post)))
    backend.json("doc", {"path": "only"})
    response = live.get("/e")
    assert response.status_code == 200 and response.json() == {}
    assert "X-From-Lua" not in response.headers
