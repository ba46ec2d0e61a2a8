"""app.config.namespaces: canonical names and normalize (legacy aliases -> short names)."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from app.config.namespaces import canonical, normalize

CANONICAL = [
    ("github.com/devopsfaith/krakend/proxy", "proxy"),
    ("github.com/devopsfaith/krakend/http", "backend/http"),
    ("github.com/devopsfaith/krakend-jose/validator", "auth/validator"),
    ("github_com/luraproject/lura/router/gin", "router"),
    ("github_com/devopsfaith/krakend/router/gin", "router"),
    ("github.com/devopsfaith/krakend-ratelimit/juju/router", "qos/ratelimit/router"),
    ("github.com/devopsfaith/krakend-circuitbreaker/gobreaker", "qos/circuit-breaker"),
    ("github_com/devopsfaith/krakend-cors", "security/cors"),
    ("github_com/devopsfaith/krakend-metrics", "telemetry/metrics"),
    ("proxy", "proxy"),
    ("qos/ratelimit/router", "qos/ratelimit/router"),
    ("my/custom-plugin", "my/custom-plugin"),
    ("", ""),
    ("GITHUB.COM/DEVOPSFAITH/KRAKEND/PROXY", "GITHUB.COM/DEVOPSFAITH/KRAKEND/PROXY"),
]


@pytest.mark.parametrize(("name", "short"), CANONICAL, ids=[n or "empty" for n, _ in CANONICAL])
def test_canonical(name: str, short: str) -> None:
    assert canonical(name) == short


NORMALIZE = [
    ({}, {}),
    ({"github.com/devopsfaith/krakend/proxy": {"sequential": True}}, {"proxy": {"sequential": True}}),
    ({"proxy": 1, "router": 2}, {"proxy": 1, "router": 2}),
    ({"unknown/ns": {"a": 1}}, {"unknown/ns": {"a": 1}}),
    # both spellings: the short one wins, whatever the order
    ({"github.com/devopsfaith/krakend/proxy": "old", "proxy": "new"}, {"proxy": "new"}),
    ({"proxy": "new", "github.com/devopsfaith/krakend/proxy": "old"}, {"proxy": "new"}),
    # two legacy aliases of one namespace: the later one wins
    ({"github_com/luraproject/lura/router/gin": "a", "github_com/devopsfaith/krakend/router/gin": "b"},
     {"router": "b"}),
    ({"@comment": "x", "github_com/devopsfaith/krakend-cors": {}}, {"@comment": "x", "security/cors": {}}),
]


@pytest.mark.parametrize(("extra", "expected"), NORMALIZE, ids=[
    "empty", "legacy-renamed", "short-kept", "unknown-kept", "short-wins-after", "short-wins-before",
    "two-aliases", "comment-kept",
])
def test_normalize(extra: dict[str, Any], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(extra)
    out = normalize(extra)
    assert out == expected
    assert extra == before          # the input is not modified
    assert out is not extra
