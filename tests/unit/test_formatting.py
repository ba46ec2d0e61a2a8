"""app.proxy.formatting: target -> allow/deny -> mapping -> group, pure (reference §3.5)."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from app.proxy.formatting import Data, build_shaper, extract_target, rename

DOC: Data = {
    "data": {"items": [1, 2], "meta": {"total": 2, "page": {"n": 1}}, "name": "x"},
    "list": [{"a": 1}],
    "scalar": 5,
}

TARGET = [
    ("data", DOC["data"]),
    ("data.meta", {"total": 2, "page": {"n": 1}}),
    ("data.meta.page", {"n": 1}),
    ("missing", {}),
    ("data.missing", {}),
    ("data.items", {}),          # an array cannot be a target
    ("scalar", {}),
    ("data.name.x", {}),         # walking through a string
    ("list.0", {}),              # no array indexing
]


@pytest.mark.parametrize(("target", "expected"), TARGET, ids=[t for t, _ in TARGET])
def test_extract_target(target: str, expected: Data) -> None:
    assert extract_target(DOC, target) == expected


NESTED: Data = {"a": 1, "b": {"c": 2, "d": {"e": 3, "f": 4}}, "arr": [{"x": 1, "y": 2}], "s": "t"}

ALLOW = [
    (["a"], {"a": 1}),
    (["b"], {"b": {"c": 2, "d": {"e": 3, "f": 4}}}),          # a leaf keeps its whole subtree
    (["b.c"], {"b": {"c": 2}}),
    (["b.d.e", "a"], {"a": 1, "b": {"d": {"e": 3}}}),
    (["b.d.e", "b.d"], {"b": {"d": {"e": 3, "f": 4}}}),       # a shorter path covers a longer one
    (["arr.x"], {}),                                          # through an array: parent removed
    (["s.t"], {}),                                            # through a scalar: parent removed
    (["b.zz"], {}),                                           # nothing matches
    (["missing"], {}),
    (["A"], {}),                                              # case-sensitive
]


@pytest.mark.parametrize(("paths", "expected"), ALLOW, ids=[
    "top-level", "subtree", "nested", "nested-and-top", "shorter-covers-longer", "through-array",
    "through-scalar", "missing-nested", "missing", "case-sensitive",
])
def test_allow(paths: list[str], expected: Data) -> None:
    shaper = build_shaper(allow_paths=paths)
    assert shaper is not None
    assert shaper(NESTED) == expected


DENY = [
    (["a"], {"b": {"c": 2, "d": {"e": 3, "f": 4}}, "arr": [{"x": 1, "y": 2}], "s": "t"}),
    (["b.c", "s"], {"a": 1, "b": {"d": {"e": 3, "f": 4}}, "arr": [{"x": 1, "y": 2}]}),
    (["b.d.e"], {"a": 1, "b": {"c": 2, "d": {"f": 4}}, "arr": [{"x": 1, "y": 2}], "s": "t"}),
    (["arr.x"], NESTED),                                      # paths through arrays are left alone
    (["s.t", "missing", "b.zz"], NESTED),
    (["B"], NESTED),                                          # case-sensitive
]


@pytest.mark.parametrize(("paths", "expected"), DENY, ids=[
    "top-level", "nested-and-top", "deep", "through-array", "missing", "case-sensitive",
])
def test_deny(paths: list[str], expected: Data) -> None:
    shaper = build_shaper(deny_paths=paths)
    assert shaper is not None
    assert shaper(NESTED) == expected


RENAME = [
    ({"a": "z"}, {"z": 1, "b": {"c": 2}}),
    ({"a": "x.y"}, {"x": 1, "b": {"c": 2}}),                  # a dotted new name is cut at the first dot
    ({"b.c": "z"}, {"a": 1, "b": {"c": 2}}),                  # only top-level keys
    ({"missing": "z"}, {"a": 1, "b": {"c": 2}}),
    ({"b": "a"}, {"a": {"c": 2}}),                          # onto an existing key (source after it)
]


@pytest.mark.parametrize(("mapping", "expected"), RENAME, ids=[
    "rename", "dotted-target", "nested-source-ignored", "missing", "onto-existing-key",
])
def test_rename(mapping: dict[str, str], expected: Data) -> None:
    assert rename({"a": 1, "b": {"c": 2}}, mapping) == expected


def test_rename_onto_existing_key_takes_the_mapped_value() -> None:
    assert rename({"a": 1, "b": 2}, {"a": "b"}) == {"b": 1}


PIPELINE: list[tuple[str, dict[str, Any], Data, Data]] = [
    ("group-only", {"group": "g"}, {"a": 1}, {"g": {"a": 1}}),
    ("target-then-group", {"target": "data", "group": "g"}, {"data": {"a": 1}, "b": 2}, {"g": {"a": 1}}),
    ("allow-uses-original-names", {"allow_paths": ["a"], "mapping": {"a": "x"}}, {"a": 1, "b": 2}, {"x": 1}),
    ("deny-uses-original-names", {"deny_paths": ["a"], "mapping": {"a": "x"}}, {"a": 1, "b": 2}, {"b": 2}),
    ("allow-wins-over-deny", {"allow_paths": ["a"], "deny_paths": ["a"]}, {"a": 1, "b": 2}, {"a": 1}),
    ("allow-after-target", {"target": "data", "allow_paths": ["a"]}, {"data": {"a": 1, "b": 2}, "a": 9}, {"a": 1}),
    ("all-steps", {"target": "data", "allow_paths": ["a", "b.c"], "mapping": {"a": "x"}, "group": "g"},
     {"data": {"a": 1, "b": {"c": 2, "d": 3}, "e": 4}}, {"g": {"x": 1, "b": {"c": 2}}}),
    ("missing-target-grouped", {"target": "nope", "group": "g"}, {"a": 1}, {"g": {}}),
    ("collection-renamed", {"mapping": {"collection": "posts"}}, {"collection": [1]}, {"posts": [1]}),
]


@pytest.mark.parametrize(("options", "data", "expected"), [p[1:] for p in PIPELINE], ids=[p[0] for p in PIPELINE])
def test_pipeline_order(options: dict[str, Any], data: Data, expected: Data) -> None:
    shaper = build_shaper(**options)
    assert shaper is not None
    assert shaper(data) == expected


def _drop_b(data: Data) -> Data:
    return {k: v for k, v in data.items() if k != "b"}


@pytest.mark.parametrize(("options", "expected"), [
    ({"flatmap": _drop_b}, {"a": 1, "c": 3}),
    ({"flatmap": _drop_b, "allow_paths": ["b"], "deny_paths": ["a"], "mapping": {"a": "x"}}, {"a": 1, "c": 3}),
    ({"flatmap": _drop_b, "target": "inner", "group": "g"}, {"g": {"k": 1}}),
], ids=["flatmap-only", "flatmap-replaces-allow-deny-mapping", "target-and-group-still-apply"])
def test_flatmap_replaces_filters(options: dict[str, Any], expected: Data) -> None:
    data = {"a": 1, "b": 2, "c": 3} if "target" not in options else {"inner": {"k": 1, "b": 2}}
    shaper = build_shaper(**options)
    assert shaper is not None
    assert shaper(data) == expected


@pytest.mark.parametrize("options", [
    {},
    {"allow_paths": (), "deny_paths": (), "mapping": {}, "target": "", "group": ""},
], ids=["nothing", "all-empty"])
def test_nothing_configured_gives_no_shaper(options: dict[str, Any]) -> None:
    assert build_shaper(**options) is None


PURE: list[dict[str, Any]] = [
    {"target": "data"},
    {"allow_paths": ["data.meta.total", "list"]},
    {"deny_paths": ["data.meta.page.n", "data.items", "scalar"]},
    {"mapping": {"data": "d", "list": "l"}},
    {"group": "g"},
    {"target": "data", "deny_paths": ["meta.total"], "mapping": {"meta": "m"}, "group": "g"},
]


@pytest.mark.parametrize("options", PURE, ids=["target", "allow", "deny", "mapping", "group", "all"])
def test_shaping_never_mutates_its_input(options: dict[str, Any]) -> None:
    data = copy.deepcopy(DOC)
    shaper = build_shaper(**options)
    assert shaper is not None
    first = shaper(data)
    assert data == DOC
    assert shaper(data) == first        # shaping the same (cached) body twice gives the same answer


def test_allow_result_does_not_alias_filtered_parents() -> None:
    data: Data = {"b": {"c": 2, "d": 3}}
    shaper = build_shaper(allow_paths=["b.c"])
    assert shaper is not None
    out = shaper(data)
    out["b"]["z"] = 1
    assert data == {"b": {"c": 2, "d": 3}}
