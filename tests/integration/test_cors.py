"""security/cors on a live gateway with real backends: preflights before routing, headers on actual answers."""
from __future__ import annotations

import pytest

from app import create_app
from app.config.build import build_service
from app.errors import ConfigErrors
from app.settings import Settings

ORIGIN = "https://app.example.com"
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
CORS = {"allow_origins": ["https://*.example.com"], "allow_methods": ["GET", "POST"],
        "allow_headers": ["Authorization", "Content-Type"], "expose_headers": ["x-total", "Content-Length"],
        "max_age": "1h"}


def config(backend, cors=None, endpoint_extra=None, **service):
    endpoint = {"endpoint": "/items", "backend": [{"host": [backend.url], "url_pattern": "/echo/items"}],
                **(endpoint_extra or {})}
    return {"extra_config": {"security/cors": CORS if cors is None else cors}, "endpoints": [endpoint], **service}


def preflight(gw, path="/items", method="POST", headers="authorization,content-type", origin=ORIGIN):
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return gw.request("OPTIONS", path, headers=sent)


def cors_headers(response):
    """The CORS-related headers of an answer, each name with every field line it had."""
    raw = response.raw.headers
    return {name: raw.getlist(name) for name in {n.title() for n in raw.keys()}
            if name.startswith("Access-Control-") or name == "Vary"}


def test_allowed_preflight_is_answered_before_routing(gateway, backend):
    gw = gateway(config(backend))
    response = preflight(gw)
    assert response.status_code == 204
    assert response.content == b""
    assert "Content-Type" not in response.headers and "X-Krakend" not in response.headers
    assert cors_headers(response) == {
        "Vary": [PREFLIGHT_VARY], "Access-Control-Allow-Origin": [ORIGIN], "Access-Control-Allow-Methods": ["POST"],
        "Access-Control-Allow-Headers": ["authorization,content-type"], "Access-Control-Max-Age": ["3600"]}
    assert backend.requests == []


@pytest.mark.parametrize("path", ["/items", "/no/such/path", "/__health"])
@pytest.mark.parametrize("kind, overrides", [
    ("origin", {"origin": "https://example.org"}),
    ("method", {"method": "DELETE"}),
    ("header", {"headers": "x-pingother"}),
    ("unsorted headers", {"headers": "content-type,authorization"}),
])
def test_disallowed_preflight_is_204_without_cors_headers(gateway, backend, path, kind, overrides):
    gw = gateway(config(backend))
    response = preflight(gw, path, **overrides)
    assert (response.status_code, response.content) == (204, b"")
    assert cors_headers(response) == {"Vary": [PREFLIGHT_VARY]}
    assert backend.requests == []


