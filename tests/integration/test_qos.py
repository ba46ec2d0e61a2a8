"""Rate limits, circuit breakers and the backend cache against real backends (and a real Redis)."""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from tests.jwt_tools import Keys, claims, sign


def limited(backend, limit, path="/l", **endpoint):
    return {"endpoint": path, "extra_config": {"qos/ratelimit/router": limit},
            "backend": [{"host": [backend.url], "url_pattern": "/echo/l"}], **endpoint}


def burst(gw, path, count, **headers):
    return Counter(gw.get(path, headers=headers).status_code for _ in range(count))


@pytest.mark.parametrize("shared", [False, True], ids=["per-worker", "redis"])
def test_endpoint_limit_admits_capacity_then_503(gateway, backend, request, shared):
    settings = {"storage_url": request.getfixturevalue("redis_url")} if shared else {}
    gw = gateway({"endpoints": [limited(backend, {"max_rate": 5, "capacity": 5})]}, **settings)
    assert burst(gw, "/l", 8) == Counter({200: 5, 503: 3})
    assert backend.hits["echo"] == 5
    refused = gw.get("/l")
    assert refused.content == b"" and "X-Krakend" not in refused.headers and "Content-Type" not in refused.headers


def test_bucket_refills_at_the_rate(gateway, backend):
    gw = gateway({"endpoints": [limited(backend, {"max_rate": 10, "capacity": 2})]})
    assert burst(gw, "/l", 3) == Counter({200: 2, 503: 1})
    time.sleep(0.25)
    assert burst(gw, "/l", 3) == Counter({200: 2, 503: 1})


def test_every_scales_the_rate(gateway, backend):
    gw = gateway({"endpoints": [limited(backend, {"max_rate": 60, "every": "1m", "capacity": 1})]})
    assert burst(gw, "/l", 2) == Counter({200: 1, 503: 1})
    time.sleep(1.1)
    assert gw.get("/l").status_code == 200


def test_client_limit_by_ip_is_429_and_spoofing_does_not_help(gateway, backend):
    gw = gateway({"endpoints": [limited(backend, {"client_max_rate": 2, "strategy": "ip"})]})
    assert burst(gw, "/l", 2) == Counter({200: 2})
    assert gw.get("/l", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 429


def test_client_limit_by_header(gateway, backend):
    gw = gateway({"endpoints": [limited(backend, {"client_max_rate": 1, "client_capacity": 2, "strategy": "header",
                                                  "key": "X-Api-Key"})]})
    assert burst(gw, "/l", 3, **{"X-Api-Key": "a"}) == Counter({200: 2, 429: 1})
    assert burst(gw, "/l", 2, **{"X-Api-Key": "b"}) == Counter({200: 2})
    assert gw.get("/l").status_code == 429  # no key at all


def test_client_limit_by_param_then_endpoint_limit(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/u/{id}", "extra_config": {"qos/ratelimit/router": {
        "client_max_rate": 1, "strategy": "param", "key": "id", "max_rate": 3}},
        "backend": [{"host": [backend.url], "url_pattern": "/echo/{id}"}]}]})
    assert [gw.get(p).status_code for p in ("/u/1", "/u/1", "/u/2", "/u/3", "/u/4")] == [200, 429, 200, 200, 503]


def test_rejected_tokens_never_spend_rate_limit(gateway, backend, other_backend):
    keys = Keys()
    other_backend.json("jwks", {"keys": [keys.rsa_jwk("k1")]})
    gw = gateway({"endpoints": [limited(backend, {"max_rate": 1, "capacity": 1}, extra_config={
        "auth/validator": {"alg": "RS256", "jwk_url": f"{other_backend.url}/json/jwks",
                           "disable_jwk_security": True, "cache": True},
        "qos/ratelimit/router": {"max_rate": 1, "capacity": 1}})]})
    assert burst(gw, "/l", 5, Authorization="Bearer bad.to.ken") == Counter({401: 5})
    assert gw.get("/l", headers={"Authorization": f"Bearer {sign(keys, 'RS256', claims())}"}).status_code == 200


def test_backend_rate_limit_fails_only_that_backend(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/agg", "backend": [
        {"host": [backend.url], "url_pattern": "/echo/free", "group": "free"},
        {"host": [backend.url], "url_pattern": "/echo/limited", "group": "limited",
         "extra_config": {"qos/ratelimit/proxy": {"max_rate": 1, "capacity": 1, "every": "10s"}}}]}]})
    first, second = gw.get("/agg"), gw.get("/agg")
    assert set(first.json()) == {"free", "limited"} and first.headers["X-Krakend-Completed"] == "true"
    assert set(second.json()) == {"free"} and second.headers["X-Krakend-Completed"] == "false"
    assert sum(1 for r in backend.requests if r.path == "/echo/limited") == 1


