"""Token buckets, per worker in memory or shared through Redis.

A bucket holds up to ``capacity`` tokens and starts full; it refills
continuously at ``rate`` tokens per second; every admitted request takes one
token.  So after an idle period exactly ``capacity`` requests pass at once,
then ``rate`` per second (KrakenD's documented behaviour; its code admits
``capacity + 1`` after a long idle period, a quirk not copied).

Why not flask-limiter: its strategies are fixed, moving and sliding windows,
none of which is a bucket with a capacity separate from its rate; its checks
run as request hooks on every route and answer 429 only, while KrakenD checks
the client bucket, then the endpoint bucket, and answers 429 or 503.  The
bucket is small enough to own: a locked dict per worker, and one atomic Lua
script in Redis (time from the Redis server, so VMs with skewed clocks agree).

With shared storage, a Redis failure falls back to the per-worker buckets
until Redis answers again (see ``app.storage``); requests are never refused
because Redis is down.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

from app.storage import ERRORS, SharedStorage

#: Idle client buckets beyond this many are forgotten, least recently used first.
MAX_LOCAL_BUCKETS = 100_000

_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return allowed
"""


@dataclass(frozen=True)
class Bucket:
    rate: float        # tokens per second
    capacity: int      # burst size

    @classmethod
    def per(cls, amount: float, every: float, capacity: Optional[int] = None) -> "Bucket":
        """``amount`` tokens per ``every`` seconds; capacity defaults like KrakenD's (per-second rate, >= 1)."""
        rate = amount / every
        return cls(rate, capacity if capacity else max(1, math.floor(rate)))


class LocalBuckets:
    """Per-process buckets: key -> (tokens, last refill)."""

    def __init__(self, max_keys: int = MAX_LOCAL_BUCKETS) -> None:
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def take(self, bucket: Bucket, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._state.pop(key, (float(bucket.capacity), now))
            tokens = min(bucket.capacity, tokens + (now - last) * bucket.rate)
            allowed = tokens >= 1
            self._state[key] = (tokens - 1 if allowed else tokens, now)
            if len(self._state) > self._max_keys:
                self._state.popitem(last=False)
        return allowed


class TokenBuckets:
    """The buckets of one worker: in Redis when shared storage is configured and up, else local."""

    def __init__(self, shared: Optional[SharedStorage]) -> None:
        self.local = LocalBuckets()
        self.shared = shared
        self._script = shared.client.register_script(_TAKE) if shared is not None else None

    def take(self, bucket: Bucket, key: str) -> bool:
        """Take one token from the bucket at ``key``; False when it is empty."""
        if self.shared is not None and self._script is not None and self.shared.usable():
            try:
                allowed = bool(self._script(keys=[f"propylon:bucket:{key}"], args=[bucket.rate, bucket.capacity]))
            except ERRORS as exc:
                self.shared.failed("rate limit", exc)
            else:
                self.shared.succeeded()
                return allowed
        return self.local.take(bucket, key)
