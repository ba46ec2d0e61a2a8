"""security/cors decisions, table-driven against rs/cors v1.11's rules (cors.go, internal/sortedset.go)."""
from __future__ import annotations

from typing import Any, Optional

import pytest

from app.errors import ConfigError
from app.security import cors
from app.router.forwarding import canonical as canonical_header_key
from app.security.cors_rules import (CLOSED, actual, headers_accepted, merge_headers,
                                     origin_allowed, preflight)

PATH = "extra_config.security/cors"


def policy(**raw: Any) -> cors.Policy:
    return cors.compile_policy(cors.parse(raw, PATH))


@pytest.mark.parametrize("origins, origin, allowed", [
    (["*"], "http://anything.test", True),
    ([], "http://anything.test", True),
    (["http://foo.example"], "http://foo.example", True),
    (["http://foo.example"], "HTTP://FOO.EXAMPLE", True),
    (["HTTP://Foo.Example"], "http://foo.example", True),
    (["http://foo.example"], "http://foo.example.tld", False),
    (["http://foo.example"], "https://foo.example", False),
    (["http://foo.example"], "null", False),
    (["https://*.example.com"], "https://a.example.com", True),
    (["https://*.example.com"], "https://a.b.example.com", True),
    (["https://*.example.com"], "https://example.com", False),
    (["https://*.example.com"], "http://a.example.com", False),
    (["https://*.example.com"], "https://a.example.com.evil.test", False),
    (["https://a*a"], "https://a", False),
    (["https://a*a"], "https://aa", True),
    (["http://foo.example", "*"], "http://other.test", True),
    (["https://*.*.example.com"], "https://a.b.example.com", False),
    (["https://*.*.example.com"], "https://x.*.example.com", True),
], ids=lambda v: str(v))
def test_origin_matching(origins, origin, allowed):
    assert origin_allowed(policy(allow_origins=origins), origin) is allowed


FIXTURE_HEADERS = ["Origin", "Authorization", "Content-Type"]


@pytest.mark.parametrize("requested, accepted", [
    ("content-type,origin", True),
    ("authorization,content-type,origin", True),
    ("content-type", True),
    ("", True),
    ("content-type, origin", True),
    (" content-type ,origin", True),
    ("content-type,  origin", False),
    ("content-type,\torigin", True),
    ("origin,content-type", False),
    ("content-type,content-type", False),
    ("Content-Type", False),
    ("x-pingother", False),
    ("X-PINGOTHER", False),
    ("content-type,,origin", True),
    ("," * 16 + "origin", True),
    ("," * 17 + "origin", False),
], ids=repr)
def test_requested_header_lists(requested, accepted):
    assert headers_accepted(policy(allow_headers=FIXTURE_HEADERS), requested) is accepted


@pytest.mark.parametrize("allow_headers", [None, [], ["*"], ["X-A", "*"]], ids=repr)
def test_any_header_list_is_accepted_when_all_headers_are_allowed(allow_headers):
    raw = {} if allow_headers is None else {"allow_headers": allow_headers}
    assert headers_accepted(policy(**raw), "X-Whatever,a,a,B")


FIXTURE = {"allow_origins": ["*"], "allow_methods": ["POST", "GET"], "allow_headers": FIXTURE_HEADERS,
           "expose_headers": ["Content-Length"], "max_age": "12h"}
CREDENTIALS = {"allow_origins": ["https://app.test"], "allow_credentials": True, "expose_headers": ["x-total"]}
VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"


def environ(origin: Optional[str] = None, method: Optional[str] = None, headers: Optional[str] = None,
            **extra: str) -> dict[str, str]:
    env = dict(extra)
    for key, value in (("HTTP_ORIGIN", origin), ("HTTP_ACCESS_CONTROL_REQUEST_METHOD", method),
                       ("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", headers)):
        if value is not None:
            env[key] = value
    return env


