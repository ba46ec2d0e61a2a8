"""app.router.yamlcodec: data -> YAML as KrakenD v2.9.1 writes it (gin's YAML render, go-yaml v3)."""
from __future__ import annotations

from typing import Any

import pytest
import yaml

from app.jsoncodec import RawNumber, loads as json_loads
from app.router import yamlcodec

ENCODE: list[tuple[str, Any, str]] = [
    ("fixture-negotiate-plain",
     {"user": {"-type": "admin", "name": "Elliot",
               "social": {"facebook": "https://facebook.com", "twitter": "https://twitter.com"}}},
     "user:\n    -type: admin\n    name: Elliot\n    social:\n        facebook: https://facebook.com\n"
     "        twitter: https://twitter.com\n"),
    ("empty", {}, "{}\n"),
    ("scalars-plain", {"b": True, "f": False, "i": 42, "n": None, "s": "text"},
     "b: true\nf: false\ni: 42\n\"n\": null\ns: text\n"),
    ("number-literals-kept", {"a": RawNumber("1.0"), "b": RawNumber("1e5"), "c": RawNumber("-0.50")},
     "a: 1.0\nb: 1e5\nc: -0.50\n"),
    ("floats-as-go", {"a": 1e6, "b": 0.25, "c": float("inf")}, "a: 1e+06\nb: 0.25\nc: .inf\n"),
    ("list-indented-under-key", {"l": [1, "a"]}, "l:\n    - 1\n    - a\n"),
    ("objects-in-list", {"l": [{"a": 1, "b": 2}, {"c": [3, 4]}]},
     "l:\n    - a: 1\n      b: 2\n    - c:\n        - 3\n        - 4\n"),
    ("list-in-list", {"l": [[1, 2], []]}, "l:\n    - - 1\n      - 2\n    - []\n"),
    ("empty-collections-flow", {"a": [], "o": {}}, "a: []\no: {}\n"),
    ("deep-objects", {"a": {"b": {"c": "d"}}}, "a:\n    b:\n        c: d\n"),
    ("multiline-literal", {"m": "one\ntwo"}, "m: |-\n    one\n    two\n"),
    ("multiline-trailing-newline", {"m": "one\n"}, "m: |\n    one\n"),
    ("multiline-in-list-item", {"l": [{"m": "a\nb"}]}, "l:\n    - m: |-\n        a\n        b\n"),
    ("keys-natural-order", {"a10": 1, "a2": 2, "b": 3, "B": 4, "_x": 5, "a~": 6, "ab": 7},
     "_x: 5\nB: 4\na~: 6\na2: 2\na10: 1\nab: 7\nb: 3\n"),
    ("unicode-raw", {"s": "caf\u00e9 \u2713"}, "s: caf\u00e9 \u2713\n"),
    ("long-line-not-folded", {"s": "word " * 40 + "end"}, "s: " + "word " * 40 + "end\n"),
]


@pytest.mark.parametrize(("data", "expected"), [e[1:] for e in ENCODE], ids=[e[0] for e in ENCODE])
def test_encode(data: Any, expected: str) -> None:
    assert yamlcodec.dumps(data).decode() == expected


QUOTED: list[tuple[str, str, str]] = [
    ("number", "123", '"123"'),
    ("float", "1.5", '"1.5"'),
    ("exponent", "1e3", '"1e3"'),
    ("leading-dot-float", ".5", '".5"'),
    ("hex", "0x1F", '"0x1F"'),
    ("octal-like", "0755", '"0755"'),
    ("leading-zero-decimal", "08", '"08"'),
    ("underscored", "1_000", '"1_000"'),
    ("true", "true", '"true"'),
    ("True", "True", '"True"'),
    ("yes", "yes", '"yes"'),
    ("off", "Off", '"Off"'),
    ("y", "y", '"y"'),
    ("null-word", "null", '"null"'),
    ("tilde", "~", '"~"'),
    ("empty", "", '""'),
    ("infinity", ".inf", '".inf"'),
    ("date", "2024-01-15", '"2024-01-15"'),
    ("datetime", "2024-01-15T10:20:30Z", '"2024-01-15T10:20:30Z"'),
    ("datetime-space", "2024-1-5 1:2:3.5", '"2024-1-5 1:2:3.5"'),
    ("sexagesimal", "1:20", '"1:20"'),
    ("plain-word", "hello", "hello"),
    ("not-a-date", "2024-13-01", "2024-13-01"),
    ("version-string", "1.2.3", "1.2.3"),
    ("sign-only", "-", "'-'"),
    ("o-prefix-without-digits", "0o", "0o"),
    ("url", "https://x.io/a?b=c", "https://x.io/a?b=c"),
    ("dash-word", "-type", "-type"),
    ("colon-space", "a: b", "'a: b'"),
    ("hash-comment", "a #b", "'a #b'"),
    ("leading-space", " a", "' a'"),
    ("indicator-start", "*ref", "'*ref'"),
    ("quote-inside", "it's", "it's"),
    ("tab", "a\tb", '"a\\tb"'),
    ("control", "a\x01b", '"a\\x01b"'),
    ("equals-is-a-value-key-in-yaml-1.1", "=", '"="'),
    ("next-line", "a\x85b", '"a\\Nb"'),
    ("line-separator-with-newline", "a\u2028b\nc", '"a\\Lb\\nc"'),
]