def breaker_endpoint(backend, **settings):
    return {"extra_config": {"router": {"return_error_msg": True}}, "endpoints": [
        {"endpoint": "/b", "backend": [{"host": [backend.url], "url_pattern": "/switch/svc", "extra_config": {
            "qos/circuit-breaker": {"interval": 60, "timeout": 1, "max_errors": 2, "name": "svc",
                                    "log_status_change": True, **settings}}}]}]}


@pytest.mark.parametrize("shared", [False, True], ids=["per-worker", "redis"])
def test_breaker_opens_after_max_errors_plus_one_and_closes_after_a_probe(gateway, backend, request, shared):
    settings = {"storage_url": request.getfixturevalue("redis_url")} if shared else {}
    gw = gateway(breaker_endpoint(backend), **settings)
    backend.switches["svc"] = 500
    for _ in range(3):
        assert gw.get("/b").status_code == 500
    assert backend.hits["switch"] == 3
    open_answer = gw.get("/b")
    assert (open_answer.status_code, open_answer.text) == (500, "circuit breaker is open")
    assert backend.hits["switch"] == 3
    backend.switches["svc"] = 200
    time.sleep(1.1)
    assert gw.get("/b").status_code == 200
    assert gw.get("/b").status_code == 200
    assert backend.hits["switch"] == 5


def test_client_errors_never_trip_the_breaker(gateway, backend):
    gw = gateway(breaker_endpoint(backend, max_errors=1))
    backend.switches["svc"] = 404
    for _ in range(5):
        gw.get("/b")
    assert backend.hits["switch"] == 5


def test_half_open_lets_exactly_one_probe_through(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/b", "backend": [
        {"host": [backend.url], "url_pattern": "/sleep/400/x", "extra_config": {
            "qos/circuit-breaker": {"timeout": 1, "max_errors": 0}}},
    ]}, {"endpoint": "/fail", "backend": [{"host": [backend.url], "url_pattern": "/status/500"}]}]})
    breaker = gw.app.config["PROPYLON_DEPS"].breakers["endpoints[0].backend[0]"]
    breaker.local.open()
    time.sleep(1.1)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(gw.get("/b").status_code)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 500, 500, 500]
    assert backend.hits["sleep"] == 1


def test_breaker_does_not_serialise_calls(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/b", "backend": [
        {"host": [backend.url], "url_pattern": "/sleep/300/x", "extra_config": {
            "qos/circuit-breaker": {"timeout": 5, "max_errors": 3}}}]}]})
    threads = [threading.Thread(target=gw.get, args=("/b",)) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 0.9


def cached(backend, directive="public, max-age=60", path="/c", input_headers=None, query="", **cache):
    endpoint = {"endpoint": path, "backend": [{"host": [backend.url],
                                               "url_pattern": f"/cache/{directive}/x{query}",
                                               "extra_config": {"qos/http-cache": cache}}]}
    if input_headers:
        endpoint["input_headers"] = input_headers
    return endpoint


@pytest.mark.parametrize("shared", [False, True], ids=["per-worker", "redis"])
def test_cache_hits_and_no_cross_user_hits(gateway, backend, request, shared):
    settings = {"storage_url": request.getfixturevalue("redis_url")} if shared else {}
    gw = gateway({"endpoints": [cached(backend, input_headers=["Authorization"])]}, **settings)
    alice = {"Authorization": "Bearer alice"}
    first, second = gw.get("/c", headers=alice), gw.get("/c", headers=alice)
    assert first.json() == second.json()
    assert backend.hits["cache"] == 1
    assert gw.get("/c", headers={"Authorization": "Bearer bob"}).json()["headers"]["Authorization"] == ["Bearer bob"]
    assert backend.hits["cache"] == 2


@pytest.mark.parametrize("directive, query, cached_hits", [
    ("public, max-age=60", "", 1),
    ("no-store", "", 3),
    ("no-cache", "", 3),
    ("max-age=0", "", 3),
    ("public, max-age=60", "?cookie=1", 3),
    ("private, max-age=60", "", 1),
], ids=["max-age", "no-store", "no-cache", "max-age-0", "set-cookie", "private-own-store"])
def test_cache_obeys_the_backend(gateway, backend, directive, query, cached_hits):
    gw = gateway({"endpoints": [cached(backend, directive.replace(" ", "%20").replace(",", "%2C"), query=query)]})
    for _ in range(3):
        assert gw.get("/c").status_code == 200
    assert backend.hits["cache"] == cached_hits


def test_private_answers_not_kept_in_a_shared_store(gateway, backend):
    gw = gateway({"endpoints": [cached(backend, "private%2C%20max-age=60", shared=True)]})
    for _ in range(2):
        gw.get("/c")
    assert backend.hits["cache"] == 2


def test_cache_entries_expire(gateway, backend):
    gw = gateway({"endpoints": [cached(backend, "max-age=1")]})
    gw.get("/c")
    gw.get("/c")
    time.sleep(1.2)
    gw.get("/c")
    assert backend.hits["cache"] == 2


def test_errors_are_not_cached(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/c", "backend": [
        {"host": [backend.url], "url_pattern": "/status/500", "extra_config": {"qos/http-cache": {}}}]}]})
    for _ in range(2):
        gw.get("/c")
    assert backend.hits["status"] == 2


