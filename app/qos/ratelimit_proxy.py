"""``qos/ratelimit/proxy``: a token bucket in front of one backend.

Namespace ``qos/ratelimit/proxy`` on a backend::

    "qos/ratelimit/proxy": {"max_rate": 100, "every": "1s", "capacity": 100}

Keys: ``max_rate`` (required, > 0), ``every`` (default 1s; no 1s minimum
here, as in KrakenD) and ``capacity`` (default: the per-second rate, at
least 1).  When the bucket is empty the backend is not called and the call
fails with KrakenD's ``rate limit exceded``: a single-backend endpoint
answers 500, an aggregate answers with the other backends (200, incomplete).
Sits inside the circuit breaker, so refusals count for it as in KrakenD.

State: per worker process, or shared with ``GATEWAY_STORAGE_URL``.
"""
from __future__ import annotations

from typing import Any, Optional

from app.config.durations import parse_duration
from app.config.model import BackendConfig
from app.deps import GatewayDeps
from app.errors import BackendRateLimited, ConfigError
from app.proxy.model import Middleware, Proxy, ProxyRequest, ProxyResponse
from app.qos.tokenbucket import Bucket

NAMESPACE = "qos/ratelimit/proxy"
KEYS = frozenset({"max_rate", "every", "capacity"})


def parse(raw: Any, path: str) -> Bucket:
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object, got {raw!r}")
    rate = raw.get("max_rate")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0:
        raise ConfigError(f"{path}.max_rate", f"expected a number above 0, got {rate!r}")
    try:
        every = parse_duration(raw.get("every", "1s") or "1s")
    except ValueError as exc:
        raise ConfigError(f"{path}.every", str(exc)) from exc
    if every <= 0:
        raise ConfigError(f"{path}.every", "must be above 0")
    capacity = raw.get("capacity")
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0):
        raise ConfigError(f"{path}.capacity", f"expected a positive integer, got {capacity!r}")
    return Bucket.per(float(rate), every, capacity or None)


def from_config(backend: BackendConfig, deps: GatewayDeps) -> Optional[Middleware]:
    bucket = deps.namespace(backend.extra_config, backend.path, NAMESPACE, KEYS, parse)
    if bucket is None:
        return None
    key, take, label = f"proxy:{backend.state_key}", deps.buckets.take, backend.label
    refused = deps.metrics.ratelimit.labels(backend.owner.partition(" ")[2], "backend") \
        if deps.metrics is not None else None

    def middleware(inner: Proxy) -> Proxy:
        def with_backend_rate_limit(request: ProxyRequest) -> ProxyResponse:
            if not take(bucket, key):
                if refused is not None:
                    refused.inc()
                raise BackendRateLimited(label, "backend rate limit")
            return inner(request)
        return with_backend_rate_limit
    return middleware
