"""``auth/signer``: the listed keys of an endpoint's answer signed as JWTs (krakend-jose's TokenSigner).

Namespace ``auth/signer`` on an endpoint::

    "auth/signer": {
        "alg": "HS256", "kid": "sim2", "keys_to_sign": ["access_token", "refresh_token"],
        "jwk_url": "https://keys.internal/jwk/private.json", "full": false
    }

Keys: ``alg`` (HS, RS, ES and PS 256/384/512, EdDSA), ``kid`` (the key of
the JWK set that signs), ``keys_to_sign``, ``jwk_url`` (https unless
``disable_jwk_security``), ``jwk_local_path`` (a JWK set file, preferred
over ``jwk_url``), ``jwk_local_ca`` (CA bundle trusted for ``jwk_url``),
``full`` (JSON serialization instead of the compact form), ``leeway``
(validation only: ignored).  ``cipher_suites`` is accepted and ignored
(the TLS library's modern defaults apply).

Each key of ``keys_to_sign`` whose value is an object is replaced by a JWS
of its Go-JSON with the header ``{"alg","kid","typ":"JWT"}``; other values
are left as they are.  The signer renders the answer itself: 200 (or the
proxy's status) JSON of the data, without ``X-Krakend``,
``X-Krakend-Completed`` or ``Cache-Control``.  A proxy error, an incomplete
answer or a key that cannot sign gives 400 with an empty body.  It runs
after JWT validation, as krakend-jose's handler factory.

Deviations (fail closed): KrakenD fetches the key once at start-up and, if
that fails or the configuration is broken, serves the endpoint *unsigned*;
Propylon fetches the JWK set on first use (then keeps it for the life of the
worker, as KrakenD keeps it for the life of the process), retries at most
once per ``COOLDOWN`` seconds, answers 400 while no key can sign, and a
broken configuration makes every request of the endpoint a 400 (``propylon
check`` reports it with its JSON path).  ``jwk_fingerprints`` (pinning),
``secret_url`` and ``cypher_key`` (encrypted JWK files) are not supported
and count as a broken configuration; TLS verification of ``jwk_url`` is
never skipped.  KrakenD's signer also bypasses the endpoint rate limit; here
``qos/ratelimit/router`` still applies.  Keys are cached per worker process.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Protocol, Sequence

from flask import request
from werkzeug.wrappers import Response

from app import jsoncodec
from app.auth.jwks import FETCH_TIMEOUT, MAX_JWKS_BYTES, JWKSource
from app.auth.signatures import ALGORITHMS, VerifyingKey
from app.auth.signing import SigningKey, sign, signing_keys
from app.config.model import EndpointConfig
from app.config.values import typed
from app.deps import GatewayDeps
from app.errors import ConfigError, GatewayError
from app.proxy.model import ProxyResponse, WireRequest
from app.proxy.transport import RequestsTransport
from app.router.handler import RENDER_KEY, Outcome, View
from app.router.render import JSON, GatewayResponse, answer_headers
from app.version import IDENTITY

NAMESPACE = "auth/signer"
KEYS = frozenset({"alg", "kid", "keys_to_sign", "jwk_url", "jwk_local_path", "jwk_local_ca", "disable_jwk_security",
                  "full", "jwk_fingerprints", "cipher_suites", "secret_url", "cypher_key", "leeway"})
#: Keys that ask for something Propylon does not do; set, they make the configuration broken.
UNSUPPORTED = {"jwk_fingerprints": "certificate pinning is not supported (trust the server with jwk_local_ca)",
               "secret_url": "encrypted JWK sets are not supported",
               "cypher_key": "encrypted JWK sets are not supported"}
COOLDOWN = 10.0
#: Backend headers never copied onto the signed answer (it has its own body and type).
_OWN_HEADERS = frozenset({"content-type", "content-length", "transfer-encoding", "content-encoding"})
log = logging.getLogger("propylon.auth")


@dataclass(frozen=True)
class SignerSettings:
    alg: str
    kid: str
    keys_to_sign: tuple[str, ...]
    jwk_url: str = ""
    jwk_local_path: str = ""
    jwk_local_ca: str = ""
    disable_jwk_security: bool = False
    full: bool = False


def parse(raw: Any, path: str) -> SignerSettings:
    """Validate the namespace; raises ``ConfigError`` naming the key."""
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object, got {raw!r}")
    alg = raw.get("alg")
    if alg not in ALGORITHMS:
        raise ConfigError(f"{path}.alg", f"unsupported algorithm {alg!r} (supported: {', '.join(ALGORITHMS)})")
    kid = typed(raw, "kid", path, str, "")
    if not kid:
        raise ConfigError(f"{path}.kid", "set the kid of the signing key")
    keys = raw.get("keys_to_sign")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
        raise ConfigError(f"{path}.keys_to_sign", f"expected a non-empty list of key names, got {keys!r}")
    for key, reason in UNSUPPORTED.items():
        if raw.get(key):
            raise ConfigError(f"{path}.{key}", reason)
    url = typed(raw, "jwk_url", path, str, "")
    local = typed(raw, "jwk_local_path", path, str, "")
    insecure = typed(raw, "disable_jwk_security", path, bool, False)
    if not url and not local:
        raise ConfigError(path, "set jwk_url or jwk_local_path")
    if url and not local and not url.startswith(("https://", "http://")):
        raise ConfigError(f"{path}.jwk_url", f"{url!r} is not an http(s) URL")
    if url and not local and not url.startswith("https://") and not insecure:
        raise ConfigError(f"{path}.jwk_url", f"{url!r} is not https (set disable_jwk_security to allow it)")
    return SignerSettings(alg=alg, kid=kid, keys_to_sign=tuple(keys), jwk_url=url, jwk_local_path=local,
                          jwk_local_ca=typed(raw, "jwk_local_ca", path, str, ""), disable_jwk_security=insecure,
                          full=typed(raw, "full", path, bool, False))


class KeyLookup(Protocol):
    def key(self, ids: Sequence[str]) -> Optional[VerifyingKey]: ...


class _StaticKeys:
    """The signing keys of a local JWK set file, read once at start-up."""

    def __init__(self, keys: Mapping[str, SigningKey]) -> None:
        self._keys = dict(keys)

    def key(self, ids: Sequence[str]) -> Optional[VerifyingKey]:
        return next((self._keys[i] for i in ids if i in self._keys), None)


class SigningKeySource(JWKSource):
    """``JWKSource``'s fetch policy (lazy, single flight, cooldown, last good set) over private keys."""

    def _fetch(self) -> dict[str, VerifyingKey]:
        wire = self._executor(WireRequest("GET", self.url, {"User-Agent": IDENTITY, "Accept": "application/json",
                                                            "Accept-Encoding": "gzip"}, None),
                              _deadline())
        if wire.status != 200:
            raise ValueError(f"status {wire.status}")
        content_type = wire.header("Content-Type").split(";")[0].strip().lower()
        if content_type not in ("application/json", "application/jwk-set+json"):
            raise ValueError(f"Content-Type {content_type or 'missing'!r} is not JSON")
        return dict(signing_keys(json.loads(wire.body), self.alg))


