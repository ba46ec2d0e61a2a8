"""Zero-trust forwarding of headers, query strings and bodies to a real echo backend."""
from __future__ import annotations

import http.client

import pytest

from app.version import IDENTITY


def _endpoint(backend, **endpoint):
    pattern = endpoint.pop("url_pattern", "/echo/x")
    return {"endpoints": [{"endpoint": "/f", "backend": [{"host": [backend.url], "url_pattern": pattern}],
                           **endpoint}]}


def test_default_forwards_only_content_type_plus_gateway_headers(gateway, backend):
    gw = gateway(_endpoint(backend, method="POST"))
    sent = {"Content-Type": "application/json", "Authorization": "x", "Cookie": "c=1", "X-Forwarded-For": "6.6.6.6"}
    gw.request("POST", "/f", data=b'{"a":1}', headers=sent)
    seen = backend.last()
    names = {k.lower() for k, _ in seen.headers}
    assert names == {"host", "user-agent", "accept-encoding", "content-type", "x-forwarded-for",
                     "x-forwarded-host", "transfer-encoding"}
    assert seen.header("User-Agent") == [IDENTITY]
    assert seen.header("X-Forwarded-For") == ["127.0.0.1"]
    assert seen.header("Accept-Encoding") == ["gzip"]
    assert seen.body == b'{"a":1}' and seen.chunked


@pytest.mark.parametrize("listed, sent, expected", [
    (["X-Y-Z"], {"x-y-z": "1"}, {"X-Y-Z": ["1"]}),
    (["authorization"], {"Authorization": "Bearer t", "X-Other": "no"}, {"Authorization": ["Bearer t"]}),
    (["User-Agent"], {"User-Agent": "curl/8"}, {"User-Agent": ["curl/8"], "X-Forwarded-Via": [IDENTITY]}),
], ids=["canonical-name", "only-listed", "client-agent-kept"])
def test_listed_headers(gateway, backend, listed, sent, expected):
    gw = gateway(_endpoint(backend, input_headers=listed))
    gw.get("/f", headers=sent)
    seen = backend.last()
    for name, values in expected.items():
        assert seen.header(name) == values
    assert seen.header("X-Other") == []


def test_star_forwards_everything_but_hop_by_hop_and_connection_nominated(gateway, backend):
    gw = gateway(_endpoint(backend, input_headers=["*"]))
    conn = http.client.HTTPConnection(gw.url.removeprefix("http://"), timeout=5)
    conn.request("GET", "/f", headers={"X-A": "1", "X-Secret": "s", "Connection": "keep-alive, X-Secret",
                                       "Keep-Alive": "timeout=5", "TE": "trailers", "Upgrade": "h2c",
                                       "Proxy-Authorization": "Basic x", "X-Forwarded-Host": "evil"})
    assert conn.getresponse().status == 200
    seen = backend.last()
    assert seen.header("X-A") == ["1"]
    for dropped in ("X-Secret", "Keep-Alive", "TE", "Upgrade", "Proxy-Authorization", "Connection"):
        assert seen.header(dropped) == [], dropped
    assert seen.header("X-Forwarded-Host") == [gw.url.removeprefix("http://")]


def test_connection_header_cannot_strip_gateway_headers(gateway, backend):
    gw = gateway(_endpoint(backend, input_headers=["*"]))
    gw.get("/f", headers={"Connection": "X-Forwarded-For, User-Agent, Accept-Encoding"})
    seen = backend.last()
    assert seen.header("X-Forwarded-For") == ["127.0.0.1"]
    assert seen.header("Accept-Encoding") == ["gzip"]
    assert seen.header("User-Agent") == [IDENTITY]


def test_x_forwarded_for_only_from_trusted_proxies(gateway, backend):
    import ipaddress
    untrusted = gateway(_endpoint(backend))
    untrusted.get("/f", headers={"X-Forwarded-For": "203.0.113.9"})
    assert backend.last().header("X-Forwarded-For") == ["127.0.0.1"]
    trusted = gateway(_endpoint(backend), trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),))
    trusted.get("/f", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})
    assert backend.last().header("X-Forwarded-For") == ["203.0.113.9"]


@pytest.mark.parametrize("allowed, query, expected", [
    ([], "a=1&b=2", {}),
    (["a"], "a=1&b=2&a=3", {"a": ["1", "3"]}),
    (["*"], "b=2&a=1&b=3", {"a": ["1"], "b": ["2", "3"]}),
    (["A"], "a=1", {}),
], ids=["none-by-default", "listed-all-values", "star", "case-sensitive"])
def test_query_strings(gateway, backend, allowed, query, expected):
    gw = gateway(_endpoint(backend, input_query_strings=allowed))
    gw.get(f"/f?{query}")
    assert backend.last().query == expected


def test_pattern_query_kept_and_forwarded_query_appended(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/f/{id}", "input_query_strings": ["page"], "backend": [
        {"host": [backend.url], "url_pattern": "/echo/x?fixed=1&id={id}"}]}]})
    gw.get("/f/7?page=2&other=3")
    assert backend.last().query == {"fixed": ["1"], "id": ["7"], "page": ["2"]}


def test_param_value_cannot_inject_query_parameters(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/f/{id}", "backend": [
        {"host": [backend.url], "url_pattern": "/echo/x?id={id}"}]}]})
    assert gw.get("/f/1&admin=true").status_code == 200
    assert backend.last().query == {"id": ["1&admin=true"]}


def test_content_length_forwarded_only_when_listed(gateway, backend):
    gw = gateway(_endpoint(backend, method="PUT", input_headers=["Content-Length", "Content-Type"]))
    gw.request("PUT", "/f", data=b"12345")
    seen = backend.last()
    assert seen.header("Content-Length") == ["5"] and not seen.chunked and seen.body == b"12345"


def test_post_without_body_sends_content_length_zero(gateway, backend):
    gw = gateway(_endpoint(backend, method="POST"))
    gw.request("POST", "/f")
    assert backend.last().header("Content-Length") == ["0"]


def test_backend_input_headers_filter_again(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/f", "input_headers": ["X-A", "X-B"], "backend": [
        {"host": [backend.url], "url_pattern": "/echo/x", "input_headers": ["X-B"]}]}]})
    gw.get("/f", headers={"X-A": "1", "X-B": "2"})
    seen = backend.last()
    assert seen.header("X-A") == [] and seen.header("X-B") == ["2"]
    assert seen.header("X-Forwarded-For") == []


def test_backend_method_and_host_inheritance(gateway, backend):
    gw = gateway({"host": [backend.url], "endpoints": [{"endpoint": "/f", "method": "DELETE", "backend": [
        {"url_pattern": "/echo/a"}, {"url_pattern": "/echo/b", "method": "get"}]}]})
    assert gw.request("DELETE", "/f").status_code == 200
    methods = sorted((r.path, r.method) for r in backend.requests)
    assert methods == [("/echo/a", "DELETE"), ("/echo/b", "GET")]


def test_load_balancing_uses_every_host(gateway, backend, other_backend):
    gw = gateway({"endpoints": [{"endpoint": "/f", "backend": [
        {"host": [backend.url, other_backend.url], "url_pattern": "/echo/lb"}]}]})
    for _ in range(40):
        assert gw.get("/f").status_code == 200
    assert backend.hits["echo"] > 0 and other_backend.hits["echo"] > 0
