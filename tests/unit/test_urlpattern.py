"""app.config.urlpattern: compile_pattern and URLPattern.render (reference §3.1, §2.11, §4.5)."""
from __future__ import annotations

from typing import Optional

import pytest

from app.config.urlpattern import JWT, PARAM, RESP, Placeholder, compile_pattern

# (pattern, [(kind, name, in_query, index, field), ...])
PLACEHOLDERS = [
    ("/users/{id}", [(PARAM, "id", False, -1, "")]),
    ("/a/{x}/b/{y}?q={z}", [(PARAM, "x", False, -1, ""), (PARAM, "y", False, -1, ""), (PARAM, "z", True, -1, "")]),
    ("/u/{JWT.sub}", [(JWT, "sub", False, -1, "")]),
    ("/u?c={JWT_CLAIMS.tenant}", [(JWT, "tenant", True, -1, "")]),
    ("/u/{JWT.http://example.com/custom}", [(JWT, "http://example.com/custom", False, -1, "")]),
    ("/x/{resp0_a.b}", [(RESP, "resp0_a.b", False, 0, "a.b")]),
    ("/x?id={resp12_id}", [(RESP, "resp12_id", True, 12, "id")]),
    ("/x/{resp1}", [(RESP, "resp1", False, 1, "")]),
    ("/a?b={x}&c=?{y}", [(PARAM, "x", True, -1, ""), (PARAM, "y", True, -1, "")]),
    ("/static/path", []),
    ("/response/{respx}", [(PARAM, "respx", False, -1, "")]),
]


@pytest.mark.parametrize(("source", "expected"), PLACEHOLDERS, ids=[p for p, _ in PLACEHOLDERS])
def test_compile_pattern_classifies_placeholders(source: str, expected: list[tuple[str, str, bool, int, str]]) -> None:
    got = [(p.kind, p.name, p.in_query, p.index, p.field) for p in compile_pattern(source).placeholders]
    assert got == expected


@pytest.mark.parametrize(("source", "normalised"), [
    ("users/{id}", "/users/{id}"),
    ("/users/{id}", "/users/{id}"),
    ("", "/"),
    ("?a=1", "/?a=1"),
], ids=["no-leading-slash", "leading-slash", "empty", "query-only"])
def test_compile_pattern_adds_leading_slash(source: str, normalised: str) -> None:
    pattern = compile_pattern(source)
    assert pattern.source == normalised
    assert pattern.render(lambda ph: None).startswith("/")


@pytest.mark.parametrize(("source", "is_static"), [
    ("/static", True),
    ("/", True),
    ("/a/{id}", False),
    ("/{id}", False),
    ("/a?x={JWT.sub}", False),
], ids=["literal", "root", "param", "only-param", "jwt"])
def test_is_static(source: str, is_static: bool) -> None:
    assert compile_pattern(source).is_static is is_static


RENDER = [
    # path position: one segment, "/" "?" "#" "%" ";" and spaces encoded; sub-delims kept
    ("/users/{id}", {"{id}": "a b/c?d#e"}, "/users/a%20b%2Fc%3Fd%23e"),
    ("/users/{id}", {"{id}": "a:b@c,d=e+f&g;h"}, "/users/a:b@c,d=e+f&g%3Bh"),
    ("/users/{id}", {"{id}": "100%"}, "/users/100%25"),
    ("/users/{id}", {"{id}": "café"}, "/users/caf%C3%A9"),
    ("/users/{id}", {"{id}": "-._~!$'()*"}, "/users/-._~!$'()*"),
    # query position: only unreserved characters survive
    ("/s?q={q}", {"{q}": "a b&c=d+e#f/g:h"}, "/s?q=a%20b%26c%3Dd%2Be%23f%2Fg%3Ah"),
    ("/s?q={q}", {"{q}": "-._~"}, "/s?q=-._~"),
    # the same value lands differently in path and query
    ("/{x}?y={x}", {"{x}": "a&b"}, "/a&b?y=a%26b"),
    # JWT and sequential placeholders
    ("/u/{JWT.sub}?t={JWT_CLAIMS.tenant}", {"{JWT.sub}": "alice", "{JWT_CLAIMS.tenant}": "t 1"}, "/u/alice?t=t%201"),
    ("/orders/{resp0_user.id}?all={resp1}", {"{resp0_user.id}": "42", "{resp1}": "a,b"}, "/orders/42?all=a%2Cb"),
    # unresolved placeholders stay as their encoded text
    ("/users/{id}", {}, "/users/%7Bid%7D"),
    ("/u/{JWT.sub}?x={resp0_a.b}", {}, "/u/%7BJWT.sub%7D?x=%7Bresp0_a.b%7D"),
    ("/a/{x}/{y}", {"{y}": "2"}, "/a/%7Bx%7D/2"),
    # an empty value is a value
    ("/a/{x}", {"{x}": ""}, "/a/"),
    # literal text of the pattern is requoted, existing escapes kept
    ("/a b/é?x=1&y=%20", {}, "/a%20b/%C3%A9?x=1&y=%20"),
]


@pytest.mark.parametrize(("source", "values", "expected"), RENDER, ids=[
    "path-reserved", "path-subdelims-kept", "path-percent", "path-unicode", "path-unreserved",
    "query-reserved", "query-unreserved", "path-vs-query", "jwt", "resp", "unresolved-param",
    "unresolved-jwt-resp", "partly-resolved", "empty-value", "literal-requoted",
])
def test_render(source: str, values: dict[str, str], expected: str) -> None:
    def lookup(ph: Placeholder) -> Optional[str]:
        return values.get(ph.text)
    assert compile_pattern(source).render(lookup) == expected


def test_render_calls_lookup_with_each_placeholder_in_order() -> None:
    seen: list[str] = []

    def lookup(ph: Placeholder) -> Optional[str]:
        seen.append(ph.text)
        return "v"
    assert compile_pattern("/{a}/{JWT.b}?c={resp0_c}").render(lookup) == "/v/v?c=v"
    assert seen == ["{a}", "{JWT.b}", "{resp0_c}"]
