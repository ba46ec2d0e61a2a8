"""app.router.params.params_ok: path-parameter hygiene (reference §2.1, disable_path_decoding)."""
from __future__ import annotations

import pytest

from app.router.params import params_ok

PLAIN: dict[str, object] = {"RAW_URI": "/users/42"}

CASES: list[tuple[str, list[str], dict[str, object], bool, bool]] = [
    ("plain", ["42", "bob"], PLAIN, True, True),
    ("no-params", [], PLAIN, True, True),
    ("unicode", ["café"], PLAIN, True, True),
    ("dots-inside", ["a.b", "...x"], PLAIN, True, True),
    ("percent-rejected", ["100%"], PLAIN, True, False),
    ("double-encoded-rejected", ["%2F"], PLAIN, True, False),
    ("percent-allowed-without-check", ["100%25"], PLAIN, False, True),
    ("dot", ["."], PLAIN, False, False),
    ("dotdot", [".."], PLAIN, False, False),
    ("question-mark", ["a?b"], PLAIN, False, False),
    ("hash", ["a#b"], PLAIN, False, False),
    ("backslash", ["a\\b"], PLAIN, False, False),
    ("semicolon", ["a;b"], PLAIN, False, False),
    ("nul", ["a\x00b"], PLAIN, False, False),
    ("newline", ["a\nb"], PLAIN, False, False),
    ("del", ["a\x7fb"], PLAIN, False, False),
    ("replacement-char", ["a\ufffdb"], PLAIN, False, False),
    ("one-bad-of-many", ["ok", ".."], PLAIN, False, False),
    ("encoded-slash-raw-uri", ["a/b"], {"RAW_URI": "/files/a%2Fb"}, False, False),
    ("encoded-slash-lowercase", ["a/b"], {"RAW_URI": "/files/a%2fb"}, False, False),
    ("encoded-slash-request-uri", ["a/b"], {"REQUEST_URI": "/files/a%2Fb?x=1"}, False, False),
    ("encoded-slash-in-query-ok", ["a"], {"RAW_URI": "/files/a?next=%2Fhome"}, True, True),
    ("no-raw-uri", ["a"], {}, True, True),
]


@pytest.mark.parametrize(("values", "environ", "check_encoding", "ok"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_params_ok(values: list[str], environ: dict[str, object], check_encoding: bool, ok: bool) -> None:
    assert params_ok(values, environ, check_encoding) is ok
