"""``concurrent_calls``: send the same backend request N times, first complete answer wins.

The copies run on their own small pool (never the fan-out pool, which may be
the one running this branch) and share a deadline of 75 % of the timeout.
When no copy answers completely, the last answer (or error) is returned.
"""
from __future__ import annotations

import dataclasses
from concurrent.futures import Executor as PoolExecutor
from typing import Optional

from app.errors import BackendTimeout, GatewayError
from app.proxy.fanout import FanOut
from app.proxy.model import Proxy, ProxyRequest, ProxyResponse

CONCURRENT_FRACTION = 0.75


def concurrent(inner: Proxy, calls: int, pool: PoolExecutor, timeout: float) -> Proxy:
    slack = timeout * (1 - CONCURRENT_FRACTION)

    def with_concurrent_calls(request: ProxyRequest) -> ProxyResponse:
        copy = dataclasses.replace(request, deadline=request.deadline - slack)
        copies = FanOut(pool, [inner] * calls, copy)
        last: Optional[ProxyResponse] = None
        error: GatewayError = BackendTimeout("concurrent", "no copy answered in time")
        # Copies are never cancelled: like KrakenD, all N are sent; the first
        # complete answer is used and the rest end on their own deadline.
        for _, item in copies.arrivals(copy.deadline):
            if isinstance(item, GatewayError):
                error = item
            elif item.is_complete:
                return item
            else:
                last = item
        if last is not None:
            return last
        raise error
    return with_concurrent_calls
