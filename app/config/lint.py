"""``propylon check --lint``: risky but valid configurations, each with its JSON path and a fix.

Pure: reads the built configuration (and the process settings that change
what a limit means), returns lines; prints nothing.
"""
from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

from app.config.model import ServiceConfig

LONG_TIMEOUT = 60.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: Namespaces that protect an endpoint (authentication or a rate limit).
GUARDS = ("auth/validator", "qos/ratelimit/router", "auth/api-keys", "auth/basic")


def _validator(extra: Mapping[str, Any]) -> Mapping[str, Any]:
    value = extra.get("auth/validator")
    return value if isinstance(value, dict) else {}


def lint(service: ServiceConfig, workers: int, shared_storage: bool) -> list[str]:
    found: list[str] = []
    for endpoint in service.endpoints:
        path = endpoint.path
        if "*" in endpoint.input_headers:
            found.append(f"{path}.input_headers: [\"*\"] forwards every client header (cookies, credentials) "
                         "to the backends; list the headers they need")
        for backend in endpoint.backends:
            if "*" in backend.input_headers:
                found.append(f"{backend.path}.input_headers: [\"*\"] passes every header on; list the needed ones")
        validator = _validator(endpoint.extra_config)
        jwk_url = str(validator.get("jwk_url", ""))
        # Plain http to this very machine cannot be tampered with on the way.
        remote = jwk_url.startswith("http://") and urlsplit(jwk_url).hostname not in LOOPBACK
        if remote:
            found.append(f"{path}.extra_config.auth/validator.jwk_url: keys fetched over plain http can be "
                         "forged in transit; use https")
        if validator.get("disable_jwk_security") and (remote or not jwk_url.startswith("http://")):
            found.append(f"{path}.extra_config.auth/validator.disable_jwk_security: meant for development; "
                         "remove it and serve the JWK set over https")
        if not any(guard in endpoint.extra_config for guard in GUARDS):
            found.append(f"{path}: {endpoint.method} {endpoint.endpoint} has neither authentication nor a rate "
                         "limit; add auth/validator or qos/ratelimit/router")
        if endpoint.timeout > LONG_TIMEOUT:
            found.append(f"{path}.timeout: {endpoint.timeout:g}s holds a worker thread that long per request; "
                         f"keep it under {LONG_TIMEOUT:g}s")
        if "qos/ratelimit/router" in endpoint.extra_config and workers > 1 and not shared_storage:
            found.append(f"{path}.extra_config.qos/ratelimit/router: counted per worker, so {workers} workers "
                         f"admit {workers} times the limit; set GATEWAY_STORAGE_URL")
    for path, namespace in service.ignored_namespaces:
        found.append(f"{path}.{namespace}: not implemented by Propylon and ignored; remove it or expect "
                     "no effect")
    return found
