"""Status policy, decoders, output encodings, redirects and limits against real backends."""
from __future__ import annotations

import pytest


def one(backend, pattern, endpoint_extra=None, **backend_keys):
    return {"extra_config": {"router": {"return_error_msg": True}},
            "endpoints": [{"endpoint": "/e", **(endpoint_extra or {}),
                           "backend": [{"host": [backend.url], "url_pattern": pattern, **backend_keys}]}]}


@pytest.mark.parametrize("pattern, keys, status, body", [
    ("/status/404", {}, 500, "invalid status code"),
    ("/status/204", {}, 500, "invalid status code"),
    ("/status/201", {}, 200, '{"status":201}'),
    ("/array", {}, 500, "invalid backend response"),
    ("/invalid", {}, 500, "invalid backend response"),
    ("/empty", {}, 500, "invalid backend response"),
    ("/array", {"encoding": "safejson"}, 200, '{"collection":[{"i":0},{"i":1}]}'),
    ("/scalar", {"encoding": "safejson"}, 200, '{"content":42}'),
    ("/text", {"encoding": "string"}, 200, '{"content":"hello world"}'),
    ("/gzip", {}, 200, '{"zipped":true}'),
    ("/echo/x", {"target": "query"}, 200, "{}"),
], ids=["404", "204-is-failure", "201-ok", "array-not-object", "invalid-json", "empty-body", "safejson-array",
        "safejson-scalar", "string", "gzip", "empty-target"])
def test_status_and_decoding(gateway, backend, pattern, keys, status, body):
    response = gateway(one(backend, pattern, **keys)).get("/e")
    assert (response.status_code, response.text) == (status, body)


def test_empty_data_is_incomplete_without_cache_control(gateway, backend):
    config = one(backend, "/echo/x", target="query")
    config["cache_ttl"] = "1h"
    response = gateway(config).get("/e")
    assert response.headers["X-Krakend-Completed"] == "false"
    assert "Cache-Control" not in response.headers


def test_return_error_code_passes_backend_status_and_body(gateway, backend):
    gw = gateway(one(backend, "/status/404", extra_config={"backend/http": {"return_error_code": True}}))
    response = gw.get("/e")
    assert (response.status_code, response.text) == (404, "404 page not found\n")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_return_error_details_becomes_data(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/e", "backend": [
        {"host": [backend.url], "url_pattern": "/echo/ok", "allow": ["path"]},
        {"host": [backend.url], "url_pattern": "/status/404",
         "extra_config": {"backend/http": {"return_error_details": "b"}}}]}]})
    response = gw.get("/e")
    assert response.status_code == 200
    assert response.json() == {"path": "/echo/ok", "error_b": {
        "http_status_code": 404, "http_body": "404 page not found\n",
        "http_body_encoding": "text/plain; charset=utf-8"}}
    assert response.headers["X-Krakend-Completed"] == "false"


def test_errors_hidden_without_return_error_msg(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/e", "backend": [
        {"host": [backend.url], "url_pattern": "/status/500"}]}]})
    response = gw.get("/e")
    assert (response.status_code, response.content) == (500, b"")
    assert "Content-Type" not in response.headers


def test_same_origin_redirect_followed_with_referer(gateway, backend):
    response = gateway(one(backend, "/redirect/302?to=/echo/landed")).get("/e")
    assert response.status_code == 200 and response.json()["path"] == "/echo/landed"
    assert backend.last().header("Referer") == [f"{backend.url}/redirect/302?to=/echo/landed"]


def test_cross_origin_redirect_not_followed(gateway, backend, other_backend):
    response = gateway(one(backend, f"/redirect/302?to={other_backend.url}/echo/elsewhere")).get("/e")
    assert (response.status_code, response.text) == (500, "redirect not followed")
    assert other_backend.requests == []


def test_post_redirect_303_becomes_get(gateway, backend):
    gw = gateway(one(backend, "/redirect/303?to=/echo/after", endpoint_extra={"method": "POST"}))
    response = gw.request("POST", "/e", data=b"payload", headers={"Content-Type": "text/plain"})
    assert response.json()["method"] == "GET" and response.json()["body"] == ""


def test_response_limit(gateway, backend):
    gw = gateway(one(backend, "/big/64"), max_response=32 * 1024)
    response = gw.get("/e")
    assert (response.status_code, response.text) == (500, "backend response too large")


def test_timeout_single_backend_is_500(gateway, backend):
    gw = gateway(one(backend, "/sleep/800/x", endpoint_extra={"timeout": "150ms"}))
    response = gw.get("/e")
    assert (response.status_code, response.text) == (500, "context deadline exceeded")


def test_noop_passes_status_headers_and_body(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/e", "output_encoding": "no-op", "backend": [
        {"host": [backend.url], "url_pattern": "/leaky"}]}]})
    response = gw.get("/e")
    assert response.status_code == 200 and response.content == b'{"leaky":true}'
    assert response.headers["X-Backend"] == "db-7"
    assert response.raw.headers.getlist("Set-Cookie") == ["sid=1"]
    assert "Apache" not in response.headers.get("Server", "")
    assert "X-Powered-By" not in response.headers
    assert response.headers["X-Krakend-Completed"] == "false"


def test_noop_keeps_backend_error_status_and_repeated_cookies(gateway, backend):
    gw = gateway({"endpoints": [
        {"endpoint": "/e", "output_encoding": "no-op", "backend": [{"host": [backend.url], "url_pattern": "/echo/x"}]},
        {"endpoint": "/m", "output_encoding": "no-op", "backend": [{"host": [backend.url],
                                                                    "url_pattern": "/status/418"}]}]})
    assert gw.get("/e").raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert gw.get("/m").status_code == 418


def test_json_answers_never_carry_backend_headers(gateway, backend):
    response = gateway(one(backend, "/leaky")).get("/e")
    assert "Set-Cookie" not in response.headers and "X-Backend" not in response.headers


@pytest.mark.parametrize("encoding, body, content_type", [
    ("string", "hello world", "text/plain; charset=utf-8"),
    ("json-collection", "[]", "application/json; charset=utf-8"),
], ids=["string", "json-collection"])
def test_output_encodings(gateway, backend, encoding, body, content_type):
    gw = gateway(one(backend, "/text", endpoint_extra={"output_encoding": encoding}, encoding="string"))
    response = gw.get("/e")
    assert response.text == body and response.headers["Content-Type"] == content_type


def test_json_collection_output(gateway, backend):
    gw = gateway(one(backend, "/array", endpoint_extra={"output_encoding": "json-collection"}, is_collection=True))
    assert gw.get("/e").content == b'[{"i":0},{"i":1}]'