@pytest.mark.parametrize(("text", "expected"), [q[1:] for q in QUOTED], ids=[q[0] for q in QUOTED])
def test_string_quoting(text: str, expected: str) -> None:
    assert yamlcodec.dumps({"k": text}).decode() == f"k: {expected}\n"


# PyYAML (YAML 1.1) cannot read a plain 2024-13-01 at all; go-yaml reads it as a string.
READABLE = [q for q in QUOTED if q[0] != "not-a-date"]


@pytest.mark.parametrize("text", [q[1] for q in READABLE] + ["one\ntwo", "trailing \n", "  lead\nx", "\u2028"],
                         ids=[q[0] for q in READABLE] + ["multiline", "trailing-space", "lead-space", "separator"])
def test_strings_read_back_as_the_same_string(text: str) -> None:
    assert yaml.safe_load(yamlcodec.dumps({"k": text, text: "v"})) == {"k": text, text: "v"}


@pytest.mark.parametrize("text", [" lead\nx", "\nfirst line empty", "  two\n  lines\n", " a\n\n"],
                         ids=["lead-space", "lead-newline", "indented-lines", "keep-trailing"])
@pytest.mark.parametrize("wrap", [
    pytest.param(lambda t: {"k": t}, id="map-value"),
    pytest.param(lambda t: {"k": [t]}, id="list-item"),
    pytest.param(lambda t: [t, [t]], id="nested-list-items"),
    pytest.param(lambda t: {"k": [{"m": t}]}, id="map-in-list-item"),
    pytest.param(lambda t: {"k": [{t: 1}]}, id="key-in-list-item"),
])
def test_literal_blocks_that_need_an_indentation_indicator_read_back(text: str, wrap: Any) -> None:
    data = wrap(text)
    assert yaml.safe_load(yamlcodec.dumps(data)) == data


def test_lone_surrogates_become_replacement_characters() -> None:
    data = json_loads(b'{"\\udc00k": "v\\ud800", "l": ["\\udfff"]}')
    assert yaml.safe_load(yamlcodec.dumps(data)) == {"\ufffdk": "v\ufffd", "l": ["\ufffd"]}


def test_quoted_keys() -> None:
    assert yamlcodec.dumps({"123": 1, "no": 2}).decode() == '"123": 1\n"no": 2\n'


def test_never_writes_a_tag() -> None:
    data = json_loads(b'{"a": [1, 2.50, "x", null, true, {"b": 1e400}], "c": "!!python/object"}')
    text = yamlcodec.dumps(data).decode()
    assert yaml.safe_load(text)["c"] == "!!python/object"
    assert text == 'a:\n    - 1\n    - 2.50\n    - x\n    - null\n    - true\n    - b: 1e400\nc: \'!!python/object\'\n'


def test_unwritable_data_raises() -> None:
    with pytest.raises(yamlcodec.YAMLEncodeError):
        yamlcodec.dumps({"x": object()})
    deep: dict[str, Any] = {}
    for _ in range(yamlcodec.MAX_DEPTH + 2):
        deep = {"n": deep}
    with pytest.raises(yamlcodec.YAMLEncodeError):
        yamlcodec.dumps(deep)
