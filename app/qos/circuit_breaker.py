"""``qos/circuit-breaker``: stop calling a failing backend for a while (pybreaker).

Namespace ``qos/circuit-breaker`` on a backend::

    "qos/circuit-breaker": {"interval": 60, "timeout": 10, "max_errors": 3,
                            "name": "users", "log_status_change": true}

KrakenD's state machine (gobreaker): closed, the breaker counts consecutive
failures and opens on failure number ``max_errors + 1``; counts restart at
the end of every ``interval`` seconds (0: never).  Open, calls fail at once
with ``circuit breaker is open`` and the backend is not called, for
``timeout`` seconds (0: 60).  Then exactly one probe goes through
(half-open; others meanwhile fail at once): success closes the breaker,
failure opens it again.  ``log_status_change`` logs every transition at
WARNING, ``[BACKEND: /pattern][CB] Circuit breaker named 'x' went from
'closed' to 'open'``.

pybreaker keeps the state and counts (``fail_max = max_errors + 1``).  Its
``call()`` holds a lock for the whole call, so calls go through
``calling()``, which does not serialise concurrent calls; pybreaker lets
every concurrent call through when half-open, so a non-blocking lock admits
the single probe.

Deviation: only 5xx answers, timeouts, connection failures and
``qos/ratelimit/proxy`` refusals count as failures; any other answer, 4xx
included, is a success (KrakenD counts every non-200/201, so clients could
open a breaker with 404s).

State: per worker process, or shared by every worker and VM through Redis
with ``GATEWAY_STORAGE_URL`` (pybreaker's Redis storage, keyed by what the
backend calls rather than its position in the config; the probe gate stays
per worker, and pybreaker keeps the opening time to the second); while Redis
is down each worker falls back to its own breaker.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional

import pybreaker

from app.config.model import BackendConfig
from app.deps import GatewayDeps
import redis

from app.errors import BackendError, BackendRateLimited, BackendStatusError, BackendTimeout, BackendUnavailable, \
    CircuitOpen, ConfigError
from app.proxy.model import Middleware, Proxy, ProxyRequest, ProxyResponse
from app.storage import ERRORS, SharedStorage

NAMESPACE = "qos/circuit-breaker"
KEYS = frozenset({"interval", "timeout", "max_errors", "name", "log_status_change"})
#: The breaker state as the ``propylon_circuit_breaker_state`` gauge reports it.
STATE_VALUES = {"closed": 0, "half-open": 1, "open": 2}
log = logging.getLogger("propylon.breaker")


@dataclass(frozen=True)
class BreakerSettings:
    interval: int          # "interval", seconds (0 = counts never reset)
    timeout: int           # "timeout", seconds open (0 = 60)
    max_errors: int        # "max_errors"
    name: str = ""         # "name"
    log_status_change: bool = False


def parse(raw: Any, path: str) -> BreakerSettings:
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object, got {raw!r}")
    values = {}
    for key in ("interval", "timeout", "max_errors"):
        value = raw.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            unit = "errors" if key == "max_errors" else "seconds"
            raise ConfigError(f"{path}.{key}", f"expected a whole number of {unit} (0 or more), got {value!r}")
        values[key] = value
    name = raw.get("name", "")
    log_changes = raw.get("log_status_change", False)
    if not isinstance(name, str) or not isinstance(log_changes, bool):
        raise ConfigError(path, "name must be a string and log_status_change true or false")
    return BreakerSettings(values["interval"], values["timeout"] or 60, values["max_errors"], name, log_changes)


def counts_as_failure(exc: BaseException) -> bool:
    """5xx, timeouts, connection failures and backend rate-limit refusals; never a client's 4xx."""
    if isinstance(exc, BackendStatusError):
        return exc.status >= 500
    return isinstance(exc, (BackendTimeout, BackendUnavailable, BackendRateLimited))


class _LogChanges(pybreaker.CircuitBreakerListener):
    def __init__(self, prefix: str, name: str) -> None:
        self.prefix, self.name = prefix, name

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        old, new = getattr(old_state, "name", str(old_state)), getattr(new_state, "name", str(new_state))
        if old != new:
            log.warning("%s[CB] Circuit breaker named '%s' went from '%s' to '%s'", self.prefix, self.name, old, new)


