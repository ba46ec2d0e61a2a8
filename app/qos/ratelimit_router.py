"""``qos/ratelimit/router``: token buckets in front of an endpoint.

Namespace ``qos/ratelimit/router`` on an endpoint::

    "qos/ratelimit/router": {
        "max_rate": 50, "every": "1s", "capacity": 50,
        "client_max_rate": 5, "client_capacity": 5, "strategy": "ip"
    }

Keys: ``max_rate`` / ``capacity`` (one bucket for the whole endpoint: 503
when empty), ``client_max_rate`` / ``client_capacity`` (one bucket per client:
429 when empty), ``every`` (the period of both rates; at least 1s),
``strategy`` (``ip``, ``header`` or ``param``: how a client is told apart)
and ``key`` (the header or path parameter, or for ``ip`` a header holding
the client IP).  Capacities default to the per-second rate (at least 1), as
in KrakenD.  The client bucket is checked first, so a request refused per
client costs no endpoint token.  Refusals have an empty body and no
``X-Krakend`` headers; a ``header``/``param`` request without the key is 429.
Runs after JWT validation (see ``app.wiring``).

Deviation: with ``strategy: ip``, the client IP is the socket peer unless
the peer is in ``GATEWAY_TRUSTED_PROXIES`` (KrakenD believes
``X-Forwarded-For`` and the ``key`` header from anyone), so a client cannot
pick its own bucket.

State: per worker process (N workers admit up to N times the limit), or
shared by every worker and VM with ``GATEWAY_STORAGE_URL``.
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any, Callable, Optional

from flask import request
from werkzeug.wrappers import Response

from app.config.durations import parse_duration
from app.config.model import EndpointConfig
from app.deps import GatewayDeps
from app.errors import ConfigError
from app.qos.tokenbucket import Bucket
from app.router.clientip import client_ip, is_trusted, strip_port
from app.router.forwarding import environ_key
from app.router.handler import View, param_names
from app.router.render import GatewayResponse

NAMESPACE = "qos/ratelimit/router"
KEYS = frozenset({"max_rate", "every", "capacity", "client_max_rate", "client_capacity", "strategy", "key",
                  "num_shards", "cleanup_period", "cleanup_threads"})
STRATEGIES = ("ip", "header", "param")
log = logging.getLogger("propylon.ratelimit")


@dataclass(frozen=True)
class RouterLimitSettings:
    endpoint: Optional[Bucket]     # max_rate / capacity / every
    client: Optional[Bucket]       # client_max_rate / client_capacity / every
    strategy: str                  # "ip", "header", "param" ("" = no client limit)
    key: str


def _number(raw: dict[str, Any], key: str, path: str) -> float:
    value = raw.get(key, 0) or 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{path}.{key}", f"expected a non-negative number, got {value!r}")
    return float(value)


def _capacity(raw: dict[str, Any], key: str, path: str) -> Optional[int]:
    value = raw.get(key)
    if value is None or value == 0:
        return None
    # KrakenD reads JSON numbers as floats: 5.0 is a fine capacity.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{path}.{key}", f"expected a positive integer, got {value!r}")
    return value


def parse(raw: Any, path: str) -> RouterLimitSettings:
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object, got {raw!r}")
    try:
        every = max(1.0, parse_duration(raw.get("every", "1s") or "1s"))
    except ValueError as exc:
        raise ConfigError(f"{path}.every", str(exc)) from exc
    rate, client_rate = _number(raw, "max_rate", path), _number(raw, "client_max_rate", path)
    strategy = raw.get("strategy", "") or ""
    key = raw.get("key", "") or ""
    if not isinstance(key, str):
        raise ConfigError(f"{path}.key", f"expected a string, got {key!r}")
    if client_rate and strategy not in STRATEGIES:
        # KrakenD logs this and disables client limiting; so does Propylon (see from_config).
        client_rate = 0.0
    if client_rate and strategy in ("header", "param") and not key:
        raise ConfigError(f"{path}.key", f"strategy {strategy} needs the name of the {strategy} in key")
    return RouterLimitSettings(
        endpoint=Bucket.per(rate, every, _capacity(raw, "capacity", path)) if rate else None,
        client=Bucket.per(client_rate, every, _capacity(raw, "client_capacity", path)) if client_rate else None,
        strategy=strategy if client_rate else "", key=key)


def from_config(endpoint: EndpointConfig, deps: GatewayDeps) -> Optional[Callable[[View], View]]:
    settings = deps.namespace(endpoint.extra_config, endpoint.path, NAMESPACE, KEYS, parse)
    raw = endpoint.extra_config.get(NAMESPACE)
    if isinstance(raw, dict) and raw.get("client_max_rate") and raw.get("strategy") not in STRATEGIES:
        deps.warnings.append(f"{endpoint.path}.extra_config.{NAMESPACE}.strategy: client_max_rate without "
                             "strategy ip, header or param; client limits are off (KrakenD does the same)")
    if settings is None or (settings.endpoint is None and settings.client is None):
        return None
    if settings.strategy == "param" and settings.key not in endpoint.params:
        raise ConfigError(f"{endpoint.path}.extra_config.{NAMESPACE}.key",
                          f"{settings.key!r} is not a parameter of {endpoint.endpoint}")
    identify = _client_key(settings, endpoint, deps)
    scope = f"router:{endpoint.method}:{endpoint.endpoint}"
    buckets = deps.buckets
    counter = deps.metrics.ratelimit if deps.metrics is not None else None
    refused = (lambda kind: counter.labels(endpoint.endpoint, kind).inc()) if counter is not None else None
    return lambda view: _limited(view, settings, identify, scope, buckets.take, refused)


def _client_key(settings: RouterLimitSettings, endpoint: EndpointConfig,
                deps: GatewayDeps) -> Callable[[dict[str, str]], Optional[str]]:
    trusted = deps.settings.trusted_proxies
    header_key = environ_key(settings.key) if settings.key else ""
    if settings.strategy == "header":
        return lambda variables: request.environ.get(header_key) or None
    if settings.strategy == "param":
        variable = dict(zip(endpoint.params, param_names(endpoint)))[settings.key]
        return lambda variables: variables.get(variable) or None

    from_forwarded_for = settings.key.lower() in ("", "x-forwarded-for")

    def by_ip(variables: dict[str, str]) -> Optional[str]:
        environ = request.environ
        if not from_forwarded_for and is_trusted(str(environ.get("REMOTE_ADDR") or ""), trusted):
            # A single-value header such as X-Real-IP, set by the trusted proxy.
            try:
                return str(ipaddress.ip_address(strip_port(str(environ.get(header_key) or "").strip())))
            except ValueError:
                pass
        # X-Forwarded-For is walked right to left (its first entry is the client's own claim);
        # a unix-socket peer has no address, and all such clients share one bucket.
        return client_ip(environ, trusted) or "local"
    return by_ip


def _limited(view: View, settings: RouterLimitSettings, identify: Callable[[dict[str, str]], Optional[str]],
             scope: str, take: Callable[[Bucket, str], bool],
             refused: Optional[Callable[[str], None]]) -> View:
    shared, client = settings.endpoint, settings.client

    def with_rate_limit(**variables: str) -> Response:
        if client is not None:
            key = identify(variables)
            digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32] if key else ""
            if not key or not take(client, f"{scope}:client:{digest}"):
                if refused is not None:
                    refused("client")
                return GatewayResponse(b"", 429)
        if shared is not None and not take(shared, f"{scope}:endpoint"):
            if refused is not None:
                refused("endpoint")
            return GatewayResponse(b"", 503)
        return view(**variables)
    return with_rate_limit
