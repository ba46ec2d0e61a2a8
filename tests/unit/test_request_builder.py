"""app.proxy.request_builder: claim_text ({JWT.x} values, reference §4.5) and encode_query (Go url.Values.Encode)."""
from __future__ import annotations

from typing import Any, Optional

import pytest

from app.proxy.request_builder import claim_text, encode_query

CLAIMS: list[tuple[str, Any, Optional[str]]] = [
    ("string", "alice", "alice"),
    ("empty-string", "", ""),
    ("int", 1735689600, "1735689600"),
    ("negative-int", -3, "-3"),
    ("integral-float", 1735689600.0, "1735689600"),
    ("fractional-float", 1.5, "1.500000"),
    ("six-decimals-rounded", 0.1234567, "0.123457"),
    ("true", True, "true"),
    ("false", False, "false"),
    ("array", ["admin", "user"], "admin,user"),
    ("array-mixed", ["a", 1, True], "a,1,true"),
    ("empty-array", [], ""),
    ("object-json", {"b": 1, "a": "x"}, '{"a":"x","b":1}'),
    ("object-html-escaped", {"a": "<&>"}, '{"a":"\\u003c\\u0026\\u003e"}'),
    ("missing", None, None),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in CLAIMS], ids=[c[0] for c in CLAIMS])
def test_claim_text(value: Any, expected: Optional[str]) -> None:
    assert claim_text(value) == expected


QUERY: list[tuple[str, tuple[tuple[str, str], ...], str]] = [
    ("empty", (), ""),
    ("single", (("a", "1"),), "a=1"),
    ("keys-sorted", (("b", "2"), ("a", "1")), "a=1&b=2"),
    ("repeated-values-in-order", (("b", "3"), ("a", "1"), ("b", "2")), "a=1&b=3&b=2"),
    ("uppercase-sorts-first", (("a", "1"), ("B", "2")), "B=2&a=1"),
    ("space-is-plus", (("q", "a b"),), "q=a+b"),
    ("reserved-escaped", (("q", "a&b=c/d?e#f+g"),), "q=a%26b%3Dc%2Fd%3Fe%23f%2Bg"),
    ("unreserved-kept", (("q", "AZaz09-._~"),), "q=AZaz09-._~"),
    ("unicode", (("q", "é"),), "q=%C3%A9"),
    ("empty-value", (("flag", ""),), "flag="),
    ("key-escaped", (("a b", "1"),), "a+b=1"),
]


@pytest.mark.parametrize(("pairs", "expected"), [q[1:] for q in QUERY], ids=[q[0] for q in QUERY])
def test_encode_query(pairs: tuple[tuple[str, str], ...], expected: str) -> None:
    assert encode_query(pairs) == expected
