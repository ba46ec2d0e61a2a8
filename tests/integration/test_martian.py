"""modifier/martian against a real echo backend: what the backend receives, what the client gets."""
from __future__ import annotations

import base64

import pytest

from app.config.build import build_service
from app.errors import ConfigErrors


def martian(backend, modifier, pattern="/echo/m", encoding=None, endpoint_extra=None):
    backend_config = {"host": [backend.url], "url_pattern": pattern, "extra_config": {"modifier/martian": modifier}}
    if encoding:
        backend_config["encoding"] = encoding
    endpoint = {"endpoint": "/m", "backend": [backend_config], **(endpoint_extra or {})}
    if encoding == "no-op":
        endpoint["output_encoding"] = "no-op"
    return {"extra_config": {"router": {"return_error_msg": True}}, "endpoints": [endpoint]}


def test_brief_internal_key_header_reaches_backend_and_client_cannot_override(gateway, backend, monkeypatch):
    monkeypatch.setenv("USERS_INTERNAL_KEY", "s3cr3t")
    gw = gateway(martian(backend, {"header.Modifier": {"scope": ["request"], "name": "X-Internal-Key",
                                                       "value": "${env:USERS_INTERNAL_KEY}"}},
                         endpoint_extra={"input_headers": ["*"]}))
    response = gw.get("/m", headers={"X-Internal-Key": "forged", "Connection": "X-Internal-Key"})
    assert response.status_code == 200
    assert backend.last().header("X-Internal-Key") == ["s3cr3t"]
    assert "X-Internal-Key" not in response.headers


def test_fifo_group_with_header_query_and_body(gateway, backend):
    body = base64.b64encode(b'{"replaced":true}').decode()
    gw = gateway(martian(backend, {"fifo.Group": {"scope": ["request"], "aggregateErrors": True, "modifiers": [
        {"header.Modifier": {"scope": ["request"], "name": "X-Tenant", "value": "acme"}},
        {"querystring.Modifier": {"scope": ["request"], "name": "tenant", "value": "acme"}},
        {"body.Modifier": {"scope": ["request"], "body": body, "contentType": "application/json"}},
    ]}}, pattern="/echo/m?tenant=evil&page=2", endpoint_extra={"method": "POST"}))
    assert gw.request("POST", "/m", data=b"original").status_code == 200
    seen = backend.last()
    assert seen.header("X-Tenant") == ["acme"]
    assert seen.query == {"page": ["2"], "tenant": ["acme"]}
    assert seen.body == b'{"replaced":true}'
    assert seen.header("Content-Type") == ["application/json"]


HIT_YES = {"header.Modifier": {"name": "X-Hit", "value": "yes"}}


@pytest.mark.parametrize("modifier, check", [
    ({"header.Append": {"name": "X-A", "value": "2"}}, lambda s: s.header("X-A") == ["1, 2"]),
    ({"header.Blacklist": {"names": ["X-A", "User-Agent"]}}, lambda s: not s.header("X-A") and not s.header(
        "User-Agent")),
    ({"header.Copy": {"from": "X-A", "to": "X-B"}}, lambda s: s.header("X-B") == ["1"]),
    ({"header.Id": {}}, lambda s: len(s.header("X-Krakend-Id")[0]) == 36),
    ({"header.Id": {"header": "X-Request-Id"}}, lambda s: len(s.header("X-Request-Id")[0]) == 36),
    ({"cookie.Modifier": {"scope": ["request"], "name": "session", "value": "abc"}},
     lambda s: s.header("Cookie") == ["session=abc"]),
    ({"stash.Modifier": {"headerName": "X-Stash"}},
     lambda s: s.header("X-Stash")[0].endswith("/echo/m?page=2")),
    ({"url.Modifier": {"scope": ["request"], "path": "/echo/rewritten", "query": "x=1"}},
     lambda s: s.path == "/echo/rewritten" and s.query == {"x": ["1"]}),
    ({"header.Filter": {"name": "X-A", "value": "1", "modifier": HIT_YES}},
     lambda s: s.header("X-Hit") == ["yes"]),
    ({"header.Filter": {"name": "X-A", "value": "2", "modifier": HIT_YES,
                        "else": {"header.Modifier": {"name": "X-Hit", "value": "no"}}}},
     lambda s: s.header("X-Hit") == ["no"]),
    ({"header.RegexFilter": {"header": "X-A", "regex": "^[0-9]+$", "modifier": {"header.Modifier": {
        "name": "X-Hit", "value": "digits"}}}}, lambda s: s.header("X-Hit") == ["digits"]),
    ({"querystring.Filter": {"name": "page", "value": "2", "modifier": {"header.Modifier": {
        "name": "X-Hit", "value": "page2"}}}}, lambda s: s.header("X-Hit") == ["page2"]),
    ({"url.Filter": {"path": "/echo/m", "modifier": {"header.Modifier": {"name": "X-Hit", "value": "url"}}}},
     lambda s: s.header("X-Hit") == ["url"]),
    ({"url.RegexFilter": {"regex": "/echo/.*", "modifier": {"header.Modifier": {"name": "X-Hit", "value": "re"}}}},
     lambda s: s.header("X-Hit") == ["re"]),
    ({"port.Filter": {"port": 1, "modifier": {"header.Modifier": {"name": "X-Hit", "value": "port"}}}},
     lambda s: s.header("X-Hit") == []),
    ({"priority.Group": {"modifiers": [
        {"priority": 1, "modifier": {"header.Append": {"name": "X-Order", "value": "low"}}},
        {"priority": 10, "modifier": {"header.Append": {"name": "X-Order", "value": "high"}}}]}},
     lambda s: s.header("X-Order") == ["high, low"]),
], ids=["append", "blacklist", "copy", "id", "id-named", "cookie", "stash", "url", "header-filter",
        "header-filter-else", "regex-filter", "query-filter", "url-filter", "url-regex-filter", "port-filter-miss",
        "priority"])
