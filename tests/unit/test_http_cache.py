"""qos/http-cache: freshness rules and the cache key, table-driven (pure functions)."""
from __future__ import annotations

import pytest

from app.proxy.model import WireRequest, WireResponse
from app.qos.http_cache import JSONEntries, cache_key, freshness
from app.version import IDENTITY


def answer(*headers: tuple[str, str], status: int = 200) -> WireResponse:
    return WireResponse(status, tuple(headers), b"{}", "http://b/x")


@pytest.mark.parametrize("response, shared, seconds", [
    (answer(("Cache-Control", "max-age=60")), False, 60),
    (answer(("Cache-Control", "public, max-age=60"), ("Age", "10")), False, 50),
    (answer(("Cache-Control", "s-maxage=30, max-age=60")), True, 30),
    (answer(("Cache-Control", "s-maxage=30, max-age=60")), False, 60),
    (answer(("Cache-Control", "private, max-age=60")), True, 0),
    (answer(("Cache-Control", "private, max-age=60")), False, 60),
    (answer(("Cache-Control", "no-store")), False, 0),
    (answer(("Cache-Control", "no-cache, max-age=60")), False, 0),
    (answer(("Cache-Control", "max-age=60"), ("Set-Cookie", "a=1")), False, 0),
    (answer(("Cache-Control", "max-age=60"), ("Vary", "*")), False, 0),
    (answer(("Cache-Control", "max-age=60"), ("Vary", "X-Forwarded-For")), False, 0),
    (answer(("Cache-Control", "max-age=60"), status=404), False, 0),
    (answer(("Cache-Control", "max-age=abc")), False, 0),
    (answer(("Expires", "Thu, 01 Jan 2099 00:00:10 GMT"), ("Date", "Thu, 01 Jan 2099 00:00:00 GMT")), False, 10),
    (answer(("Cache-Control", "max-age=99999999999999")), False, 365 * 24 * 3600),
    (answer(), False, 0),
], ids=["max-age", "age-subtracted", "s-maxage-shared", "s-maxage-private-store", "private-shared",
        "private-own-store", "no-store", "no-cache", "set-cookie", "vary-star", "vary-gateway-header", "404",
        "bad-max-age", "expires", "capped", "no-freshness"])
def test_freshness(response, shared, seconds):
    assert freshness(response, shared) == pytest.approx(seconds)


def test_key_ignores_gateway_and_per_call_headers_but_not_client_ones():
    base = {"Authorization": "Bearer a", "X-Forwarded-For": "1.2.3.4", "User-Agent": IDENTITY,
            "traceparent": "00-1-2-01", "X-Request-Id": "r1"}
    other_client = {**base, "X-Forwarded-For": "5.6.7.8", "traceparent": "00-3-4-01", "X-Request-Id": "r2"}
    other_user = {**base, "Authorization": "Bearer b"}
    key = cache_key(WireRequest("GET", "http://b/x?q=1", base, None))
    assert key == cache_key(WireRequest("GET", "http://b/x?q=1", other_client, None))
    assert key != cache_key(WireRequest("GET", "http://b/x?q=1", other_user, None))
    assert key != cache_key(WireRequest("GET", "http://b/x?q=2", base, None))


@pytest.mark.parametrize("data", [None, b"not json", b'{"v": 1}', b"!\x80\x03pickle"],
                         ids=["missing", "garbage", "incomplete", "pickle"])
def test_unreadable_entries_are_misses(data):
    assert JSONEntries().loads(data) is None


def test_entries_round_trip():
    entry = WireResponse(200, (("Content-Type", "application/json"), ("Set-Cookie", "x")), b"\x00\xff{}", "u")
    assert JSONEntries().loads(JSONEntries().dumps(entry)) == entry
