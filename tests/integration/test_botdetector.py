"""security/bot-detector on a live gateway with real backends: 403 before any backend call."""
from __future__ import annotations

import http.client

import pytest
from urllib3.util import SKIP_HEADER

from app import create_app
from app.config.build import build_service
from app.errors import ConfigErrors
from app.settings import Settings

DETECTOR = {"deny": ["a", "b"], "allow": ["c", "Pingdom.com_bot_version_1.1"],
            "patterns": ["(Pingdom.com_bot_version_).*", "(facebookexternalhit)/.*"]}
NO_UA = {"User-Agent": SKIP_HEADER}  # no User-Agent line at all (urllib3 would add its own)


def endpoint(backend, path="/items", **extra):
    return {"endpoint": path, "backend": [{"host": [backend.url], "url_pattern": "/echo" + path}], **extra}


def service_level(backend, detector=None, **service):
    return {"extra_config": {"security/bot-detector": DETECTOR if detector is None else detector},
            "endpoints": [endpoint(backend)], **service}


def assert_refused(response):
    assert response.status_code == 403
    assert response.content == b""
    assert "Content-Type" not in response.headers
    assert "X-Krakend" not in response.headers and "X-Krakend-Completed" not in response.headers


@pytest.mark.parametrize("user_agent", ["a", "b", "Pingdom.com_bot_version_1.14", "facebookexternalhit/1.2.3",
                                        "Mozilla/5.0 (compatible; facebookexternalhit/1.1)"])
def test_bots_get_403_before_any_backend_call(gateway, backend, user_agent):
    gw = gateway(service_level(backend))
    assert_refused(gw.get("/items", headers={"User-Agent": user_agent}))
    assert backend.hits["echo"] == 0


@pytest.mark.parametrize("user_agent", ["c", "Pingdom.com_bot_version_1.1", "Mozilla/5.0 (X11; Linux x86_64)"])
def test_allowed_and_ordinary_clients_reach_the_backend(gateway, backend, user_agent):
    gw = gateway(service_level(backend))
    response = gw.get("/items", headers={"User-Agent": user_agent})
    assert response.status_code == 200
    assert backend.hits["echo"] == 1


@pytest.mark.parametrize("flag, status, hits", [(True, 403, 0), (False, 200, 1)])
def test_empty_user_agent(gateway, backend, flag, status, hits):
    gw = gateway(service_level(backend, {**DETECTOR, "empty_user_agent_is_bot": flag}))
    assert gw.get("/items", headers=NO_UA).status_code == status
    assert gw.get("/items", headers={"User-Agent": ""}).status_code == status
    assert backend.hits["echo"] == 2 * hits


