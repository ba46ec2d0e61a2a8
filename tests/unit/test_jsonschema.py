"""app.validation.jsonschema: outcomes and KrakenD's (gojsonschema's) texts, schema checks, no remote $ref."""
from __future__ import annotations

import dataclasses
import json
import time
from typing import Any, Iterator

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from app.errors import ConfigError, InvalidRequestError
from app.proxy.model import ProxyRequest, ProxyResponse
from app.validation import jsonschema as js
from tests.backends import Backend

ADDRESS = {"type": "object", "required": ["number", "street_name", "street_type"],
           "properties": {"number": {"type": "number"}, "street_name": {"type": "string"},
                          "street_type": {"type": "string", "enum": ["Street", "Avenue", "Boulevard"]}}}


def outcome(schema: Any, body: bytes) -> str:
    """"ok", or the text a client sees with return_error_msg."""
    validator = js.build_validator(js.parse(schema, "endpoints[0].extra_config.validation/json-schema"))
    try:
        js.check(validator, body)
    except InvalidRequestError as exc:
        assert exc.status == 400
        return str(exc)
    return "ok"


@pytest.mark.parametrize("schema, body, expected", [
    ({"type": "number"}, b'{"foo": 42}', "- (root): Invalid type. Expected: number, given: object"),
    ({"type": "number"}, b"42", "ok"),
    ({"type": "number"}, b"4.5", "ok"),
    ({"type": "integer"}, b"4.5", "- (root): Invalid type. Expected: integer, given: number"),
    ({"type": "integer"}, b"4.0", "ok"),
    ({"type": ["string", "null"]}, b"true", "- (root): Invalid type. Expected: [string,null], given: boolean"),
    ({"type": "object"}, b"", js.EMPTY_BODY),
    ({"type": "object"}, b'{"a":', js.MALFORMED_BODY),
    ({"type": "object"}, b" ", js.MALFORMED_BODY),
    ({"type": "number"}, b"NaN", js.MALFORMED_BODY),
    ({"type": "object"}, b'{"a":1} trailing', js.MALFORMED_BODY),
    ({"type": "object"}, b"[" * 100000, js.MALFORMED_BODY),
    (ADDRESS, b'{"number": 1, "street_name": "Main", "street_type": "Avenue"}', "ok"),
    (ADDRESS, b'{"number": "1", "street_type": "Road"}',
     "- (root): street_name is required\n"
     "- number: Invalid type. Expected: number, given: string\n"
     '- street_type: street_type must be one of the following: "Street", "Avenue", "Boulevard"'),
    ({"properties": {"a": {"properties": {"b": {"type": "string"}}}}}, b'{"a": {"b": 1}}',
     "- a.b: Invalid type. Expected: string, given: integer"),
    ({"items": {"minimum": 2}}, b"[2, 1]", "- 1: Must be greater than or equal to 2"),
    ({"properties": {"n": {"exclusiveMaximum": 1.5}}}, b'{"n": 2}', "- n: Must be less than 1.5"),
    ({"minLength": 3}, b'"ab"', "- (root): String length must be greater than or equal to 3"),
    ({"pattern": "^a+$"}, b'"b"', "- (root): Does not match pattern '^a+$'"),
    ({"format": "email"}, b'"not-an-email"', "- (root): Does not match format 'email'"),
    ({"format": "date-time"}, b'"yesterday"', "- (root): Does not match format 'date-time'"),
    ({"additionalProperties": False, "properties": {"a": {}}}, b'{"a": 1, "b": 2, "c": 3}',
     "- (root): Additional property b is not allowed\n- (root): Additional property c is not allowed"),
    ({"uniqueItems": True}, b"[1, 2, 2.0]", "- (root): array items[1,2] must be unique"),
    ({"const": 1}, b"2", "- (root): (root) does not match: 1"),
    ({"anyOf": [{"type": "string"}, {"required": ["a"]}]}, b'{"b": 1}',
     "- (root): Must validate at least one schema (anyOf)\n- (root): a is required"),
    ({"type": "string", "enum": ["x"]}, b"1", "- (root): Invalid type. Expected: string, given: integer"),
    (False, b"1", "- (root): False always fails validation"),
    (True, b"1", "ok"),
], ids=["type", "type-ok", "number-ok", "integer-fraction", "integer-dot-zero", "type-list", "empty",
        "malformed", "blank", "nan", "trailing-data", "deep-nesting", "address-ok", "address-errors", "nested-path",
        "array-index", "exclusive-maximum", "min-length", "pattern", "format-email", "format-date-time",
        "additional-properties", "unique-items", "const", "any-of-closest-branch", "type-stops-the-node",
        "false-schema", "true-schema"])
def test_outcomes_and_messages(schema: Any, body: bytes, expected: str) -> None:
    assert outcome(schema, body) == expected


