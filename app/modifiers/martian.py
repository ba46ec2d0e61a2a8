"""``modifier/martian``: change the backend request and response (google/martian's JSON dialect).

Namespace ``modifier/martian`` on a backend, one modifier (use ``fifo.Group``
or ``priority.Group`` for several)::

    "modifier/martian": {
      "fifo.Group": {"scope": ["request"], "modifiers": [
        {"header.Modifier": {"scope": ["request"], "name": "X-Internal-Key",
                             "value": "${env:USERS_INTERNAL_KEY}"}},
        {"querystring.Modifier": {"scope": ["request"], "name": "source", "value": "gateway"}}
      ]}
    }

Supported kinds: ``header.Modifier``, ``header.Append``, ``header.Blacklist``,
``header.Copy``, ``header.Id``, ``querystring.Modifier``, ``body.Modifier``,
``url.Modifier``, ``cookie.Modifier``, ``port.Modifier``, ``stash.Modifier``,
``status.Modifier``, ``static.Modifier``, ``fifo.Group`` (``aggregateErrors``),
``priority.Group`` and the filters ``header.Filter``, ``header.RegexFilter``,
``querystring.Filter``, ``url.Filter``, ``url.RegexFilter``, ``cookie.Filter``,
``port.Filter`` (``modifier`` / ``else``).  ``scope`` lists ``request`` and/or
``response``; without it a modifier acts in every direction it supports.

Request modifiers run on the backend request the gateway built (after the
``input_headers`` filter, so headers they set reach the backend whatever the
client sent, and the client cannot remove them), before the HTTP cache;
response modifiers run on the backend answer before decoding, so with JSON
encodings only the body and status matter to the client.

Secrets: ``${env:NAME}`` anywhere in a string value is replaced by the
environment variable ``NAME`` when the gateway starts; a missing variable is a
configuration error, and so is a modifier that takes such a value and acts on
responses (it would reach clients of no-op endpoints).  Header names and
values are checked at start-up (no framing or hop-by-hop headers, no control
characters such as a secret's trailing newline).  Regular expressions are
RE2, as in Go, so client input cannot make a filter slow.

Deviations: a malformed tree (unknown kind, several keys, bad scope, bad
field) stops start-up with its JSON path, where KrakenD logs it and silently
runs the backend without modifiers; ``stash.Modifier`` works in request
scope only (in response scope it would copy the internal backend URL into a
header that no-op endpoints return to clients); ``static.Modifier`` never
serves a file outside ``rootPath``.  Stateless.
"""
from __future__ import annotations

import os
import re
from typing import Any, Callable, Optional

from app.config.model import BackendConfig
from app.deps import GatewayDeps
from app.errors import BackendError, ConfigError
from app.modifiers.martian_types import KINDS, REQUEST, RESPONSE, Message, Modifier
from app.proxy.model import Executor, WireRequest, WireResponse

NAMESPACE = "modifier/martian"
_ENV = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


class ModifierError(BackendError):
    text = "martian modifier failed"


def _expand(value: Any, path: str) -> Any:
    """``${env:NAME}`` in a string (or a list of strings), from the environment."""
    if isinstance(value, list):
        return [_expand(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(path, f"environment variable {name} is not set (used as ${{env:{name}}})")
        return os.environ[name]
    return _ENV.sub(lookup, value)


def _own_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """The fields of one modifier that are values (nested modifiers are expanded in their own node)."""
    return {k: v for k, v in spec.items() if k[:1] not in "@$_#" and not isinstance(v, dict)
            and not (isinstance(v, list) and any(isinstance(i, dict) for i in v))}


def parse(raw: Any, path: str) -> Modifier:
    """Build the modifier tree; raises ``ConfigError`` with the JSON path of the first problem."""
    return _node(raw, path)


def _node(raw: Any, path: str) -> Modifier:
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object with one modifier, got {raw!r}")
    keys = [k for k in raw if k[:1] not in "@$_#"]
    if len(keys) != 1:
        raise ConfigError(path, f"expected exactly one modifier, got {len(keys)}: {', '.join(keys) or 'none'} "
                                "(use fifo.Group for several)")
    kind = keys[0]
    where = f"{path}.{kind}"
    cls = KINDS.get(kind)
    if cls is None:
        raise ConfigError(where, f"unknown modifier {kind!r} (supported: {', '.join(sorted(KINDS))})")
    spec = raw[kind]
    if not isinstance(spec, dict):
        raise ConfigError(where, f"expected an object, got {spec!r}")
    supported = cls.supported()
    scope = spec.get("scope")
    if scope is None:
        scopes = supported
    elif not isinstance(scope, list) or not scope or not all(s in (REQUEST, RESPONSE) for s in scope):
        raise ConfigError(f"{where}.scope", f"expected a list of \"request\" and/or \"response\", got {scope!r}")
    elif not set(scope) <= supported:
        raise ConfigError(f"{where}.scope", f"{kind} does not support scope {sorted(set(scope) - supported)} "
                                            f"(it supports {sorted(supported)})")
    else:
        scopes = frozenset(scope)
    own = _own_fields(spec)
    if RESPONSE in scopes and _ENV.search(repr(own)):
        # A secret set on the answer would be sent to the client by no-op endpoints.
        raise ConfigError(f"{where}.scope", f"{kind} takes a value from the environment and acts on responses, "
                                            "where it could reach clients; set \"scope\": [\"request\"]")
    spec = {**spec, **{k: _expand(v, f"{where}.{k}") for k, v in own.items()}}
    modifier: Modifier = cls.parse(spec, where, _node)
    modifier.scopes = scopes
    return modifier


def from_config(backend: BackendConfig, deps: GatewayDeps) -> Optional[Callable[[Executor], Executor]]:
    if NAMESPACE not in backend.extra_config:
        return None
    root = parse(backend.extra_config[NAMESPACE], f"{backend.path}.extra_config.{NAMESPACE}")
    label = backend.label
    on_request, on_response = REQUEST in root.scopes, RESPONSE in root.scopes

    def decorate(inner: Executor) -> Executor:
        def with_martian(request: WireRequest, deadline: float) -> WireResponse:
            msg = Message(list(request.headers.items()), request.body, request.method, request.url)
            try:
                if on_request:
                    root.request(msg)
                if msg.static_file is not None or msg.static_missing:
                    answer = WireResponse(200, (), b"", msg.url)
                else:
                    answer = inner(WireRequest(msg.method, msg.url, _joined(msg.headers), msg.body), deadline)
                if not on_response:
                    return answer
                reply = Message(list(answer.headers), answer.body, status=answer.status, url=answer.url, request=msg)
                root.response(reply)
            except BackendError:
                raise
            except Exception as exc:  # noqa: BLE001 - a modifier failing fails this backend call, never the gateway
                raise ModifierError(label, f"{type(exc).__name__}: {exc}") from exc
            return WireResponse(reply.status, tuple(reply.headers), reply.body or b"", answer.url)
        return with_martian
    return decorate


def _joined(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Header lines to the transport's mapping; repeated names are joined (``;`` for cookies)."""
    out: dict[str, str] = {}
    for name, value in headers:
        key = next((k for k in out if k.lower() == name.lower()), name)
        if key in out:
            out[key] = f"{out[key]}{'; ' if key.lower() == 'cookie' else ', '}{value}"
        else:
            out[key] = value
    return out
