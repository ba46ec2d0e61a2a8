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
    "service": frozenset({"router", "telemetry/metrics", "telemetry/opentelemetry", "telemetry/logging",
                          "security/cors", "security/bot-detector", "modifier/lua-endpoint"}),
    "endpoint": frozenset({"proxy", "auth/validator", "qos/ratelimit/router", "security/bot-detector",
                           "validation/json-schema", "validation/cel", "auth/signer", "modifier/lua-endpoint",
                           "modifier/lua-proxy"}),
    "backend": frozenset({"proxy", "backend/http", "qos/ratelimit/proxy", "qos/circuit-breaker", "qos/http-cache",
                          "modifier/martian", "validation/cel", "modifier/lua-backend"}),
}


#: Every namespace KrakenD (CE and EE) documents; anything else in a config is
#: most likely a typo, and ``propylon check`` says so.
KRAKEND: frozenset[str] = frozenset({
    "router", "proxy", "backend/http", "backend/http/client", "backend/amqp/consumer", "backend/amqp/producer",
    "backend/lambda", "backend/pubsub/publisher", "backend/pubsub/subscriber", "backend/graphql", "backend/grpc",
    "backend/soap", "backend/static-filesystem", "auth/validator", "auth/signer", "auth/revoker",
    "auth/client-credentials", "auth/api-keys", "auth/basic", "auth/gcp", "auth/ntlm", "auth/jose",
    "qos/ratelimit/router", "qos/ratelimit/proxy", "qos/ratelimit/tiered", "qos/ratelimit/service",
    "qos/circuit-breaker", "qos/http-cache", "qos/redis", "modifier/martian", "modifier/lua-endpoint",
    "modifier/lua-proxy", "modifier/lua-backend", "modifier/jmespath", "modifier/request-body-generator",
    "modifier/response-body-generator", "modifier/response-headers", "modifier/body-generator",
    "validation/cel", "validation/json-schema", "validation/response-json-schema", "security/cors",
    "security/http", "security/bot-detector", "security/policies", "telemetry/logging", "telemetry/metrics",
    "telemetry/opentelemetry", "telemetry/opentelemetry-security", "telemetry/opencensus", "telemetry/influx",
    "telemetry/gelf", "telemetry/logstash", "telemetry/newrelic", "telemetry/moesif", "server/static-filesystem",
    "server/virtualhost", "server/websocket", "websocket", "plugin/http-server", "plugin/http-client",
    "plugin/req-resp-modifier", "documentation/openapi", "documentation/mcp", "grpc", "async/amqp",
    "governance/quota", "governance/processors", "ai/llm", "ai/mcp",
})


def is_known(name: str) -> bool:
    """A namespace KrakenD documents (implemented here or not)."""
    return name in KRAKEND


def unknown_keys(raw: Mapping[str, Any], known: frozenset[str]) -> list[str]:
    """Keys of a namespace object that its feature does not read (comment keys excepted)."""
    return sorted(k for k in raw if k not in known and k[:1] not in "@$_#")


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
