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
and every header the client's request put on the backend call, propagated
JWT claims and Martian-set headers included, so one client's answer is never
served to another (deviation: KrakenD keys on the URL and ``Vary`` headers
only).  Headers the gateway adds for every client (``X-Forwarded-For``,
``X-Forwarded-Host``, ``X-Forwarded-Via``, ``Accept-Encoding``, its own
``User-Agent``) are left out, so clients share entries; an answer whose
``Vary`` names one of them is not kept.  A request with a body is never
served from or stored in the cache.

Entries over 1 MiB (or ``max_size``, if smaller) are not kept; a store keeps
at most ``max_items`` entries (default 1000).  Entries are JSON records, never
pickles, so whoever can write to Redis cannot run code in the gateway; an
unreadable entry is a miss.  Lifetimes are capped at a year.

Store: flask-caching's ``SimpleCache`` per worker process, or its
``RedisCache`` shared by every worker and VM with ``GATEWAY_STORAGE_URL``.
When Redis fails the cache is skipped (calls go to the backend), with one log
line per back-off, never an error.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Optional

import redis
from flask_caching.backends import RedisCache, SimpleCache

from app.config.model import BackendConfig
from app.deps import GatewayDeps
from app.config.values import flag
from app.errors import ConfigError
from app.proxy.model import Executor, WireRequest, WireResponse
from app.storage import ERRORS
from app.version import IDENTITY

NAMESPACE = "qos/http-cache"
KEYS = frozenset({"shared", "max_items", "max_size"})
DEFAULT_ITEMS = 1000
MAX_ENTRY = 1024 * 1024
MAX_LIFETIME = 365 * 24 * 3600.0
CACHEABLE = frozenset({200, 203})
#: Headers the gateway itself puts on every backend call: not part of the key.
GATEWAY_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-host", "x-forwarded-via", "accept-encoding"})
#: Per-call identifiers (trace context, request ids): unique on every call, so never part of the key.
PER_CALL_HEADERS = frozenset({"traceparent", "tracestate", "x-krakend-id", "x-request-id", "x-correlation-id"})
log = logging.getLogger("propylon.cache")


@dataclass(frozen=True)
class CacheSettings:
    shared: bool = False
    max_items: int = DEFAULT_ITEMS
    max_entry: int = MAX_ENTRY


def parse(raw: Any, path: str) -> CacheSettings:
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object, got {raw!r}")
    shared = flag(raw, "shared", path)
    items = raw.get("max_items", DEFAULT_ITEMS)
    if isinstance(items, bool) or not isinstance(items, int) or items < 1:
        raise ConfigError(f"{path}.max_items", f"expected a positive integer, got {items!r}")
    size = raw.get("max_size", MAX_ENTRY)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"{path}.max_size", f"expected a positive number of bytes, got {size!r}")
    return CacheSettings(shared, items, min(size, MAX_ENTRY))


def _directives(value: str) -> dict[str, str]:
    out = {}
    for part in value.split(","):
        name, _, arg = part.strip().partition("=")
        if name:
            out[name.lower()] = arg.strip().strip('"')
    return out


def _all(response: WireResponse, name: str) -> str:
    """Every value of a (possibly repeated) header, joined as one list."""
    lname = name.lower()
    return ", ".join(v for k, v in response.headers if k.lower() == lname)


def freshness(response: WireResponse, shared_store: bool) -> float:
    """Seconds the answer may be served from cache; 0 when it must not be kept (RFC 9111 subset)."""
    vary = {v.strip().lower() for v in _all(response, "Vary").split(",") if v.strip()}
    if response.status not in CACHEABLE or response.header("Set-Cookie") or "*" in vary \
            or vary & (GATEWAY_HEADERS | {"user-agent"}):
        return 0.0
    control = _directives(_all(response, "Cache-Control"))
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
        age = max(0.0, float(response.header("Age") or 0))
    except ValueError:
        age = 0.0
    return min(MAX_LIFETIME, max(0.0, (lifetime or 0.0) - age))


def cache_key(request: WireRequest) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.url}\n".encode("utf-8", "surrogateescape"))
    for name, value in sorted((k.lower(), v) for k, v in request.headers.items()):
        if name in GATEWAY_HEADERS or name in PER_CALL_HEADERS or (name == "user-agent" and value == IDENTITY):
            continue
        digest.update(f"{name}: {value}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


class JSONEntries:
    """cachelib serializer: entries as JSON records (cachelib would pickle them)."""

    def dumps(self, value: WireResponse) -> bytes:
        return json.dumps({"v": 1, "status": value.status, "headers": value.headers, "url": value.url,
                           "body": base64.b64encode(value.body).decode()}).encode()

    def loads(self, data: Optional[bytes]) -> Optional[WireResponse]:
        """The entry, or None for anything that is not one of ours (treated as a miss)."""
        if data is None:
            return None
        try:
            record = json.loads(data)
            return WireResponse(int(record["status"]), tuple((str(k), str(v)) for k, v in record["headers"]),
                                base64.b64decode(record["body"]), str(record["url"]))
        except (ValueError, TypeError, KeyError):
            return None


class Store:
    """A flask-caching backend plus the Redis health bookkeeping."""

    def __init__(self, backend: Any, deps: GatewayDeps, shared: bool) -> None:
        backend.serializer = JSONEntries()
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
        except redis.ResponseError:
            return None
        except ERRORS as exc:
            if self.redis is not None:
                self.redis.failed("http cache", exc)
            return None
        except Exception:  # noqa: BLE001 - an unreadable entry is a miss, never an error
            return None
        if self.redis is not None:
            self.redis.succeeded()
        return found if isinstance(found, WireResponse) else None

    def set(self, key: str, response: WireResponse, seconds: float) -> None:
        if self.redis is not None and not self.redis.usable():
            return
        try:
            self.backend.set(key, response, timeout=max(1, math.ceil(seconds)))
        except redis.ResponseError as exc:
            log.warning("[CACHE] entry not stored: %s", exc)  # Redis refused this one entry; it is not down
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
    max_entry = settings.max_entry
    counted = deps.metrics.cache if deps.metrics is not None else None
    hit = counted.labels(backend.label, "hit") if counted is not None else None
    miss = counted.labels(backend.label, "miss") if counted is not None else None

    def decorate(inner: Executor) -> Executor:
        def with_http_cache(request: WireRequest, deadline: float) -> WireResponse:
            if request.method != "GET" or request.body or "range" in (k.lower() for k in request.headers):
                return inner(request, deadline)
            key = cache_key(request)
            cached = store.get(key)
            if cached is not None:
                store.hits += 1
                if hit is not None:
                    hit.inc()
                return cached
            store.misses += 1
            if miss is not None:
                miss.inc()
            response = inner(request, deadline)
            seconds = freshness(response, store.shared)
            if seconds > 0 and len(response.body) <= max_entry:
                store.set(key, response, seconds)
            return response
        return with_http_cache
    return decorate
