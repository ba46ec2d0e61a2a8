"""Lua <-> JSON conversions of the Lua modifiers (krakend-lua's rules, Go's number text)."""
from __future__ import annotations

import math

import pytest
from lupa import lua54

from app import jsoncodec
from app.lua import convert
from app.lua.convert import LIST, NIL, NIL_TAG, SKIP, TABLE, VALUE, ConversionError
from app.lua.runtime import is_table
from app.jsoncodec import RawNumber


@pytest.fixture(scope="module")
def lua():
    return lua54.LuaRuntime(register_eval=False, register_builtins=False, encoding=None)


@pytest.mark.parametrize("value, text", [
    (1.5, "1.5"), (0.1, "0.1"), (100.0, "100"), (-2.0, "-2"), (0.0, "0"), (-0.0, "-0"),
    (1e20, "100000000000000000000"), (1e21, "1e+21"), (1.5e300, "1.5e+300"), (1e-6, "0.000001"),
    (1e-7, "1e-7"), (1.25e-10, "1.25e-10"), (123456789.125, "123456789.125"), (2.0 ** 70, "1.1805916207174113e+21"),
], ids=["half", "tenth", "integral", "negative-integral", "zero", "negative-zero", "1e20-fixed", "1e21-exponent",
        "huge", "1e-6-fixed", "1e-7-exponent", "small-exponent", "fraction", "2^70"])
def test_go_float_writes_what_go_encoding_json_writes(value, text):
    assert convert.go_float(value) == text


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_go_float_refuses_what_json_cannot_hold(value):
    with pytest.raises(ConversionError):
        convert.go_float(value)


@pytest.mark.parametrize("value, expected", [
    (42.0, 42), (-7.0, -7), (1.5, RawNumber("1.5")), (1e21, RawNumber("1e+21")),
    (2.0 ** 64, RawNumber("18446744073709552000")),
], ids=["integral", "negative", "fraction", "exponent", "beyond-int64"])
def test_lua_floats_become_ints_or_go_literals(value, expected):
    assert convert.lua_number(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("héllo", (VALUE, "héllo".encode())), (True, (VALUE, True)), (False, (VALUE, False)), (7, (VALUE, 7)),
    (2 ** 63, (VALUE, float(2 ** 63))), (1.25, (VALUE, 1.25)), (RawNumber("1.0"), (VALUE, 1.0)),
    (RawNumber("123456789012345678901234567890"), (VALUE, 1.2345678901234568e29)), (None, (NIL_TAG, None)),
], ids=["string-as-utf8", "true", "false", "int", "beyond-int64", "float", "literal-float", "big-literal", "null"])
def test_scalars_go_to_lua_as_krakend_reads_them(value, expected):
    assert convert.to_lua(value) == expected


def test_containers_go_to_lua_as_views_of_the_same_objects():
    data, items = {"a": 1}, [1, 2]
    assert convert.to_lua(data) == (TABLE, data) and convert.to_lua(data)[1] is data
    assert convert.to_lua(items)[0] == LIST and convert.to_lua(items)[1] is items


def test_unknown_types_are_refused():
    with pytest.raises(ConversionError):
        convert.to_lua(object())


@pytest.mark.parametrize("source, expected", [
    ("'text'", '"text"'), ("'\\255ok'", '"\ufffdok"'), ("true", "true"), ("42", "42"), ("1.5", "1.5"),
    ("2.0", "2"), ("1e21", "1e+21"), ("-0.0", "0"),
], ids=["string", "invalid-utf8-replaced", "boolean", "integer", "float", "integral-float", "exponent",
        "negative-zero-is-integer-zero"])
def test_lua_scalars_become_data(lua, source, expected):
    assert jsoncodec.dumps(convert.from_lua(lua.eval(source), is_table)).decode() == expected


