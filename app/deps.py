"""Per-process shared resources, created in the worker (after gunicorn forks).

Threads and sockets do not survive ``fork``; ``create_app`` builds these in
each worker (``preload_app`` stays off), and they are passed explicitly to
every builder instead of living in module globals.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, TypeVar

from app import storage
from app.config.namespaces import unknown_keys
from app.proxy.model import Executor
from app.proxy.transport import RequestsTransport
from app.qos.tokenbucket import TokenBuckets
from app.settings import Settings


T = TypeVar("T")


@dataclass
class GatewayDeps:
    settings: Settings
    transport: Executor
    #: Runs the parallel branches of multi-backend endpoints.
    pool: ThreadPoolExecutor
    #: Runs ``concurrent_calls`` copies; separate so a branch never waits on its own pool.
    concurrent_pool: ThreadPoolExecutor
    #: ``GATEWAY_STORAGE_URL``'s Redis, or None: state per worker.
    shared: Optional[storage.SharedStorage] = None
    #: Rate-limit buckets of this worker (in Redis when ``shared`` is up).
    buckets: TokenBuckets = field(default_factory=lambda: TokenBuckets(None))
    #: Circuit breakers by backend JSON path (for state logging and metrics).
    breakers: dict[str, Any] = field(default_factory=dict)
    #: JWK set sources shared by the endpoints that use the same key set (see auth.validator).
    jwk_sources: dict[Any, Any] = field(default_factory=dict)
    #: Backend caches by backend JSON path, and the process-wide ``shared: true`` one.
    caches: dict[str, Any] = field(default_factory=dict)
    shared_cache: Any = None
    #: Prometheus metrics (``app.telemetry.metrics.Metrics``) when telemetry is configured.
    metrics: Any = None
    #: OpenTelemetry tracing (``app.telemetry.tracing.Tracing``) when an OTLP exporter is configured.
    tracing: Any = None
    #: True in ``propylon check``: features raise ConfigError instead of failing closed at run time.
    strict: bool = False
    #: Non-fatal findings while building stacks (unknown keys...), for ``propylon check`` and the log.
    warnings: list[str] = field(default_factory=list)

    def namespace(self, extra: Mapping[str, Any], owner_path: str, name: str, keys: frozenset[str],
                  parse: Callable[[Any, str], T]) -> Optional[T]:
        """Parse one feature's namespace (None when absent), warning about keys it does not know."""
        if name not in extra:
            return None
        path = f"{owner_path}.extra_config.{name}"
        settings = parse(extra[name], path)
        if isinstance(extra[name], dict):
            self.warn_unknown_keys(extra[name], keys, path)
        return settings

    def warn_unknown_keys(self, raw: Mapping[str, Any], known: frozenset[str], path: str) -> None:
        for key in unknown_keys(raw, known):
            self.warnings.append(f"{path}.{key}: unknown key, ignored (known: {', '.join(sorted(known))})")

    @classmethod
    def create(cls, settings: Settings, strict: bool = False) -> "GatewayDeps":
        shared = storage.from_url(settings.storage_url)
        return cls(
            settings=settings,
            transport=RequestsTransport(settings.max_response, pool_maxsize=settings.pool_size),
            pool=ThreadPoolExecutor(settings.pool_size, thread_name_prefix="fanout"),
            concurrent_pool=ThreadPoolExecutor(max(4, settings.pool_size // 4), thread_name_prefix="concurrent"),
            strict=strict,
            shared=shared,
            buckets=TokenBuckets(shared),
        )

    def close(self) -> None:
        if self.tracing is not None:
            self.tracing.shutdown()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.concurrent_pool.shutdown(wait=False, cancel_futures=True)