@pytest.mark.parametrize("raw, env, expected", [
    pytest.param(FIXTURE, environ("http://foo.example", "GET", "content-type,origin"), [
        ("Vary", VARY), ("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "GET"),
        ("Access-Control-Allow-Headers", "content-type,origin"), ("Access-Control-Max-Age", "43200")],
        id="cors_1-allowed"),
    pytest.param(FIXTURE, environ("http://foo.example.tld", "PUT"), [("Vary", VARY)], id="cors_2-method"),
    pytest.param(FIXTURE, environ("http://foo.example", "POST", "X-PINGOTHER"), [("Vary", VARY)],
                 id="cors_3-header"),
    pytest.param(FIXTURE, environ("http://foo.example", "OPTIONS"), [
        ("Vary", VARY), ("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "OPTIONS"),
        ("Access-Control-Max-Age", "43200")], id="options-always-allowed"),
    pytest.param(FIXTURE, environ("http://foo.example", "get"), [("Vary", VARY)], id="method-case-sensitive"),
    pytest.param(FIXTURE, environ(None, "GET"), [("Vary", VARY)], id="no-origin"),
    pytest.param(FIXTURE, environ("http://foo.example", "GET", ""), [
        ("Vary", VARY), ("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "GET"),
        ("Access-Control-Max-Age", "43200")], id="empty-header-list"),
    pytest.param(CREDENTIALS, environ("https://app.test", "GET"), [
        ("Vary", VARY), ("Access-Control-Allow-Origin", "https://app.test"),
        ("Access-Control-Allow-Methods", "GET"), ("Access-Control-Allow-Credentials", "true")],
        id="credentials-echo-origin"),
    pytest.param(CREDENTIALS, environ("https://evil.test", "GET"), [("Vary", VARY)], id="credentials-other-origin"),
    pytest.param({"allow_credentials": True}, environ("https://any.test", "POST"), [
        ("Vary", VARY), ("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "POST"),
        ("Access-Control-Allow-Credentials", "true")], id="credentials-star-stays-star"),
    pytest.param({"allow_private_network": True, "max_age": "-1s"},
                 environ("https://a.test", "GET", HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK="true"), [
        ("Vary", VARY + ", Access-Control-Request-Private-Network"), ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Methods", "GET"), ("Access-Control-Allow-Private-Network", "true"),
        ("Access-Control-Max-Age", "0")], id="private-network-negative-max-age"),
    pytest.param({"max_age": "900ms"}, environ("https://a.test", "HEAD"), [
        ("Vary", VARY), ("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "HEAD")],
        id="max-age-under-a-second"),
])
def test_preflight_decisions(raw, env, expected):
    headers, _ = preflight(policy(**raw), env)
    assert headers == expected


@pytest.mark.parametrize("raw, method, origin, expected", [
    pytest.param(FIXTURE, "GET", "http://foo.example.tld", [
        ("Vary", "Origin"), ("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "Content-Length")],
        id="cors_5"),
    pytest.param(FIXTURE, "GET", None, [("Vary", "Origin")], id="no-origin"),
    pytest.param(FIXTURE, "PUT", "http://foo.example", [("Vary", "Origin")], id="method-not-allowed"),
    pytest.param(CREDENTIALS, "GET", "https://app.test", [
        ("Vary", "Origin"), ("Access-Control-Allow-Origin", "https://app.test"),
        ("Access-Control-Expose-Headers", "X-Total"), ("Access-Control-Allow-Credentials", "true")],
        id="credentials"),
    pytest.param(CREDENTIALS, "GET", "https://evil.test", [("Vary", "Origin")], id="origin-not-allowed"),
])
def test_actual_request_decisions(raw, method, origin, expected):
    headers, _ = actual(policy(**raw), method, environ(origin))
    assert headers == expected


def test_the_closed_policy_allows_nothing():
    assert preflight(CLOSED, environ("http://a.test", "GET"))[0] == [("Vary", VARY)]
    assert actual(CLOSED, "GET", environ("http://a.test"))[0] == [("Vary", "Origin")]


@pytest.mark.parametrize("inner, expected", [
    pytest.param([("Content-Type", "application/json")], [("Vary", "Origin"), ("Content-Type", "application/json")],
                 id="plain"),
    pytest.param([("Vary", "Origin")], [("Vary", "Origin")], id="backend-vary-origin"),
    pytest.param([("vary", "origin, Accept-Encoding")], [("Vary", "Origin"), ("vary", "Accept-Encoding")],
                 id="merged-tokens"),
    pytest.param([("Vary", "Accept-Encoding"), ("Vary", "accept-encoding")],
                 [("Vary", "Origin"), ("Vary", "Accept-Encoding")], id="no-repeats"),
    pytest.param([("Access-Control-Allow-Origin", "*"), ("access-control-allow-credentials", "true"),
                  ("X-Other", "1")], [("Vary", "Origin"), ("X-Other", "1")], id="backend-cors-headers-dropped"),
])
def test_merging_the_apps_headers(inner, expected):
    assert merge_headers([("Vary", "Origin")], inner) == expected


@pytest.mark.parametrize("name, canonical", [
    ("content-length", "Content-Length"), ("X-TOTAL-count", "X-Total-Count"), ("etag", "Etag"),
    ("x--y", "X--Y"), ("1abc", "1abc"), ("bad header", "bad header"), ("", ""),
], ids=repr)
def test_exposed_header_names_are_canonical_as_in_go(name, canonical):
    assert canonical_header_key(name) == canonical


def test_defaults_follow_krakend_cors():
    settings = cors.parse({}, PATH)
    assert settings == cors.CorsSettings(("*",), ("GET", "POST", "HEAD"), ("*",), (), False, 0, False, 204)


@pytest.mark.parametrize("raw, path", [
    ({"allow_origins": "*"}, "allow_origins"),
    ({"allow_origins": ["http://a.test", 3]}, "allow_origins[1]"),
    ({"allow_methods": [None]}, "allow_methods[0]"),
    ({"allow_credentials": "yes"}, "allow_credentials"),
    ({"max_age": 3600}, "max_age"),
    ({"max_age": "12 hours"}, "max_age"),
    ({"options_success_status": 99}, "options_success_status"),
    ({"options_success_status": True}, "options_success_status"),
    ({"debug": 1}, "debug"),
], ids=lambda v: str(v))
def test_bad_values_name_their_json_path(raw, path):
    with pytest.raises(ConfigError) as caught:
        cors.parse(raw, PATH)
    assert caught.value.path == f"{PATH}.{path}"
