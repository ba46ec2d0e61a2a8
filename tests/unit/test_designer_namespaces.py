"""The Designer's namespace forms only offer keys the parsers accept."""
from __future__ import annotations

import importlib

import pytest

from app.designer.namespaces import NAMESPACES, for_scope

PARSERS = {
    "auth/validator": "app.auth.validator",
    "qos/ratelimit/router": "app.qos.ratelimit_router",
    "qos/ratelimit/proxy": "app.qos.ratelimit_proxy",
    "qos/circuit-breaker": "app.qos.circuit_breaker",
    "qos/http-cache": "app.qos.http_cache",
}


@pytest.mark.parametrize("namespace", sorted(NAMESPACES))
def test_form_keys_are_parser_keys(namespace):
    module = importlib.import_module(PARSERS[namespace])
    assert module.NAMESPACE == namespace
    keys = [key for key, _, _ in NAMESPACES[namespace]["fields"]]
    assert len(keys) == len(set(keys))
    unknown = set(keys) - set(getattr(module, "KEYS", keys))
    assert not unknown, f"{namespace}: the parser does not know {sorted(unknown)}"


@pytest.mark.parametrize("scope, names", [
    ("service", []),
    ("endpoint", ["auth/validator", "qos/ratelimit/router"]),
    ("backend", ["qos/circuit-breaker", "qos/http-cache", "qos/ratelimit/proxy"]),
])
def test_for_scope(scope, names):
    assert sorted(for_scope(scope)) == names
