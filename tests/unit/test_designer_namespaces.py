"""The Designer's namespace forms only offer keys the parsers accept."""
from __future__ import annotations

import importlib
import inspect

import pytest

from app.designer.namespaces import NAMESPACES, for_scope

PARSERS = {
    "auth/validator": "app.auth.validator",
    "auth/signer": "app.auth.signer",
    "security/bot-detector": "app.security.botdetector",
    "security/cors": "app.security.cors",
    "qos/ratelimit/router": "app.qos.ratelimit_router",
    "qos/ratelimit/proxy": "app.qos.ratelimit_proxy",
    "qos/circuit-breaker": "app.qos.circuit_breaker",
    "qos/http-cache": "app.qos.http_cache",
    "modifier/martian": "app.modifiers.martian app.modifiers.martian_types",
    "telemetry/logging": "app.telemetry.logging",
    "telemetry/metrics": "app.telemetry.listeners",
    "telemetry/opentelemetry": "app.telemetry.tracing",
}


def keys_of(fields):
    """Every key a form names, nested ones included."""
    for key, kind, _ in fields:
        yield key
        if isinstance(kind, dict):
            yield from keys_of(kind["fields"])


@pytest.mark.parametrize("namespace", sorted(NAMESPACES))
def test_form_keys_are_parser_keys(namespace):
    """A parser with a KEYS set must list every key; the others must read it by name."""
    modules = [importlib.import_module(name) for name in PARSERS[namespace].split()]
    module = modules[0]
    keys = list(keys_of(NAMESPACES[namespace]["fields"]))
    top = [key for key, _, _ in NAMESPACES[namespace]["fields"]]
    assert len(top) == len(set(top))
    known = getattr(module, "KEYS", None)
    if known is not None:
        assert module.NAMESPACE == namespace
        assert not set(keys) - set(known), f"{namespace}: the parser does not know {sorted(set(keys) - set(known))}"
    else:
        source = "".join(inspect.getsource(m) for m in modules)
        assert not [k for k in keys if f'"{k}"' not in source], f"{namespace}: keys its parser never reads"


@pytest.mark.parametrize("scope, names", [
    ("service", ["security/bot-detector", "security/cors", "telemetry/logging", "telemetry/metrics",
                 "telemetry/opentelemetry"]),
    ("endpoint", ["auth/signer", "auth/validator", "modifier/martian", "qos/ratelimit/router",
                  "security/bot-detector"]),
    ("backend", ["modifier/martian", "qos/circuit-breaker", "qos/http-cache", "qos/ratelimit/proxy"]),
])
def test_for_scope(scope, names):
    assert sorted(for_scope(scope)) == names
