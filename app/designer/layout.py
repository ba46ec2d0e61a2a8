"""Save an edited configuration so every unchanged part keeps its bytes.

A user's ``krakend.json`` is hand-formatted (short arrays on one line, their
own spacing), and a diff after a Designer save should show only what they
changed.  ``preserve`` re-renders only the containers whose content changed;
any value equal to the one at the same place in the original (same keys in
the same order) is copied from the original text.

The standard library has no JSON parser that reports where each value sits,
so ``spans`` walks the structure itself and leaves strings and numbers to
``json``'s own scanner.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Union

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


@dataclass(eq=False)  # nodes compare by identity: two equal values are still two places
class Node:
    """One value of the original text: the value, where its text is, and its children's nodes."""

    value: Any
    start: int
    end: int
    children: Union[dict[str, "Node"], list["Node"]] = field(default_factory=list)


def spans(text: str, index: int = 0) -> Node:
    """The node tree of the JSON value starting at or after ``index`` (``text`` must be valid JSON)."""
    index = _SPACE.match(text, index).end()  # type: ignore[union-attr]  # the pattern matches empty text
    opener = text[index]
    if opener not in "{[":
        value, end = _DECODER.raw_decode(text, index)
        return Node(value, index, end)
    closer = "}" if opener == "{" else "]"
    keyed: dict[str, Node] = {}
    items: list[Node] = []
    position = _SPACE.match(text, index + 1).end()  # type: ignore[union-attr]
    while text[position] != closer:
        if opener == "{":
            key, position = json.decoder.scanstring(text, position + 1)  # type: ignore[attr-defined]
            position = _SPACE.match(text, position).end() + 1  # type: ignore[union-attr]  # past ":"
            keyed[key] = child = spans(text, position)
        else:
            child = spans(text, position)
            items.append(child)
        position = _SPACE.match(text, child.end).end()  # type: ignore[union-attr]
        if text[position] == ",":
            position = _SPACE.match(text, position + 1).end()  # type: ignore[union-attr]
    end = position + 1
    if opener == "{":
        return Node({k: n.value for k, n in keyed.items()}, index, end, keyed)
    return Node([n.value for n in items], index, end, items)


def same(a: Any, b: Any) -> bool:
    """Equal, with objects' keys in the same order (the order is part of the text)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def fresh(value: Any, indent: int, depth: int) -> str:
    """``value`` pretty-printed as if it sat ``depth`` levels deep."""
    return json.dumps(value, indent=indent, ensure_ascii=False).replace("\n", "\n" + " " * (indent * depth))


def render_node(text: str, node: Node, value: Any, indent: int, depth: int) -> str:
    if same(node.value, value):
        return text[node.start:node.end]
    pad, inner = " " * (indent * depth), " " * (indent * (depth + 1))
    if isinstance(value, dict) and isinstance(node.children, dict):
        if not value:
            return "{}"
        old = node.children
        parts = [f"{inner}{json.dumps(k, ensure_ascii=False)}: "
                 + (render_node(text, old[k], v, indent, depth + 1) if k in old else fresh(v, indent, depth + 1))
                 for k, v in value.items()]
        return "{\n" + ",\n".join(parts) + "\n" + pad + "}"
    if isinstance(value, list) and isinstance(node.children, list) and isinstance(node.value, list):
        if not value:
            return "[]"
        unused = list(node.children)
        rendered = []
        for position, item in enumerate(value):
            match = next((n for n in unused if same(n.value, item)), None)
            if match is None and position < len(node.children) and node.children[position] in unused:
                match = node.children[position]  # the same slot, edited: keep what is unchanged inside
            if match is not None:
                unused.remove(match)
                rendered.append(inner + render_node(text, match, item, indent, depth + 1))
            else:
                rendered.append(inner + fresh(item, indent, depth + 1))
        return "[\n" + ",\n".join(rendered) + "\n" + pad + "]"
    return fresh(value, indent, depth)


def preserve(original: str, value: Any, indent: int) -> str:
    """The text for ``value``, copying from ``original`` every part that did not change."""
    root = spans(original)
    return original[:root.start] + render_node(original, root, value, indent, 0) + original[root.end:]
