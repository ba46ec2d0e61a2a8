"""app.proxy.merge: parallel and sequential mergers with stub proxies (reference §2.5, §2.11, §3.8)."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from app.errors import BackendStatusError, BackendTimeout, MergeError
from app.proxy.merge import parallel, sequential
from tests.unit.conftest import make_request
from app.proxy.model import Proxy, ProxyRequest, ProxyResponse


def ok(data: dict[str, Any], complete: bool = True, delay: float = 0.0) -> Proxy:
    def proxy(request: ProxyRequest) -> ProxyResponse:
        if delay:
            time.sleep(delay)
        return ProxyResponse(dict(data), complete)
    return proxy


def failing(error: BackendStatusError) -> Proxy:
    def proxy(request: ProxyRequest) -> ProxyResponse:
        raise error
    return proxy


class Recorder:
    """A proxy that remembers the requests it saw."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.requests: list[ProxyRequest] = []
        self.lock = threading.Lock()

    def __call__(self, request: ProxyRequest) -> ProxyResponse:
        with self.lock:
            self.requests.append(request)
        return ProxyResponse(dict(self.data), True)


E404 = BackendStatusError("/a", 404)
E500 = BackendStatusError("/b", 500)

PARALLEL: list[tuple[str, list[Proxy], dict[str, Any], bool, int]] = [
    ("single", [ok({"a": 1})], {"a": 1}, True, 0),
    ("all-ok-merged", [ok({"a": 1}), ok({"b": 2}), ok({"c": 3})], {"a": 1, "b": 2, "c": 3}, True, 0),
    ("shallow-merge", [ok({"a": 1, "n": {"x": 1}}), ok({"n": {"y": 2}}, delay=0.05)], {"a": 1, "n": {"y": 2}}, True, 0),
    ("one-fails-partial", [ok({"a": 1}), failing(E404)], {"a": 1}, False, 1),
    ("first-fails-partial", [failing(E500), ok({"b": 2})], {"b": 2}, False, 1),
    ("one-incomplete", [ok({"a": 1}), ok({"b": 2}, complete=False)], {"a": 1, "b": 2}, False, 0),
    ("empty-data-still-complete", [ok({}), ok({})], {}, True, 0),
]


@pytest.mark.parametrize(("proxies", "data", "complete", "n_errors"), [p[1:] for p in PARALLEL],
                         ids=[p[0] for p in PARALLEL])
def test_parallel(pool: ThreadPoolExecutor, proxies: list[Proxy], data: dict[str, Any], complete: bool,
                  n_errors: int) -> None:
    response = parallel(proxies, pool, timeout=1.0)(make_request())
    assert response.data == data
    assert response.is_complete is complete
    assert len(response.errors) == n_errors


def test_parallel_keeps_the_branch_errors(pool: ThreadPoolExecutor) -> None:
    response = parallel([ok({"a": 1}), failing(E404)], pool, timeout=1.0)(make_request())
    assert response.errors == (E404,)


def test_parallel_all_failing_raises_merge_error(pool: ThreadPoolExecutor) -> None:
    with pytest.raises(MergeError) as info:
        parallel([failing(E404), failing(E500)], pool, timeout=1.0)(make_request())
    assert set(info.value.errors) == {E404, E500}
    assert info.value.errors[0] is E404          # the request thread's own branch is collected first


def test_parallel_branches_get_85_percent_of_the_timeout(pool: ThreadPoolExecutor) -> None:
    first, second = Recorder({"a": 1}), Recorder({"b": 2})
    request = make_request(2.0)
    parallel([first, second], pool, timeout=2.0)(request)
    for recorder in (first, second):
        assert len(recorder.requests) == 1
        assert recorder.requests[0].deadline == pytest.approx(request.deadline - 0.3)
        assert recorder.requests[0].path == request.path