def test_two_workers_share_limits_and_cache_through_redis(gateway, backend, redis_url):
    config = {"endpoints": [limited(backend, {"max_rate": 4, "capacity": 4}), cached(backend)]}
    first, second = gateway(config, storage_url=redis_url), gateway(config, storage_url=redis_url)
    statuses = Counter(gw.get("/l").status_code for gw in (first, second) * 4)
    assert statuses == Counter({200: 4, 503: 4})
    # Same Host, as for two workers behind one port (X-Forwarded-Host is part of the key).
    first.get("/c", headers={"Host": "gw.test"})
    second.get("/c", headers={"Host": "gw.test"})
    assert backend.hits["cache"] == 1


def test_redis_going_away_never_fails_requests(gateway, backend, redis_server, redis_url):
    gw = gateway({"endpoints": [limited(backend, {"max_rate": 100, "capacity": 100}), cached(backend),
                                {"endpoint": "/b", "backend": [{"host": [backend.url], "url_pattern": "/echo/b",
                                                                "extra_config": {"qos/circuit-breaker": {
                                                                    "max_errors": 1, "timeout": 5}}}]}]},
                 storage_url=redis_url)
    assert [gw.get(p).status_code for p in ("/l", "/c", "/b")] == [200, 200, 200]
    redis_server.stop()
    started = time.monotonic()
    for _ in range(5):
        assert [gw.get(p).status_code for p in ("/l", "/c", "/b")] == [200, 200, 200]
    assert time.monotonic() - started < 5
    redis_server.start_again()
    deps = gw.app.config["PROPYLON_DEPS"]
    deps.shared._down_until = 0.0  # skip the back-off instead of sleeping through it
    assert [gw.get(p).status_code for p in ("/l", "/c", "/b")] == [200, 200, 200]
    assert deps.shared.usable()


def test_breaker_alone_switches_to_local_state_when_redis_dies(gateway, backend, redis_server, redis_url):
    gw = gateway({"endpoints": [{"endpoint": "/b", "backend": [{"host": [backend.url], "url_pattern": "/echo/b",
                                                                "extra_config": {"qos/circuit-breaker": {
                                                                    "max_errors": 1, "timeout": 5}}}]}]},
                 storage_url=redis_url)
    assert gw.get("/b").status_code == 200
    redis_server.stop()
    started = time.monotonic()
    for _ in range(10):
        assert gw.get("/b").status_code == 200
    assert time.monotonic() - started < 3
    assert not gw.app.config["PROPYLON_DEPS"].shared.usable()


# Regressions from the review of traffic control.

def test_gateway_builds_and_serves_with_redis_down_and_a_breaker(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/b", "backend": [{"host": [backend.url], "url_pattern": "/echo/b",
                                                                "extra_config": {"qos/circuit-breaker": {
                                                                    "max_errors": 1, "timeout": 5}}}]}]},
                 storage_url="redis://127.0.0.1:39/0")
    assert [gw.get("/b").status_code for _ in range(3)] == [200, 200, 200]


def test_ip_key_x_forwarded_for_is_walked_from_the_right(gateway, backend):
    import ipaddress
    gw = gateway({"endpoints": [limited(backend, {"client_max_rate": 1, "strategy": "ip",
                                                  "key": "X-Forwarded-For"})]},
                 trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),))
    statuses = [gw.get("/l", headers={"X-Forwarded-For": f"10.0.0.{i}, 198.51.100.7"}).status_code
                for i in range(3)]
    assert statuses == [200, 429, 429]


def test_forwarded_for_with_ports_still_tells_clients_apart(gateway, backend):
    import ipaddress
    gw = gateway({"endpoints": [limited(backend, {"client_max_rate": 1, "strategy": "ip"})]},
                 trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),))
    assert gw.get("/l", headers={"X-Forwarded-For": "198.51.100.1:4711"}).status_code == 200
    assert gw.get("/l", headers={"X-Forwarded-For": "198.51.100.2:4712"}).status_code == 200
    assert gw.get("/l", headers={"X-Forwarded-For": "198.51.100.2:9999"}).status_code == 429


