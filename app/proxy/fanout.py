"""Run proxies on a thread pool and collect their answers as they arrive.

Used by the parallel merge and by ``concurrent_calls``.  Answers come back
through one ``SimpleQueue`` per request instead of ``concurrent.futures.wait``
on each future: one cheap blocking ``get`` per answer, no waiter objects.
An unexpected (non-gateway) exception in a branch is re-raised in the
request thread, so bugs still reach the app's error handler.
"""
from __future__ import annotations

import contextvars
import queue
import time
from concurrent.futures import Executor as PoolExecutor, Future
from typing import Iterator, Sequence, Union

from app.errors import GatewayError
from app.proxy.model import Proxy, ProxyRequest, ProxyResponse

#: (arrival time, answer or error)
Arrival = tuple[float, Union[ProxyResponse, GatewayError]]


def call(proxy: Proxy, request: ProxyRequest) -> Arrival:
    """Run one branch here and note when its answer (or gateway error) arrived."""
    try:
        response: Union[ProxyResponse, GatewayError] = proxy(request)
    except GatewayError as exc:
        response = exc
    return time.monotonic(), response


class FanOut:
    """Branches submitted to ``pool``; ``arrivals`` yields them until done or the deadline."""

    def __init__(self, pool: PoolExecutor, proxies: Sequence[Proxy], request: ProxyRequest) -> None:
        self._queue: queue.SimpleQueue[Union[Arrival, BaseException]] = queue.SimpleQueue()
        # Each branch runs in a copy of the request's context: log lines keep the
        # request id and spans their parent.
        self._futures: list[Future[None]] = [pool.submit(contextvars.copy_context().run, self._run, p, request)
                                             for p in proxies]
        self.outstanding = len(proxies)

    def _run(self, proxy: Proxy, request: ProxyRequest) -> None:
        try:
            self._queue.put(call(proxy, request))
        except BaseException as exc:  # noqa: BLE001 - handed to the request thread, re-raised there
            self._queue.put(exc)

    def arrivals(self, deadline: float) -> Iterator[Arrival]:
        while self.outstanding:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                item = self._queue.get(timeout=remaining)
            except queue.Empty:
                return
            self.outstanding -= 1
            if isinstance(item, BaseException):
                raise item
            yield item

    def cancel(self) -> None:
        """Drop branches that have not started (those running finish on their own deadline)."""
        for future in self._futures:
            future.cancel()