@pytest.mark.parametrize("source, expected", [
    ("{'a', 'b'}", b'{"1":"a","2":"b"}'),
    ("{x = 1, y = 'z'}", b'{"x":1,"y":"z"}'),
    ("{}", b"{}"),
    ("{list = {3, 2, 1}}", b'{"list":[3,2,1]}'),
    ("{nested = {}}", b'{"nested":null}'),
    ("{sparse = {[1] = 'a', [3] = 'c'}}", b'{"sparse":["a","c"]}'),
    ("{deep = {x = {1, {y = true}}}}", b'{"deep":{"x":[1,{"y":true}]}}'),
    ("{mixed = {1, k = 2}}", b'{"mixed":{"1":1,"k":2}}'),
    ("{[1.5] = 'f', [true] = 't'}", b'{"1.5":"f","true":"t"}'),
    ("{f = function() end, n = 1}", b'{"n":1}'),
    ("{n = 0.25}", b'{"n":0.25}'),
], ids=["array-at-top-is-an-object", "object", "empty-top", "nested-array", "nested-empty-is-null",
        "sparse-array-compacted", "deep", "mixed-keys-object", "odd-keys", "function-left-out", "float-value"])
def test_lua_tables_become_data_with_krakend_lua_rules(lua, source, expected):
    assert jsoncodec.dumps(convert.from_lua(lua.eval(source), is_table)) == expected


def test_nil_marker_and_python_containers_pass_through(lua):
    data = {"kept": RawNumber("1.0")}
    assert convert.from_lua(NIL, is_table) is None
    assert convert.from_lua(data, is_table) is data
    assert convert.from_lua(lua.eval("coroutine.create(function() end)"), is_table) is SKIP


def test_self_containing_tables_are_refused(lua):
    with pytest.raises(ConversionError):
        convert.from_lua(lua.eval("(function() local t = {} t.me = t return t end)()"), is_table)


def test_nan_from_lua_is_refused(lua):
    with pytest.raises(ConversionError):
        convert.from_lua(lua.eval("0/0"), is_table)


@pytest.mark.parametrize("key, text", [
    (b"name", "name"), (3, "3"), (2.5, "2.5"), (True, "true"), (None, "nil"),
], ids=["string", "integer", "float", "boolean", "nil"])
def test_arguments_read_as_text_like_krakend_lua(key, text):
    assert convert.text(key) == text


@pytest.mark.parametrize("table, expected", [
    ({"1": "a", "2": "b"}, ["a", "b"]), ({"10": "j", "9": "i"}, ["i", "j"]), ({"-1": "m", "+2": "p"}, ["m", "p"]),
    ({"1": "a", "x": "b"}, {"1": "a", "x": "b"}), ({}, None),
], ids=["in-order", "sorted-numerically", "signed", "not-all-integers", "empty-is-null"])
def test_as_array(table, expected):
    assert convert.as_array(table) == expected


def test_tables_as_keys_or_texts_are_named_without_running_their_tostring(lua):
    calls = lua.eval("{}")
    noisy = lua.eval("function(calls) return setmetatable({}, {__tostring = function() calls[1] = true; "
                     "return 'mine' end}) end")(calls)
    assert convert.text(noisy).startswith("table: 0x")
    nested = list_of_lists(40)
    assert convert.text(nested).startswith("userdata: 0x")  # a DAG's repr never ends
    assert convert.key_text(lua.eval("function() end")).startswith("function: 0x")
    assert dict(calls.items()) == {}


def list_of_lists(levels):
    """A list of two references to the list below: 2 ** levels leaves once written out."""
    node = ["x"]
    for _ in range(levels):
        node = [node, node]
    return node


def json_nest(levels):
    node = {}
    for _ in range(levels):
        node = {"n": node}
    return node


def cyclic():
    data = {"a": 1}
    data["me"] = data
    return data


@pytest.mark.parametrize("data", [
    {"deep": list_of_lists(40)}, cyclic(), {"list": [list_of_lists(30)]},
    {"text": ["x" * 2 ** 20] * 200}, json_nest(convert.MAX_NESTING + 5),
], ids=["dag-2^40", "cycle", "dag-2^30-in-list", "too-much-text", "too-deep"])
def test_data_whose_json_would_not_end_is_refused(data):
    with pytest.raises(ConversionError):
        convert.check_tree(data)


@pytest.mark.parametrize("data", [
    {"shared": [list_of_lists(10)] * 3}, json_nest(convert.MAX_NESTING - 5), {"plain": [1, "two", {"three": None}]},
], ids=["small-dag", "deep-but-allowed", "plain"])
def test_bounded_data_is_accepted(data):
    convert.check_tree(data)
