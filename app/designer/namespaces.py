"""Forms the Designer offers for the ``extra_config`` namespaces Propylon implements.

Each field is ``(key, type, help)``; ``type`` is ``text``, ``number``,
``checkbox``, ``list`` (comma-separated strings), ``json`` or a list of
choices.  The help paraphrases KrakenD's documentation of the field (and
Propylon's deviations, README "Deliberate deviations").  Every key must be one
the namespace's parser accepts (a test holds them to the parsers' ``KEYS``);
anything else in ``extra_config`` stays editable as raw JSON, untouched.
"""
from __future__ import annotations

from typing import Any, Union

FieldType = Union[str, list[str]]
Field = tuple[str, FieldType, str]

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
}


def for_scope(scope: str) -> dict[str, dict[str, Any]]:
    """The namespaces with forms at ``scope`` ("service", "endpoint" or "backend")."""
    return {name: spec for name, spec in NAMESPACES.items() if scope in spec["scope"]}