def test_parallel_returns_what_arrived_at_the_merge_deadline(pool: ThreadPoolExecutor) -> None:
    finished = threading.Event()

    def slow(request: ProxyRequest) -> ProxyResponse:
        time.sleep(0.3)
        finished.set()
        return ProxyResponse({"slow": 1}, True)

    response = parallel([ok({"fast": 1}), slow], pool, timeout=0.1)(make_request(0.1))
    assert not finished.is_set()                 # it did not wait for the slow branch
    assert response.data == {"fast": 1}
    assert response.is_complete is False
    assert len(response.errors) == 1 and isinstance(response.errors[0], BackendTimeout)


def test_parallel_merges_in_arrival_order(pool: ThreadPoolExecutor) -> None:
    response = parallel([ok({"k": "slow-first"}, delay=0.1), ok({"k": "fast-second"})], pool,
                        timeout=1.0)(make_request())
    assert response.data == {"k": "slow-first"}


class Chain:
    """Sequential stubs: each records the earlier responses it was given."""

    def __init__(self) -> None:
        self.seen: list[list[int]] = []

    def step(self, data: dict[str, Any], complete: bool = True) -> Proxy:
        def proxy(request: ProxyRequest) -> ProxyResponse:
            self.seen.append(sorted(request.previous))
            return ProxyResponse(dict(data), complete)
        return proxy

    def fail(self, error: BackendStatusError) -> Proxy:
        def proxy(request: ProxyRequest) -> ProxyResponse:
            self.seen.append(sorted(request.previous))
            raise error
        return proxy


def test_sequential_passes_earlier_responses_on() -> None:
    def user(request: ProxyRequest) -> ProxyResponse:
        return ProxyResponse({"user": {"id": 7}}, True)

    def orders(request: ProxyRequest) -> ProxyResponse:
        return ProxyResponse({"orders_of": request.previous[0].data["user"]["id"]}, True)

    response = sequential([user, orders], timeout=1.0)(make_request())
    assert response.data == {"user": {"id": 7}, "orders_of": 7}
    assert response.is_complete is True


SEQUENTIAL: list[tuple[str, list[tuple[str, Any]], dict[str, Any], bool, list[list[int]], int]] = [
    ("all-ok", [("ok", {"a": 1}), ("ok", {"b": 2}), ("ok", {"c": 3})], {"a": 1, "b": 2, "c": 3}, True,
     [[], [0], [0, 1]], 0),
    ("later-overwrites", [("ok", {"k": 1, "a": 1}), ("ok", {"k": 2})], {"k": 2, "a": 1}, True, [[], [0]], 0),
    ("later-failure-stops-chain", [("ok", {"a": 1}), ("fail", E500), ("ok", {"c": 3})], {"a": 1}, False,
     [[], [0]], 1),
    ("incomplete-stops-chain", [("ok", {"a": 1}), ("incomplete", {"b": 2}), ("ok", {"c": 3})], {"a": 1, "b": 2},
     False, [[], [0]], 0),
]


@pytest.mark.parametrize(("steps", "data", "complete", "seen", "n_errors"), [s[1:] for s in SEQUENTIAL],
                         ids=[s[0] for s in SEQUENTIAL])
def test_sequential(steps: list[tuple[str, Any]], data: dict[str, Any], complete: bool, seen: list[list[int]],
                    n_errors: int) -> None:
    chain = Chain()
    proxies = [chain.fail(arg) if kind == "fail" else chain.step(arg, complete=kind == "ok") for kind, arg in steps]
    response = sequential(proxies, timeout=1.0)(make_request())
    assert response.data == data
    assert response.is_complete is complete
    assert chain.seen == seen
    assert len(response.errors) == n_errors


def test_sequential_first_failure_fails_the_endpoint() -> None:
    chain = Chain()
    with pytest.raises(BackendStatusError) as info:
        sequential([chain.fail(E404), chain.step({"b": 2})], timeout=1.0)(make_request())
    assert info.value is E404
    assert chain.seen == [[]]


def test_sequential_branches_share_85_percent_of_the_timeout() -> None:
    first, second = Recorder({"a": 1}), Recorder({"b": 2})
    request = make_request(2.0)
    sequential([first, second], timeout=2.0)(request)
    deadlines = [r.requests[0].deadline for r in (first, second)]
    assert deadlines == [pytest.approx(request.deadline - 0.3)] * 2