def test_actual_request_gets_the_headers_and_reaches_the_backend(gateway, backend):
    gw = gateway(config(backend))
    response = gw.get("/items", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.json()["path"] == "/echo/items"
    assert cors_headers(response) == {"Vary": ["Origin"], "Access-Control-Allow-Origin": [ORIGIN],
                                      "Access-Control-Expose-Headers": ["X-Total, Content-Length"]}
    assert backend.hits["echo"] == 1


@pytest.mark.parametrize("headers", [{"Origin": "https://example.org"}, {}], ids=["other-origin", "no-origin"])
def test_actual_request_from_elsewhere_only_varies(gateway, backend, headers):
    gw = gateway(config(backend))
    response = gw.get("/items", headers=headers)
    assert response.status_code == 200
    assert cors_headers(response) == {"Vary": ["Origin"]}


def test_unknown_paths_and_health_get_cors_headers_too(gateway, backend):
    gw = gateway(config(backend, cors={}))
    for path, status in (("/no/such/path", 404), ("/__health", 200)):
        response = gw.get(path, headers={"Origin": ORIGIN})
        assert response.status_code == status
        assert cors_headers(response) == {"Vary": ["Origin"], "Access-Control-Allow-Origin": ["*"]}


def test_vary_origin_once_even_when_a_noop_backend_sends_vary_and_cors_headers(gateway, backend):
    backend_headers = {"fifo.Group": {"scope": ["response"], "modifiers": [
        {"header.Modifier": {"scope": ["response"], "name": "Vary", "value": "Origin, Accept-Encoding"}},
        {"header.Modifier": {"scope": ["response"], "name": "Access-Control-Allow-Origin", "value": "*"}},
    ]}}
    gw = gateway(config(backend, endpoint_extra={"output_encoding": "no-op", "backend": [
        {"host": [backend.url], "url_pattern": "/echo/items", "encoding": "no-op",
         "extra_config": {"modifier/martian": backend_headers}}]}))
    response = gw.get("/items", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert cors_headers(response) == {"Vary": ["Origin", "Accept-Encoding"], "Access-Control-Allow-Origin": [ORIGIN],
                                      "Access-Control-Expose-Headers": ["X-Total, Content-Length"]}
    # The gateway's policy decides, not the backend: an origin it refuses gets no Allow-Origin at all.
    refused = gw.get("/items", headers={"Origin": "https://example.org"})
    assert cors_headers(refused) == {"Vary": ["Origin", "Accept-Encoding"]}


def test_credentials_echo_the_listed_origin(gateway, backend):
    cors = {"allow_origins": [ORIGIN], "allow_credentials": True, "allow_headers": ["Authorization"]}
    gw = gateway(config(backend, cors=cors))
    answer = preflight(gw, method="GET", headers="authorization")
    assert cors_headers(answer) == {
        "Vary": [PREFLIGHT_VARY], "Access-Control-Allow-Origin": [ORIGIN], "Access-Control-Allow-Methods": ["GET"],
        "Access-Control-Allow-Headers": ["authorization"], "Access-Control-Allow-Credentials": ["true"]}
    response = gw.get("/items", headers={"Origin": ORIGIN, "Cookie": "sid=1"})
    assert cors_headers(response) == {"Vary": ["Origin"], "Access-Control-Allow-Origin": [ORIGIN],
                                      "Access-Control-Allow-Credentials": ["true"]}
    other = gw.get("/items", headers={"Origin": "https://evil.example.org"})
    assert cors_headers(other) == {"Vary": ["Origin"]}


def test_options_passthrough_hands_the_preflight_to_the_router(gateway, backend):
    gw = gateway(config(backend, cors={**CORS, "options_passthrough": True}, echo_endpoint=True))
    echoed = preflight(gw, "/__echo/items")
    assert echoed.status_code == 200
    assert echoed.json()["req_method"] == "OPTIONS"
    assert echoed.json()["req_headers"]["Access-Control-Request-Method"] == ["POST"]
    assert cors_headers(echoed)["Access-Control-Allow-Origin"] == [ORIGIN]
    assert cors_headers(echoed)["Vary"] == [PREFLIGHT_VARY]
    # No endpoint takes OPTIONS (KrakenD registers none either): the router's own 405, CORS headers on it.
    routed = preflight(gw, "/items")
    assert routed.status_code == 405
    assert routed.headers["X-Krakend-Completed"] == "false"
    assert cors_headers(routed)["Access-Control-Allow-Methods"] == ["POST"]
    assert backend.requests == []


def test_options_success_status(gateway, backend):
    gw = gateway(config(backend, cors={**CORS, "options_success_status": 200}))
    response = preflight(gw)
    assert (response.status_code, response.content, response.headers["Content-Length"]) == (200, b"", "0")
    assert "Content-Type" not in response.headers


def test_a_broken_config_fails_closed_at_run_time_and_is_an_error_for_the_checker(gateway, backend):
    broken = config(backend, cors={"allow_origins": ["*"], "max_age": 3600})
    gw = gateway(broken)
    assert cors_headers(preflight(gw)) == {"Vary": [PREFLIGHT_VARY]}
    assert cors_headers(gw.get("/items", headers={"Origin": ORIGIN})) == {"Vary": ["Origin"]}
    with pytest.raises(ConfigErrors) as caught:
        create_app(Settings(), build_service({"version": 3, **broken}), strict=True)
    assert [e.path for e in caught.value.errors] == ["extra_config.security/cors.max_age"]


def test_check_warns_about_settings_that_cannot_work(gateway, backend):
    gw = gateway(config(backend, cors={"allow_credentials": True, "allow_methods": ["get", "POST"], "x": 1}))
    warnings = "\n".join(gw.app.config["PROPYLON_WARNINGS"])
    assert "extra_config.security/cors.allow_credentials: with allow_origins \"*\"" in warnings
    assert "extra_config.security/cors.allow_methods[0]: methods are compared case-sensitively" in warnings
    assert "extra_config.security/cors.x: unknown key" in warnings


@pytest.mark.parametrize("origin, warned", [
    ("https://*example.com", True), ("https://example.*", True), ("null", True),
    ("https://*.example.com", False), ("http://localhost:*", False), ("*", False), ("https://app.example.com", False),
])
def test_check_warns_about_origins_that_let_in_more_than_meant(gateway, backend, origin, warned):
    gw = gateway(config(backend, cors={"allow_origins": [origin]}))
    warnings = [w for w in gw.app.config["PROPYLON_WARNINGS"] if w.startswith("extra_config.security/cors")]
    assert bool(warnings) is warned, warnings
