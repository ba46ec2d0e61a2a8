"""app.router.negotiate.choose: gin's NegotiateFormat(json, text/plain, xml) as lura uses it."""
from __future__ import annotations

import pytest

from app.router.negotiate import accepted, choose

CHOICES: list[tuple[str, str, str]] = [
    ("missing", "", "json"),
    ("blank", " , ,", "json"),
    ("json", "application/json", "json"),
    ("json-with-charset", "application/json; charset=utf-8", "json"),
    ("xml", "application/xml", "xml"),
    ("text-plain-is-yaml", "text/plain", "yaml"),
    ("x-yaml-extension", "application/x-yaml", "yaml"),
    ("yaml-extension", "application/yaml", "yaml"),
    ("any", "*/*", "json"),
    ("application-wildcard", "application/*", "json"),
    ("text-wildcard", "text/*", "yaml"),
    ("browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "xml"),
    ("order-wins-over-q", "text/plain;q=0.1, application/json;q=1.0", "yaml"),
    ("q-zero-ignored-like-gin", "application/xml;q=0", "xml"),
    ("first-matching-entry-wins", "image/png, application/xml, application/json", "xml"),
    ("unknown-only", "image/png", "json"),
    ("text-xml-unknown", "text/xml", "json"),
    ("prefix-of-an-offer-matches", "application/", "json"),
    ("longer-than-offer", "application/jsonx", "json"),
    ("case-sensitive-like-gin", "APPLICATION/XML", "json"),
    ("spaces-trimmed", "  application/xml  ; q=1 ", "xml"),
    ("leading-semicolon-kept", ";q=1, application/xml", "xml"),
]


@pytest.mark.parametrize(("header", "expected"), [c[1:] for c in CHOICES], ids=[c[0] for c in CHOICES])
def test_choose(header: str, expected: str) -> None:
    assert choose(header) == expected


@pytest.mark.parametrize(("header", "expected"), [
    ("a/b;q=0.5, c/d", ["a/b", "c/d"]),
    (";x, ,a", [";x", "a"]),
    ("", []),
], ids=["parameters-dropped", "semicolon-first-and-empty", "empty"])
def test_accepted(header: str, expected: list[str]) -> None:
    assert accepted(header) == expected
