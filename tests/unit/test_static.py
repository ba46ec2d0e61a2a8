"""app.proxy.static: proxy.static strategies with stub proxies (reference §2.12)."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from app.errors import BackendStatusError, ConfigError
from app.proxy.model import ProxyRequest, ProxyResponse
from app.proxy.static import StaticSettings, parse, static_layer

REQUEST = ProxyRequest(method="GET", path="/e", url="", params={}, query=(), headers={}, body=b"", deadline=0.0)
STATIC = {"k": "static", "s": True}
BACKEND = {"a": 1, "k": "backend"}
ERROR = BackendStatusError("/a", 500)

Inner = Callable[[ProxyRequest], ProxyResponse]


def answer(complete: bool, errors: tuple[BackendStatusError, ...] = ()) -> Inner:
    def proxy(request: ProxyRequest) -> ProxyResponse:
        return ProxyResponse(dict(BACKEND), complete, errors=errors)
    return proxy


def fail(request: ProxyRequest) -> ProxyResponse:
    raise ERROR


OUTCOMES: dict[str, Inner] = {
    "complete": answer(True),
    "incomplete": answer(False),
    "partial": answer(False, (ERROR,)),
    "error": fail,
}

# strategy -> outcome -> "added" | "unchanged" | "raises"
TABLE = {
    "always": {"complete": "added", "incomplete": "added", "partial": "added", "error": "added"},
    "success": {"complete": "added", "incomplete": "added", "partial": "unchanged", "error": "raises"},
    "errored": {"complete": "unchanged", "incomplete": "unchanged", "partial": "added", "error": "added"},
    "complete": {"complete": "added", "incomplete": "unchanged", "partial": "unchanged", "error": "raises"},
    "incomplete": {"complete": "unchanged", "incomplete": "added", "partial": "added", "error": "added"},
}
CASES = [(strategy, outcome, result) for strategy, row in TABLE.items() for outcome, result in row.items()]


@pytest.mark.parametrize(("strategy", "outcome", "result"), CASES, ids=[f"{s}-{o}" for s, o, _ in CASES])
def test_static_strategies(strategy: str, outcome: str, result: str) -> None:
    proxy = static_layer(StaticSettings(strategy, STATIC), OUTCOMES[outcome])
    if result == "raises":
        with pytest.raises(BackendStatusError) as info:
            proxy(REQUEST)
        assert info.value is ERROR
        return
    response = proxy(REQUEST)
    if outcome == "error":
        # static data turns a failure into an (incomplete) answer that still carries the error
        assert (response.data, response.is_complete, response.errors) == (STATIC, False, (ERROR,))
    elif result == "added":
        assert response.data == {**BACKEND, **STATIC}
        assert response.is_complete is (outcome == "complete")
    else:
        assert response.data == BACKEND


def test_static_data_is_not_shared_between_answers() -> None:
    proxy = static_layer(StaticSettings("always", {"list": [1]}), answer(True))
    first = proxy(REQUEST)
    first.data["extra"] = 1
    assert proxy(REQUEST).data == {**BACKEND, "list": [1]}


PARSE_OK: list[tuple[str, Any, StaticSettings]] = [
    ("defaults", {}, StaticSettings("always", {})),
    ("empty-strategy", {"strategy": "", "data": {"a": 1}}, StaticSettings("always", {"a": 1})),
    ("explicit", {"strategy": "incomplete", "data": {"a": 1}}, StaticSettings("incomplete", {"a": 1})),
]


@pytest.mark.parametrize(("raw", "expected"), [p[1:] for p in PARSE_OK], ids=[p[0] for p in PARSE_OK])
def test_parse(raw: Any, expected: StaticSettings) -> None:
    assert parse(raw, "endpoints[0].extra_config.proxy.static") == expected


PARSE_BAD: list[tuple[str, Any, str, str]] = [
    ("not-object", ["x"], "p", "expected an object"),
    ("unknown-strategy", {"strategy": "sometimes"}, "p.strategy", "unknown strategy 'sometimes'"),
    ("data-not-object", {"data": [1]}, "p.data", "expected an object, got [1]"),
]


@pytest.mark.parametrize(("raw", "path", "fragment"), [p[1:] for p in PARSE_BAD], ids=[p[0] for p in PARSE_BAD])
def test_parse_errors(raw: Any, path: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(raw, "p")
    assert info.value.path == path
    assert fragment in info.value.message
