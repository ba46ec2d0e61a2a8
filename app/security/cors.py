"""``security/cors`` (service scope): CORS answered before routing, with rs/cors semantics.

Namespace ``security/cors`` at the top level::

    "extra_config": {"security/cors": {
        "allow_origins": ["https://app.example.com", "https://*.example.com"],
        "allow_methods": ["GET", "POST"], "allow_headers": ["Authorization", "Content-Type"],
        "expose_headers": ["Content-Length"], "allow_credentials": true, "max_age": "12h"
    }}

Keys (KrakenD's krakend-cors over rs/cors v1.11): ``allow_origins`` (default
and when empty ``*``; one ``*`` per entry is a wildcard), ``allow_methods``
(default GET, POST, HEAD; compared case-sensitively), ``allow_headers``
(default and when empty ``*``; names case-insensitive), ``expose_headers``,
``allow_credentials``, ``max_age`` (a Go duration, whole seconds),
``options_passthrough``, ``options_success_status`` (default 204),
``allow_private_network``, ``debug`` (decisions logged at DEBUG).

A WSGI middleware around the whole app, so it runs for every path (unknown
ones and ``/__health`` too).  A preflight (``OPTIONS`` with
``Access-Control-Request-Method``) gets ``Vary: Origin,
Access-Control-Request-Method, Access-Control-Request-Headers`` and, only if
origin, method and requested headers are all allowed, the allow headers
(the requested method and headers echoed as sent); it is answered with
``options_success_status``, an empty body and no Content-Type, and never
reaches the router unless ``options_passthrough``.  As rs/cors v1.11 (and
the Fetch standard), the requested header list must be what browsers send:
lower-case names, sorted, no duplicates, at most one space around each.
Every other request gets exactly one ``Vary: Origin`` and, when allowed,
``Access-Control-Allow-Origin`` (``*`` when every origin is allowed),
``Access-Control-Expose-Headers`` and ``Access-Control-Allow-Credentials``.
The decisions themselves are in ``app.security.cors_rules``.

Why not a library: flask-cors answers preflights through Flask routing (so
unknown paths differ) and echoes differently, and wsgicors (last release
2017) has neither rs/cors's header-list rules nor its Vary handling.

Deviations: the gateway's policy is the only source of CORS headers: the
app's or a ``no-op`` backend's ``Access-Control-*`` response headers are
dropped and their ``Vary`` tokens merged without repeats (KrakenD sends
both, krakend-ce#392, which browsers reject); a bad value is a start-up
error with its JSON path (KrakenD ignores it) and, outside ``propylon
check``, a broken config fails closed: no origin is allowed.  Stateless.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Callable, Mapping, Optional

from app.config.durations import parse_duration
from app.config.model import ServiceConfig
from app.config.values import flag, strings
from app.deps import GatewayDeps
from app.errors import ConfigError
from app.router.forwarding import canonical
from app.security.cors_rules import CLOSED, Header, Policy, actual, merge_headers, preflight

NAMESPACE = "security/cors"
KEYS = frozenset({"allow_origins", "allow_methods", "allow_headers", "expose_headers", "allow_credentials",
                  "max_age", "options_passthrough", "options_success_status", "allow_private_network", "debug"})
log = logging.getLogger("propylon.cors")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


@dataclass(frozen=True)
class CorsSettings:
    allow_origins: tuple[str, ...] = ("*",)
    allow_methods: tuple[str, ...] = ("GET", "POST", "HEAD")
    allow_headers: tuple[str, ...] = ("*",)
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int = 0  # seconds; < 0 sends "0", 0 sends nothing
    options_passthrough: bool = False
    options_success_status: int = 204
    allow_private_network: bool = False
    debug: bool = False


def _max_age(raw: Mapping[str, Any], path: str) -> int:
    value = raw.get("max_age")
    if value is None:
        return 0
    if not isinstance(value, str):
        raise ConfigError(f"{path}.max_age", f"expected a duration such as \"12h\", got {value!r}")
    try:
        return int(parse_duration(value))  # Go's int(d.Seconds()): truncated toward zero
    except ValueError as exc:
        raise ConfigError(f"{path}.max_age", str(exc)) from exc


def _status(raw: Mapping[str, Any], path: str) -> int:
    value = raw.get("options_success_status")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is None or (value == 0 and not isinstance(value, bool)):
        return 204
    if isinstance(value, bool) or not isinstance(value, int) or not 200 <= value <= 599:
        raise ConfigError(f"{path}.options_success_status", f"expected a status from 200 to 599, got {value!r}")
    return value


def parse(raw: Any, path: str) -> CorsSettings:
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object, got {raw!r}")
    return CorsSettings(
        allow_origins=strings(raw, "allow_origins", path, ("*",)),
        allow_methods=strings(raw, "allow_methods", path, ("GET", "POST", "HEAD")),
        allow_headers=strings(raw, "allow_headers", path, ("*",)),
        expose_headers=strings(raw, "expose_headers", path, ()),
        allow_credentials=flag(raw, "allow_credentials", path),
        max_age=_max_age(raw, path),
        options_passthrough=flag(raw, "options_passthrough", path),
        options_success_status=_status(raw, path),
        allow_private_network=flag(raw, "allow_private_network", path),
        debug=flag(raw, "debug", path),
    )


def compile_policy(settings: CorsSettings) -> Policy:
    origins = [o.lower() for o in settings.allow_origins]
    all_origins = "*" in origins
    wildcards = tuple((o[:o.index("*")], o[o.index("*") + 1:]) for o in origins if "*" in o and not all_origins)
    names = sorted({h.lower() for h in settings.allow_headers})
    return Policy(
        all_origins=all_origins,
        origins=frozenset(o for o in origins if "*" not in o) if not all_origins else frozenset(),
        wildcards=wildcards,
        methods=settings.allow_methods,
        all_headers="*" in settings.allow_headers,
        headers={name: position for position, name in enumerate(names)},
        exposed=", ".join(canonical(h) for h in settings.expose_headers),
        max_age=str(settings.max_age) if settings.max_age > 0 else ("0" if settings.max_age < 0 else ""),
        credentials=settings.allow_credentials,
        private_network=settings.allow_private_network,
        passthrough=settings.options_passthrough,
        success_status=settings.options_success_status,
        debug=settings.debug,
    )


def _status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} status code {code}"


class CorsMiddleware:
    """The WSGI side: preflights answered here, every other request passed on with CORS headers added."""

    def __init__(self, app: WSGIApp, policy: Policy) -> None:
        self.app = app
        self.policy = policy

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = str(environ.get("REQUEST_METHOD", ""))
        if method == "OPTIONS" and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"):
            headers, reason = preflight(self.policy, environ)
            self._debug("Preflight request", reason, headers)
            if not self.policy.passthrough:
                code = self.policy.success_status
                start_response(_status_line(code), headers if code == 204 else headers + [("Content-Length", "0")])
                return [b""]
        else:
            headers, reason = actual(self.policy, method, environ)
            self._debug("Actual request", reason, headers)

        def start_with_cors(status: str, inner: list[Header], exc_info: Any = None) -> Any:
            return start_response(status, merge_headers(headers, inner), exc_info)
        return self.app(environ, start_with_cors)

    def _debug(self, kind: str, reason: str, headers: list[Header]) -> None:
        if self.policy.debug:
            log.debug("[SERVICE: CORS] %s: %s; headers %s", kind, reason, headers)


def _findings(settings: CorsSettings, path: str) -> list[str]:
    """Legal but probably unintended settings, for ``propylon check`` and the start-up log."""
    found = []
    if settings.allow_credentials and "*" in settings.allow_origins:
        found.append(f"{path}.allow_credentials: with allow_origins \"*\" the answer is "
                     "Access-Control-Allow-Origin: *, which browsers refuse for credentialed requests; "
                     "list the origins instead")
    for index, origin in enumerate(settings.allow_origins):
        before, star, after = origin.partition("*")
        if origin.count("*") > 1:
            found.append(f"{path}.allow_origins[{index}]: only the first * of {origin!r} is a wildcard")
        elif star and before and not after.startswith(".") and not before.endswith(":"):
            found.append(f"{path}.allow_origins[{index}]: {origin!r} matches more than subdomains (any origin "
                         f"starting {before!r} and ending {after!r}, which anyone can register); "
                         "write the * right before a dot, as in https://*.example.com")
        if origin.lower() == "null":
            found.append(f"{path}.allow_origins[{index}]: sandboxed iframes and local files of any site send "
                         "Origin: null, so \"null\" lets them all in")
    for index, method in enumerate(settings.allow_methods):
        if method != method.upper():
            found.append(f"{path}.allow_methods[{index}]: methods are compared case-sensitively (as KrakenD); "
                         f"{method!r} never matches {method.upper()!r}")
    return found


def from_config(service: ServiceConfig, deps: GatewayDeps) -> Optional[Callable[[WSGIApp], WSGIApp]]:
    """The CORS middleware, or None without the namespace.

    A broken configuration raises ``ConfigError`` when ``deps.strict`` (the
    checker); otherwise it logs and installs the closed policy.
    """
    if NAMESPACE not in service.extra_config:
        return None
    raw, path = service.extra_config[NAMESPACE], f"extra_config.{NAMESPACE}"
    if isinstance(raw, dict):
        deps.warn_unknown_keys(raw, KEYS, path)
    try:
        settings = parse(raw, path)
    except ConfigError as exc:
        if deps.strict:
            raise
        log.error("[SERVICE: CORS] %s; no origin is allowed", exc)
        return lambda app: CorsMiddleware(app, CLOSED)
    deps.warnings.extend(_findings(settings, path))
    policy = compile_policy(settings)
    return lambda app: CorsMiddleware(app, policy)
