"""Backend ``encoding: "xml"`` and the output encodings xml, yaml, negotiate and json-collection, over HTTP."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Iterator

import pytest

from tests.backends import QuietServer

USER = (b'<?xml version="1.0" encoding="UTF-8"?>\n<user type="admin">\n  <name>Elliot</name>\n'
        b"  <social>\n    <facebook>https://facebook.com</facebook>\n    <twitter>https://twitter.com</twitter>\n"
        b"  </social>\n</user>\n")
USER_JSON = {"user": {"-type": "admin", "name": "Elliot",
                      "social": {"facebook": "https://facebook.com", "twitter": "https://twitter.com"}}}
USER_XML = ('<user type="admin"><name>Elliot</name><social><facebook>https://facebook.com</facebook>'
            "<twitter>https://twitter.com</twitter></social></user>")
USER_YAML = ("user:\n    -type: admin\n    name: Elliot\n    social:\n        facebook: https://facebook.com\n"
             "        twitter: https://twitter.com\n")
PEOPLE = b'<people><person id="1"><name>Alice</name></person><person id="2"><name>Bob</name></person></people>'
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY e0 "lol">'
          + b"".join(b'<!ENTITY e%d "%s">' % (i, b"&e%d;" % (i - 1) * 10) for i in range(1, 10))
          + b"]><l>&e9;</l>")
MIXED = b'{"s": "<a href=\'x\'>&</a>", "n": null, "f": 1.50, "big": 12345678901234567890123, "t": true, "l": [1, [2]]}'
MIXED_XML = ("<doc><big>12345678901234567890123</big><f>1.50</f><l>1</l><l>2</l><n/>"
             "<s>&lt;a href=&apos;x&apos;&gt;&amp;&lt;/a&gt;</s><t>true</t></doc>")
MIXED_YAML = ("big: 12345678901234567890123\nf: 1.50\nl:\n    - 1\n    - - 2\n\"n\": null\n"
              "s: <a href='x'>&</a>\nt: true\n")


class XMLBackend:
    """A loopback server answering ``/<name>`` with a registered document and ``application/xml``."""

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.paths: list[str] = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                backend.paths.append(self.path)
                body = backend.documents.get(self.path.strip("/"))
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: Any) -> None:
                pass
        self.server = QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, name: str, body: bytes) -> str:
        self.documents[name] = body
        return f"/{name}"


@pytest.fixture
def xml_backend() -> Iterator[XMLBackend]:
    server = XMLBackend()
    yield server
    server.server.shutdown()
    server.server.server_close()


def endpoint(output: str, *backends: dict[str, Any], **keys: Any) -> dict[str, Any]:
    return {"extra_config": {"router": {"return_error_msg": True}}, "cache_ttl": "1h",
            "endpoints": [{"endpoint": "/e", "output_encoding": output, "backend": list(backends), **keys}]}


def xml_source(xml_backend: XMLBackend, name: str, body: bytes, **keys: Any) -> dict[str, Any]:
    return {"host": [xml_backend.url], "url_pattern": xml_backend.serve(name, body), "encoding": "xml", **keys}


def test_xml_backend_decoded_for_json_clients(gateway, xml_backend):
    response = gateway(endpoint("json", xml_source(xml_backend, "user", USER))).get("/e")
    assert (response.status_code, response.json()) == (200, USER_JSON)
    assert response.headers["X-Krakend-Completed"] == "true"


@pytest.mark.parametrize("output, content_type, body", [
    ("xml", "application/xml", USER_XML),
    ("yaml", "application/x-yaml; charset=utf-8", USER_YAML),
    ("json", "application/json; charset=utf-8",
     '{"user":{"-type":"admin","name":"Elliot","social":{"facebook":"https://facebook.com",'
     '"twitter":"https://twitter.com"}}}'),
], ids=["xml", "yaml", "json"])
def test_xml_backend_in_each_output_encoding(gateway, xml_backend, output, content_type, body):
    response = gateway(endpoint(output, xml_source(xml_backend, "user", USER))).get("/e")
    assert (response.status_code, response.headers["Content-Type"], response.text) == (200, content_type, body)
    assert response.headers["X-Krakend-Completed"] == "true"
    assert response.headers["Cache-Control"] == "public, max-age=3600"


@pytest.mark.parametrize("output, content_type, body", [
    ("xml", "application/xml", MIXED_XML),
    ("yaml", "application/x-yaml; charset=utf-8", MIXED_YAML),
], ids=["xml", "yaml"])
def test_json_backend_rendered_with_literals_and_escapes(gateway, backend, output, content_type, body):
    source = {"host": [backend.url], "url_pattern": backend.json("mixed", MIXED)}
    response = gateway(endpoint(output, source)).get("/e")
    assert (response.headers["Content-Type"], response.text) == (content_type, body)


@pytest.mark.parametrize("output, body", [
    ("yaml", "\ufffdk: v\ufffd\n"),
    ("xml", "<_k>v\ufffd</_k>"),
], ids=["yaml", "xml"])
def test_lone_surrogate_escapes_from_a_json_backend_are_rendered_not_a_500(gateway, backend, output, body):
    source = {"host": [backend.url], "url_pattern": backend.json("surrogates", b'{"\\udc00k": "v\\ud800"}')}
    response = gateway(endpoint(output, source)).get("/e")
    assert (response.status_code, response.content.decode()) == (200, body)


@pytest.mark.parametrize("accept, content_type, body", [
    (None, "application/json; charset=utf-8", None),
    ("application/json; charset=utf-8", "application/json; charset=utf-8", None),
    ("text/plain", "application/x-yaml; charset=utf-8", USER_YAML),
    ("application/xml", "application/xml", USER_XML),
    ("text/html,application/xml;q=0.9,*/*;q=0.8", "application/xml", USER_XML),
    ("text/plain;q=0.1, application/json", "application/x-yaml; charset=utf-8", USER_YAML),
    ("application/x-yaml", "application/x-yaml; charset=utf-8", USER_YAML),
    ("*/*", "application/json; charset=utf-8", None),
    ("image/png", "application/json; charset=utf-8", None),
], ids=["no-accept", "json", "text-plain-yaml", "xml", "browser-xml", "order-not-q", "yaml-mime", "any", "unknown"])
def test_negotiate_by_accept(gateway, xml_backend, accept, content_type, body):
    gw = gateway(endpoint("negotiate", xml_source(xml_backend, "user", USER)))
    # requests adds "Accept: */*" unless told otherwise; None removes the header entirely
    response = gw.get("/e", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Vary"] == "Accept"
    if body is None:
        assert response.json() == USER_JSON
    else:
        assert response.text == body


def test_xml_is_collection_wraps_the_document(gateway, xml_backend):
    gw = gateway(endpoint("json", xml_source(xml_backend, "people", PEOPLE, is_collection=True)))
    assert gw.get("/e").json() == {"collection": {"people": {"person": [
        {"-id": "1", "name": "Alice"}, {"-id": "2", "name": "Bob"}]}}}


def test_xml_is_collection_with_json_collection_output_renders_the_object(gateway, xml_backend):
    """lura's json-collection renders whatever is under "collection", here the XML map."""
    gw = gateway(endpoint("json-collection", xml_source(xml_backend, "people", PEOPLE, is_collection=True)))
    response = gw.get("/e")
    assert response.json() == {"people": {"person": [{"-id": "1", "name": "Alice"}, {"-id": "2", "name": "Bob"}]}}


