"""Saving keeps the bytes of every unchanged part (app.designer.layout)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from app.designer.layout import preserve, same, spans

ROOT = Path(__file__).resolve().parents[2]
HAND = '{\n  "version": 3,\n  "endpoints": [\n    {"endpoint": "/a", "backend": [{"host": ["http://x:1"], "deny": ["p", "q"]}]},\n    {\n      "endpoint": "/b",\n      "input_headers": ["X-A"]\n    }\n  ]\n}\n'  # noqa: E501


def edit(change: Callable[[Any], None]) -> Any:
    config = json.loads(HAND)
    change(config)
    return config


@pytest.mark.parametrize("text", [
    HAND,
    '  {"a" :1 ,"b":[ 1,2 ] , "c": {"d": "\\u00e9\\""}}  \n',
    '[]', '{}', '"s"', '-1.5e3', 'true', 'null', '[{}, [], [[1]]]',
])
def test_spans_decode_like_json(text):
    node = spans(text)
    assert same(node.value, json.loads(text))
    assert json.loads(text[node.start:node.end]) == json.loads(text)


@pytest.mark.parametrize("a, b, equal", [
    ({"a": 1, "b": 2}, {"a": 1, "b": 2}, True),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}, False),  # order is part of the text
    ([1, 2], [1, 2], True),
    ([1, 2], [2, 1], False),
    (1, 1.0, False),
    (True, 1, False),
    ({"a": [{"b": 1}]}, {"a": [{"b": 1}]}, True),
])
def test_same(a, b, equal):
    assert same(a, b) is equal


@pytest.mark.parametrize("change, expected", [
    (lambda c: None, HAND),
    (lambda c: c.update(version=3), HAND),
    (lambda c: c["endpoints"][1].update(timeout="2s"),
     HAND.replace('"input_headers": ["X-A"]\n', '"input_headers": ["X-A"],\n      "timeout": "2s"\n')),
    (lambda c: c["endpoints"].reverse(),
     '{\n  "version": 3,\n  "endpoints": [\n    {\n      "endpoint": "/b",\n      "input_headers": ["X-A"]\n    },\n'
     '    {"endpoint": "/a", "backend": [{"host": ["http://x:1"], "deny": ["p", "q"]}]}\n  ]\n}\n'),
    (lambda c: c["endpoints"][0]["backend"][0].update(deny=["p"]),
     HAND.replace('    {"endpoint": "/a", "backend": [{"host": ["http://x:1"], "deny": ["p", "q"]}]},\n',
                  '    {\n      "endpoint": "/a",\n      "backend": [\n        {\n          "host": ["http://x:1"],\n'
                  '          "deny": [\n            "p"\n          ]\n        }\n      ]\n    },\n')),
    (lambda c: c["endpoints"].pop(0),
     '{\n  "version": 3,\n  "endpoints": [\n    {\n      "endpoint": "/b",\n      "input_headers": ["X-A"]\n'
     '    }\n  ]\n}\n'),
    (lambda c: c.update(name="gw \u00e9"),
     HAND.replace('  ]\n}\n', '  ],\n  "name": "gw \u00e9"\n}\n')),
])
def test_preserve_rewrites_only_what_changed(change, expected):
    saved = preserve(HAND, edit(change), 2)
    assert saved == expected
    assert same(json.loads(saved), edit(change))


@pytest.mark.parametrize("path", sorted((ROOT / "config").rglob("*.json")), ids=lambda p: p.name)
def test_shipped_configs_survive_unchanged(path):
    text = path.read_text()
    assert preserve(text, json.loads(text), 2) == text
