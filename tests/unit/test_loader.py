"""app.config.loader.parse_text: JSON / YAML text to a raw tree, errors with line and column (reference §1.1)."""
from __future__ import annotations

import re
from typing import Any

import pytest

from app.config.loader import parse_text
from app.errors import ConfigError

JSON_TEXT = '{\n  "version": 3,\n  "timeout": "3s",\n  "endpoints": [{"endpoint": "/a", "backend": []}]\n}'
YAML_TEXT = 'version: 3\ntimeout: "3s"\nendpoints:\n  - endpoint: /a\n    backend: []\n'
TREE = {"version": 3, "timeout": "3s", "endpoints": [{"endpoint": "/a", "backend": []}]}


@pytest.mark.parametrize(("text", "yaml_syntax", "expected"), [
    (JSON_TEXT, False, TREE),
    (YAML_TEXT, True, TREE),
    (JSON_TEXT, True, TREE),          # JSON is valid YAML
    ('{"version": 3, "@comment": "x", "unknown": [1, 2]}', False, {"version": 3, "@comment": "x", "unknown": [1, 2]}),
], ids=["json", "yaml", "json-as-yaml", "unknown-keys-kept"])
def test_parse_text_valid(text: str, yaml_syntax: bool, expected: dict[str, Any]) -> None:
    assert parse_text(text, yaml_syntax=yaml_syntax) == expected


INVALID = [
    ('{\n  "version": 3,\n  "timeout": "3s",\n}', False, "k.json",
     "k.json: invalid JSON at line 4, column 1: Expecting property name enclosed in double quotes"),
    ('{"version": 3 "x": 1}', False, "k.json", "k.json: invalid JSON at line 1, column 15: Expecting ',' delimiter"),
    ("", False, "<config>", "<config>: invalid JSON at line 1, column 1: Expecting value"),
    ("version: 3\nendpoints: [1\nport: 8080\n", True, "k.yaml", "k.yaml: invalid YAML at line 3, column 5: "),
    ("a: b: c\n", True, "k.yml", "k.yml: invalid YAML at line 1, column 5: "),
    ("[1, 2]", False, "k.json", "k.json: the configuration must be a JSON object, got list"),
    ('"text"', False, "k.json", "k.json: the configuration must be a JSON object, got str"),
    ("null", False, "k.json", "k.json: the configuration must be a JSON object, got NoneType"),
    ("- a\n- b\n", True, "k.yaml", "k.yaml: the configuration must be a JSON object, got list"),
    ("", True, "k.yaml", "k.yaml: the configuration must be a JSON object, got NoneType"),
]


@pytest.mark.parametrize(("text", "yaml_syntax", "name", "message"), INVALID, ids=[
    "json-trailing-comma", "json-missing-comma", "json-empty", "yaml-unclosed-flow", "yaml-nested-mapping",
    "json-array", "json-string", "json-null", "yaml-list", "yaml-empty",
])
def test_parse_text_errors(text: str, yaml_syntax: bool, name: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)) as info:
        parse_text(text, yaml_syntax=yaml_syntax, name=name)
    assert info.value.path == ""


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_parse_text_rejects_non_json_number_tokens(token: str) -> None:
    with pytest.raises(ConfigError, match="invalid JSON"):
        parse_text('{"version": 3, "timeout": %s}' % token, name="k.json")


@pytest.mark.parametrize("environ, expected", [
    ({"KRAKEND_PORT": "9000"}, {"port": 9000}),
    ({"KRAKEND_TIMEOUT": "5s", "KRAKEND_NAME": "gw"}, {"timeout": "5s", "name": "gw"}),
    ({"KRAKEND_DEBUG_ENDPOINT": "true"}, {"debug_endpoint": True}),
    ({"KRAKEND_ENDPOINTS": "[]", "OTHER": "1"}, {}),
], ids=["port", "strings", "bool", "nested-and-foreign-ignored"])
def test_krakend_env_overrides(environ, expected):
    from app.config.loader import apply_env_overrides
    tree = apply_env_overrides({"version": 3, "port": 8080}, environ)
    for key, value in expected.items():
        assert tree[key] == value
    assert "endpoints" not in tree


def test_krakend_env_override_errors_name_the_variable():
    from app.config.loader import apply_env_overrides
    from app.errors import ConfigError
    with pytest.raises(ConfigError, match="KRAKEND_PORT='x'"):
        apply_env_overrides({"version": 3}, {"KRAKEND_PORT": "x"})
