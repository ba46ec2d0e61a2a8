"""app.proxy.flatmap: parse/build of proxy.flatmap_filter (reference §3.6)."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from app.errors import ConfigError
from app.proxy.flatmap import Operation, build, parse
from app.proxy.formatting import Data

WHERE = "endpoints[0].backend[0].extra_config.proxy.flatmap_filter"


def run(ops: list[dict[str, Any]], data: Data) -> Data:
    return build(parse(ops, WHERE))(data)


OPERATIONS: list[tuple[str, list[dict[str, Any]], Data, Data]] = [
    ("move-rename", [{"type": "move", "args": ["a", "b"]}], {"a": 1, "c": 2}, {"b": 1, "c": 2}),
    ("move-embed", [{"type": "move", "args": ["a", "b.c"]}], {"a": 1, "b": {"d": 2}}, {"b": {"c": 1, "d": 2}}),
    ("move-embed-creates", [{"type": "move", "args": ["a", "x.y.z"]}], {"a": 1}, {"x": {"y": {"z": 1}}}),
    ("move-extract", [{"type": "move", "args": ["b.c", "c"]}], {"b": {"c": 1, "d": 2}}, {"b": {"d": 2}, "c": 1}),
    ("move-wildcard-in-array", [{"type": "move", "args": ["paths.*.path", "paths.*.url"]}],
     {"paths": [{"path": "/a", "k": 1}, {"path": "/b"}]}, {"paths": [{"url": "/a", "k": 1}, {"url": "/b"}]}),
    ("move-wildcard-in-object", [{"type": "move", "args": ["m.*.v", "m.*.w"]}],
     {"m": {"x": {"v": 1}, "y": {"v": 2}}}, {"m": {"x": {"w": 1}, "y": {"w": 2}}}),
    ("move-array-index-out", [{"type": "move", "args": ["a.0", "first"]}], {"a": [1, 2, 3]}, {"a": [2, 3], "first": 1}),
    ("move-missing-source", [{"type": "move", "args": ["nope", "b"]}], {"a": 1}, {"a": 1}),
    ("move-index-out-of-range", [{"type": "move", "args": ["a.5", "b"]}], {"a": [1]}, {"a": [1]}),
    ("del-several", [{"type": "del", "args": ["a", "c"]}], {"a": 1, "b": 2, "c": 3}, {"b": 2}),
    ("del-nested", [{"type": "del", "args": ["b.c"]}], {"b": {"c": 1, "d": 2}}, {"b": {"d": 2}}),
    ("del-wildcard", [{"type": "del", "args": ["items.*.secret"]}],
     {"items": [{"secret": 1, "id": 1}, {"secret": 2, "id": 2}]}, {"items": [{"id": 1}, {"id": 2}]}),
    ("del-array-index", [{"type": "del", "args": ["a.1"]}], {"a": [1, 2, 3]}, {"a": [1, 3]}),
    ("del-all-elements", [{"type": "del", "args": ["a.*"]}], {"a": [1, 2]}, {"a": []}),
    ("del-missing", [{"type": "del", "args": ["x.y", "a.9"]}], {"a": [1]}, {"a": [1]}),
    ("unknown-op-ignored", [{"type": "rename", "args": ["a", "b"]}], {"a": 1}, {"a": 1}),
    ("ops-in-order", [{"type": "move", "args": ["a", "b"]}, {"type": "del", "args": ["b"]}], {"a": 1, "c": 2},
     {"c": 2}),
    ("empty-list", [], {"a": 1}, {"a": 1}),
]


@pytest.mark.parametrize(("ops", "data", "expected"), [o[1:] for o in OPERATIONS], ids=[o[0] for o in OPERATIONS])
def test_operations(ops: list[dict[str, Any]], data: Data, expected: Data) -> None:
    assert run(ops, data) == expected


@pytest.mark.parametrize(("data", "expected_dst"), [
    ({"a": [1, 2], "b": [3]}, [3, 1, 2]),
    ({"a": [], "b": [3]}, [3]),
    ({"a": [{"x": 1}], "b": []}, [{"x": 1}]),
], ids=["append", "empty-source", "into-empty"])
def test_append_adds_the_source_items_to_the_destination_list(data: Data, expected_dst: list[Any]) -> None:
    assert run([{"type": "append", "args": ["a", "b"]}], data)["b"] == expected_dst


def test_flatmap_works_on_a_copy() -> None:
    data: Data = {"a": [1, 2], "b": [3], "items": [{"secret": 1, "id": 1}], "m": {"k": {"v": 1}}}
    before = copy.deepcopy(data)
    shaper = build(parse([
        {"type": "append", "args": ["a", "b"]},
        {"type": "del", "args": ["items.*.secret"]},
        {"type": "move", "args": ["m.k.v", "m.k.w"]},
    ], WHERE))
    first = shaper(data)
    assert data == before
    assert shaper(data) == first


def test_parse_keeps_known_operations_split_on_dots() -> None:
    ops = parse([{"type": "move", "args": ["a.*.b", "c"]}, {"type": "x", "args": ["q"]},
                 {"type": "del", "args": ["d", "e.0"]}], WHERE)
    assert ops == (Operation("move", (("a", "*", "b"), ("c",))), Operation("del", (("d",), ("e", "0"))))


BAD: list[tuple[str, Any, str, str]] = [
    ("not-a-list", {"type": "move"}, WHERE, "expected a list of operations"),
    ("item-not-object", ["move"], f"{WHERE}[0]", 'expected {"type": ..., "args": [...]}'),
    ("type-missing", [{"args": ["a"]}], f"{WHERE}[0]", '"type"'),
    ("type-not-string", [{"type": 1, "args": ["a"]}], f"{WHERE}[0]", '"type"'),
    ("args-missing", [{"type": "del"}], f"{WHERE}[0].args", "expected a list of dotted paths"),
    ("args-not-list", [{"type": "del", "args": "a"}], f"{WHERE}[0].args", "expected a list of dotted paths"),
    ("arg-empty", [{"type": "del", "args": ["a", ""]}], f"{WHERE}[0].args", "expected a list of dotted paths"),
    ("arg-not-string", [{"type": "del", "args": [1]}], f"{WHERE}[0].args", "expected a list of dotted paths"),
    ("move-one-arg", [{"type": "move", "args": ["a"]}], f"{WHERE}[0].args", "move takes exactly 2 paths, got 1"),
    ("append-three-args", [{"type": "del", "args": ["x"]}, {"type": "append", "args": ["a", "b", "c"]}],
     f"{WHERE}[1].args", "append takes exactly 2 paths, got 3"),
]


@pytest.mark.parametrize(("raw", "path", "fragment"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_parse_errors_carry_the_json_path(raw: Any, path: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(raw, WHERE)
    assert info.value.path == path
    assert fragment in info.value.message
