"""``auth/validator``: JWT validation on an endpoint, on python-jose.

Namespace ``auth/validator`` on an endpoint::

    "auth/validator": {
        "alg": "RS256", "jwk_url": "https://idp.example.com/jwks.json", "cache": true,
        "audience": ["api"], "issuer": "https://idp.example.com",
        "roles_key": "roles", "roles": ["user"],
        "propagate_claims": [["sub", "X-User"]]
    }

Keys: ``alg`` (HS, RS, ES and PS 256/384/512, EdDSA), ``jwk_url``,
``jwk_local_path``, ``jwk_local_ca``, ``disable_jwk_security``, ``cache``,
``cache_duration``, ``key_identify_strategy``, ``audience``,
``issuer``, ``roles``, ``roles_key``, ``roles_key_is_nested``, ``scopes``,
``scopes_key``, ``scopes_matcher``, ``propagate_claims``,
``auth_header_name``, ``cookie_key``, ``leeway``, ``operation_debug``,
``failed_jwk_key_cooldown``.

Answers: 401 (no, bad or expired token), 403 (roles or scopes), both with an
empty body and no gateway headers; the backend is never called.

Verification (security.md §2.3): the token's ``alg`` must equal the
configured one, the key is chosen by ``kid`` here, ``crit`` is refused,
``exp``/``nbf``/``iat`` must be numbers and ``iat`` not in the future, every
configured audience must be present, and any library error is a 401.

Deviations: a broken configuration still starts (KrakenD parity) but the
endpoint answers 401 to everything and ``propylon check`` reports it; TLS
verification of ``jwk_url`` is never skipped (``disable_jwk_security`` only
allows ``http://``); a claim that cannot be sent as a header (control
characters, non-Latin-1, over 1 KiB) is a 401 instead of a mangled header.
Keys are cached per worker process.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from flask import request
from werkzeug.wrappers import Response

from app.auth import claims as claim_checks
from app.auth.jwks import MAX_JWKS_BYTES, STRATEGIES, JWKSource, token_ids
from app.auth.signatures import ALGORITHMS, InvalidSignature
from app.config.durations import parse_duration
from app.config.model import EndpointConfig
from app.config.values import strings, typed
from app.deps import GatewayDeps
from app.errors import ConfigError
from app.proxy.transport import RequestsTransport
from app.config.urlpattern import JWT
from app.proxy.request_builder import claim_value
from app.router.forwarding import HEADER_NAME, HOP_BY_HOP
from app.router.handler import CLAIMS_KEY, HEADERS_KEY, View
from app.router.render import GatewayResponse

NAMESPACE = "auth/validator"
MAX_TOKEN = 8192
# Strict base64url segments, as Go's RawURLEncoding: padding or the standard
# alphabet would give one token several spellings.
_COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_INT64 = 2 ** 63
KEYS = frozenset({
    "alg", "jwk_url", "jwk_local_path", "jwk_local_ca", "disable_jwk_security", "cache", "cache_duration",
    "key_identify_strategy", "audience", "issuer", "roles", "roles_key", "roles_key_is_nested", "scopes",
    "scopes_key", "scopes_matcher", "propagate_claims", "auth_header_name", "cookie_key", "leeway",
    "operation_debug", "failed_jwk_key_cooldown"})
log = logging.getLogger("propylon.auth")


@dataclass(frozen=True)
class ValidatorSettings:
    alg: str
    jwk_url: str = ""
    jwk_local_path: str = ""
    jwk_local_ca: str = ""
    disable_jwk_security: bool = False
    key_identify_strategy: str = "kid"
    cache: bool = False
    cache_duration: float = 900.0
    audience: tuple[str, ...] = ()
    issuer: str = ""
    roles: tuple[str, ...] = ()
    roles_key: str = "roles"
    roles_key_is_nested: bool = False
    scopes: tuple[str, ...] = ()
    scopes_key: str = ""
    scopes_match_all: bool = False
    propagate_claims: tuple[tuple[str, str], ...] = ()
    auth_header_name: str = "Authorization"
    cookie_key: str = "access_token"
    leeway: float = 1.0
    operation_debug: bool = False
    cooldown: float = 10.0


def parse(raw: Any, path: str) -> ValidatorSettings:
    """Validate the namespace; raises ``ConfigError`` naming the key."""
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object, got {raw!r}")
    alg = raw.get("alg")
    if alg not in ALGORITHMS:
        raise ConfigError(f"{path}.alg", f"unsupported algorithm {alg!r} (supported: {', '.join(ALGORITHMS)})")
    url = typed(raw, "jwk_url", path, str, "")
    local = typed(raw, "jwk_local_path", path, str, "")
    insecure = typed(raw, "disable_jwk_security", path, bool, False)
    if not url and not local:
        raise ConfigError(path, "set jwk_url or jwk_local_path")
    if url and not local and not url.startswith("https://") and not insecure:
        raise ConfigError(f"{path}.jwk_url", f"{url!r} is not https (set disable_jwk_security to allow it)")
    if url and not local and not url.startswith(("https://", "http://")):
        raise ConfigError(f"{path}.jwk_url", f"{url!r} is not an http(s) URL")
    propagate = raw.get("propagate_claims") or []
    if not isinstance(propagate, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) and x for x in p) for p in propagate):
        raise ConfigError(f"{path}.propagate_claims", "expected a list of [claim, header] pairs")
    for index, (_, header) in enumerate(propagate):
        if header.lower() in HOP_BY_HOP or not HEADER_NAME.fullmatch(header):
            raise ConfigError(f"{path}.propagate_claims[{index}]",
                              f"{header!r} cannot carry a claim (hop-by-hop, framing or gateway header)")
    strategy = typed(raw, "key_identify_strategy", path, str, "kid") or "kid"
    if strategy not in STRATEGIES:
        raise ConfigError(f"{path}.key_identify_strategy", f"expected one of {', '.join(STRATEGIES)}, got {strategy!r}")
    matcher = typed(raw, "scopes_matcher", path, str, "any")
    if matcher not in ("any", "all"):
        raise ConfigError(f"{path}.scopes_matcher", f"expected \"any\" or \"all\", got {matcher!r}")
    try:
        leeway = max(1.0, parse_duration(raw.get("leeway", "1s")))
        cooldown = max(1.0, parse_duration(raw.get("failed_jwk_key_cooldown", "10s")))
    except ValueError as exc:
        raise ConfigError(path, str(exc)) from exc
    return ValidatorSettings(
        alg=alg, jwk_url=url, jwk_local_path=local, jwk_local_ca=typed(raw, "jwk_local_ca", path, str, ""),
        disable_jwk_security=insecure, key_identify_strategy=strategy,
        cache=typed(raw, "cache", path, bool, False),
        cache_duration=typed(raw, "cache_duration", path, float, 900.0),
        audience=strings(raw, "audience", path), issuer=typed(raw, "issuer", path, str, ""),
        roles=strings(raw, "roles", path), roles_key=typed(raw, "roles_key", path, str, "roles") or "roles",
        roles_key_is_nested=typed(raw, "roles_key_is_nested", path, bool, False),
        scopes=strings(raw, "scopes", path), scopes_key=typed(raw, "scopes_key", path, str, ""),
        scopes_match_all=matcher == "all",
        propagate_claims=tuple((c, h) for c, h in propagate),
        auth_header_name=typed(raw, "auth_header_name", path, str, "Authorization") or "Authorization",
        cookie_key=typed(raw, "cookie_key", path, str, "access_token") or "access_token",
        leeway=leeway, operation_debug=typed(raw, "operation_debug", path, bool, False), cooldown=cooldown,
    )


def _key_source(settings: ValidatorSettings, deps: GatewayDeps, path: str) -> JWKSource:
    if settings.jwk_local_path:
        try:
            with open(settings.jwk_local_path, encoding="utf-8") as handle:
                document = json.load(handle)
            return JWKSource(settings.alg, deps.transport, document=document,
                             strategy=settings.key_identify_strategy)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}.jwk_local_path", f"cannot load {settings.jwk_local_path}: {exc}") from exc
    if settings.jwk_local_ca and not os.path.isfile(settings.jwk_local_ca):
        raise ConfigError(f"{path}.jwk_local_ca", f"no such file {settings.jwk_local_ca!r}")
    ttl = settings.cache_duration if settings.cache else 0.0
    # One source per key set and policy, shared by every endpoint using it,
    # so the fetch budget (single flight, cooldown) is per identity provider.
    key = (settings.jwk_url, settings.alg, settings.key_identify_strategy, ttl, settings.cooldown,
           settings.jwk_local_ca)
    if key not in deps.jwk_sources:
        # Its own small transport: a JWK set is capped far below backend
        # answers, and may be trusted through its own CA.
        fetcher = RequestsTransport(MAX_JWKS_BYTES, pool_maxsize=2, verify=settings.jwk_local_ca or True)
        deps.jwk_sources[key] = JWKSource(settings.alg, fetcher, url=settings.jwk_url, ttl=ttl,
                                          cooldown=settings.cooldown, strategy=settings.key_identify_strategy)
        if deps.metrics is not None:
            counter = deps.metrics.jwks
            deps.jwk_sources[key].on_fetch = lambda result: counter.labels(result).inc()
    source: JWKSource = deps.jwk_sources[key]
    return source


def from_config(endpoint: EndpointConfig, deps: GatewayDeps) -> Optional[Callable[[View], View]]:
    """The validating view decorator, or None without the namespace.

    A broken configuration raises ``ConfigError`` when ``deps.strict`` (the
    checker); otherwise it logs and installs a decorator that refuses every
    request, so a misconfigured endpoint is never open.
    """
    if NAMESPACE not in endpoint.extra_config:
        return None
    path = f"{endpoint.path}.extra_config.{NAMESPACE}"
    if isinstance(endpoint.extra_config[NAMESPACE], dict):
        deps.warn_unknown_keys(endpoint.extra_config[NAMESPACE], KEYS, path)
    try:
        settings = parse(endpoint.extra_config[NAMESPACE], path)
        source = _key_source(settings, deps, path)
    except ConfigError as exc:
        if deps.strict:
            raise
        log.error("[ENDPOINT: %s][JWTValidator] %s; every request will get 401", endpoint.endpoint, exc)
        return lambda view: _reject_all
    prefix, path_claims = f"[ENDPOINT: {endpoint.endpoint}][JWTValidator]", _path_claims(endpoint)
    return lambda view: _validating(view, settings, source, prefix, path_claims)


def _status(code: int) -> Response:
    return GatewayResponse(b"", code)


def _reject_all(**_: str) -> Response:
    return _status(401)


class _Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _path_claims(endpoint: EndpointConfig) -> tuple[str, ...]:
    """Claims that land in a backend URL path (not its query)."""
    return tuple(sorted({ph.name for backend in endpoint.backends for ph in backend.url_pattern.placeholders
                         if ph.kind == JWT and not ph.in_query}))


def _check_path_claims(claims: Mapping[str, Any], names: tuple[str, ...]) -> None:
    """A claim cannot walk the backend path: "", "." and ".." are refused (as path parameters are)."""
    for name in names:
        value = claim_value(claims, name)
        if value is not None and value in ("", ".", ".."):
            raise _Rejected(401, f"claim {name} cannot be used in a URL path: {value!r}")


def _validating(view: View, settings: ValidatorSettings, source: JWKSource, prefix: str,
                path_claims: tuple[str, ...]) -> View:
    header_key = "HTTP_" + settings.auth_header_name.upper().replace("-", "_")

    def with_jwt_validation(**variables: str) -> Response:
        environ = request.environ
        try:
            token = _extract(environ.get(header_key), request.cookies.get(settings.cookie_key))
            claims = _verify(token, settings, source)
            _authorize(claims, settings)
            _check_path_claims(claims, path_claims)
            environ[HEADERS_KEY] = _propagated(claims, settings)
        except _Rejected as rejected:
            level = logging.WARNING if settings.operation_debug else logging.DEBUG
            log.log(level, "%s Unable to validate the token: %s", prefix, rejected)
            return _status(rejected.status)
        except Exception:  # noqa: BLE001 - whatever a token or its claims break, fail closed
            log.warning("%s Unable to validate the token: unexpected error", prefix, exc_info=True)
            return _status(401)
        environ[CLAIMS_KEY] = claims
        return view(**variables)
    return with_jwt_validation


def _extract(header: Any, cookie: Optional[str]) -> str:
    token = str(header or "").strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    if not token:
        token = (cookie or "").strip()
    if not token:
        raise _Rejected(401, "no token")
    if len(token) > MAX_TOKEN or not _COMPACT_JWS.match(token):
        raise _Rejected(401, "not a compact JWS")
    return token


def _segment(text: str) -> Any:
    """A base64url JSON segment of the token; _Rejected when it is anything else."""
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise _Rejected(401, f"malformed token: {type(exc).__name__}") from exc


def _verify(token: str, settings: ValidatorSettings, source: JWKSource) -> dict[str, Any]:
    header = _segment(token.split(".", 1)[0])
    if not isinstance(header, dict) or header.get("alg") != settings.alg:
        raise _Rejected(401, "algorithm not allowed")
    if "crit" in header:
        raise _Rejected(401, "crit header not supported")
    ids = token_ids(header, settings.key_identify_strategy)
    if not ids:
        raise _Rejected(401, f"no usable {settings.key_identify_strategy} in the token header")
    key = source.key(ids)
    if key is None:
        raise _Rejected(401, f"no key for {', '.join(ids)}")
    try:
        payload = key.verify(token)
    except InvalidSignature as exc:
        raise _Rejected(401, f"invalid signature: {exc}") from exc
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise _Rejected(401, "claims are not JSON") from exc
    if not isinstance(claims, dict):
        raise _Rejected(401, "claims are not an object")
    _check_times(claims, settings.leeway)
    if "iss" in claims and not isinstance(claims["iss"], str):
        raise _Rejected(401, "iss is not a string")
    aud = claims.get("aud", "")
    if not isinstance(aud, str) and not (isinstance(aud, list) and all(isinstance(a, str) for a in aud)):
        raise _Rejected(401, "aud is not a string or a list of strings")
    if settings.issuer and claims.get("iss") != settings.issuer:
        raise _Rejected(401, "issuer mismatch")
    _check_audience(claims, settings.audience)
    for name in ("sub", "jti"):
        if name in claims and not isinstance(claims[name], str):
            raise _Rejected(401, f"{name} is not a string")
    return claims


def _check_times(claims: Mapping[str, Any], leeway: float) -> None:
    """exp, nbf and iat: numbers when present (not booleans, finite), each within the leeway of now."""
    now = time.time()
    for name in ("exp", "nbf", "iat"):
        if name not in claims:
            continue
        value = claims[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or abs(value) >= _INT64 \
                or not math.isfinite(value):
            raise _Rejected(401, f"{name} is not a number")
    if "exp" in claims and now > claims["exp"] + leeway:
        raise _Rejected(401, "token expired")
    if "nbf" in claims and now < claims["nbf"] - leeway:
        raise _Rejected(401, "token not valid yet")
    if "iat" in claims and claims["iat"] > now + leeway:
        raise _Rejected(401, "token issued in the future")


def _check_audience(claims: Mapping[str, Any], audience: tuple[str, ...]) -> None:
    if not audience:
        return
    aud = claims.get("aud")
    held = (aud,) if isinstance(aud, str) else tuple(aud) if isinstance(aud, list) else ()
    if not all(isinstance(a, str) for a in held) or not all(a in held for a in audience):
        raise _Rejected(401, "audience mismatch")


def _authorize(claims: Mapping[str, Any], settings: ValidatorSettings) -> None:
    if settings.roles and not claim_checks.has_any_role(claims, settings.roles_key, settings.roles_key_is_nested,
                                                        settings.roles):
        raise _Rejected(403, "missing role")
    if settings.scopes and settings.scopes_key and not claim_checks.has_scopes(
            claims, settings.scopes_key, settings.scopes, settings.scopes_match_all):
        raise _Rejected(403, "missing scope")


def _propagated(claims: Mapping[str, Any], settings: ValidatorSettings) -> dict[str, str]:
    headers = {}
    for claim, header in settings.propagate_claims:
        value = claim_checks.header_value(claim_checks.lookup(claims, claim, True))
        if value is None:
            raise _Rejected(401, f"claim {claim} cannot be sent as header {header}")
        headers[header] = value
    return headers
