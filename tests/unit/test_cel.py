"""app.validation.cel: compiling, stages, activations and evaluation outcomes (krakend-cel semantics)."""
from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from app.errors import ConfigError, EvaluatorRejected
from app.jsoncodec import RawNumber, loads
from app.proxy.model import ProxyRequest, ProxyResponse
from app.validation.cel import (REQUEST, RESPONSE, TOKEN, Check, build_layer, compile_check, first_failure, now_text,
                                parse, plain, request_activation, response_activation)

PATH = "endpoints[0].extra_config.validation/cel"
NOW = "2026-05-01T10:00:00Z"
REQUEST_VARS = frozenset({"req_method", "req_path", "req_params", "req_headers", "req_querystring", "now", "JWT"})


def make_request(**changes: Any) -> ProxyRequest:
    base: dict[str, Any] = dict(
        method="POST", path="/cel/6", url="http://b/x", params={"id": "6", "userName": "ann"},
        query=(("tag", "a"), ("tag", "b"), ("q", "1")), headers={"X-Header": "something", "User-Agent": "ua"},
        body=b"", deadline=0.0, claims={"sub": "u1", "roles": ["a", "b"], "exp": 2051882755})
    base.update(changes)
    return ProxyRequest(**base)


def check(source: str, index: int = 0) -> Check:
    return compile_check(source, index, f"{PATH}[{index}].check_expr")


# --- activations ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, request_changes, expected", [
    ("req_method", {}, "POST"),
    ("req_path", {}, "/cel/6"),
    ("req_params", {}, {"Id": "6", "UserName": "ann"}),
    ("req_params", {"params": {}}, {}),
    ("req_headers", {}, {"X-Header": ["something"], "User-Agent": ["ua"]}),
    ("req_querystring", {}, {"tag": ["a", "b"], "q": ["1"]}),
    ("req_querystring", {"query": ()}, {}),
    ("now", {}, NOW),
    ("JWT", {}, {"sub": "u1", "roles": ["a", "b"], "exp": 2051882755}),
], ids=["method", "path", "params-title-cased", "no-params", "headers-as-lists", "query-grouped", "no-query", "now",
        "jwt-claims"])
def test_request_variables(name, request_changes, expected):
    activation = request_activation(make_request(**request_changes), frozenset({name}), NOW)
    assert activation == {name: expected}


def test_only_named_variables_are_built_and_jwt_needs_claims():
    assert request_activation(make_request(), frozenset({"req_path", "resp_data", "x"}), NOW) == {"req_path": "/cel/6"}
    assert request_activation(make_request(claims=None), frozenset({"JWT"}), NOW) == {}


HEADERS = (("Set-Cookie", "a"), ("Set-Cookie", "b"), ("X-A", "1"))


@pytest.mark.parametrize("name, response, expected", [
    ("resp_completed", ProxyResponse({"a": 1}, True), True),
    ("resp_completed", ProxyResponse({"a": 1}, False), False),
    ("resp_metadata_status", ProxyResponse({}, True, status=201), 201),
    ("resp_metadata_headers", ProxyResponse({}, True, headers=HEADERS),
     {"Set-Cookie": ["a", "b"], "X-A": ["1"]}),
    ("resp_data", ProxyResponse(loads(b'{"f": 1.50, "i": 3, "big": 123456789012345678901, "l": [1.0, {"n": null}]}'),
                                True),
     {"f": 1.5, "i": 3, "big": 123456789012345678901.0, "l": [1.0, {"n": None}]}),
], ids=["completed", "incomplete", "status", "headers-grouped", "data-numbers"])
def test_response_variables(name, response, expected):
    assert response_activation(response, frozenset({name})) == {name: expected}


@pytest.mark.parametrize("value, expected", [
    ({"a": (1, 2)}, {"a": [1, 2]}),
    ([RawNumber("-0"), RawNumber("2e3")], [-0.0, 2000.0]),
    ({1: "x"}, {"1": "x"}),
    ("text", "text"),
], ids=["tuple", "raw-numbers", "int-key", "scalar"])
def test_plain(value, expected):
    assert plain(value) == expected


