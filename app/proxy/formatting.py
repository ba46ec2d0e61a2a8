"""Pure response shaping per backend (lura's entity formatter).

Order: ``target`` -> ``allow`` (wins over ``deny``) -> ``mapping`` -> ``group``;
a backend ``flatmap_filter`` replaces allow/deny/mapping.  Every function
returns new data and never mutates its input, so a cached or shared decoded
body is safe to shape twice.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

Data = dict[str, Any]
Shaper = Callable[[Data], Data]
_LEAF: dict[str, Any] = {}


def dig(data: Any, path: str, default: Any = None) -> Any:
    """The value at dotted ``path`` through nested objects; ``default`` when any step is missing."""
    node = data
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def extract_target(data: Data, target: str) -> Data:
    """The object at dotted path ``target``; ``{}`` when missing or not an object."""
    node = dig(data, target)
    return node if isinstance(node, dict) else {}


def _path_tree(paths: Sequence[str]) -> dict[str, Any]:
    """``["a", "b.c"]`` -> ``{"a": LEAF, "b": {"c": LEAF}}``; a shorter path wins over a longer one."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        keys = path.split(".")
        for i, key in enumerate(keys):
            if node.get(key) is _LEAF:
                break
            if i == len(keys) - 1:
                node[key] = _LEAF
            else:
                node = node.setdefault(key, {})
    return tree


def allow(data: Data, tree: Mapping[str, Any]) -> Data:
    """Keep only the allowed paths (tree from ``_path_tree``).

    An allowed leaf keeps its whole subtree; a path that runs through a
    non-object, or whose subtree ends up empty, removes its parent key.
    """
    out: Data = {}
    for key, sub in tree.items():
        if key not in data:
            continue
        value = data[key]
        if sub is _LEAF:
            out[key] = value
        elif isinstance(value, dict):
            kept = allow(value, sub)
            if kept:
                out[key] = kept
    return out


def deny(data: Data, tree: Mapping[str, Any]) -> Data:
    """Drop the denied paths; paths through non-objects are left alone."""
    out: Data = {}
    for key, value in data.items():
        sub = tree.get(key)
        if sub is _LEAF:
            continue
        out[key] = deny(value, sub) if sub is not None and isinstance(value, dict) else value
    return out


def rename(data: Data, mapping: Mapping[str, str]) -> Data:
    """Rename top-level keys; a dotted new name is cut at its first dot (as lura does).

    A renamed value overwrites an existing key of the new name, whatever the key order.
    """
    out = {k: v for k, v in data.items() if k not in mapping}
    for old, new in mapping.items():
        if old in data:
            out[new.split(".", 1)[0]] = data[old]
    return out


def build_shaper(target: str = "", allow_paths: Sequence[str] = (), deny_paths: Sequence[str] = (),
                 mapping: Optional[Mapping[str, str]] = None, group: str = "",
                 flatmap: Optional[Shaper] = None) -> Optional[Shaper]:
    """Compose the configured steps into one function; ``None`` when nothing is configured."""
    steps: list[Shaper] = []
    if target:
        steps.append(lambda d: extract_target(d, target))
    if flatmap is not None:
        steps.append(flatmap)
    elif allow_paths:
        allow_tree = _path_tree(allow_paths)
        steps.append(lambda d: allow(d, allow_tree))
    elif deny_paths:
        deny_tree = _path_tree(deny_paths)
        steps.append(lambda d: deny(d, deny_tree))
    if flatmap is None and mapping:
        names = dict(mapping)
        steps.append(lambda d: rename(d, names))
    if group:
        steps.append(lambda d: {group: d})
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    def shape(data: Data) -> Data:
        for step in steps:
            data = step(data)
        return data
    return shape
