"""Shared pieces of the pipeline unit tests: a real thread pool and plain requests."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest

from app.proxy.model import ProxyRequest


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=4)
    yield executor
    executor.shutdown(wait=True)


def make_request(seconds: float = 1.0) -> ProxyRequest:
    return ProxyRequest(method="GET", path="/e", url="", params={}, query=(), headers={}, body=b"",
                        deadline=time.monotonic() + seconds)
