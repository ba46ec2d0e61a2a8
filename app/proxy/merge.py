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
import time
from concurrent.futures import FIRST_COMPLETED, Executor as PoolExecutor, Future, wait
from typing import Any, Sequence

from app.errors import BackendTimeout, GatewayError, MergeError
from app.proxy.model import Proxy, ProxyRequest, ProxyResponse

MERGE_FRACTION = 0.85


def _timed(proxy: Proxy, request: ProxyRequest) -> tuple[float, ProxyResponse]:
    """Call a branch and note when its answer arrived (the merge order)."""
    response = proxy(request)
    return time.monotonic(), response


def _combine(responses: Sequence[ProxyResponse], errors: Sequence[GatewayError], expected: int) -> ProxyResponse:
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
        pending: set[Future[tuple[float, ProxyResponse]]] = {pool.submit(_timed, p, branch) for p in rest}
        arrived: list[tuple[float, ProxyResponse]] = []
        errors: list[GatewayError] = []
        try:
            arrived.append(_timed(first, branch))
        except GatewayError as exc:
            errors.append(exc)
        while pending:
            remaining = branch.deadline - time.monotonic()
            if remaining <= 0:
                break
            done, pending = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    arrived.append(future.result())
                except GatewayError as exc:
                    errors.append(exc)
        for future in pending:
            future.cancel()
            errors.append(BackendTimeout("merge", "branch still running at the merge deadline"))
        arrived.sort(key=lambda item: item[0])
        return _combine([response for _, response in arrived], errors, len(proxies))
    return merge_parallel


def sequential(proxies: Sequence[Proxy], timeout: float) -> Proxy:
    """Run branches in order; see the module docstring."""
    slack = timeout * (1 - MERGE_FRACTION)

    def merge_sequential(request: ProxyRequest) -> ProxyResponse:
        deadline = request.deadline - slack
        previous: dict[int, ProxyResponse] = {}
        responses: list[ProxyResponse] = []
        errors: list[GatewayError] = []
        for index, proxy in enumerate(proxies):
            branch = dataclasses.replace(request, deadline=deadline, previous=dict(previous))
            try:
                response = proxy(branch)
            except GatewayError as exc:
                if index == 0:
                    raise
                errors.append(exc)
                break
            responses.append(response)
            previous[index] = response
            if not response.is_complete:
                break
        return _combine(responses, errors, len(proxies))
    return merge_sequential
