"""``qos/http-cache``: keep backend answers as long as the backend allows (flask-caching store).

Namespace ``qos/http-cache`` on a backend::

    "qos/http-cache": {}                                  # this backend's own store
    "qos/http-cache": {"shared": true, "max_items": 5000} # one store for every shared backend

Like KrakenD, this caches the backend's raw answer, before decoding and
shaping, and only as the backend's headers allow: a GET without ``Range``,
status 200 or 203, no ``Set-Cookie``, ``Cache-Control`` not ``no-store`` or
``no-cache`` (nor ``private`` in a shared store), no ``Vary: *``, and a
freshness lifetime from ``s-maxage`` (shared stores), ``max-age`` or
``Expires`` minus ``Age``.  Answers without one are not kept.  Errors are
never cached.

The key is a SHA-256 of the method, the final backend URL (query included)
and every header sent to the backend, propagated claims and the client's
``X-Forwarded-For`` included, so one client's answer is never served to
another (deviation: KrakenD keys on the URL and ``Vary`` headers only).
Entries over 1 MiB are not kept; a store keeps at most ``max_items`` entries
(default 1000; ``max_size`` is accepted and ignored).

Store: flask-caching's ``SimpleCache`` per worker process, or its
``RedisCache`` shared by every worker and VM with ``GATEWAY_STORAGE_URL``.
When Redis fails the cache is skipped (calls go to the backend), with one log
line per back-off, never an error.
"""
from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Optional

from flask_caching.backends import RedisCache, SimpleCache

from app.config.model import BackendConfig
from app.deps import GatewayDeps
from app.errors import ConfigError
from app.proxy.model import Executor, WireRequest, WireResponse
from app.storage import ERRORS

NAMESPACE = "qos/http-cache"
KEYS = frozenset({"shared", "max_items", "max_size"})
DEFAULT_ITEMS = 1000
MAX_ENTRY = 1024 * 1024
CACHEABLE = frozenset({200, 203})
log = logging.getLogger("propylon.cache")


@dataclass(frozen=True)
class CacheSettings:
    shared: bool = False
    max_items: int = DEFAULT_ITEMS


def parse(raw: Any, path: str) -> CacheSettings:
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object, got {raw!r}")
    shared = raw.get("shared", False)
    if not isinstance(shared, bool):
        raise ConfigError(f"{path}.shared", f"expected true or false, got {shared!r}")
    items = raw.get("max_items", DEFAULT_ITEMS)
    if isinstance(items, bool) or not isinstance(items, int) or items < 1:
        raise ConfigError(f"{path}.max_items", f"expected a positive integer, got {items!r}")
    return CacheSettings(shared, items)


def _directives(value: str) -> dict[str, str]:
    out = {}
    for part in value.split(","):
        name, _, arg = part.strip().partition("=")
        if name:
            out[name.lower()] = arg.strip().strip('"')
    return out


def freshness(response: WireResponse, shared_store: bool) -> float:
    """Seconds the answer may be served from cache; 0 when it must not be kept (RFC 9111 subset)."""
    if response.status not in CACHEABLE or response.header("Set-Cookie") or response.header("Vary").strip() == "*":
        return 0.0
    control = _directives(response.header("Cache-Control"))
    if "no-store" in control or "no-cache" in control or (shared_store and "private" in control):
        return 0.0
    lifetime: Optional[float] = None
    for name in (("s-maxage", "max-age") if shared_store else ("max-age",)):
        if name in control:
            try:
                lifetime = float(int(control[name]))
            except ValueError:
                return 0.0
            break
    if lifetime is None and response.header("Expires"):
        try:
            expires = parsedate_to_datetime(response.header("Expires")).timestamp()
            date = parsedate_to_datetime(response.header("Date")).timestamp() if response.header("Date") \
                else time.time()
        except (TypeError, ValueError):
            return 0.0
        lifetime = expires - date
    try:
        age = float(response.header("Age") or 0)
    except ValueError:
        age = 0.0
    return max(0.0, (lifetime or 0.0) - age)


def cache_key(request: WireRequest) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.url}\n".encode("utf-8", "surrogateescape"))
    for name, value in sorted((k.lower(), v) for k, v in request.headers.items()):
        digest.update(f"{name}: {value}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


class Store:
    """A flask-caching backend plus the Redis health bookkeeping."""

    def __init__(self, backend: Any, deps: GatewayDeps, shared: bool) -> None:
        self.backend = backend
        self.redis = deps.shared if isinstance(backend, RedisCache) else None
        #: Whether entries are seen by more than one client key space (``private`` then not kept).
        self.shared = shared or self.redis is not None
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Optional[WireResponse]:
        if self.redis is not None and not self.redis.usable():
            return None
        try:
            found = self.backend.get(key)
        except ERRORS as exc:
            if self.redis is not None:
                self.redis.failed("http cache", exc)
            return None
        return found if isinstance(found, WireResponse) else None

    def set(self, key: str, response: WireResponse, seconds: float) -> None:
        if self.redis is not None and not self.redis.usable():
            return
        try:
            self.backend.set(key, response, timeout=max(1, math.ceil(seconds)))
        except ERRORS as exc:
            if self.redis is not None:
                self.redis.failed("http cache", exc)


def _store(settings: CacheSettings, backend: BackendConfig, deps: GatewayDeps) -> Store:
    if deps.shared is not None:
        prefix = "propylon:cache:" if settings.shared else f"propylon:cache:{backend.path}:"
        return Store(RedisCache(host=deps.shared.client, key_prefix=prefix, default_timeout=0), deps, True)
    if settings.shared:
        if deps.shared_cache is None:
            deps.shared_cache = Store(SimpleCache(threshold=settings.max_items, default_timeout=0), deps, True)
        shared_store: Store = deps.shared_cache
        return shared_store
    return Store(SimpleCache(threshold=settings.max_items, default_timeout=0), deps, False)


def from_config(backend: BackendConfig, deps: GatewayDeps) -> Optional[Callable[[Executor], Executor]]:
    settings = deps.namespace(backend.extra_config, backend.path, NAMESPACE, KEYS, parse)
    if settings is None:
        return None
    store = _store(settings, backend, deps)
    deps.caches[backend.path] = store

    def decorate(inner: Executor) -> Executor:
        def with_http_cache(request: WireRequest, deadline: float) -> WireResponse:
            if request.method != "GET" or "range" in (k.lower() for k in request.headers):
                return inner(request, deadline)
            key = cache_key(request)
            cached = store.get(key)
            if cached is not None:
                store.hits += 1
                return cached
            store.misses += 1
            response = inner(request, deadline)
            seconds = freshness(response, store.shared)
            if seconds > 0 and len(response.body) <= MAX_ENTRY:
                store.set(key, response, seconds)
            return response
        return with_http_cache
    return decorate