def _deadline() -> float:
    return time.monotonic() + FETCH_TIMEOUT


def _key_source(settings: SignerSettings, deps: GatewayDeps, path: str) -> KeyLookup:
    if settings.jwk_local_path:
        try:
            with open(settings.jwk_local_path, encoding="utf-8") as handle:
                keys = signing_keys(json.load(handle), settings.alg)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}.jwk_local_path", f"cannot load {settings.jwk_local_path}: {exc}") from exc
        if f"kid:{settings.kid}" not in keys:
            raise ConfigError(f"{path}.kid", f"no key {settings.kid!r} in {settings.jwk_local_path} can sign "
                                             f"{settings.alg}")
        return _StaticKeys(keys)
    if settings.jwk_local_ca and not os.path.isfile(settings.jwk_local_ca):
        raise ConfigError(f"{path}.jwk_local_ca", f"no such file {settings.jwk_local_ca!r}")
    # One source per key set, shared by the endpoints that sign with it.
    shared = (NAMESPACE, settings.jwk_url, settings.alg, settings.jwk_local_ca)
    if shared not in deps.jwk_sources:
        fetcher = RequestsTransport(MAX_JWKS_BYTES, pool_maxsize=2, verify=settings.jwk_local_ca or True)
        source = SigningKeySource(settings.alg, fetcher, url=settings.jwk_url, ttl=float("inf"), cooldown=COOLDOWN)
        if deps.metrics is not None:
            counter = deps.metrics.jwks
            source.on_fetch = lambda result: counter.labels(result).inc()
        deps.jwk_sources[shared] = source
    found: KeyLookup = deps.jwk_sources[shared]
    return found


