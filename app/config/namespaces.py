"""Canonical ``extra_config`` namespace names and the legacy alias table.

KrakenD configs written before v2 use long module paths as namespaces; they
are renamed to the short ones at load time so features only see canonical
names.  ``IMPLEMENTED`` lists what Propylon acts on; everything else is
accepted, logged once and reported by ``propylon check`` as not implemented.
"""
from __future__ import annotations

from typing import Any, Mapping

ALIASES: Mapping[str, str] = {
    "github.com/devopsfaith/krakend/proxy": "proxy",
    "github.com/devopsfaith/krakend/http": "backend/http",
    "github.com/devopsfaith/krakend/transport/http/client/executor": "backend/http/client",
    "github.com/devopsfaith/krakend-jose/validator": "auth/validator",
    "github.com/devopsfaith/krakend-jose/signer": "auth/signer",
    "github_com/luraproject/lura/router/gin": "router",
    "github_com/devopsfaith/krakend/router/gin": "router",
    "github.com/devopsfaith/krakend-ratelimit/juju/router": "qos/ratelimit/router",
    "github.com/devopsfaith/krakend-ratelimit/juju/proxy": "qos/ratelimit/proxy",
    "github.com/devopsfaith/krakend-circuitbreaker/gobreaker": "qos/circuit-breaker",
    "github.com/devopsfaith/krakend-httpcache": "qos/http-cache",
    "github.com/devopsfaith/krakend-martian": "modifier/martian",
    "github_com/devopsfaith/krakend-metrics": "telemetry/metrics",
    "github_com/devopsfaith/krakend-gologging": "telemetry/logging",
    "github_com/devopsfaith/krakend-cors": "security/cors",
    "github_com/devopsfaith/krakend-httpsecure": "security/http",
    "github_com/devopsfaith/bloomfilter": "auth/revoker",
    "github_com/devopsfaith/krakend-botdetector": "security/bot-detector",
    "github.com/devopsfaith/krakend-botdetector": "security/bot-detector",
    "github.com/devopsfaith/krakend-jsonschema": "validation/json-schema",
    "github.com/devopsfaith/krakend-cel": "validation/cel",
    "github.com/devopsfaith/krakend-lua/router": "modifier/lua-endpoint",
    "github.com/devopsfaith/krakend-lua/proxy": "modifier/lua-proxy",
    "github.com/devopsfaith/krakend-lua/proxy/backend": "modifier/lua-backend",
    "github_com/devopsfaith/krakend-opencensus": "telemetry/opencensus",
}

#: Namespaces Propylon implements, by the scope they are read at.
IMPLEMENTED: Mapping[str, frozenset[str]] = {
    "service": frozenset({"router"}),
    "endpoint": frozenset({"proxy", "auth/validator"}),
    "backend": frozenset({"proxy", "backend/http"}),
}


def canonical(name: str) -> str:
    """The short name of a namespace (unknown names are returned unchanged)."""
    return ALIASES.get(name, name)


def normalize(extra: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an ``extra_config`` object with every key made canonical.

    When a config carries both the legacy and the short spelling, the short
    one wins (it is the newer way of writing the same thing).
    """
    out = {canonical(key): value for key, value in extra.items() if canonical(key) != key}
    out.update((key, value) for key, value in extra.items() if canonical(key) == key)
    return out