def test_request_modifiers(gateway, backend, modifier, check):
    gw = gateway(martian(backend, modifier, pattern="/echo/m?page=2", endpoint_extra={"input_headers": ["X-A"]}))
    assert gw.get("/m", headers={"X-A": "1"}).status_code == 200
    assert check(backend.last()), backend.last()


def test_port_modifier_changes_url_and_host(gateway, backend):
    port = backend.url.rsplit(":", 1)[1]
    gw = gateway(martian(backend, {"port.Modifier": {"port": int(port)}}))
    assert gw.get("/m").status_code == 200
    assert backend.last().header("Host") == [f"127.0.0.1:{port}"]


def test_status_modifier_turns_a_failure_into_success(gateway, backend):
    gw = gateway(martian(backend, {"status.Modifier": {"scope": ["response"], "statusCode": 200}},
                         pattern="/status/404", encoding="string"))
    response = gw.get("/m")
    assert response.status_code == 200 and response.json() == {"content": "404 page not found\n"}


def test_response_modifiers_reach_the_client_with_noop(gateway, backend):
    gw = gateway(martian(backend, {"fifo.Group": {"scope": ["response"], "modifiers": [
        {"header.Modifier": {"scope": ["response"], "name": "X-From-Gateway", "value": "1"}},
        {"header.Blacklist": {"scope": ["response"], "names": ["Set-Cookie"]}},
        {"cookie.Modifier": {"scope": ["response"], "name": "gw", "value": "2", "httpOnly": True, "path": "/"}},
    ]}}, encoding="no-op"))
    response = gw.get("/m")
    assert response.headers["X-From-Gateway"] == "1"
    assert response.raw.headers.getlist("Set-Cookie") == ["gw=2; Path=/; HttpOnly"]


def test_response_body_modifier_changes_what_is_decoded(gateway, backend):
    body = base64.b64encode(b'{"from":"martian"}').decode()
    gw = gateway(martian(backend, {"body.Modifier": {"scope": ["response"], "body": body}}))
    assert gw.get("/m").json() == {"from": "martian"}


def test_static_modifier_serves_files_and_never_escapes_its_root(gateway, backend, tmp_path):
    root = tmp_path / "static"
    root.mkdir()
    (root / "data.json").write_text('{"static":true}')
    (tmp_path / "secret.json").write_text('{"secret":true}')
    gw = gateway({"endpoints": [
        {"endpoint": "/s", "backend": [{"host": [backend.url], "url_pattern": "/data.json", "extra_config": {
            "modifier/martian": {"static.Modifier": {"rootPath": str(root)}}}}]},
        {"endpoint": "/x", "backend": [{"host": [backend.url], "url_pattern": "/mapped", "extra_config": {
            "modifier/martian": {"static.Modifier": {"rootPath": str(root),
                                                     "explicitPaths": {"/mapped": "../secret.json"}}}}}]}]})
    assert gw.get("/s").json() == {"static": True}
    assert gw.get("/x").status_code == 500
    assert backend.requests == []


def cache_config(backend, modifier):
    config = martian(backend, modifier, pattern="/cache/max-age=60/x")
    config["endpoints"][0]["backend"][0]["extra_config"]["qos/http-cache"] = {}
    return config


def test_modifier_set_headers_are_part_of_the_cache_key(gateway, backend, monkeypatch):
    monkeypatch.setenv("PROPYLON_V", "1")
    gw = gateway(cache_config(backend, {"header.Modifier": {"scope": ["request"], "name": "X-V",
                                                            "value": "${env:PROPYLON_V}"}}))
    monkeypatch.setenv("PROPYLON_V", "2")
    other = gateway(cache_config(backend, {"header.Modifier": {"scope": ["request"], "name": "X-V",
                                                               "value": "${env:PROPYLON_V}"}}))
    gw.get("/m")
    gw.get("/m")
    assert backend.hits["cache"] == 1
    other.get("/m")
    assert backend.hits["cache"] == 2


