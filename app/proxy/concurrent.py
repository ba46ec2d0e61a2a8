"""``concurrent_calls``: send the same backend request N times, first complete answer wins.

The copies run on their own small pool (never the fan-out pool, which may be
the one running this branch) and share a deadline of 75 % of the timeout.
When no copy answers completely, the last answer (or error) is returned.
"""
from __future__ import annotations

import dataclasses
import time
from concurrent.futures import FIRST_COMPLETED, Executor as PoolExecutor, Future, wait
from typing import Optional

from app.errors import BackendTimeout, GatewayError
from app.proxy.model import Proxy, ProxyRequest, ProxyResponse

CONCURRENT_FRACTION = 0.75


def concurrent(inner: Proxy, calls: int, pool: PoolExecutor, timeout: float) -> Proxy:
    slack = timeout * (1 - CONCURRENT_FRACTION)

    def with_concurrent_calls(request: ProxyRequest) -> ProxyResponse:
        copy = dataclasses.replace(request, deadline=request.deadline - slack)
        pending: set[Future[ProxyResponse]] = {pool.submit(inner, copy) for _ in range(calls)}
        last: Optional[ProxyResponse] = None
        error: GatewayError = BackendTimeout("concurrent", "no copy answered in time")
        try:
            while pending:
                remaining = copy.deadline - time.monotonic()
                if remaining <= 0:
                    break
                done, pending = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        response = future.result()
                    except GatewayError as exc:
                        error = exc
                        continue
                    if response.is_complete:
                        return response
                    last = response
        finally:
            for future in pending:
                future.cancel()
        if last is not None:
            return last
        raise error
    return with_concurrent_calls
