"""``security/bot-detector``: 403 for clients whose User-Agent says they are bots.

Namespace ``security/bot-detector`` at the top level (every request) and/or
on an endpoint (that endpoint only)::

    "security/bot-detector": {
        "allow": ["MyAndroidClient/1.0"], "deny": ["a", "b"],
        "patterns": ["(Pingdom.com_bot_version_).*", "(facebookexternalhit)/.*"],
        "empty_user_agent_is_bot": true, "cache_size": 10000
    }

Keys: ``allow`` and ``deny`` (exact User-Agent strings), ``patterns``
(regular expressions in Go's RE2 syntax, matched anywhere in the User-Agent),
``empty_user_agent_is_bot`` (default false), ``cache_size`` (verdicts kept in
an LRU; 0, the default, keeps none).  Verdict order as krakend-botdetector:
an empty User-Agent is a bot only with ``empty_user_agent_is_bot``; then an
``allow`` match is not a bot, a ``deny`` match is, then any pattern match is.
The User-Agent is read as UTF-8 (WSGI hands it over as latin-1).  KrakenD
judges only the first of repeated User-Agent lines, which WSGI servers join
with ","; so an empty or denied text before a comma also makes a bot.

A bot gets 403 with an empty body, no Content-Type and no ``X-Krakend``
headers, before any backend call.  At the top level it is a WSGI middleware
inside ``security/cors`` (as in KrakenD, CORS runs first: preflights are
answered without a verdict, and a 403 carries the CORS headers); it covers
every path, unknown ones (404/405) included, except the health endpoint,
which KrakenD registers before its global middlewares.  On an endpoint it is
the outermost view decorator (krakend-ce's handler factory puts it outside
metrics and JWT validation).

Deviations: a bad key (a pattern RE2 cannot compile, a negative
``cache_size``...) is a ConfigError with its JSON path; outside ``propylon
check`` the detector then fails closed (every request on its scope gets 403)
where KrakenD logs a warning and lets every request through.  User-Agents
longer than 1 KiB are judged but not cached, so the cache's memory stays
bounded.  The cache is per worker process.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import re2
from flask import request
from werkzeug.wrappers import Response

from app.config.model import EndpointConfig, ServiceConfig
from app.config.values import flag, strings
from app.deps import GatewayDeps
from app.errors import ConfigError
from app.router import options
from app.router.handler import View
from app.router.render import GatewayResponse

NAMESPACE = "security/bot-detector"
KEYS = frozenset({"allow", "deny", "patterns", "empty_user_agent_is_bot", "cache_size"})
#: Longer User-Agents are judged every time instead of being kept in the cache.
CACHED_LENGTH = 1024
log = logging.getLogger("propylon.botdetector")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]
Verdict = Callable[[str], bool]


@dataclass(frozen=True)
class BotDetectorSettings:
    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()
    patterns: tuple[Any, ...] = ()  # compiled RE2 expressions
    empty_user_agent_is_bot: bool = False
    cache_size: int = 0


def _pattern(text: str, path: str) -> Any:
    """RE2, the engine of Go's regexp: linear time, so a User-Agent cannot make matching slow."""
    try:
        return re2.compile(text)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ConfigError(path, f"invalid regular expression {text!r} (RE2 syntax): {reason}") from exc


def _cache_size(raw: Mapping[str, Any], path: str) -> int:
    value = raw.get("cache_size", 0)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON numbers may come as 100.0
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{path}.cache_size", f"expected a non-negative integer, got {value!r}")
    return value


def parse(raw: Any, path: str) -> BotDetectorSettings:
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object, got {raw!r}")
    return BotDetectorSettings(
        allow=frozenset(strings(raw, "allow", path)),
        deny=frozenset(strings(raw, "deny", path)),
        patterns=tuple(_pattern(text, f"{path}.patterns[{index}]")
                       for index, text in enumerate(strings(raw, "patterns", path))),
        empty_user_agent_is_bot=flag(raw, "empty_user_agent_is_bot", path),
        cache_size=_cache_size(raw, path),
    )


