"""Mergers: several backend Proxies -> one endpoint Proxy.

Parallel (default): every branch runs at once, the request thread running
the first itself (one pool hand-off fewer, as measured in performance.md),
the rest on the per-process fan-out pool.  Branches share one deadline, 85 %
of the endpoint timeout, after which whatever arrived is merged and the
answer is marked incomplete.  Answers are merged in arrival order, later
top-level keys overwriting earlier ones (shallow, as lura).

Sequential (``proxy.sequential``): branches run in order in the request
thread under the same 85 % deadline; each sees the earlier answers for its
``{respN_x}`` placeholders.  A failing first backend fails the endpoint; a
later failure or incomplete answer stops the chain with what was gathered.

Pool tasks never submit to the same pool (``concurrent_calls`` has its own),
so a saturated pool only delays, it cannot deadlock.
"""
from __future__ import annotations

import dataclasses
from concurrent.futures import Executor as PoolExecutor
from typing import Any, Sequence

from app.errors import BackendTimeout, GatewayError, MergeError
from app.proxy import fanout
from app.proxy.fanout import Arrival, FanOut
from app.proxy.model import Proxy, ProxyRequest, ProxyResponse

MERGE_FRACTION = 0.85


def _combine(arrived: Sequence[Arrival], late: int, expected: int) -> ProxyResponse:
    """Merge answers in arrival order; ``late`` branches missed the deadline."""
    responses = [item for _, item in sorted(arrived, key=lambda a: a[0]) if isinstance(item, ProxyResponse)]
    errors: list[GatewayError] = [item for _, item in arrived if isinstance(item, GatewayError)]
    errors += [BackendTimeout("merge", "branch still running at the merge deadline")] * late
    if not responses:
        raise MergeError(errors)
    data: dict[str, Any] = {}
    for response in responses:
        data.update(response.data)
    complete = len(responses) == expected and not errors and all(r.is_complete for r in responses)
    return ProxyResponse(data, complete, errors=tuple(errors))


def parallel(proxies: Sequence[Proxy], pool: PoolExecutor, timeout: float) -> Proxy:
    """Run every branch at once; see the module docstring."""
    first, rest = proxies[0], tuple(proxies[1:])
    slack = timeout * (1 - MERGE_FRACTION)

    def merge_parallel(request: ProxyRequest) -> ProxyResponse:
        branch = dataclasses.replace(request, deadline=request.deadline - slack)
        others = FanOut(pool, rest, branch)
        arrived = [fanout.call(first, branch)]
        arrived.extend(others.arrivals(branch.deadline))
        others.cancel()
        return _combine(arrived, others.outstanding, len(proxies))
    return merge_parallel


def sequential(proxies: Sequence[Proxy], timeout: float) -> Proxy:
    """Run branches in order; see the module docstring."""
    slack = timeout * (1 - MERGE_FRACTION)

    def merge_sequential(request: ProxyRequest) -> ProxyResponse:
        deadline = request.deadline - slack
        previous: dict[int, ProxyResponse] = {}
        arrived: list[Arrival] = []
        for index, proxy in enumerate(proxies):
            branch = dataclasses.replace(request, deadline=deadline, previous=dict(previous))
            arrival = fanout.call(proxy, branch)
            if index == 0 and isinstance(arrival[1], GatewayError):
                raise arrival[1]
            arrived.append(arrival)
            if isinstance(arrival[1], GatewayError) or not arrival[1].is_complete:
                break
            previous[index] = arrival[1]
        return _combine(arrived, 0, len(proxies))
    return merge_sequential