def test_xml_is_collection_round_trips_to_xml(gateway, xml_backend):
    gw = gateway(endpoint("xml", xml_source(xml_backend, "people", PEOPLE, is_collection=True)))
    assert gw.get("/e").text == ('<collection><people><person id="1"><name>Alice</name></person>'
                                 '<person id="2"><name>Bob</name></person></people></collection>')


def test_json_array_collection_in_xml_and_json_collection(gateway, backend):
    source = {"host": [backend.url], "url_pattern": "/array", "is_collection": True}
    assert gateway(endpoint("xml", source)).get("/e").text == \
        "<doc><collection><i>0</i></collection><collection><i>1</i></collection></doc>"
    assert gateway(endpoint("json-collection", source)).get("/e").text == '[{"i":0},{"i":1}]'


def test_group_of_xml_and_json_backends(gateway, backend, xml_backend):
    gw = gateway(endpoint("xml", xml_source(xml_backend, "user", USER, group="x"),
                          {"host": [backend.url], "url_pattern": "/scalar", "encoding": "safejson", "group": "j"}))
    response = gw.get("/e")
    assert response.text == f"<doc><j><content>42</content></j><x>{USER_XML}</x></doc>"


ENCODINGS = ["json", "xml", "yaml", "negotiate", "json-collection"]


