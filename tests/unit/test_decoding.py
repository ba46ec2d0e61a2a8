"""app.proxy.decoding.decoder_for: backend body -> data per encoding (reference §3.4)."""
from __future__ import annotations

from typing import Any

import pytest

from app.jsoncodec import RawNumber
from app.proxy.decoding import decoder_for

DECODE: list[tuple[str, str, bool, bytes, dict[str, Any]]] = [
    ("json-object", "json", False, b'{"a": 1, "b": [true, null]}', {"a": 1, "b": [True, None]}),
    ("json-numbers-kept", "json", False, b'{"f": 1.0, "e": 1e5}', {"f": RawNumber("1.0"), "e": RawNumber("1e5")}),
    ("json-collection", "json", True, b'[{"a": 1}, 2]', {"collection": [{"a": 1}, 2]}),
    ("json-empty-collection", "json", True, b"[]", {"collection": []}),
    ("json-invalid-utf8-replaced", "json", False, b'{"a": "x\xffy"}', {"a": "x\ufffdy"}),
    ("unknown-is-json", "rss-ish", False, b'{"a": 1}', {"a": 1}),
    ("empty-name-is-json", "", False, b'{"a": 1}', {"a": 1}),
    ("safejson-object", "safejson", False, b'{"a": 1}', {"a": 1}),
    ("safejson-array", "safejson", False, b"[1, 2]", {"collection": [1, 2]}),
    ("safejson-string", "safejson", False, b'"hi"', {"content": "hi"}),
    ("safejson-number", "safejson", False, b"1.5", {"content": RawNumber("1.5")}),
    ("safejson-bool", "safejson", False, b"true", {"content": True}),
    ("safejson-null", "safejson", False, b"null", {"content": None}),
    ("safejson-object-with-is-collection", "safejson", True, b'{"a": 1}', {"a": 1}),
    ("string", "string", False, b"plain \xc3\xa9 text\n", {"content": "plain \u00e9 text\n"}),
    ("string-not-json", "string", False, b'{"a": 1}', {"content": '{"a": 1}'}),
    ("string-empty", "string", False, b"", {"content": ""}),
    ("string-invalid-utf8", "string", False, b"a\xffb", {"content": "a\ufffdb"}),
]


@pytest.mark.parametrize(("encoding", "is_collection", "body", "expected"), [d[1:] for d in DECODE],
                         ids=[d[0] for d in DECODE])
def test_decode(encoding: str, is_collection: bool, body: bytes, expected: dict[str, Any]) -> None:
    assert decoder_for(encoding, is_collection)(body) == expected


FAIL: list[tuple[str, str, bool, bytes]] = [
    ("json-array", "json", False, b"[1, 2]"),
    ("json-string", "json", False, b'"x"'),
    ("json-number", "json", False, b"1"),
    ("json-empty-body", "json", False, b""),
    ("json-garbage", "json", False, b"<html>"),
    ("json-truncated", "json", False, b'{"a": '),
    ("json-collection-object", "json", True, b'{"a": 1}'),
    ("json-collection-scalar", "json", True, b"3"),
    ("json-collection-empty-body", "json", True, b""),
    ("unknown-array", "rss-ish", False, b"[1]"),
    ("safejson-empty-body", "safejson", False, b""),
    ("safejson-garbage", "safejson", False, b"nope"),
]


@pytest.mark.parametrize(("encoding", "is_collection", "body"), [f[1:] for f in FAIL], ids=[f[0] for f in FAIL])
def test_decode_failures_raise_value_error(encoding: str, is_collection: bool, body: bytes) -> None:
    with pytest.raises(ValueError):
        decoder_for(encoding, is_collection)(body)


def test_string_decoder_ignores_is_collection() -> None:
    assert decoder_for("string", True)(b"text") == {"content": "text"}


def test_json_null_body_is_empty_data() -> None:
    assert decoder_for("json", False)(b"null") == {}
