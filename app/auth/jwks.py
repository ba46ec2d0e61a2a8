"""JWK sets: fetched from ``jwk_url`` or read from ``jwk_local_path``, indexed by key id.

Keys are looked up here by the token header field that
``key_identify_strategy`` names (``kid``, ``x5t``, ``x5t#S256``, or
``kid_x5t``: kid first, then x5t); python-jose would otherwise try every key.
Only keys usable with the configured algorithm are kept (``oct`` for HS*,
RSA for RS*/PS*, EC for ES*, OKP for EdDSA; not ``use: enc``; no other
``alg``), so an HMAC secret can never be built from a public key.

Fetching is lazy (the identity provider may start after the gateway) and
single-flight: concurrent requests share one fetch.  With ``cache`` the set
is kept ``cache_duration`` seconds; without it KrakenD fetches on every
request, and so do we.  An unknown key id triggers a refresh at most once
per cooldown for the whole set, so random ids cannot turn the gateway into
a load generator against the identity provider.  When a refresh fails, the
last good set keeps working for up to ``MAX_STALE`` seconds (an improvement
on KrakenD, which fails closed as soon as its cache expires).  Per worker
process.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from typing import Any, Callable, Mapping, Optional, Sequence

from app.auth.signatures import KEY_TYPES, VerifyingKey, build_key
from app.proxy.model import Executor, WireRequest
from app.version import IDENTITY

log = logging.getLogger("propylon.auth")

FETCH_TIMEOUT = 3.0
MAX_STALE = 3600.0
MAX_JWKS_BYTES = 256 * 1024
STRATEGIES = ("kid", "x5t", "x5t#S256", "kid_x5t")


def _thumbprint(jwk: Mapping[str, Any], field: str) -> Optional[str]:
    """``x5t`` / ``x5t#S256`` of a JWK: as given, else computed from its first ``x5c`` certificate."""
    given = jwk.get(field)
    if isinstance(given, str):
        return given
    chain = jwk.get("x5c")
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        return None
    der = base64.b64decode(chain[0])
    digest = hashlib.sha1(der).digest() if field == "x5t" else hashlib.sha256(der).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _fields(strategy: str) -> tuple[str, ...]:
    return ("kid", "x5t") if strategy == "kid_x5t" else (strategy,)


def token_ids(header: Mapping[str, Any], strategy: str) -> list[str]:
    """The index keys a token header can match, in lookup order; non-string ids are ignored."""
    out = []
    for field in _fields(strategy):
        value = header.get(field, "" if field == "kid" else None)
        if isinstance(value, str) and len(value) <= 256:
            out.append(f"{field}:{value}")
    return out


def usable_keys(document: Any, alg: str, strategy: str = "kid") -> dict[str, VerifyingKey]:
    """Index key -> key for every JWK in ``document`` that fits ``alg``; ValueError if not a JWK set."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK set (no \"keys\" list)")
    keys: dict[str, VerifyingKey] = {}
    for item in document["keys"]:
        if not isinstance(item, dict) or item.get("kty") != KEY_TYPES[alg] or item.get("use") == "enc":
            continue
        if item.get("alg") not in (None, alg):
            continue
        try:
            key = build_key(item, alg)
            ids = [item.get("kid", "") if f == "kid" else _thumbprint(item, f) for f in _fields(strategy)]
        except Exception as exc:  # noqa: BLE001 - one bad key must not hide the others
            log.warning("[JWKS] key %r skipped: %s", item.get("kid"), exc)
            continue
        for field, value in zip(_fields(strategy), ids):
            if isinstance(value, str):
                keys[f"{field}:{value}"] = key
    return keys


class JWKSource:
    """Thread-safe key lookup; see the module docstring."""

    def __init__(self, alg: str, executor: Executor, url: str = "", document: Optional[Mapping[str, Any]] = None,
                 ttl: float = 0.0, cooldown: float = 10.0, strategy: str = "kid") -> None:
        self.alg, self.url, self.ttl, self.cooldown, self.strategy = alg, url, ttl, cooldown, strategy
        self._executor = executor
        self._lock = threading.Lock()
        self._static = document is not None
        self._keys: dict[str, VerifyingKey] = usable_keys(document, alg, strategy) if document is not None else {}
        self._fetched_at = float("-inf")   # last fetch attempt
        self._good_at = float("-inf")      # last successful fetch
        #: Fetch attempts, for tests; ``on_fetch(result)`` is told "ok" or "error" (metrics).
        self.fetches = 0
        self.on_fetch: Optional[Callable[[str], None]] = None

    def key(self, ids: Sequence[str]) -> Optional[VerifyingKey]:
        """The first key matching ``ids``, refreshing the set when due; None when unknown or unreachable."""
        if not self._static:
            now = time.monotonic()
            found = self._find(ids)
            age = now - self._fetched_at
            if found is not None and age < self.ttl:
                return found
            if found is None and age < self.cooldown:
                return None
            # With a key in hand, never wait for somebody else's refresh: keep
            # serving it while one thread fetches.
            self._refresh(now, wait=found is None)
        return self._find(ids)

    def _find(self, ids: Sequence[str]) -> Optional[VerifyingKey]:
        keys = self._keys
        for key_id in ids:
            found = keys.get(key_id)
            if found is not None:
                return found
        return None

    def _refresh(self, requested_at: float, wait: bool = True) -> None:
        if not self._lock.acquire(timeout=FETCH_TIMEOUT if wait else 0):
            return
        try:
            if self._fetched_at >= requested_at:
                return  # another thread fetched while this one waited
            self.fetches += 1
            try:
                self._keys = self._fetch()
                self._good_at = time.monotonic()
                if self.on_fetch is not None:
                    self.on_fetch("ok")
            except Exception as exc:  # noqa: BLE001 - any failure of the identity provider's answer
                if self.on_fetch is not None:
                    self.on_fetch("error")
                stale = time.monotonic() - self._good_at
                log.error("[JWKS] cannot load %s: %s%s", self.url, getattr(exc, "detail", "") or
                          f"{type(exc).__name__}: {exc}"[:300],
                          "; keeping the last good keys" if stale < MAX_STALE else "")
                if stale >= MAX_STALE:
                    self._keys = {}
        finally:
            self._fetched_at = time.monotonic()
            self._lock.release()

    def _fetch(self) -> dict[str, VerifyingKey]:
        wire = self._executor(WireRequest("GET", self.url, {"User-Agent": IDENTITY, "Accept": "application/json",
                                                            "Accept-Encoding": "gzip"}, None),
                              time.monotonic() + FETCH_TIMEOUT)
        if wire.status != 200:
            raise ValueError(f"status {wire.status}")
        content_type = wire.header("Content-Type").split(";")[0].strip().lower()
        if content_type not in ("application/json", "application/jwk-set+json"):
            raise ValueError(f"Content-Type {content_type or 'missing'!r} is not JSON")
        return usable_keys(json.loads(wire.body), self.alg, self.strategy)
