"""validation/json-schema on a live gateway: refused bodies never reach the backend, valid ones do."""
from __future__ import annotations

import json

import pytest

from app import create_app
from app.config.build import build_service
from app.errors import ConfigErrors
from app.settings import Settings

SCHEMA = {"type": "object", "required": ["number", "street_name"],
          "properties": {"number": {"type": "number"}, "street_name": {"type": "string"}}}


def config(backend_url, return_error_msg, schema=None):
    return {"extra_config": {"router": {"return_error_msg": return_error_msg}}, "endpoints": [{
        "endpoint": "/address", "method": "POST",
        "extra_config": {"validation/json-schema": schema or SCHEMA},
        "backend": [{"host": [backend_url], "url_pattern": "/echo/address"}]}]}


@pytest.mark.parametrize("return_error_msg", [True, False], ids=["error-msg", "no-error-msg"])
@pytest.mark.parametrize("body, message", [
    (b'{"number": "12"}', "- (root): street_name is required\n"
                          "- number: Invalid type. Expected: number, given: string"),
    (b"[]", "- (root): Invalid type. Expected: object, given: array"),
    (b"", "could not validate an empty body"),
    (b"{not json", "could not validate a malformed body"),
], ids=["schema", "type", "empty", "malformed"])
def test_refused_bodies_get_400_and_never_reach_the_backend(gateway, backend, return_error_msg, body, message):
    gw = gateway(config(backend.url, return_error_msg))
    response = gw.request("POST", "/address", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.headers["X-Krakend-Completed"] == "false"
    if return_error_msg:
        assert response.text == message
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    else:
        assert response.content == b""
    assert backend.hits["echo"] == 0


def test_valid_body_is_forwarded_unchanged(gateway, backend):
    gw = gateway(config(backend.url, True))
    body = b'{"street_name": "Main",  "number": 1.50}'
    response = gw.request("POST", "/address", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json()["body"] == body.decode()
    assert backend.hits["echo"] == 1 and backend.last().body == body


def test_chunked_body_is_validated(gateway, backend):
    gw = gateway(config(backend.url, True))
    response = gw.request("POST", "/address", data=iter([b'{"number": 1,', b' "street_name": 2}']))
    assert response.status_code == 400
    assert response.text == "- street_name: Invalid type. Expected: string, given: integer"
    assert backend.hits["echo"] == 0


def test_bad_schema_stops_start_up_with_its_path(backend):
    raw = {"version": 3, **config(backend.url, True, {"properties": {"n": {"type": "numbr"}}})}
    with pytest.raises(ConfigErrors) as caught:
        create_app(Settings(), build_service(raw))
    assert "endpoints[0].extra_config.validation/json-schema.properties.n.type" in str(caught.value)
    assert backend.requests == []


def test_remote_ref_stops_start_up_and_is_never_fetched(backend):
    remote = backend.url + backend.json("schema", {"type": "string"})
    raw = {"version": 3, **config(backend.url, True, {"properties": {"n": {"$ref": remote}}})}
    with pytest.raises(ConfigErrors) as caught:
        create_app(Settings(), build_service(raw))
    assert "validation/json-schema.properties.n.$ref" in str(caught.value)
    assert backend.requests == []


def test_large_error_lists_stay_bounded(gateway, backend):
    gw = gateway(config(backend.url, True, {"type": "array", "items": {"type": "string"}}))
    response = gw.request("POST", "/address", data=json.dumps(list(range(5000))))
    assert response.status_code == 400
    assert len(response.text.split("\n")) == 101
    assert backend.hits["echo"] == 0


HOSTILE = {"type": "object", "properties": {
    "name": {"type": "string", "pattern": "^[a-z]+$"}, "re": {"format": "regex"}, "price": {"multipleOf": 0.01},
    "tags": {"uniqueItems": True}, "letters": {"pattern": "^\\p{L}+$"}}}


@pytest.mark.parametrize("body, status, text", [
    (b'{"name": "\\ud800"}', 400, "- name: Does not match pattern '^[a-z]+$'"),
    (b'{"re": "a{4294967296}x{1001}"}', 400, "- re: Does not match format 'regex'"),
    (b'{"price": 1e400}', 400, "could not validate a malformed body"),
    (b'{"price": 19.99, "letters": "\xc3\x89lan"}', 200, None),
    (b'{"tags": [{"a": 1}, {"a": 1.0}]}', 400, "- tags: array items[0,1] must be unique"),
], ids=["lone-surrogate", "regex-overflow", "number-overflow", "exact-decimals", "unique-items"])
def test_hostile_bodies_get_an_answer_not_a_500(gateway, backend, body, status, text):
    """Each of these bodies used to raise inside the jsonschema library (a 500) or to be judged unlike KrakenD."""
    gw = gateway(config(backend.url, True, HOSTILE))
    response = gw.request("POST", "/address", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    if text is None:
        assert backend.last().body == body
    else:
        assert response.text == text
        assert backend.hits["echo"] == 0
