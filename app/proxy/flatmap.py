"""``proxy.flatmap_filter``: move, del and append over dotted paths (pure).

Paths are dot-separated; ``*`` matches every key of an object or every
element of an array, a number selects one array element.  ``move`` must use
the same wildcards in the same leading positions on both sides
(``paths.*.path`` -> ``paths.*.url``).  Unknown operation types are ignored,
as KrakenD does.  Every operation works on a deep copy of the input.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from app.errors import ConfigError
from app.proxy.formatting import Data, Shaper

OPERATIONS = ("move", "del", "append")


@dataclass(frozen=True)
class Operation:
    kind: str
    args: tuple[tuple[str, ...], ...]


def parse(raw: Any, path: str) -> tuple[Operation, ...]:
    """Validate a ``flatmap_filter`` list; raises ``ConfigError`` with the JSON path."""
    if not isinstance(raw, list):
        raise ConfigError(path, f"expected a list of operations, got {raw!r}")
    ops = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise ConfigError(where, "expected {\"type\": ..., \"args\": [...]}")
        args = item.get("args")
        if not isinstance(args, list) or not all(isinstance(a, str) and a for a in args):
            raise ConfigError(f"{where}.args", "expected a list of dotted paths")
        kind = item["type"]
        need = {"move": 2, "append": 2}.get(kind)
        if need is not None and len(args) != need:
            raise ConfigError(f"{where}.args", f"{kind} takes exactly {need} paths, got {len(args)}")
        if kind in OPERATIONS:
            ops.append(Operation(kind, tuple(tuple(a.split(".")) for a in args)))
    return tuple(ops)


def build(ops: Sequence[Operation]) -> Shaper:
    def flatmap(data: Data) -> Data:
        out: Data = copy.deepcopy(data)
        for op in ops:
            if op.kind == "del":
                for target in op.args:
                    _delete(out, target)
            elif op.kind == "move":
                _move(out, op.args[0], op.args[1], append=False)
            else:
                _move(out, op.args[0], op.args[1], append=True)
        return out
    return flatmap


def _children(node: Any, key: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        if key == "*":
            yield from list(node.items())
        elif key in node:
            yield key, node[key]
    elif isinstance(node, list):
        if key == "*":
            yield from ((str(i), v) for i, v in enumerate(node))
        elif key.isdigit() and int(key) < len(node):
            yield key, node[int(key)]


def _matches(node: Any, path: Sequence[str], bound: tuple[str, ...] = ()) -> Iterator[tuple[Any, str, tuple[str, ...]]]:
    """(parent container, last key, wildcard bindings) for every match of ``path``."""
    if len(path) == 1:
        for key, _ in _children(node, path[0]):
            yield node, key, bound + ((key,) if path[0] == "*" else ())
        return
    for key, child in _children(node, path[0]):
        yield from _matches(child, path[1:], bound + ((key,) if path[0] == "*" else ()))


def _remove(container: Any, key: str) -> Any:
    if isinstance(container, dict):
        return container.pop(key, None)
    index = int(key)
    value = container[index]
    container[index] = _REMOVED
    return value


_REMOVED = object()


def _compact(node: Any) -> Any:
    """Drop array slots removed by ``_remove`` (indices stay valid while matching)."""
    if isinstance(node, dict):
        for k, v in node.items():
            node[k] = _compact(v)
        return node
    if isinstance(node, list):
        return [_compact(v) for v in node if v is not _REMOVED]
    return node


def _delete(data: Data, path: Sequence[str]) -> None:
    for parent, key, _ in list(_matches(data, path)):
        _remove(parent, key)
    _compact(data)  # dicts are compacted in place


def _set(data: Data, path: Sequence[str], bound: Sequence[str], value: Any, append: bool) -> None:
    keys = list(path)
    bindings = iter(bound)
    keys = [next(bindings, "*") if k == "*" else k for k in keys]
    node: Any = data
    for key in keys[:-1]:
        if isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, dict):
            node = node.setdefault(key, {})
        else:
            return
    last = keys[-1]
    if isinstance(node, dict):
        if append and isinstance(node.get(last), list):
            node[last].extend(value if isinstance(value, list) else [value])
        else:
            node[last] = value
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value


def _move(data: Data, source: Sequence[str], dest: Sequence[str], append: bool) -> None:
    found = [(parent, key, bound) for parent, key, bound in _matches(data, source)]
    values = [(_remove(parent, key), bound) for parent, key, bound in found]
    _compact(data)  # dicts are compacted in place
    for value, bound in values:
        _set(data, dest, bound, value, append)
