"""Prometheus metrics recorded by a gateway app (values read from its registry)."""
from __future__ import annotations

from tests.jwt_tools import Keys, claims, sign


def telemetry():
    return {"telemetry/opentelemetry": {"exporters": {"prometheus": [{"name": "local", "port": 9091}]}}}


def value(gw, metric, **labels):
    registry = gw.app.config["PROPYLON_DEPS"].metrics.registry
    return registry.get_sample_value(metric, labels) or 0.0


def test_endpoint_proxy_and_backend_metrics(gateway, backend):
    gw = gateway({"extra_config": telemetry(), "endpoints": [{"endpoint": "/agg/{id}", "backend": [
        {"host": [backend.url], "url_pattern": "/echo/a/{id}", "group": "a"},
        {"host": [backend.url], "url_pattern": "/status/503", "group": "b"}]}]})
    for i in range(3):
        assert gw.get(f"/agg/{i}").status_code == 200
    gw.get("/__health")
    assert value(gw, "propylon_http_request_duration_seconds_count", method="GET", http_route="/agg/{id}",
                 status="200") == 3
    assert value(gw, "krakend_proxy_duration_count", http_request_method="GET", http_route="/agg/{id}",
                 complete="false", error="true") == 3
    assert value(gw, "krakend_backend_duration_count", http_request_method="GET", http_route="/echo/a/{id}",
                 krakend_endpoint_route="/agg/{id}", krakend_endpoint_method="GET", complete="true",
                 error="false") == 3
    assert value(gw, "http_client_duration_count", http_request_method="GET", http_route="/status/503",
                 krakend_endpoint_route="/agg/{id}", http_response_status_code="503") == 3
    assert value(gw, "http_server_active_requests") == 0
    registry = gw.app.config["PROPYLON_DEPS"].metrics.registry
    assert not any('"/__health"' in str(s) for m in registry.collect() for s in m.samples)


def test_feature_metrics(gateway, backend, other_backend):
    keys = Keys()
    other_backend.json("jwks", {"keys": [keys.rsa_jwk("k1")]})
    gw = gateway({"extra_config": telemetry(), "endpoints": [
        {"endpoint": "/l", "extra_config": {"qos/ratelimit/router": {"max_rate": 1, "capacity": 1}},
         "backend": [{"host": [backend.url], "url_pattern": "/echo/l"}]},
        {"endpoint": "/c", "backend": [{"host": [backend.url], "url_pattern": "/cache/max-age=60/x",
                                        "extra_config": {"qos/http-cache": {}}}]},
        {"endpoint": "/b", "backend": [{"host": [backend.url], "url_pattern": "/status/500",
                                        "extra_config": {"qos/circuit-breaker": {"max_errors": 0, "timeout": 30,
                                                                                 "name": "b"}}}]},
        {"endpoint": "/j", "extra_config": {"auth/validator": {
            "alg": "RS256", "jwk_url": f"{other_backend.url}/json/jwks", "disable_jwk_security": True,
            "cache": True}}, "backend": [{"host": [backend.url], "url_pattern": "/echo/j"}]}]})
    for path in ("/l", "/l", "/c", "/c", "/b", "/b"):
        gw.get(path)
    gw.get("/j", headers={"Authorization": f"Bearer {sign(keys, 'RS256', claims())}"})
    assert value(gw, "propylon_ratelimit_rejections_total", http_route="/l", limit="endpoint") == 1
    assert value(gw, "propylon_http_cache_requests_total", backend="/cache/max-age=60/x", result="hit") == 1
    assert value(gw, "propylon_http_cache_requests_total", backend="/cache/max-age=60/x", result="miss") == 1
    assert value(gw, "propylon_circuit_breaker_state", backend="/status/500", name="b") == 2
    assert value(gw, "propylon_jwks_fetches_total", result="ok") == 1


def test_no_telemetry_no_metrics(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/a", "backend": [{"host": [backend.url], "url_pattern": "/echo/a"}]}]})
    assert gw.app.config["PROPYLON_DEPS"].metrics is None
    assert gw.get("/metrics").status_code == 404