def from_config(endpoint: EndpointConfig, deps: GatewayDeps) -> Optional[Callable[[View], View]]:
    """The signing view decorator, or None without the namespace.

    A broken configuration raises ``ConfigError`` when ``deps.strict`` (the
    checker); otherwise it logs and every request of the endpoint gets 400.
    """
    if NAMESPACE not in endpoint.extra_config:
        return None
    path = f"{endpoint.path}.extra_config.{NAMESPACE}"
    prefix = f"[ENDPOINT: {endpoint.endpoint}][JWTSigner]"
    raw = endpoint.extra_config[NAMESPACE]
    if isinstance(raw, dict):
        deps.warn_unknown_keys(raw, KEYS, path)
        if raw.get("cipher_suites"):
            deps.warnings.append(f"{path}.cipher_suites: accepted but not implemented by Propylon "
                                 "(the TLS library's defaults apply)")
    try:
        settings = parse(raw, path)
        keys = _key_source(settings, deps, path)
    except ConfigError as exc:
        if deps.strict:
            raise
        log.error("%s %s; every request will get 400", prefix, exc)
        return lambda view: _reject_all
    render = build_renderer(settings, keys, prefix)
    return lambda view: _signing(view, render)


def _reject_all(**_: str) -> Response:
    return GatewayResponse(b"", 400)


def _signing(view: View, render: Callable[[Outcome], Response]) -> View:
    def with_jwt_signing(**variables: str) -> Response:
        # The endpoint handler renders through the signer (see handler.RENDER_KEY),
        # so the layers in between (rate limit) still run.
        request.environ[RENDER_KEY] = render
        return view(**variables)
    return with_jwt_signing


class _SigningFailed(Exception):
    pass


def build_renderer(settings: SignerSettings, keys: KeyLookup, prefix: str) -> Callable[[Outcome], Response]:
    """The proxy outcome -> the signed answer, or 400 with an empty body."""
    wanted = [f"kid:{settings.kid}"]

    def signing_key() -> SigningKey:
        key = keys.key(wanted)
        if not isinstance(key, SigningKey):
            raise _SigningFailed(f"no key {settings.kid!r} that can sign {settings.alg}")
        return key

    def render_signed(outcome: Outcome) -> Response:
        if isinstance(outcome, GatewayError):
            log.warning("%s proxy response error: %s", prefix, outcome)
            return _reject_all()
        if outcome.errors or not outcome.is_complete:
            log.warning("%s incomplete response: nothing is signed", prefix)
            return _reject_all()
        try:
            data = sign_fields(outcome.data, settings.keys_to_sign, signing_key, settings.full)
        except Exception as exc:  # noqa: BLE001 - whatever breaks while signing, fail closed
            log.error("%s unable to sign: %s", prefix, exc)
            return _reject_all()
        return GatewayResponse(jsoncodec.dumps(data), outcome.status, _headers(outcome))
    return render_signed


def sign_fields(data: Mapping[str, Any], names: Sequence[str], key: Callable[[], SigningKey],
                full: bool) -> dict[str, Any]:
    """A copy of ``data`` with each listed object replaced by its JWS (other values untouched)."""
    signed = dict(data)
    for name in names:
        value = signed.get(name)
        if isinstance(value, dict):
            signed[name] = sign(jsoncodec.dumps(value), key(), full)
    return signed


def _headers(response: ProxyResponse) -> list[tuple[str, str]]:
    """The proxy's headers (no-op backends only), first value of each, as gin's ``c.Header`` sets them."""
    headers: dict[str, tuple[str, str]] = {}
    for name, value in answer_headers(response.headers, _OWN_HEADERS):
        headers.setdefault(name.lower(), (name, value))
    return [*headers.values(), ("Content-Type", JSON)]
