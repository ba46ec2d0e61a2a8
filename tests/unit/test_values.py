"""app.config.values: typed reads of namespace keys."""
from __future__ import annotations

import pytest

from app.config.values import flag, strings, typed
from app.errors import ConfigError


@pytest.mark.parametrize("raw, default, expected", [
    ({}, False, False),
    ({}, True, True),
    ({"k": True}, False, True),
    ({"k": False}, True, False),
])
def test_flag(raw, default, expected):
    assert flag(raw, "k", "ns", default) is expected


@pytest.mark.parametrize("value", ["true", 1, 0, None, [], {}])
def test_flag_refuses_non_booleans_at_their_path(value):
    with pytest.raises(ConfigError) as caught:
        flag({"k": value}, "k", "endpoints[0].extra_config.ns")
    assert caught.value.path == "endpoints[0].extra_config.ns.k"
    assert caught.value.message == f"expected true or false, got {value!r}"


@pytest.mark.parametrize("raw, default, expected", [
    ({}, (), ()),
    ({}, ("*",), ("*",)),
    ({"k": None}, ("*",), ("*",)),
    ({"k": []}, ("*",), ("*",)),
    ({"k": ["a", "b"]}, ("*",), ("a", "b")),
], ids=["absent", "absent-default", "null-default", "empty-default", "given"])
def test_strings(raw, default, expected):
    assert strings(raw, "k", "ns", default) == expected


@pytest.mark.parametrize("value, path", [
    ("a", "ns.k"),
    ({"a": 1}, "ns.k"),
    (["a", 1], "ns.k[1]"),
    ([None], "ns.k[0]"),
])
def test_strings_refuses_at_the_bad_item(value, path):
    with pytest.raises(ConfigError) as caught:
        strings({"k": value}, "k", "ns")
    assert caught.value.path == path


@pytest.mark.parametrize("raw, kind, default, expected", [
    ({}, str, "d", "d"),
    ({"k": None}, str, "d", "d"),
    ({"k": "v"}, str, "d", "v"),
    ({"k": 3}, float, 0.0, 3.0),
    ({"k": 2.5}, float, 0.0, 2.5),
    ({"k": False}, bool, True, False),
], ids=["absent", "null", "given", "int-as-float", "float", "bool"])
def test_typed(raw, kind, default, expected):
    value = typed(raw, "k", "ns", kind, default)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("value, kind", [(1, str), (True, int), (True, float), ("1", float), (0, bool)])
def test_typed_refuses_other_types_at_their_path(value, kind):
    with pytest.raises(ConfigError) as caught:
        typed({"k": value}, "k", "ns", kind, None)
    assert caught.value.path == "ns.k"
