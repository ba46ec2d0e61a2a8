"""validation/cel against real backends: endpoint and backend checks, JWT claims, failing closed, ``propylon check``."""
from __future__ import annotations

import base64
import io
import time

import pytest
from jose import jwt

from app.cli import main
from tests.conftest import write_config

SECRET = b"0123456789abcdef0123456789abcdef"
JWKS = {"keys": [{"kty": "oct", "kid": "k1", "alg": "HS256",
                  "k": base64.urlsafe_b64encode(SECRET).rstrip(b"=").decode()}]}
ROUTER = {"router": {"return_error_msg": True}}


def cel(*expressions):
    return {"validation/cel": [{"check_expr": e} for e in expressions]}


def service(*endpoints):
    return {"extra_config": ROUTER, "endpoints": list(endpoints)}


def token(**claims):
    """An HS256 token; a claim given as None is left out."""
    base = {"sub": "ann", "iss": "https://idp", "exp": int(time.time()) + 300, "roles": ["reader"], **claims}
    payload = {k: v for k, v in base.items() if v is not None}
    return jwt.encode(payload, SECRET, algorithm="HS256", headers={"kid": "k1"})


def echo_calls(backend):
    return [r for r in backend.requests if r.path.startswith("/echo")]


@pytest.fixture
def pre_post(gateway, backend):
    document = backend.json("item", {"id": 7, "tags": ["a", "b"], "price": 9.5})
    return gateway(service({
        "endpoint": "/items/{id}", "input_headers": ["X-Tenant"],
        "extra_config": cel("'acme' in req_headers['X-Tenant']", "int(req_params.Id) == 7",
                            "resp_data.id == int(req_params.Id) && 'a' in resp_data.tags",
                            "resp_data.price < 10.0 && resp_completed"),
        "backend": [{"host": [backend.url], "url_pattern": document}]}))


@pytest.mark.parametrize("path, headers, status, body", [
    ("/items/7", {"X-Tenant": "acme"}, 200, None),
    ("/items/7", {}, 500, "request aborted by evaluator #0"),
    ("/items/7", {"X-Tenant": "other"}, 500, "request aborted by evaluator #0"),
    ("/items/8", {"X-Tenant": "acme"}, 500, "request aborted by evaluator #1"),
    ("/items/seven", {"X-Tenant": "acme"}, 500, "request aborted by evaluator #1"),
], ids=["passes", "missing-header", "wrong-header", "wrong-param", "int-of-text"])
def test_endpoint_request_checks_run_before_any_backend_call(pre_post, backend, path, headers, status, body):
    response = pre_post.get(path, headers=headers)
    assert response.status_code == status
    if body is None:
        assert response.json() == {"id": 7, "tags": ["a", "b"], "price": 9.5}
        assert backend.hits["json"] == 1
    else:
        assert response.text == body
        assert response.headers["X-Krakend-Completed"] == "false"
        assert backend.hits["json"] == 0


def test_endpoint_response_check_refuses_the_answer(gateway, backend):
    document = backend.json("item", {"id": 7, "price": 12})
    gw = gateway(service({
        "endpoint": "/items/{id}",
        "extra_config": cel("req_method == 'GET'", "has(resp_data.id)", "resp_data.price < 10"),
        "backend": [{"host": [backend.url], "url_pattern": document}]}))
    response = gw.get("/items/7")
    assert (response.status_code, response.text) == (500, "request aborted by evaluator #1")
    assert backend.hits["json"] == 1  # the response checks ran on what the backend answered