def test_request_ids_do_not_defeat_the_cache(gateway, backend):
    gw = gateway(cache_config(backend, {"header.Id": {"scope": ["request"]}}))
    for _ in range(3):
        assert gw.get("/m").status_code == 200
    assert backend.hits["cache"] == 1


def test_regex_filters_are_linear_time(gateway, backend):
    import time
    gw = gateway(martian(backend, {"header.RegexFilter": {"scope": ["request"], "header": "X-Tenant",
                                                          "regex": "^([a-z]+)+$", "modifier": {
                                                              "header.Modifier": {"name": "X-Hit", "value": "1"}}}},
                         endpoint_extra={"input_headers": ["X-Tenant"], "timeout": "500ms"}))
    started = time.monotonic()
    assert gw.get("/m", headers={"X-Tenant": "a" * 40 + "!"}).status_code == 200
    assert time.monotonic() - started < 1


def test_regex_filter_in_response_scope_tests_the_request(gateway, backend):
    gw = gateway(martian(backend, {"header.RegexFilter": {"scope": ["response"], "header": "X-A", "regex": "^1$",
                                                          "modifier": {"header.Modifier": {
                                                              "name": "X-Seen", "value": "yes"}}}},
                         encoding="no-op", endpoint_extra={"input_headers": ["X-A"]}))
    assert gw.get("/m", headers={"X-A": "1"}).headers.get("X-Seen") == "yes"


def test_secrets_in_urls_are_not_logged(gateway, monkeypatch, caplog):
    import logging
    monkeypatch.setenv("PROPYLON_API_KEY", "topsecret")
    gw = gateway({"endpoints": [{"endpoint": "/m", "backend": [{"host": ["http://127.0.0.1:39"],
                                                                "url_pattern": "/x", "extra_config": {
        "modifier/martian": {"querystring.Modifier": {"scope": ["request"], "name": "api_key",
                                                      "value": "${env:PROPYLON_API_KEY}"}}}}]}]})
    logging.getLogger("propylon").propagate = True
    try:
        with caplog.at_level(logging.WARNING):
            assert gw.get("/m").status_code == 500
    finally:
        logging.getLogger("propylon").propagate = False
    assert "backend unavailable" in caplog.text and "topsecret" not in caplog.text


@pytest.mark.parametrize("modifier, message", [
    ({"header.Modifier": {"name": "X"}, "header.Append": {"name": "Y"}}, "expected exactly one modifier, got 2"),
    ({"header.Modifer": {"name": "X"}}, "unknown modifier 'header.Modifer'"),
    ({"header.Modifier": {"value": "x"}}, "modifier/martian.header.Modifier.name: missing"),
    ({"status.Modifier": {"scope": ["request"], "statusCode": 200}}, "does not support scope ['request']"),
    ({"stash.Modifier": {"scope": ["response"], "headerName": "X"}}, "does not support scope ['response']"),
    ({"fifo.Group": {"modifiers": [{"header.Modifier": {"name": "A"}}, {"body.Modifier": {"body": "%%%"}}]}},
     "fifo.Group.modifiers[1].body.Modifier.body: expected the body in base64"),
    ({"header.RegexFilter": {"header": "X", "regex": "(", "modifier": {"header.Id": {}}}},
     "header.RegexFilter.regex: invalid regular expression"),
    ({"header.Modifier": {"scope": ["request"], "name": "X", "value": "${env:PROPYLON_SURELY_UNSET}"}},
     "environment variable PROPYLON_SURELY_UNSET is not set"),
    ({"header.Modifier": {"name": "X", "value": "${env:HOME}"}}, "acts on responses, where it could reach clients"),
    ({"header.Modifier": {"scope": ["request"], "name": "Content-Length", "value": "0"}},
     "Content-Length is a framing or hop-by-hop header"),
    ({"header.Modifier": {"scope": ["request"], "name": "X-A", "value": "a\r\nX-Injected: 1"}},
     "contains control characters"),
    ({"header.Modifier": {"scope": ["request"], "name": "X-A\r\nB", "value": "1"}}, "is not a valid header name"),
    ({"header.Modifier": {"scope": ["request"], "name": "X-A", "value": "\u2603"}}, "only Latin-1"),
    ({"fifo.Group": {"aggregateErrors": "false", "modifiers": [{"header.Id": {}}]}}, "expected true or false"),
], ids=["two-keys", "typo", "missing-field", "bad-scope", "stash-response", "nested-base64", "bad-regex",
        "missing-env", "secret-in-response-scope", "framing-header", "crlf-value", "bad-name", "non-latin1",
        "string-bool"])
def test_malformed_trees_stop_start_with_the_json_path(gateway, backend, modifier, message):
    from app import create_app
    from app.settings import Settings
    config = {"version": 3, **martian(backend, modifier)}
    with pytest.raises(ConfigErrors) as failure:
        create_app(Settings(), build_service(config))
    text = str(failure.value)
    assert text.startswith("endpoints[0].backend[0].extra_config.modifier/martian")
    assert message in text