def raw_get(gw, path, header_lines):
    """A GET with ``header_lines`` sent exactly as given (repeated names, raw bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", gw.server.server_port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        for name, value in header_lines:
            connection.putheader(name, value)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize("detector, lines", [
    pytest.param(DETECTOR, [("User-Agent", "a"), ("User-Agent", "Mozilla/5.0")], id="denied-then-browser"),
    pytest.param({"empty_user_agent_is_bot": True}, [("User-Agent", ""), ("User-Agent", "Mozilla/5.0")],
                 id="empty-then-browser"),
    pytest.param({"deny": ["Bötbot/1"]}, [("User-Agent", "Bötbot/1".encode())], id="utf-8-deny"),
    pytest.param({"patterns": ["Ünïcode"]}, [("User-Agent", "x Ünïcode/2 y".encode())], id="utf-8-pattern"),
])
def test_what_krakend_refuses_cannot_slip_through_the_wsgi_header_mapping(gateway, backend, detector, lines):
    gw = gateway(service_level(backend, detector))
    assert raw_get(gw, "/items", lines) == 403
    assert backend.hits["echo"] == 0


def test_unknown_paths_and_wrong_methods_answer_403_to_bots(gateway, backend):
    gw = gateway(service_level(backend))
    assert_refused(gw.get("/no/such/path", headers={"User-Agent": "a"}))
    assert_refused(gw.request("DELETE", "/items", headers={"User-Agent": "a"}))
    assert gw.get("/no/such/path", headers={"User-Agent": "c"}).status_code == 404
    assert gw.request("DELETE", "/items", headers={"User-Agent": "c"}).status_code == 405


def test_health_is_not_checked_as_in_krakend(gateway, backend):
    gw = gateway(service_level(backend, {**DETECTOR, "empty_user_agent_is_bot": True}))
    assert gw.get("/__health", headers=NO_UA).status_code == 200
    assert gw.get("/__health", headers={"User-Agent": "a"}).status_code == 200


def test_health_path_follows_the_router_option(gateway, backend):
    config = service_level(backend, {**DETECTOR, "empty_user_agent_is_bot": True})
    config["extra_config"]["router"] = {"health_path": "/ping"}
    gw = gateway(config)
    assert gw.get("/ping", headers=NO_UA).status_code == 200
    assert_refused(gw.get("/__health", headers=NO_UA))
    assert_refused(gw.get("/items", headers=NO_UA))


def test_endpoint_level_detector_covers_its_endpoint_only(gateway, backend):
    gw = gateway({"endpoints": [endpoint(backend, "/guarded", extra_config={"security/bot-detector": DETECTOR}),
                                endpoint(backend, "/open")]})
    assert_refused(gw.get("/guarded", headers={"User-Agent": "a"}))
    assert gw.get("/open", headers={"User-Agent": "a"}).status_code == 200
    assert gw.get("/guarded", headers={"User-Agent": "c"}).status_code == 200
    assert backend.hits["echo"] == 2


def test_endpoint_detector_runs_before_jwt_validation(gateway, backend):
    # A validator that fails closed (plain-http JWK URL): everyone not refused as a bot gets its 401.
    validator = {"alg": "HS256", "jwk_url": "http://idp.invalid/jwks"}
    extra = {"security/bot-detector": DETECTOR, "auth/validator": validator}
    gw = gateway({"endpoints": [endpoint(backend, extra_config=extra)]})
    assert_refused(gw.get("/items", headers={"User-Agent": "facebookexternalhit/1.0"}))
    assert gw.get("/items", headers={"User-Agent": "c"}).status_code == 401
    assert backend.requests == []


def test_cors_runs_first(gateway, backend):
    gw = gateway({"extra_config": {"security/cors": {}, "security/bot-detector": DETECTOR},
                  "endpoints": [endpoint(backend)]})
    refused = gw.get("/items", headers={"User-Agent": "a", "Origin": "https://app.test"})
    assert_refused(refused)
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    asked = {"User-Agent": "a", "Origin": "https://app.test", "Access-Control-Request-Method": "GET"}
    preflight = gw.request("OPTIONS", "/items", headers=asked)
    assert preflight.status_code == 204
    assert backend.requests == []


def test_cache_size_keeps_verdicts(gateway, backend):
    gw = gateway(service_level(backend, {**DETECTOR, "cache_size": 2}))
    for _ in range(3):
        assert_refused(gw.get("/items", headers={"User-Agent": "facebookexternalhit/1"}))
        assert gw.get("/items", headers={"User-Agent": "c"}).status_code == 200
    assert backend.hits["echo"] == 3


def test_a_bad_pattern_fails_closed_at_run_time_and_is_an_error_for_the_checker(gateway, backend):
    broken = service_level(backend, {"patterns": ["ok", "(?<=a)b"]})
    gw = gateway(broken)
    assert_refused(gw.get("/items", headers={"User-Agent": "Mozilla/5.0"}))
    assert backend.requests == []
    with pytest.raises(ConfigErrors) as caught:
        create_app(Settings(), build_service({"version": 3, **broken}), strict=True)
    assert [e.path for e in caught.value.errors] == ["extra_config.security/bot-detector.patterns[1]"]