@pytest.mark.parametrize("path, expected, completed", [
    ("/multi/6", {"three": "/echo/three/6"}, "false"),
    ("/multi/10", {"five": "/echo/five/10"}, "false"),
    ("/multi/30", {"three": "/echo/three/30", "five": "/echo/five/30"}, "true"),
], ids=["only-first", "only-second", "both"])
def test_failing_backend_check_drops_that_backend(gateway, backend, path, expected, completed):
    gw = gateway(service({
        "endpoint": "/multi/{id}",
        "backend": [
            {"host": [backend.url], "url_pattern": "/echo/three/{id}", "group": "three", "allow": ["path"],
             "extra_config": cel("int(req_params.Id) % 3 == 0", "req_path.startsWith('/echo/three/')")},
            {"host": [backend.url], "url_pattern": "/echo/five/{id}", "group": "five", "allow": ["path"],
             "extra_config": cel("int(req_params.Id) % 5 == 0")}]}))
    response = gw.get(path)
    assert response.status_code == 200
    assert {k: v["path"] for k, v in response.json().items()} == expected
    assert response.headers["X-Krakend-Completed"] == completed
    assert sorted(r.path.split("/")[2] for r in echo_calls(backend)) == sorted(expected)


def test_backend_response_check_drops_the_branch_and_single_backend_answers_500(gateway, backend):
    """Backend response checks see the shaped answer (here after ``group``), as in KrakenD."""
    good = backend.json("good", {"ok": True})
    bad = backend.json("bad", {"ok": False})
    gw = gateway(service(
        {"endpoint": "/merged", "backend": [
            {"host": [backend.url], "url_pattern": good, "group": "good",
             "extra_config": cel("resp_data.good.ok && resp_metadata_status == 200")},
            {"host": [backend.url], "url_pattern": bad, "group": "bad", "extra_config": cel("resp_data.bad.ok")}]},
        {"endpoint": "/single", "backend": [
            {"host": [backend.url], "url_pattern": bad, "extra_config": cel("true", "resp_data.ok")}]}))
    merged = gw.get("/merged")
    assert (merged.status_code, merged.json(), merged.headers["X-Krakend-Completed"]) == (
        200, {"good": {"ok": True}}, "false")
    single = gw.get("/single")
    assert (single.status_code, single.text) == (500, "request aborted by evaluator #0")


@pytest.fixture
def with_jwt(gateway, backend):
    validator = {"alg": "HS256", "jwk_url": backend.url + backend.json("jwks", JWKS), "disable_jwk_security": True,
                 "cache": True, "issuer": "https://idp"}
    return gateway(service({
        "endpoint": "/users/{user}",
        "extra_config": {"auth/validator": validator,
                         **cel("'reader' in JWT.roles", "JWT.sub == req_params.User")},
        "backend": [{"host": [backend.url], "url_pattern": "/echo/users/{user}"}]}))


@pytest.mark.parametrize("claims, path, status, body", [
    ({}, "/users/ann", 200, None),
    ({"roles": ["writer"]}, "/users/ann", 401, ""),
    ({"roles": "reader"}, "/users/ann", 401, ""),
    ({"roles": None}, "/users/ann", 401, ""),
    ({}, "/users/bob", 500, "request aborted by evaluator #0"),
], ids=["passes", "missing-role", "roles-not-a-list", "no-roles", "other-user"])
def test_jwt_claims_in_expressions(with_jwt, backend, claims, path, status, body):
    response = with_jwt.get(path, headers={"Authorization": f"Bearer {token(**claims)}"})
    assert response.status_code == status
    if body is None:
        assert response.json()["path"] == "/echo/users/ann"
    else:
        assert response.text == body
        assert echo_calls(backend) == []
    if status == 401:  # KrakenD's JWT rejecter: no body, no gateway headers
        assert "X-Krakend" not in response.headers and "Content-Type" not in response.headers


def test_jwt_check_without_validator_refuses_every_request(gateway, backend):
    gw = gateway(service({"endpoint": "/open", "extra_config": cel("size(JWT.roles) > 0"),
                          "backend": [{"host": [backend.url], "url_pattern": "/echo/open"}]}))
    assert gw.get("/open", headers={"Authorization": f"Bearer {token()}"}).status_code == 401
    assert echo_calls(backend) == []