@pytest.mark.parametrize("output", ENCODINGS)
def test_failed_backend_answers_the_same_under_every_encoding(gateway, backend, output):
    gw = gateway(endpoint(output, {"host": [backend.url], "url_pattern": "/status/500"}))
    response = gw.get("/e", headers={"Accept": "application/xml"})
    assert (response.status_code, response.text) == (500, "invalid status code")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["X-Krakend-Completed"] == "false"
    assert "Cache-Control" not in response.headers


@pytest.mark.parametrize("output", ENCODINGS)
def test_return_error_code_under_every_encoding(gateway, backend, output):
    source = {"host": [backend.url], "url_pattern": "/status/404",
              "extra_config": {"backend/http": {"return_error_code": True}}}
    response = gateway(endpoint(output, source)).get("/e", headers={"Accept": "text/plain"})
    assert (response.status_code, response.text) == (404, "404 page not found\n")


@pytest.mark.parametrize("output, body", [
    ("xml", "<ok>1</ok>"),
    ("yaml", "ok: 1\n"),
], ids=["xml", "yaml"])
def test_partial_answer_rendered_incomplete(gateway, backend, output, body):
    gw = gateway(endpoint(output, {"host": [backend.url], "url_pattern": backend.json("ok", {"ok": 1})},
                          {"host": [backend.url], "url_pattern": "/status/500"}))
    response = gw.get("/e")
    assert (response.status_code, response.text) == (200, body)
    assert response.headers["X-Krakend-Completed"] == "false"
    assert "Cache-Control" not in response.headers


@pytest.mark.parametrize("name, body", [
    ("garbage", b"<user><name>x</user>"),
    ("json", b'{"a": 1}'),
    ("empty", b""),
    ("laughs", LAUGHS),
    ("xxe", b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>'),
    ("deep", b"<a>" * 2_000_000),
], ids=["malformed", "not-xml", "empty", "billion-laughs", "external-entity", "too-deep"])
def test_bad_xml_fails_the_backend(gateway, xml_backend, name, body):
    gw = gateway(endpoint("json", xml_source(xml_backend, name, body)))
    started = time.monotonic()
    response = gw.get("/e")
    assert (response.status_code, response.text) == (500, "invalid backend response")
    assert time.monotonic() - started < 5


def test_external_dtd_and_parameter_entities_are_never_fetched(gateway, xml_backend):
    dtd = f"{xml_backend.url}/dtd"
    xml_backend.serve("dtd", b'<!ENTITY leak "secret">')
    gw = gateway(endpoint("json", xml_source(xml_backend, "ext", f'<!DOCTYPE a SYSTEM "{dtd}"><a>1</a>'.encode()),
                          xml_source(xml_backend, "param", f'<!DOCTYPE a [<!ENTITY % p SYSTEM "{dtd}"> %p;]><a/>'
                                     .encode(), group="p")))
    response = gw.get("/e")
    assert response.json() == {"a": "1"}  # the DTD is ignored; the parameter entity fails its backend
    assert response.headers["X-Krakend-Completed"] == "false"
    assert "/dtd" not in xml_backend.paths


def test_only_rss_is_reported_as_not_implemented():
    from app.config.build import build_service
    from app.wiring import service_warnings
    service = build_service({"version": 3, "endpoints": [
        {"endpoint": f"/{out}", "output_encoding": out,
         "backend": [{"host": ["http://127.0.0.1:8081"], "url_pattern": "/x", "encoding": enc}]}
        for out, enc in [("xml", "xml"), ("yaml", "rss"), ("negotiate", "json"), ("json-collection", "safejson")]]})
    warnings = [w for w in service_warnings(service) if "not implemented" in w]
    assert len(warnings) == 1 and "'rss' is not implemented" in warnings[0]
