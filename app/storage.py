"""Shared state: the Redis behind ``GATEWAY_STORAGE_URL``, and what to do when it is gone.

Without ``GATEWAY_STORAGE_URL`` every gunicorn worker keeps its own rate-limit
buckets, breaker states and cache.  With it, all workers of all gateway VMs
share them through one Redis.  Redis is a dependency that can fail; the
features then fall back to per-worker memory (limits, breakers) or skip the
cache, and never answer 5xx because of it.  ``SharedStorage`` tracks health
so a dead Redis costs one short timeout, not one per request: after a
failure it is left alone for a back-off (1 s doubling to 30 s), then tried
again.  One client per worker process (redis-py pools its connections and is
thread-safe).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Optional

import redis

log = logging.getLogger("propylon.storage")

#: Redis answers within these or counts as down (security.md: 0.25 s).
SOCKET_TIMEOUT = 0.25
MAX_BACKOFF = 30.0


class SharedStorage:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client = redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT,
                                           socket_connect_timeout=SOCKET_TIMEOUT, retry_on_timeout=False)
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._backoff = 0.0

    def usable(self) -> bool:
        """False while a recent failure's back-off runs."""
        return time.monotonic() >= self._down_until

    def failed(self, feature: str, exc: BaseException) -> None:
        """Record a failure: back off, and log once per back-off."""
        with self._lock:
            now = time.monotonic()
            if now < self._down_until:
                return
            self._backoff = min(MAX_BACKOFF, self._backoff * 2 or 1.0)
            self._down_until = now + self._backoff
        log.error("[STORAGE] %s: Redis at %s unavailable (%s: %s); using per-worker state, retrying in %.0fs",
                  feature, _redact(self.url), type(exc).__name__, exc, self._backoff)

    def succeeded(self) -> None:
        if self._backoff:
            with self._lock:
                if self._backoff:
                    log.warning("[STORAGE] Redis at %s is back; shared state in use again", _redact(self.url))
                self._backoff = 0.0


def _redact(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def from_url(url: Optional[str]) -> Optional[SharedStorage]:
    """A SharedStorage for a ``redis://``/``rediss://``/``unix://`` URL; None when unset."""
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"GATEWAY_STORAGE_URL={_redact(url)!r}: only redis://, rediss:// and unix:// are supported")
    return SharedStorage(url)


ERRORS = (redis.RedisError, OSError)