class _ReportingRedis:
    """The shared Redis client as pybreaker sees it: failures are reported to the storage's health.

    pybreaker's Redis storage swallows Redis errors (falling back to
    "closed"); without this, a dead Redis would cost every call several
    socket timeouts instead of switching the worker to its own breaker.
    """

    def __init__(self, shared: SharedStorage) -> None:
        self._shared = shared

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._shared.client, name)

        def reporting(*args: Any, **kwargs: Any) -> Any:
            if not self._shared.usable():
                # Already known down: fail at once instead of waiting for a timeout.
                raise redis.ConnectionError("shared storage marked down")
            try:
                result = method(*args, **kwargs)
            except ERRORS as exc:
                self._shared.failed("circuit breaker", exc)
                raise
            self._shared.succeeded()
            return result
        return reporting


class Breaker:
    """One backend's breaker: pybreaker state, KrakenD's interval window and single probe."""

    def __init__(self, settings: BreakerSettings, label: str, key: str, deps: GatewayDeps) -> None:
        self.settings = settings
        listeners = [_LogChanges(f"[BACKEND: {label}]", settings.name)] if settings.log_status_change else []
        options: dict[str, Any] = dict(fail_max=settings.max_errors + 1, reset_timeout=settings.timeout,
                                       exclude=[lambda exc: not counts_as_failure(exc)], listeners=listeners,
                                       name=settings.name or label)
        self.local = pybreaker.CircuitBreaker(**options)
        self.shared = deps.shared
        self._options, self._key = options, key
        self.remote: Optional[pybreaker.CircuitBreaker] = None
        self._probe = threading.Lock()
        self._window = time.monotonic()

    def current(self) -> pybreaker.CircuitBreaker:
        """The shared breaker while Redis is usable, else this worker's own."""
        if self.shared is None or not self.shared.usable():
            return self.local
        if self.remote is None:
            # Built on first use, not at start-up: pybreaker's Redis storage
            # talks to Redis in its constructor, and a gateway must boot
            # (and replace workers) while Redis is down.
            try:
                self.remote = pybreaker.CircuitBreaker(
                    state_storage=pybreaker.CircuitRedisStorage(
                        pybreaker.STATE_CLOSED, _ReportingRedis(self.shared),  # type: ignore[arg-type]
                        namespace=f"propylon:breaker:{self._key}"),
                    **self._options)
            except ERRORS:
                return self.local
        return self.remote

    @property
    def state(self) -> str:
        return str(self.current().current_state)

    def call(self, proxy: Proxy, request: ProxyRequest, label: str) -> ProxyResponse:
        breaker = self.current()
        state = breaker.current_state
        if state == pybreaker.STATE_CLOSED:
            self._restart_window(breaker)
            return self._guarded(breaker, proxy, request, label)
        if not self._probe.acquire(blocking=False):
            raise CircuitOpen(label, f"{state}: a probe is already running")
        try:
            return self._guarded(breaker, proxy, request, label)
        finally:
            self._probe.release()

    def _guarded(self, breaker: pybreaker.CircuitBreaker, proxy: Proxy, request: ProxyRequest,
                 label: str) -> ProxyResponse:
        try:
            with breaker.calling():
                return proxy(request)
        except pybreaker.CircuitBreakerError as exc:
            # The call that trips the breaker (or a failed probe) reports its
            # own backend error, as gobreaker does; only refused calls say "open".
            if isinstance(exc.__context__, BackendError):
                raise exc.__context__ from None
            raise CircuitOpen(label, str(exc)) from exc

    def _restart_window(self, breaker: pybreaker.CircuitBreaker) -> None:
        """gobreaker's closed-state interval: counts restart every ``interval`` seconds."""
        interval = self.settings.interval
        if interval and time.monotonic() - self._window >= interval:
            self._window = time.monotonic()
            # pybreaker has no public way to zero the count without a state change.
            breaker._state_storage.reset_counter()


def from_config(backend: BackendConfig, deps: GatewayDeps) -> Optional[Middleware]:
    settings = deps.namespace(backend.extra_config, backend.path, NAMESPACE, KEYS, parse)
    if settings is None:
        return None
    breaker = Breaker(settings, backend.label, backend.state_key, deps)
    deps.breakers[backend.path] = breaker
    label = backend.label
    gauge = deps.metrics.breaker.labels(label, settings.name) if deps.metrics is not None else None

    def middleware(inner: Proxy) -> Proxy:
        def with_circuit_breaker(request: ProxyRequest) -> ProxyResponse:
            try:
                return breaker.call(inner, request, label)
            finally:
                if gauge is not None:
                    gauge.set(STATE_VALUES.get(breaker.state, 0))
        return with_circuit_breaker
    return middleware