@pytest.mark.parametrize("schema, body, expected", [
    ({"patternProperties": {"^x-": {"type": "string"}}}, b'{"x-a": 1, "y": 1}',
     "- x-a: Invalid type. Expected: string, given: integer"),
    ({"properties": {"id": {}}, "patternProperties": {"^x-": {}}, "additionalProperties": False},
     b'{"id": 1, "x-a": 1, "other": 2}', "- (root): Additional property other is not allowed"),
    ({"additionalProperties": {"type": "integer"}, "properties": {"a": {}}}, b'{"a": "s", "b": "s"}',
     "- b: Invalid type. Expected: integer, given: string"),
    ({"pattern": "^(a+)+$"}, b'"' + b"a" * 64 + b'!"', "- (root): Does not match pattern '^(a+)+$'"),
    ({"patternProperties": {"^(a|aa)+$": {"type": "string"}}, "additionalProperties": False},
     b'{"' + b"a" * 64 + b'!": 1}', "- (root): Additional property " + "a" * 64 + "! is not allowed"),
], ids=["pattern-properties", "additional-with-patterns", "additional-schema", "catastrophic-pattern",
        "catastrophic-property-pattern"])
def test_regular_expressions_run_on_re2(schema: Any, body: bytes, expected: str) -> None:
    """Python's backtracking re would take years on the catastrophic cases; RE2 (Go's engine) is linear."""
    started = time.monotonic()
    assert outcome(schema, body) == expected
    assert time.monotonic() - started < 2


def test_error_lines_are_capped() -> None:
    text = outcome({"items": {"type": "string"}}, b"[" + b",".join(b"1" for _ in range(150)) + b"]")
    lines = text.split("\n")
    assert len(lines) == js.MAX_LINES + 1
    assert lines[-1] == "- ... 50 more"


@pytest.mark.parametrize("schema, path, fragment", [
    ({"type": "not a valid type"}, ".type", "invalid JSON schema"),
    ({"properties": {"test": {"type": "nope"}}}, ".properties.test.type", "invalid JSON schema"),
    ({"$schema": "http://json-schema.org/draft-04/schema#", "minimum": 1, "exclusiveMinimum": 2},
     ".exclusiveMinimum", "invalid JSON schema"),
    ({"$ref": "#/definitions/missing"}, ".$ref", "does not resolve inside the schema"),
    ({"items": [{"$ref": "other.json#/a"}]}, ".items[0].$ref", "remote references are never fetched"),
    ({"$ref": "https://schemas.example.com/address.json"}, ".$ref", "remote references are never fetched"),
    ({"$schema": 7}, ".$schema", "expected a string"),
    ({"properties": {"a": {"pattern": "(?=lookahead)"}}}, ".properties.a.pattern", "RE2 syntax"),
    ({"patternProperties": {"(\\w)\\1": {}}}, ".patternProperties.(\\w)\\1", "RE2 syntax"),
    ([{"type": "object"}], "", "expected a JSON schema"),
], ids=["bad-type", "nested-bad-type", "draft4-keyword-type", "missing-pointer", "relative-remote", "remote",
        "schema-not-string", "lookahead", "backreference", "not-a-schema"])