def test_bad_expression_at_run_time_fails_closed(gateway, backend):
    gw = gateway(service(
        {"endpoint": "/broken", "extra_config": cel("req_method == 'GET'", "req_params.Id ==="),
         "backend": [{"host": [backend.url], "url_pattern": "/echo/broken"}]},
        {"endpoint": "/broken-backend", "backend": [
            {"host": [backend.url], "url_pattern": "/echo/broken", "extra_config": cel("resp_dta.x")}]},
        {"endpoint": "/fine", "backend": [{"host": [backend.url], "url_pattern": "/echo/fine"}]}))
    assert gw.get("/broken").status_code == 500
    assert gw.get("/broken-backend").status_code == 500
    assert echo_calls(backend) == []
    assert gw.get("/fine").status_code == 200


def run_check(path):
    out = io.StringIO()
    return main(["check", "-c", str(path)], out), out.getvalue()


def test_check_reports_bad_expressions_with_their_json_path(tmp_path):
    config = write_config(tmp_path, {"endpoints": [
        {"endpoint": "/a/{id}", "extra_config": cel("int(req_params.Id) > 0"),
         "backend": [{"host": ["http://x:80"], "url_pattern": "/a"}]},
        {"endpoint": "/b/{id}", "extra_config": cel("true", "int(req_params.Id) %"),
         "backend": [{"host": ["http://x:80"], "url_pattern": "/b"}]},
    ]})
    code, out = run_check(config)
    assert code == 1
    assert "endpoints[1].extra_config.validation/cel[1].check_expr: " in out
    assert "Syntax error" in out
    assert "endpoints[0]" not in out


@pytest.mark.parametrize("endpoint, where, message", [
    ({"endpoint": "/c", "backend": [{"host": ["http://x:80"], "url_pattern": "/c",
                                     "extra_config": cel("resp_data.ok", "req_header['A'] == 'b'")}]},
     "endpoints[0].backend[0].extra_config.validation/cel[1].check_expr", "unknown variable req_header"),
    ({"endpoint": "/d", "extra_config": cel("'admin' in JWT.roles"),
      "backend": [{"host": ["http://x:80"], "url_pattern": "/d"}]},
     "endpoints[0].extra_config.validation/cel[0].check_expr", "has no auth/validator"),
    ({"endpoint": "/e", "extra_config": {"validation/cel": {"check_expr": "true"}},
      "backend": [{"host": ["http://x:80"], "url_pattern": "/e"}]},
     "endpoints[0].extra_config.validation/cel", "expected a non-empty list"),
], ids=["backend-typo", "jwt-without-validator", "not-a-list"])
def test_check_reports_unusable_checks(tmp_path, endpoint, where, message):
    code, out = run_check(write_config(tmp_path, {"endpoints": [endpoint]}))
    assert code == 1
    assert f"{where}: " in out and message in out


def test_check_accepts_good_expressions(tmp_path):
    config = write_config(tmp_path, {"endpoints": [
        {"endpoint": "/a/{id}", "extra_config": cel("int(req_params.Id) > 0", "resp_completed"),
         "backend": [{"host": ["http://x:80"], "url_pattern": "/a",
                      "extra_config": cel("has(resp_data.a)", "req_method == 'GET'")}]}]})
    code, out = run_check(config)
    assert code == 0, out


def test_backend_data_nested_too_deeply_drops_only_that_backend(gateway, backend):
    document = {}
    for _ in range(700):  # decodes (the C decoder), but plain() needs two frames a level
        document = {"a": document}
    deep = backend.json("deep", document)
    gw = gateway(service({"endpoint": "/deep", "backend": [
        {"host": [backend.url], "url_pattern": deep, "group": "deep",
         "extra_config": cel("has(resp_data.deep.a)")},
        {"host": [backend.url], "url_pattern": "/echo/ok", "group": "ok", "allow": ["path"]}]}))
    response = gw.get("/deep")
    assert (response.status_code, response.json(), response.headers["X-Krakend-Completed"]) == (
        200, {"ok": {"path": "/echo/ok"}}, "false")
