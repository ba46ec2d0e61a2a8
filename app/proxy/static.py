"""``proxy.static``: add fixed data to the endpoint answer when a strategy matches.

Namespace ``proxy`` on an endpoint::

    "proxy": {"static": {"strategy": "errored", "data": {"fallback": true}}}

Strategies (lura's): ``always`` (default), ``success`` (no error),
``errored`` (an error happened), ``complete`` (no error and complete),
``incomplete`` (no answer or an incomplete one).  The data overwrites the
answer's top-level keys.  Applied after the merge and the endpoint flatmap.
Adding data to a failed call turns the 500 into a 200 with
``X-Krakend-Completed: false`` (KrakenD does the same).  Stateless.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from app.errors import ConfigError, GatewayError
from app.proxy.model import Proxy, ProxyRequest, ProxyResponse

STRATEGIES: Mapping[str, Callable[[Optional[ProxyResponse], bool], bool]] = {
    "always": lambda resp, failed: True,
    "success": lambda resp, failed: not failed,
    "errored": lambda resp, failed: failed,
    "complete": lambda resp, failed: not failed and resp is not None and resp.is_complete,
    "incomplete": lambda resp, failed: resp is None or not resp.is_complete,
}


@dataclass(frozen=True)
class StaticSettings:
    strategy: str
    data: Mapping[str, Any]


def parse(raw: Any, path: str) -> StaticSettings:
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object, got {raw!r}")
    strategy = raw.get("strategy", "always") or "always"
    if strategy not in STRATEGIES:
        raise ConfigError(f"{path}.strategy", f"unknown strategy {strategy!r} (use {', '.join(STRATEGIES)})")
    data = raw.get("data", {})
    if not isinstance(data, dict):
        raise ConfigError(f"{path}.data", f"expected an object, got {data!r}")
    return StaticSettings(strategy, dict(data))


def static_layer(settings: StaticSettings, inner: Proxy) -> Proxy:
    matches = STRATEGIES[settings.strategy]
    extra = dict(settings.data)

    def with_static_data(request: ProxyRequest) -> ProxyResponse:
        try:
            response: Optional[ProxyResponse] = inner(request)
            error: Optional[GatewayError] = None
        except GatewayError as exc:
            response, error = None, exc
        failed = error is not None or bool(response and response.errors)
        if not matches(response, failed):
            if response is None:
                assert error is not None
                raise error
            return response
        if response is None:
            return ProxyResponse(dict(extra), False, errors=(error,) if error else ())
        return ProxyResponse({**response.data, **extra}, response.is_complete, response.status,
                             response.headers, response.raw, response.errors)
    return with_static_data