def test_now_is_rfc3339_utc():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", now_text())


# --- compiling: stages and errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("source, stage", [
    ("int(req_params.Id) % 3 == 0", REQUEST),
    ("'something' in req_headers['X-Header']", REQUEST),
    ("resp_metadata_status == 200", RESPONSE),
    ("has(resp_data.id) && req_method == 'GET'", RESPONSE),
    ("size(JWT.roles) > 1", TOKEN),
    ("timestamp(now) < timestamp(string(JWT.exp))", TOKEN),
    ("JWT.sub == req_params.User", REQUEST),
    ("true", REQUEST),
    ("'resp_data' == 'request'", REQUEST),
    ("[1, 2].all(x, x > 0) && resp_completed", RESPONSE),
], ids=["params", "headers", "status", "response-with-request", "jwt-only", "jwt-and-now", "jwt-and-request",
        "no-variable", "words-in-strings", "macro"])
def test_stage_comes_from_the_variables_named(source, stage):
    assert check(source).stage == stage


@pytest.mark.parametrize("raw, path, message", [
    ({"check_expr": "true"}, PATH, "expected a non-empty list"),
    ([], PATH, "expected a non-empty list"),
    (["true"], f"{PATH}[0]", "expected an object"),
    ([{"check_expr": "true"}, {}], f"{PATH}[1].check_expr", "expected a CEL expression, got None"),
    ([{"check_expr": "  "}], f"{PATH}[0].check_expr", "expected a CEL expression"),
    ([{"check_expr": 3}], f"{PATH}[0].check_expr", "expected a CEL expression, got 3"),
    ([{"check_expr": "true"}, {"check_expr": "int(req_params.Id) %"}], f"{PATH}[1].check_expr", "Syntax error"),
    ([{"check_expr": "req_header['X'] == 'a'"}], f"{PATH}[0].check_expr", "unknown variable req_header"),
    ([{"check_expr": "resp_body.a == 1"}], f"{PATH}[0].check_expr", "unknown variable resp_body"),
], ids=["not-a-list", "empty", "not-an-object", "no-check-expr", "blank", "not-a-string", "syntax", "typo-req",
        "typo-resp"])
def test_parse_errors_name_the_expression(raw, path, message):
    with pytest.raises(ConfigError) as caught:
        parse(raw, PATH)
    assert caught.value.path == path
    assert message in caught.value.message


def test_parse_keeps_order_and_paths():
    settings = parse([{"check_expr": "resp_completed"}, {"check_expr": "req_method == 'GET'"}], PATH)
    assert [(c.index, c.path, c.stage) for c in settings.checks] == [
        (0, f"{PATH}[0].check_expr", RESPONSE), (1, f"{PATH}[1].check_expr", REQUEST)]
    assert settings.stage(REQUEST) == (settings.checks[1],)


# --- evaluation outcomes --------------------------------------------------------------------------------------

ACTIVATION = {"req_params": {"Id": "6", "Name": "ann"}, "req_headers": {"X-Header": ["something"]},
              "req_path": "/cel/6", "now": NOW, "JWT": {"roles": ["a", "b"]},
              "resp_data": {"items": [1, 2, 3], "a": {"b": 1.5}}, "resp_metadata_status": 200}