def test_bad_schemas_are_config_errors_with_their_path(schema: Any, path: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        js.parse(schema, "endpoints[2].extra_config.validation/json-schema")
    assert caught.value.path == "endpoints[2].extra_config.validation/json-schema" + path
    assert fragment in caught.value.message


@pytest.mark.parametrize("schema, body, expected", [
    ({"$ref": "#/definitions/a", "definitions": {"a": {"type": "string"}}}, b"1",
     "- (root): Invalid type. Expected: string, given: integer"),
    ({"$id": "https://example.com/s.json", "properties": {"x": {"$ref": "s.json#/definitions/a"}},
      "definitions": {"a": {"type": "string"}}}, b'{"x": 1}', "- x: Invalid type. Expected: string, given: integer"),
    ({"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": {"a": {"type": "string"}},
      "properties": {"x": {"$ref": "#/$defs/a"}}}, b'{"x": "s"}', "ok"),
    ({"$ref": "http://json-schema.org/draft-07/schema#"}, b'{"type": "string"}', "ok"),
], ids=["local-pointer", "own-id", "draft-2020-12-defs", "bundled-meta-schema"])
def test_local_references_resolve(schema: Any, body: bytes, expected: str) -> None:
    assert outcome(schema, body) == expected


@pytest.mark.parametrize("schema, cls, unknown", [
    ({"type": "object"}, Draft7Validator, False),
    ({"$schema": "https://json-schema.org/draft/2020-12/schema"}, Draft202012Validator, False),
    ({"$schema": "https://schemas.example.com/mine"}, Draft7Validator, True),
], ids=["default-draft-07", "declared", "unknown"])
def test_draft_choice(schema: Any, cls: type, unknown: bool) -> None:
    settings = js.parse(schema, "p")
    assert settings.validator_class is cls and settings.unknown_draft is unknown


@pytest.fixture
def schema_server() -> Iterator[Backend]:
    server = Backend()
    yield server
    server.close()


def test_the_library_default_would_fetch_a_remote_ref(schema_server: Backend) -> None:
    """Why the validator gets its own registry: jsonschema's default downloads remote $refs."""
    url = schema_server.url + schema_server.json("remote", {"type": "string"})
    with pytest.warns(DeprecationWarning, match="remote"):
        assert not Draft7Validator({"$ref": url}).is_valid(1)
    assert schema_server.hits["json"] == 1


def test_remote_refs_are_never_fetched(schema_server: Backend) -> None:
    url = schema_server.url + schema_server.json("remote", {"type": "string"})
    with pytest.raises(ConfigError):
        js.parse({"$ref": url}, "p")
    # Even a schema that slipped past parse() fails closed instead of fetching.
    settings = js.JSONSchemaSettings(schema={"$ref": url}, validator_class=Draft7Validator)
    calls: list[ProxyRequest] = []

    def backend(request: ProxyRequest) -> ProxyResponse:
        calls.append(request)
        return ProxyResponse({}, True)
    proxy = js._validating(backend, js.build_validator(settings), "[test]")
    request = ProxyRequest(method="POST", path="/", url="", params={}, query=(), headers={}, body=b"1",
                           deadline=time.monotonic() + 5)
    with pytest.raises(InvalidRequestError) as caught:
        proxy(request)
    assert str(caught.value) == js.MALFORMED_BODY
    assert schema_server.hits["json"] == 0 and calls == []


def test_valid_body_reaches_the_proxy_untouched() -> None:
    settings = js.parse(ADDRESS, "p")
    seen: list[ProxyRequest] = []

    def backend(request: ProxyRequest) -> ProxyResponse:
        seen.append(request)
        return ProxyResponse({"ok": True}, True)
    proxy = js._validating(backend, js.build_validator(settings), "[test]")
    body = b'{"number": 1, "street_name": "Main", "street_type": "Street"}'
    request = ProxyRequest(method="POST", path="/", url="", params={}, query=(), headers={}, body=body,
                           deadline=time.monotonic() + 5)
    assert proxy(request).data == {"ok": True}
    assert seen == [request] and dataclasses.replace(seen[0]) == request


@pytest.mark.parametrize("schema, body, expected", [
    ({"multipleOf": 0.01}, b"19.99", "ok"),
    ({"multipleOf": 0.01}, b"0.07", "ok"),
    ({"multipleOf": 0.01}, b"0.071", "- (root): Must be a multiple of 0.01"),
    ({"multipleOf": 0.01}, b"1" * 400, "ok"),
    ({"multipleOf": 3}, b"1" * 400, "- (root): Must be a multiple of 3"),
    ({"multipleOf": 0.01}, b"1e400", js.MALFORMED_BODY),
    ({"type": "number"}, b"-1e400", js.MALFORMED_BODY),
], ids=["price", "float-rounding", "not-a-multiple", "huge-integer", "huge-integer-refused", "overflows",
        "overflows-negative"])
def test_multiple_of_is_exact_on_decimal_literals(schema: Any, body: bytes, expected: str) -> None:
    """gojsonschema divides big.Rats: 19.99 is a multiple of 0.01 (the float quotient is 1998.9999999999998)."""
    assert outcome(schema, body) == expected


@pytest.mark.parametrize("body, expected", [
    (b'"\\\\p{Greek}+"', "ok"),
    (b'"(?=lookahead)"', "- (root): Does not match format 'regex'"),
    (b'"a{1001}"', "- (root): Does not match format 'regex'"),
    (b'"a{4294967296}"', "ok"),  # RE2 reads a count it cannot hold as literal text
    (b'"\\ud800"', "ok"),
], ids=["go-unicode-class", "lookahead", "repeat-over-1000", "huge-repeat", "lone-surrogate"])
def test_format_regex_is_go_syntax(body: bytes, expected: str) -> None:
    """Python's re accepts lookaheads, refuses \\p{...} and raises OverflowError on a huge repeat count."""
    assert outcome({"format": "regex"}, body) == expected


@pytest.mark.parametrize("schema, body, expected", [
    ({"pattern": "^\\x{fffd}$"}, b'"\\ud800"', "ok"),
    ({"pattern": "^a"}, b'"\\udc00"', "- (root): Does not match pattern '^a'"),
    ({"patternProperties": {"^a": {"type": "string"}}}, b'{"\\ud800": 1}', "ok"),
    ({"additionalProperties": False, "patternProperties": {"^a": {}}}, b'{"\\ud800": 1}',
     "- (root): Additional property \ud800 is not allowed"),
    ({"pattern": "^\\p{Lu}\\p{L}*$"}, '"Élan"'.encode(), "ok"),
], ids=["surrogate-is-replacement-char", "surrogate-no-match", "surrogate-property", "surrogate-additional",
        "go-unicode-classes-in-schema"])
def test_patterns_take_any_decoded_string(schema: Any, body: bytes, expected: str) -> None:
    """A lone surrogate cannot be UTF-8 (RE2's input); Go's decoder reads it as U+FFFD, so do we."""
    assert outcome(schema, body) == expected


def test_unique_items_is_linear() -> None:
    """gojsonschema keys items by their JSON text; the library compared every pair of unsortable items (30 s here)."""
    started = time.monotonic()
    assert outcome({"uniqueItems": True}, json.dumps([{"a": i} for i in range(3000)]).encode()) == "ok"
    assert time.monotonic() - started < 2
    assert outcome({"uniqueItems": True}, b'[{"a": 1, "b": [2]}, 1, true, {"b": [2.0], "a": 1.0}]') == \
        "- (root): array items[0,3] must be unique"
    assert outcome({"uniqueItems": True}, b'[1, true, "1", [1]]') == "ok"


@pytest.mark.parametrize("schema, body, last", [
    ({"items": {"type": "string"}}, list(range(120)), "- ... validation stopped after 50 errors"),
    ({"items": {"anyOf": [{"type": "string"}, {"type": "object"}]}}, list(range(120)),
     "- ... validation stopped after 50 errors"),
    ({"anyOf": [{"items": {"type": "string"}}, {"items": {"type": "integer"}}]}, list(range(120)), None),
    ({"items": {"if": {"type": "string"}, "then": {"minLength": 1}}}, list(range(120)), None),
], ids=["top-level-errors", "any-of-per-item", "any-of-second-branch-passes", "discarded-errors-cost-nothing"])
def test_errors_kept_are_bounded(monkeypatch: pytest.MonkeyPatch, schema: Any, body: Any, last: Any) -> None:
    """Each error the library keeps weighs about 3 KiB: a 1 MiB body of 500,000 of them took 1.6 GB and 2 minutes."""
    monkeypatch.setattr(js, "MAX_ERRORS", 50)
    monkeypatch.setattr(js.schema_keywords, "BRANCH_ERRORS", 20)
    text = outcome(schema, json.dumps(body).encode())
    if last is None:
        assert text == "ok"
    else:
        assert text.split("\n")[-1] == last
        assert len(text.split("\n")) <= js.MAX_LINES + 1


def test_validation_stops_at_the_request_deadline() -> None:
    validator = js.build_validator(js.parse({"items": {"type": "integer"}}, "p"))
    calls: list[ProxyRequest] = []

    def backend(request: ProxyRequest) -> ProxyResponse:
        calls.append(request)
        return ProxyResponse({}, True)
    proxy = js._validating(backend, validator, "[test]")
    late = ProxyRequest(method="POST", path="/", url="", params={}, query=(), headers={}, body=b"[1, 2]",
                        deadline=time.monotonic() - 1)
    with pytest.raises(InvalidRequestError) as caught:
        proxy(late)
    assert (caught.value.status, str(caught.value)) == (500, "context deadline exceeded")
    assert calls == []
    proxy(dataclasses.replace(late, deadline=time.monotonic() + 5))
    assert len(calls) == 1


def test_failing_branches_keep_their_first_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(js.schema_keywords, "BRANCH_ERRORS", 20)
    for keyword in ("anyOf", "oneOf"):
        validator = js.build_validator(js.parse({keyword: [{"items": {"type": "string"}}, {"type": "object"}]}, "p"))
        [error] = validator.iter_errors(list(range(120)))
        assert len(error.context) == 21  # the first 20 of branch 0, the one of branch 1
    assert outcome({"anyOf": [{"items": {"type": "string"}}, {"type": "object"}]}, b"[1, 2]") == \
        "- (root): Must validate at least one schema (anyOf)\n- (root): Invalid type. Expected: object, given: array"


@pytest.mark.parametrize("branches, body, expected", [
    ([{"type": "integer"}, {"minimum": 0}], b"1", "- (root): Must validate one and only one schema (oneOf)"),
    ([{"type": "integer"}, {"type": "string"}], b"1", "ok"),
    ([{"type": "integer"}, {"type": "string"}], b"1.5",
     "- (root): Must validate one and only one schema (oneOf)\n"
     "- (root): Invalid type. Expected: integer, given: number"),
], ids=["two-pass", "one-passes", "none-passes"])
def test_one_of(branches: Any, body: bytes, expected: str) -> None:
    assert outcome({"oneOf": branches}, body) == expected