def is_bot(settings: BotDetectorSettings, user_agent: str) -> bool:
    """krakend-botdetector's verdict: empty, then allow, then deny, then the patterns."""
    if user_agent == "":
        return settings.empty_user_agent_is_bot
    if user_agent in settings.allow:
        return False
    if user_agent in settings.deny or _first_line_refused(settings, user_agent):
        return True
    return any(pattern.search(user_agent) for pattern in settings.patterns)


def _first_line_refused(settings: BotDetectorSettings, user_agent: str) -> bool:
    """Is the text before a comma an empty or denied User-Agent?

    WSGI servers join repeated header lines with ",", while KrakenD judges
    only the first line; without this, adding a second ``User-Agent`` line
    would slip a denied (or empty) one past the detector.
    """
    if settings.empty_user_agent_is_bot and user_agent.startswith(","):
        return True
    return any(user_agent.startswith(entry + ",") for entry in settings.deny)


def user_agent(environ: Mapping[str, Any]) -> str:
    """The request's User-Agent as text: WSGI hands header bytes over as latin-1, Go compares UTF-8."""
    return str(environ.get("HTTP_USER_AGENT", "")).encode("latin-1", "replace").decode("utf-8", "replace")


def build_verdict(settings: BotDetectorSettings) -> Verdict:
    """``is_bot`` for these settings, behind an LRU of ``cache_size`` verdicts when asked."""
    judge: Verdict = functools.partial(is_bot, settings)
    if settings.cache_size == 0:
        return judge
    cached = functools.lru_cache(maxsize=settings.cache_size)(judge)
    return lambda user_agent: cached(user_agent) if len(user_agent) <= CACHED_LENGTH else judge(user_agent)


def _always_bot(user_agent: str) -> bool:
    return True


def _verdict(extra: Mapping[str, Any], owner: str, deps: GatewayDeps, prefix: str) -> Optional[Verdict]:
    """The verdict function for the namespace in ``extra`` (None without it; fail closed when broken)."""
    if NAMESPACE not in extra:
        return None
    raw, path = extra[NAMESPACE], f"{owner}extra_config.{NAMESPACE}"
    if isinstance(raw, dict):
        deps.warn_unknown_keys(raw, KEYS, path)
    try:
        return build_verdict(parse(raw, path))
    except ConfigError as exc:
        if deps.strict:
            raise
        log.error("%s %s; every request will get 403", prefix, exc)
        return _always_bot


def from_config(endpoint: EndpointConfig, deps: GatewayDeps) -> Optional[Callable[[View], View]]:
    """The endpoint-level detector as a view decorator, or None without the namespace."""
    prefix = f"[ENDPOINT: {endpoint.endpoint}][Botdetector]"
    verdict = _verdict(endpoint.extra_config, f"{endpoint.path}.", deps, prefix)
    if verdict is None:
        return None
    return lambda view: _detecting(view, verdict)


def _detecting(view: View, verdict: Verdict) -> View:
    @functools.wraps(view)
    def with_bot_detector(**variables: str) -> Response:
        if verdict(user_agent(request.environ)):
            return GatewayResponse(b"", 403)
        return view(**variables)
    return with_bot_detector


def service_from_config(service: ServiceConfig, deps: GatewayDeps) -> Optional[Callable[[WSGIApp], WSGIApp]]:
    """The service-level detector as a WSGI middleware, or None without the namespace."""
    verdict = _verdict(service.extra_config, "", deps, "[SERVICE: Gin][Botdetector]")
    if verdict is None:
        return None
    router = options.from_config(service.extra_config)
    exempt = "" if router.disable_health else router.health_path
    return lambda app: BotDetectorMiddleware(app, verdict, exempt)


class BotDetectorMiddleware:
    """403 for bots on every path but ``exempt`` (the health endpoint)."""

    def __init__(self, app: WSGIApp, verdict: Verdict, exempt: str) -> None:
        self.app = app
        self.verdict = verdict
        self.exempt = exempt

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if (not self.exempt or environ.get("PATH_INFO") != self.exempt) \
                and self.verdict(user_agent(environ)):
            start_response("403 Forbidden", [("Content-Length", "0")])
            return [b""]
        return self.app(environ, start_response)