def test_header_strategy_on_content_type(gateway, backend):
    gw = gateway({"endpoints": [limited(backend, {"client_max_rate": 1, "strategy": "header",
                                                  "key": "Content-Type"})]})
    assert gw.get("/l", headers={"Content-Type": "text/a"}).status_code == 200
    assert gw.get("/l", headers={"Content-Type": "text/b"}).status_code == 200
    assert gw.get("/l", headers={"Content-Type": "text/b"}).status_code == 429


def test_krakend_style_configs_are_accepted(gateway, backend):
    gw = gateway({"endpoints": [limited(backend, {"max_rate": 2, "capacity": 2.0, "client_max_rate": 1})]})
    assert burst(gw, "/l", 3) == Counter({200: 2, 503: 1})
    assert any("client limits are off" in w for w in gw.app.config["PROPYLON_WARNINGS"])


def test_redis_cache_entries_are_never_unpickled(gateway, backend, redis_url):
    import pickle
    import redis

    class Evil:
        def __reduce__(self):
            return (exec, ("import pathlib; pathlib.Path('/tmp/propylon-pwned').write_text('x')",))
    gw = gateway({"endpoints": [cached(backend)]}, storage_url=redis_url)
    gw.get("/c")
    client = redis.Redis.from_url(redis_url)
    for key in client.keys("propylon:cache:*"):
        client.set(key, b"!" + pickle.dumps(Evil()))
    import pathlib
    pathlib.Path("/tmp/propylon-pwned").unlink(missing_ok=True)
    assert gw.get("/c").status_code == 200
    assert not pathlib.Path("/tmp/propylon-pwned").exists()
    assert backend.hits["cache"] == 2  # the poisoned entry was a miss


def test_clients_share_entries_but_not_bodies(gateway, backend):
    import ipaddress
    gw = gateway({"endpoints": [cached(backend)]}, trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),))
    gw.get("/c", headers={"X-Forwarded-For": "198.51.100.1"})
    gw.get("/c", headers={"X-Forwarded-For": "198.51.100.2", "Host": "other.example"})
    assert backend.hits["cache"] == 1
    gw.request("GET", "/c", data=b'{"q":1}', headers={"Content-Type": "application/json"})
    assert backend.hits["cache"] == 2


def test_huge_max_age_is_capped_and_redis_stays_usable(gateway, backend, redis_url):
    gw = gateway({"endpoints": [cached(backend, "max-age=99999999999999999")]}, storage_url=redis_url)
    gw.get("/c")
    gw.get("/c")
    assert backend.hits["cache"] == 1
    assert gw.app.config["PROPYLON_DEPS"].shared.usable()


def test_breaker_state_follows_the_backend_not_its_position(gateway, backend, redis_url):
    def config(first):
        endpoints = [{"endpoint": "/a", "backend": [{"host": [backend.url], "url_pattern": "/switch/a",
                                                     "extra_config": {"qos/circuit-breaker": {"max_errors": 0,
                                                                                              "timeout": 30}}}]},
                     {"endpoint": "/other", "backend": [{"host": [backend.url], "url_pattern": "/switch/o",
                                                         "extra_config": {"qos/circuit-breaker": {
                                                             "max_errors": 0, "timeout": 30}}}]}]
        return {"endpoints": endpoints if first else endpoints[::-1]}
    one, two = gateway(config(True), storage_url=redis_url), gateway(config(False), storage_url=redis_url)
    backend.switches["a"] = 500
    assert one.get("/a").status_code == 500
    assert two.get("/a").status_code == 500 and two.get("/other").status_code == 200


def test_the_tripping_call_reports_the_backend_error(gateway, backend):
    gw = gateway({"extra_config": {"router": {"return_error_msg": True}}, "endpoints": [{"endpoint": "/b", "backend": [
        {"host": [backend.url], "url_pattern": "/switch/svc", "extra_config": {
            "qos/circuit-breaker": {"max_errors": 1, "timeout": 30},
            "backend/http": {"return_error_code": True}}}]}]})
    backend.switches["svc"] = 503
    assert [gw.get("/b").status_code for _ in range(3)] == [503, 503, 500]


def test_split_cache_control_lines_are_read_together(gateway, backend):
    from app.proxy.model import WireResponse
    from app.qos.http_cache import freshness
    answer = WireResponse(200, (("Cache-Control", "max-age=100"), ("Cache-Control", "no-store")), b"{}", "u")
    assert freshness(answer, False) == 0
    assert freshness(WireResponse(200, (("Cache-Control", "max-age=100"), ("Vary", "Accept, *")), b"", "u"),
                     False) == 0
    assert freshness(WireResponse(200, (("Cache-Control", "max-age=100"), ("Age", "-50")), b"", "u"), False) == 100