@pytest.mark.parametrize("source, passes", [
    ("int(req_params.Id) % 3 == 0", True),
    ("int(req_params.Id) % 5 == 0", False),
    ("'something' in req_headers['X-Header']", True),
    ("'X-Header' in req_headers", True),
    ("has(resp_data.a) && !has(resp_data.zz)", True),
    ("resp_data.items.all(x, x > 0) && resp_data.items.exists(x, x == 2)", True),
    ("resp_data.items.map(x, x * 2) == [2, 4, 6] && resp_data.items.filter(x, x > 1).size() == 2", True),
    ("req_path.startsWith('/cel') && req_path.endsWith('6') && req_path.contains('el/')", True),
    ("req_path.matches('^/cel/[0-9]+$')", True),
    ("timestamp(now) - timestamp('2026-04-30T10:00:00Z') == duration('24h')", True),
    ("size(JWT.roles) > 1 && resp_data.a.b > 1", True),
    ("int(req_params.Name) > 0", False),
    ("req_headers['Missing'][0] == 'x'", False),
    ("resp_data.nope == 1", False),
    ("undeclared == 1", False),
    ("req_params.Id", False),
    ("1 / (resp_metadata_status - 200) == 1", False),
    ("'a'.matches('(')", False),
], ids=["modulo", "modulo-false", "in-list", "in-map", "has", "all-exists", "map-filter", "string-functions",
        "matches", "timestamp-duration", "jwt-and-double", "int-of-text", "missing-header", "missing-data-key",
        "undeclared", "not-a-bool", "division-by-zero", "bad-regex"])
def test_evaluation_outcomes(source, passes):
    assert first_failure([check(source)], dict(ACTIVATION), "[test]") == (None if passes else 0)


def test_first_failure_counts_within_the_list():
    checks = [check("true", 4), check("req_path == '/cel/6'", 7), check("false", 9), check("int('x') == 1", 10)]
    assert first_failure(checks, dict(ACTIVATION), "[test]") == 2
    assert first_failure(checks[:2], dict(ACTIVATION), "[test]") is None


def test_one_program_serves_many_threads():
    program = check("int(req_params.Id) % 3 == 0")
    wrong: list[int] = []

    def worker() -> None:
        for i in range(300):
            failed = first_failure([program], {"req_params": {"Id": str(i)}}, "[test]")
            if (failed is None) != (i % 3 == 0):
                wrong.append(i)
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


# --- the layer ------------------------------------------------------------------------------------------------

def test_layer_runs_request_checks_before_and_response_checks_after():
    calls: list[ProxyRequest] = []

    def inner(request: ProxyRequest) -> ProxyResponse:
        calls.append(request)
        return ProxyResponse({"id": int(request.params["id"])}, True)
    settings = parse([{"check_expr": "int(req_params.Id) % 2 == 0"}, {"check_expr": "req_method == 'POST'"},
                      {"check_expr": "resp_data.id == int(req_params.Id) && resp_data.id < 10"}], PATH)
    proxy = build_layer(settings.stage(REQUEST), settings.stage(RESPONSE), "[test]")(inner)
    assert proxy(make_request()).data == {"id": 6}
    with pytest.raises(EvaluatorRejected) as pre:
        proxy(make_request(method="GET"))
    assert (str(pre.value), pre.value.detail) == ("request aborted by evaluator #1", f"{PATH}[1].check_expr")
    assert len(calls) == 1  # the backend is not called when a request check fails
    with pytest.raises(EvaluatorRejected) as post:
        proxy(make_request(params={"id": "12"}))
    assert str(post.value) == "request aborted by evaluator #0"
    assert len(calls) == 2


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("stage", ["pre", "post"])
def test_data_nested_too_deeply_fails_the_checks_closed(stage):
    """Converting the variables recurses: past Python's limit the check fails (it used to raise RecursionError)."""
    deep = nested(5000)
    if stage == "pre":
        checks, request, data = [check("has(JWT.a)")], make_request(claims=deep), {}
    else:
        checks, request, data = [check("has(resp_data.a)")], make_request(), deep
    layer = build_layer(checks if stage == "pre" else [], checks if stage == "post" else [], "[test]")
    with pytest.raises(EvaluatorRejected) as caught:
        layer(lambda request: ProxyResponse(data, True))(request)
    assert str(caught.value) == "request aborted by evaluator #0"
