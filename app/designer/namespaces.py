"""Forms the Designer offers for the ``extra_config`` namespaces Propylon implements.

Each field is ``(key, type, help)``; ``type`` is ``text``, ``number``,
``checkbox``, ``list`` (comma-separated strings), ``json``, a list of
choices, or ``{"fields": [...]}`` for a nested object.  Keys a form does not
name stay in an "other keys" JSON box of that form.  The help paraphrases KrakenD's documentation of the field (and
Propylon's deviations, README "Deliberate deviations").  Every key must be one
the namespace's parser accepts (a test holds them to the parsers' ``KEYS``);
anything else in ``extra_config`` stays editable as raw JSON, untouched.
"""
from __future__ import annotations

from typing import Any, Union

FieldType = Union[str, list[str], dict[str, Any]]
Field = tuple[str, FieldType, str]

SCOPE = ("scope", "list", "When it applies: request, response or both, comma-separated")


def martian(name_help: str, value_help: str) -> dict[str, Any]:
    return {"fields": [SCOPE, ("name", "text", name_help), ("value", "text", value_help)]}


#: Where a namespace may sit: "service", "endpoint" or "backend".
NAMESPACES: dict[str, dict[str, Any]] = {
    "auth/validator": {"scope": ["endpoint"], "title": "JWT validation", "fields": [
        ("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
                 "HS256", "HS384", "HS512"], "Signing algorithm the tokens must use"),
        ("jwk_url", "text", "URL of the JSON Web Key Set (https; fetched and cached)"),
        ("jwk_local_path", "text", "Or: a local JWK Set file"),
        ("issuer", "text", "Required iss claim"),
        ("audience", "list", "Accepted aud values, comma-separated (any one suffices)"),
        ("roles", "list", "Roles of which the token must hold one (else 403)"),
        ("roles_key", "text", "Claim holding the roles"),
        ("roles_key_is_nested", "checkbox", "roles_key is a dot path into nested claims"),
        ("scopes", "list", "Required scopes"),
        ("scopes_key", "text", "Claim holding the scopes"),
        ("scopes_matcher", ["any", "all"], "Whether any or all of the scopes must be present"),
        ("cache", "checkbox", "Cache the JWK Set"),
        ("cache_duration", "number", "Seconds the JWK Set is cached (default 900)"),
        ("propagate_claims", "json", "Claims sent to backends as headers: [[\"sub\", \"X-User\"]]"),
        ("cookie_key", "text", "Cookie that may carry the token (default access_token)"),
        ("auth_header_name", "text", "Header carrying the token (default Authorization)"),
        ("leeway", "text", "Clock skew allowed for exp/nbf, e.g. 30s"),
        ("operation_debug", "checkbox", "Log why tokens are rejected"),
    ]},
    "auth/signer": {"scope": ["endpoint"], "title": "JWT signing", "fields": [
        ("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
                 "HS256", "HS384", "HS512"], "Algorithm the tokens are signed with"),
        ("kid", "text", "Key of the JWK set that signs (written in the token header)"),
        ("keys_to_sign", "list", "Top-level keys of the answer replaced by signed tokens"),
        ("jwk_url", "text", "URL of the JWK set holding the private key (https)"),
        ("jwk_local_path", "text", "Or: a local JWK set file"),
        ("jwk_local_ca", "text", "CA bundle trusted for jwk_url"),
        ("disable_jwk_security", "checkbox", "Allow an http:// jwk_url (development only; TLS is still verified)"),
        ("full", "checkbox", "JSON serialization instead of the compact token"),
    ]},
    "security/bot-detector": {"scope": ["service", "endpoint"], "title": "Bot detector", "fields": [
        ("allow", "list", "Exact User-Agents that are never bots"),
        ("deny", "list", "Exact User-Agents that are always bots (403)"),
        ("patterns", "list", "Regular expressions (RE2) searched in the User-Agent"),
        ("empty_user_agent_is_bot", "checkbox", "A missing or empty User-Agent is a bot"),
        ("cache_size", "number", "Verdicts kept per worker (0: none)"),
    ]},
    "security/cors": {"scope": ["service"], "title": "CORS", "fields": [
        ("allow_origins", "list", "Allowed origins; * for all, https://*.example.com for subdomains"),
        ("allow_methods", "list", "Methods allowed cross-origin (default GET, POST, HEAD)"),
        ("allow_headers", "list", "Request headers a preflight may ask for (default: any)"),
        ("expose_headers", "list", "Response headers the browser may read"),
        ("allow_credentials", "checkbox", "Allow cookies and Authorization (list the origins, not *)"),
        ("max_age", "text", "How long browsers cache a preflight, e.g. 12h"),
        ("options_passthrough", "checkbox", "Let preflights continue to the router"),
        ("options_success_status", "number", "Status of an answered preflight (default 204)"),
        ("allow_private_network", "checkbox", "Answer Private Network Access preflights"),
        ("debug", "checkbox", "Log every CORS decision"),
    ]},
    "qos/ratelimit/router": {"scope": ["endpoint"], "title": "Endpoint rate limit", "fields": [
        ("max_rate", "number", "Requests per `every` for the whole endpoint (0: none)"),
        ("capacity", "number", "Burst size of the endpoint's bucket (default max_rate)"),
        ("every", "text", "Period of max_rate, e.g. 1s (default) or 1m"),
        ("client_max_rate", "number", "Requests per `every` for each client (0: none)"),
        ("client_capacity", "number", "Burst size of each client's bucket"),
        ("strategy", ["ip", "header", "param"], "How clients are told apart"),
        ("key", "text", "Header or parameter naming the client (strategy header/param)"),
    ]},
    "qos/ratelimit/proxy": {"scope": ["backend"], "title": "Backend rate limit", "fields": [
        ("max_rate", "number", "Calls per `every` to this backend"),
        ("capacity", "number", "Burst size (default max_rate)"),
        ("every", "text", "Period of max_rate, e.g. 1s (default)"),
    ]},
    "qos/circuit-breaker": {"scope": ["backend"], "title": "Circuit breaker", "fields": [
        ("interval", "number", "Seconds in which errors are counted"),
        ("timeout", "number", "Seconds the circuit stays open before one trial call"),
        ("max_errors", "number", "Consecutive errors that open the circuit"),
        ("name", "text", "Name in logs and metrics"),
        ("log_status_change", "checkbox", "Log every open/close"),
    ]},
    "qos/http-cache": {"scope": ["backend"], "title": "Backend response cache", "fields": [
        ("shared", "checkbox", "Share entries between endpoints calling the same URL"),
        ("max_items", "number", "Most cached answers"),
        ("max_size", "number", "Most bytes of cached answers"),
    ]},
    "modifier/martian": {"scope": ["endpoint", "backend"], "title": "Martian modifier", "fields": [
        ("header.Modifier", martian("Header to set", "Its value"), "Set a header (one modifier)"),
        ("querystring.Modifier", martian("Query parameter to set", "Its value"), "Set a query parameter"),
        ("body.Modifier", {"fields": [SCOPE, ("body", "text", "New body, base64-encoded"),
                                      ("contentType", "text", "Its Content-Type")]}, "Replace the body"),
        ("fifo.Group", "json", "Several modifiers applied in order: {\"scope\": [...], \"modifiers\": [...]}"),
    ]},
    "telemetry/logging": {"scope": ["service"], "title": "Logging", "fields": [
        ("level", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], "Lowest level logged"),
        ("prefix", "text", "Text in front of every line"),
        ("stdout", "checkbox", "Log to standard output"),
        ("syslog", "checkbox", "Log to the local syslog"),
        ("syslog_facility", "text", "Syslog facility (default local3)"),
        ("format", ["default", "logstash"], "Line format: text or logstash JSON"),
    ]},
    "telemetry/metrics": {"scope": ["service"], "title": "Prometheus metrics", "fields": [
        ("listen_address", "text", "Where /metrics is served, e.g. 127.0.0.1:8090 (default :8090)"),
    ]},
    "telemetry/opentelemetry": {"scope": ["service"], "title": "OpenTelemetry", "fields": [
        ("service_name", "text", "Service name in traces (default: the config's name)"),
        ("trace_sample_rate", "number", "Share of requests traced, 0 to 1 (default 1)"),
        ("exporters", "json", "{\"otlp\": [{\"host\": ..., \"port\": 4317}], \"prometheus\": [{\"port\": 9090}]}"),
    ]},
}


def for_scope(scope: str) -> dict[str, dict[str, Any]]:
    """The namespaces with forms at ``scope`` ("service", "endpoint" or "backend")."""
    return {name: spec for name, spec in NAMESPACES.items() if scope in spec["scope"]}
