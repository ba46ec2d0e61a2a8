"""app.proxy.concurrent: concurrent_calls with stub proxies (reference §2.4)."""
from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import pytest

from app.errors import BackendStatusError, BackendTimeout
from app.proxy.concurrent import concurrent
from tests.unit.conftest import make_request
from app.proxy.model import ProxyRequest, ProxyResponse


Behaviour = Callable[[int], ProxyResponse]


class Copies:
    """A stub backend whose n-th call (1-based, in call order) does what ``behaviour(n)`` says."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.counter = itertools.count(1)
        self.lock = threading.Lock()
        self.deadlines: list[float] = []

    def __call__(self, request: ProxyRequest) -> ProxyResponse:
        with self.lock:
            n = next(self.counter)
            self.deadlines.append(request.deadline)
        return self.behaviour(n)


def complete(n: int) -> ProxyResponse:
    return ProxyResponse({"copy": n}, True)


def incomplete(n: int) -> ProxyResponse:
    return ProxyResponse({"copy": n}, False)


def status_error(n: int) -> ProxyResponse:
    raise BackendStatusError("/a", 500 + n)


def first_incomplete_then_slow_complete(n: int) -> ProxyResponse:
    if n == 1:
        return incomplete(n)
    time.sleep(0.05)
    return complete(n)


def first_fails_then_complete(n: int) -> ProxyResponse:
    if n == 1:
        return status_error(n)
    time.sleep(0.05)
    return complete(n)


CASES: list[tuple[str, Behaviour, bool]] = [
    ("all-complete", complete, True),
    ("complete-wins-over-earlier-incomplete", first_incomplete_then_slow_complete, True),
    ("failed-copy-ignored", first_fails_then_complete, True),
    ("none-complete-returns-last", incomplete, False),
]


@pytest.mark.parametrize(("behaviour", "is_complete"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_concurrent_answers(pool: ThreadPoolExecutor, behaviour: Behaviour, is_complete: bool) -> None:
    stub = Copies(behaviour)
    response = concurrent(stub, 3, pool, timeout=1.0)(make_request())
    assert response.is_complete is is_complete
    assert response.data["copy"] in (1, 2, 3)
    if is_complete and behaviour is not complete:
        assert response.data["copy"] != 1            # copy 1 was incomplete or failed: a later copy won
    if not is_complete:
        assert len(stub.deadlines) == 3              # every copy was tried before giving up


def test_all_copies_failing_raises_a_copy_error(pool: ThreadPoolExecutor) -> None:
    with pytest.raises(BackendStatusError) as info:
        concurrent(Copies(status_error), 2, pool, timeout=1.0)(make_request())
    assert info.value.status in (501, 502)


def test_copies_get_75_percent_of_the_timeout(pool: ThreadPoolExecutor) -> None:
    stub = Copies(incomplete)
    request = make_request(2.0)
    concurrent(stub, 2, pool, timeout=2.0)(request)
    assert stub.deadlines == [pytest.approx(request.deadline - 0.5)] * 2


def test_no_answer_by_the_deadline_raises_timeout(pool: ThreadPoolExecutor) -> None:
    finished = threading.Event()

    def slow(n: int) -> ProxyResponse:
        time.sleep(0.3)
        finished.set()
        return complete(n)

    with pytest.raises(BackendTimeout):
        concurrent(Copies(slow), 2, pool, timeout=0.1)(make_request(0.1))
    assert not finished.is_set()                 # it gave up at the deadline, not when the copies ended


def test_single_call(pool: ThreadPoolExecutor) -> None:
    stub = Copies(complete)
    assert concurrent(stub, 1, pool, timeout=1.0)(make_request()) == ProxyResponse({"copy": 1}, True)
