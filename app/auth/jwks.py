"""JWK sets: fetched from ``jwk_url`` (through the gateway's own transport) or read from a file.

Keys are indexed by ``kid`` ourselves (python-jose would try every key).
Only keys usable with the configured algorithm are kept: ``oct`` keys for
HS*, RSA for RS*, EC for ES*; keys marked ``use: enc`` or carrying another
``alg`` are skipped, so an HMAC secret can never be built from a public key.

Refreshing: with ``cache`` the set is kept ``cache_duration`` seconds; without
it KrakenD fetches on every request, and so do we, but concurrent requests
share one fetch (single flight).  An unknown ``kid`` triggers a refresh at
most once per ``cooldown`` for the whole set, so random kids cannot amplify
into traffic towards the identity provider.  Per worker process.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Mapping, Optional

from jose import jwk
from jose.backends.base import Key

from app.errors import GatewayError
from app.proxy.model import Executor, WireRequest
from app.version import IDENTITY

log = logging.getLogger("propylon.auth")

FETCH_TIMEOUT = 3.0
_KTY = {"HS": "oct", "RS": "RSA", "PS": "RSA", "ES": "EC"}


def usable_keys(document: Any, alg: str) -> dict[str, Key]:
    """kid -> key for every JWK in ``document`` that fits ``alg``; raises ValueError if not a JWK set."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK set (no \"keys\" list)")
    wanted_kty = _KTY.get(alg[:2])
    keys: dict[str, Key] = {}
    for item in document["keys"]:
        if not isinstance(item, dict) or item.get("kty") != wanted_kty or item.get("use") == "enc":
            continue
        if item.get("alg") not in (None, alg):
            continue
        kid = item.get("kid", "")
        if not isinstance(kid, str):
            continue
        try:
            keys[kid] = jwk.construct(item, alg)
        except Exception as exc:  # noqa: BLE001 - one bad key must not hide the others
            log.warning("[JWKS] key %r skipped: %s", kid, exc)
    return keys


class JWKSource:
    """Thread-safe key lookup by kid; see the module docstring."""

    def __init__(self, alg: str, executor: Executor, url: str = "", document: Optional[Mapping[str, Any]] = None,
                 ttl: float = 0.0, cooldown: float = 10.0) -> None:
        self.alg, self.url, self.ttl, self.cooldown = alg, url, ttl, cooldown
        self._executor = executor
        self._lock = threading.Lock()
        self._keys: dict[str, Key] = usable_keys(document, alg) if document is not None else {}
        self._static = document is not None
        self._fetched_at = float("-inf")

    def key(self, kid: str) -> Optional[Key]:
        """The key for ``kid``, refreshing the set when due; None when unknown or unreachable."""
        if self._static:
            return self._keys.get(kid)
        now = time.monotonic()
        age = now - self._fetched_at
        found = self._keys.get(kid)
        if found is not None and age < self.ttl:
            return found
        if found is None and age < max(self.ttl, self.cooldown) and self._fetched_at > float("-inf"):
            return None
        self._refresh(now)
        return self._keys.get(kid)

    def _refresh(self, requested_at: float) -> None:
        if not self._lock.acquire(timeout=FETCH_TIMEOUT):
            return
        try:
            if self._fetched_at >= requested_at:
                return  # another thread fetched while this one waited
            try:
                self._keys = self._fetch()
            except (GatewayError, ValueError) as exc:
                log.error("[JWKS] cannot load %s: %s", self.url, getattr(exc, "detail", "") or exc)
                if self.ttl == 0:
                    self._keys = {}
            self._fetched_at = time.monotonic()
        finally:
            self._lock.release()

    def _fetch(self) -> dict[str, Key]:
        wire = self._executor(WireRequest("GET", self.url, {"User-Agent": IDENTITY, "Accept": "application/json",
                                                            "Accept-Encoding": "gzip"}, None),
                              time.monotonic() + FETCH_TIMEOUT)
        if wire.status != 200:
            raise ValueError(f"status {wire.status}")
        return usable_keys(json.loads(wire.body), self.alg)
