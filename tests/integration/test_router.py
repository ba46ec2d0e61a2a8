"""KrakenD's router answers: 404/405, redirects, parameter hygiene, built-in endpoints, limits."""
from __future__ import annotations

import http.client

import pytest

from app.version import VERSION_HEADER


@pytest.fixture
def gw(gateway, backend):
    return gateway({"endpoints": [
        {"endpoint": "/users/{id}", "backend": [{"host": [backend.url], "url_pattern": "/echo/users/{id}"}]},
        {"endpoint": "/static", "backend": [{"host": [backend.url], "url_pattern": "/echo/static"}]},
        {"endpoint": "/posts", "method": "POST", "backend": [{"host": [backend.url], "url_pattern": "/echo/p"}]},
    ]}, max_body=1024)


def raw_get(gw, path: str, method: str = "GET") -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(gw.url.removeprefix("http://"), timeout=5)
    conn.request(method, path)
    return conn.getresponse()


def test_unknown_path_is_404_text(gw):
    response = gw.get("/nope")
    assert (response.status_code, response.text) == (404, "404 page not found")
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers["X-Krakend"] == VERSION_HEADER
    assert response.headers["X-Krakend-Completed"] == "false"


@pytest.mark.parametrize("method", ["POST", "HEAD", "OPTIONS", "PUT"])
def test_known_path_other_method_is_405(gw, method):
    response = gw.request(method, "/static")
    assert response.status_code == 405
    if method != "HEAD":
        assert response.text == "405 method not allowed"


@pytest.mark.parametrize("path, method, status, location", [
    ("/static/", "GET", 301, "/static"),
    ("/StAtic", "GET", 301, "/static"),
    ("/USERS/Ab", "GET", 301, "/users/Ab"),
    ("/posts/", "POST", 307, "/posts"),
    ("/static/?q=1", "GET", 301, "/static?q=1"),
], ids=["trailing-slash", "case", "case-keeps-param", "post-307", "query-kept"])
def test_near_misses_redirect(gw, path, method, status, location):
    response = raw_get(gw, path, method)
    assert response.status == status
    assert response.getheader("Location") == location


@pytest.mark.parametrize("path", ["/users/..", "/users/.", "/users/a%252e", "/users/a%3Fx", "/users/a%23x",
                                  "/users/a;b", "/users/a%5Cb", "/users/a%00b", "/users/a%2Fb"],
                         ids=["dotdot", "dot", "double-encoded", "question", "hash", "semicolon", "backslash",
                              "nul", "encoded-slash"])
def test_hostile_path_params_are_400_and_never_reach_backend(gw, backend, path):
    response = raw_get(gw, path)
    body = response.read()
    if path.endswith("%2Fb"):
        assert response.status in (400, 404)
    else:
        assert (response.status, body) == (400, b"error: encoded url params")
    assert backend.requests == []


def test_param_with_space_is_encoded_for_backend(gw, backend):
    assert raw_get(gw, "/users/a%20b").status == 200
    assert backend.last().path == "/echo/users/a%20b"


def test_health(gw):
    response = gw.get("/__health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["agents"] == {} and isinstance(body["now"], str)
    assert "X-Krakend" not in response.headers


def test_debug_and_echo_off_by_default(gw):
    assert gw.get("/__debug/").status_code == 404
    assert gw.get("/__echo/").status_code == 404


def test_debug_and_echo_with_gateway_debug(gateway):
    gw = gateway({"endpoints": []}, debug=True)
    assert gw.get("/__debug/anything").json() == {"message": "pong"}
    assert gw.get("/__debug").status_code == 301
    echo = gw.request("POST", "/__echo/x?a=1", data=b"hi").json()
    assert echo["req_method"] == "POST" and echo["req_body"] == "hi"
    assert echo["req_querystring"] == {"a": ["1"]}


def test_request_body_over_limit_is_413(gw, backend):
    response = gw.request("POST", "/posts", data=b"x" * 2048)
    assert response.status_code == 413
    assert backend.requests == []
    chunked = gw.request("POST", "/posts", data=iter([b"x" * 1000, b"y" * 1000]))
    assert chunked.status_code == 413


def test_router_options(gateway, backend):
    gw = gateway({"extra_config": {"router": {"health_path": "/health", "hide_version_header": True,
                                              "error_body": {"404": {"error": "nope"}},
                                              "disable_redirect_trailing_slash": True,
                                              "disable_redirect_fixed_path": True}},
                  "endpoints": [{"endpoint": "/a", "backend": [{"host": [backend.url], "url_pattern": "/echo/a"}]}]})
    assert gw.get("/health").status_code == 200
    assert gw.get("/__health").status_code == 404
    missing = gw.get("/a/")
    assert missing.status_code == 404 and missing.json() == {"error": "nope"}
    assert gw.get("/a").headers["X-Krakend"] == "Version undefined"
