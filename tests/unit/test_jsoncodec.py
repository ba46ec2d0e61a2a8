"""app.jsoncodec: number-literal-preserving loads, Go-compatible dumps, Go fmt scalar_text (reference §2.7, §2.11)."""
from __future__ import annotations

from typing import Any

import pytest

from app.jsoncodec import RawNumber, dumps, loads, scalar_text

LOADS: list[tuple[str, bytes, Any]] = [
    ("small-int", b"42", 42),
    ("negative-int", b"-7", -7),
    ("int64-max", b"9223372036854775807", 9223372036854775807),
    ("uint64-max", b"18446744073709551615", 18446744073709551615),
    ("beyond-64-bits", b"123456789012345678901234", RawNumber("123456789012345678901234")),
    ("below-int64-min", b"-9223372036854775809", RawNumber("-9223372036854775809")),
    ("float-kept", b"1.0", RawNumber("1.0")),
    ("exponent-kept", b"1e5", RawNumber("1e5")),
    ("exponent-upper", b"-2.50E-3", RawNumber("-2.50E-3")),
    ("nested", b'{"a": [1.0, {"b": 2}]}', {"a": [RawNumber("1.0"), {"b": 2}]}),
    ("invalid-utf8-replaced", b'"a\xffb"', "a\ufffdb"),
]


@pytest.mark.parametrize(("body", "expected"), [x[1:] for x in LOADS], ids=[x[0] for x in LOADS])
def test_loads(body: bytes, expected: Any) -> None:
    assert loads(body) == expected


@pytest.mark.parametrize("body", [b"", b"{", b"{'a': 1}", b"[1,]", b"01"], ids=[
    "empty", "truncated", "single-quotes", "trailing-comma", "leading-zero"])
def test_loads_rejects_invalid_json(body: bytes) -> None:
    with pytest.raises(ValueError):
        loads(body)


ROUND_TRIP: list[tuple[str, bytes, bytes]] = [
    ("sorted-keys-no-spaces", b'{"b": 1, "a": {"d": 2, "c": 3}}', b'{"a":{"c":3,"d":2},"b":1}'),
    ("float-literal", b'{"x": 1.0}', b'{"x":1.0}'),
    ("exponent-literal", b'{"x": 1e5}', b'{"x":1e5}'),
    ("big-int-literal", b'{"x": 123456789012345678901234}', b'{"x":123456789012345678901234}'),
    ("many-decimals", b'[0.1000000000000000055511151231257827]', b"[0.1000000000000000055511151231257827]"),
    ("html-escaped", b'{"h": "<a href=\\"x\\">&</a>"}', b'{"h":"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"}'),
    ("line-separators", b'"\\u2028\\u2029"', b'"\\u2028\\u2029"'),
    ("unicode-raw", b'"\\u00e9\\u4e2d"', '"\u00e9\u4e2d"'.encode()),
    ("control-escaped", b'"a\\nb\\tc\\u0001"', b'"a\\nb\\tc\\u0001"'),
    ("escaped-key", b'{"<k>": 1}', b'{"\\u003ck\\u003e":1}'),
    ("literals", b"[true, false, null]", b"[true,false,null]"),
    ("empty-object", b"{}", b"{}"),
]


@pytest.mark.parametrize(("body", "expected"), [r[1:] for r in ROUND_TRIP], ids=[r[0] for r in ROUND_TRIP])
def test_round_trip_is_byte_exact(body: bytes, expected: bytes) -> None:
    out = dumps(loads(body))
    assert out == expected
    assert not out.endswith(b"\n")


@pytest.mark.parametrize("body", [b'{"a": NaN}', b'{"a": Infinity}', b"[-Infinity]"], ids=["nan", "inf", "-inf"])
def test_loads_rejects_nan_and_infinity(body: bytes) -> None:
    with pytest.raises(ValueError):
        loads(body)


def test_negative_zero_literal_is_kept() -> None:
    assert dumps(loads(b'{"a":-0}')) == b'{"a":-0}'


def test_lone_surrogate_escape_survives_a_round_trip() -> None:
    assert dumps(loads(b'{"a":"x\\ud800y"}')) == '{"a":"x\ufffdy"}'.encode()


def test_dumps_rejects_unknown_types() -> None:
    with pytest.raises(TypeError):
        dumps({"a": object()})


SCALAR: list[tuple[str, Any, str]] = [
    ("string", "abc", "abc"),
    ("empty-string", "", ""),
    ("true", True, "true"),
    ("false", False, "false"),
    ("null", None, "<nil>"),
    ("int", 42, "42"),
    ("raw-float", RawNumber("1.50"), "1.50"),
    ("raw-big", RawNumber("123456789012345678901234"), "123456789012345678901234"),
    ("array", ["a", 1, RawNumber("2.0"), True], "a,1,2.0,true"),
    ("empty-array", [], ""),
    ("array-with-null", ["a", None], "a,<nil>"),
    ("object", {"b": "x", "a": 1}, "map[a:1 b:x]"),
    ("object-null", {"a": None}, "map[a:<nil>]"),
    ("empty-object", {}, "map[]"),
]


@pytest.mark.parametrize(("value", "expected"), [s[1:] for s in SCALAR], ids=[s[0] for s in SCALAR])
def test_scalar_text(value: Any, expected: str) -> None:
    assert scalar_text(value) == expected


def test_scalar_text_of_decoded_values() -> None:
    data = loads(b'{"n": 1.0, "ids": [1, 2, 3], "ok": false, "none": null}')
    assert [scalar_text(data[k]) for k in ("n", "ids", "ok", "none")] == ["1.0", "1,2,3", "false", "<nil>"]


def test_scalar_text_of_array_inside_object_uses_go_slice_format() -> None:
    assert scalar_text({"a": [1, 2]}) == "map[a:[1 2]]"


@pytest.mark.parametrize("inner", [
    b'[1.50,"x\\u003c\\n\\b",2,1e400,{"\xef\xbf\xbd":null}]',
    b'{"b":-0,"a":true}',
    b'"plain"',
], ids=["literals-escapes-surrogate", "object-keys-sorted", "string"])
@pytest.mark.parametrize("depth", [1, 300, 800])
def test_deeply_nested_data_encodes_like_shallow_data(inner, depth):
    """orjson stops at 255 levels; deeper data a backend sent must still render, byte for byte."""
    shallow = dumps(loads(inner))
    wrapped = b'{"k":' * depth + inner + b"}" * depth
    assert dumps(loads(wrapped)) == b'{"k":' * depth + shallow + b"}" * depth
