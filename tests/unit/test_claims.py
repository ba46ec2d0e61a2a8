"""app.auth.claims: nested lookup, roles, scopes and propagated header values (reference §4.1, §4.2)."""
from __future__ import annotations

from typing import Any, Optional

import pytest

from app.auth.claims import as_strings, has_any_role, has_scopes, header_value, lookup

CLAIMS: dict[str, Any] = {
    "sub": "alice",
    "roles": ["admin", "user"],
    "realm_access": {"roles": ["editor"], "deep": {"x": 1}},
    "x.y": "literal-dotted",
    "http://example.com/roles": ["url-claim"],
    "scope": "read write",
    "scp": ["read", 7, "delete"],
    "nested": {"scope": "admin:all"},
    "count": 3,
}

LOOKUP: list[tuple[str, bool, Any]] = [
    ("sub", False, "alice"),
    ("sub", True, "alice"),
    ("missing", True, None),
    ("realm_access.deep.x", True, 1),
    ("realm_access.deep.x", False, None),          # not nested: the dotted name is looked up literally
    ("realm_access.roles", True, ["editor"]),
    ("realm_access.roles", False, None),
    ("x.y", False, "literal-dotted"),
    ("realm_access.missing", True, None),
    ("sub.x", True, None),                         # walking through a string
    ("http://example.com/roles", True, ["url-claim"]),
    ("http://example.com/x.y", True, None),        # URLs are never split
]


@pytest.mark.parametrize(("key", "nested", "expected"), LOOKUP, ids=[f"{k}-{'nested' if n else 'flat'}"
                                                                     for k, n, _ in LOOKUP])
def test_lookup(key: str, nested: bool, expected: Any) -> None:
    assert lookup(CLAIMS, key, nested) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (["a", "b"], ("a", "b")),
    ("a b  c", ("a", "b", "c")),
    ("", ()),
    (["a", 1, None, "b"], ("a", "b")),
    (None, ()),
    (3, ()),
    ({"a": 1}, ()),
], ids=["list", "space-separated", "empty-string", "non-strings-dropped", "none", "number", "object"])
def test_as_strings(value: Any, expected: tuple[str, ...]) -> None:
    assert as_strings(value) == expected


ROLES: list[tuple[str, str, bool, list[str], bool]] = [
    ("one-matches", "roles", False, ["user"], True),
    ("any-of-several", "roles", False, ["nobody", "admin"], True),
    ("none-matches", "roles", False, ["root"], False),
    ("case-sensitive", "roles", False, ["Admin"], False),
    ("missing-claim", "groups", False, ["admin"], False),
    ("nested-key", "realm_access.roles", True, ["editor"], True),
    ("nested-key-not-walked", "realm_access.roles", False, ["editor"], False),
    ("nested-walk", "realm_access.deep", True, ["x"], False),        # an object is not a role list
    ("space-separated-roles", "scope", False, ["write"], True),
    ("no-roles-required", "roles", False, [], False),
]


@pytest.mark.parametrize(("key", "nested", "roles", "expected"), [r[1:] for r in ROLES], ids=[r[0] for r in ROLES])
def test_has_any_role(key: str, nested: bool, roles: list[str], expected: bool) -> None:
    assert has_any_role(CLAIMS, key, nested, roles) is expected


SCOPES: list[tuple[str, str, list[str], bool, bool]] = [
    ("any-string-claim", "scope", ["write", "admin"], False, True),
    ("all-string-claim", "scope", ["read", "write"], True, True),
    ("all-one-missing", "scope", ["read", "admin"], True, False),
    ("any-none", "scope", ["admin"], False, False),
    ("array-claim", "scp", ["delete"], True, True),
    ("array-non-strings-ignored", "scp", ["7"], False, False),
    ("nested-dot-path", "nested.scope", ["admin:all"], True, True),
    ("missing-claim", "nope", ["read"], False, False),
]


@pytest.mark.parametrize(("key", "scopes", "match_all", "expected"), [s[1:] for s in SCOPES],
                         ids=[s[0] for s in SCOPES])
def test_has_scopes(key: str, scopes: list[str], match_all: bool, expected: bool) -> None:
    assert has_scopes(CLAIMS, key, scopes, match_all) is expected


HEADERS: list[tuple[str, Any, Optional[str]]] = [
    ("string", "alice", "alice"),
    ("missing-is-empty", None, ""),
    ("true", True, "true"),
    ("false", False, "false"),
    ("int", 42, "42"),
    ("integral-float", 1735689600.0, "1735689600"),
    ("fractional-float", 1.5, "1.5"),
    ("array", ["a", "b", 3], "a,b,3"),
    ("array-with-null", ["a", None, "b"], "a,,b"),
    ("object-json", {"b": 1, "a": [True]}, '{"a":[true],"b":1}'),
    ("latin-1", "caf\u00e9", "caf\u00e9"),
    ("exactly-1kib", "x" * 1024, "x" * 1024),
    ("over-1kib", "x" * 1025, None),
    ("newline", "a\r\nX-Injected: 1", None),
    ("nul", "a\x00", None),
    ("tab", "a\tb", None),
    ("del", "a\x7f", None),
    ("non-latin-1", "\u20ac", None),
    ("emoji", "\U0001f600", None),
    ("array-with-unsafe-item", ["ok", "bad\n"], None),
    ("object-with-non-latin-1", {"a": "\u4e2d"}, None),
]


@pytest.mark.parametrize(("value", "expected"), [h[1:] for h in HEADERS], ids=[h[0] for h in HEADERS])
def test_header_value(value: Any, expected: Optional[str]) -> None:
    assert header_value(value) == expected
