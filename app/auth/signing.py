"""JWS signing for ``auth/signer``: private JWKs in, tokens byte-compatible with go-jose out.

``signing_keys(document, alg)`` indexes the JWKs of a set that can sign
with ``alg`` (``kid:<kid>``, as ``app.auth.jwks`` indexes verifying keys);
``sign(payload, key, full)`` returns the compact JWS, or with ``full`` the
flattened JSON serialization (``{"payload","protected","signature"}``),
as krakend-jose's go-jose signer does.

Bytes match KrakenD: the protected header is Go-JSON of
``{"alg","kid","typ":"JWT"}`` (sorted keys, compact) and the payload is the
caller's Go-JSON (``app.jsoncodec``), so HS256 tokens are identical.

HS/RS/ES sign through python-jose (its cryptography backend), PS and EdDSA
with ``cryptography`` directly, as ``app.auth.signatures`` verifies them.
Every key signs and verifies a probe when it is built, so a JWK whose private
and public halves disagree is refused up front.  Refused, where go-jose would
sign (fail closed): public-only JWKs, HMAC secrets shorter than the hash
(RFC 7518 §3.2), RSA keys under 2048 bits, ``use: enc`` or another ``alg``.
"""
from __future__ import annotations

import base64
import binascii
import logging
from typing import Any, Callable, Mapping

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from jose import jwk as jose_jwk

from app import jsoncodec
from app.auth.signatures import HS, KEY_TYPES, PS, RS, InvalidSignature, build_key

log = logging.getLogger("propylon.auth")

_HASHES: Mapping[str, Callable[[], hashes.HashAlgorithm]] = {
    "256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_CURVES: Mapping[str, str] = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
#: JWK members that hold private material (RFC 7518 §6).
_PRIVATE = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MIN_RSA_BITS = 2048
_PROBE = b"propylon.signing-probe"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(value: Any, name: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise ValueError(f"JWK member {name!r} is missing")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"JWK member {name!r} is not base64url") from exc


class SigningKey:
    """One private JWK that signs with ``alg``; ``ValueError`` when the JWK cannot."""

    def __init__(self, jwk: Mapping[str, Any], alg: str) -> None:
        if jwk.get("kty") != KEY_TYPES.get(alg):
            raise ValueError(f"key type {jwk.get('kty')!r} cannot sign {alg}")
        if alg in _CURVES and jwk.get("crv") != _CURVES[alg]:
            raise ValueError(f"curve {jwk.get('crv')!r} cannot sign {alg}")
        kid = jwk.get("kid", "")
        self.kid: str = kid if isinstance(kid, str) else ""
        self.alg = alg
        self._sign = self._signer(jwk, alg)
        public = {k: v for k, v in jwk.items() if k not in _PRIVATE} if alg not in HS else dict(jwk)
        self._verifier = build_key(public, alg)
        try:
            self.verify(compact(_PROBE, self))
        except InvalidSignature as exc:
            raise ValueError("the private and public halves of the JWK do not match") from exc

    def _signer(self, jwk: Mapping[str, Any], alg: str) -> Callable[[bytes], bytes]:
        if alg == "EdDSA":
            if jwk.get("crv") != "Ed25519":
                raise ValueError(f"unsupported OKP curve {jwk.get('crv')!r}")
            return ed25519.Ed25519PrivateKey.from_private_bytes(_unb64(jwk.get("d"), "d")).sign
        digest = _HASHES[alg[-3:]]
        if alg in HS:
            secret = _unb64(jwk.get("k"), "k")
            if len(secret) < digest().digest_size:
                raise ValueError(f"an {alg} secret needs at least {digest().digest_size} bytes (RFC 7518 §3.2)")
            return lambda data: _hmac(secret, digest(), data)
        if "d" not in jwk:
            raise ValueError("the JWK has no private part (\"d\"): it cannot sign")
        try:
            # python-jose builds RSA/EC private keys from JWKs (primes recovered when absent).
            jose_key = jose_jwk.construct(dict(jwk), alg if alg not in PS else "RS" + alg[2:])
        except Exception as exc:  # noqa: BLE001 - python-jose's JWKError and friends
            raise ValueError(str(exc)) from exc
        if jose_key.is_public():
            raise ValueError("the JWK has no private part: it cannot sign")
        if alg in RS + PS:
            private = jose_key.prepared_key
            if not isinstance(private, rsa.RSAPrivateKey) or private.key_size < MIN_RSA_BITS:
                raise ValueError(f"RSA keys need at least {MIN_RSA_BITS} bits")
            if alg in PS:
                pss = padding.PSS(mgf=padding.MGF1(digest()), salt_length=digest().digest_size)
                return lambda data: bytes(private.sign(data, pss, digest()))
        return lambda data: bytes(jose_key.sign(data))

    def sign(self, signing_input: bytes) -> bytes:
        return self._sign(signing_input)

    def verify(self, token: str) -> bytes:
        """The payload of ``token`` if this key signed it (``InvalidSignature`` otherwise)."""
        return self._verifier.verify(token)

    def header(self) -> bytes:
        return jsoncodec.dumps({"alg": self.alg, "kid": self.kid, "typ": "JWT"})


def _hmac(secret: bytes, algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    mac = crypto_hmac.HMAC(secret, algorithm)
    mac.update(data)
    return mac.finalize()


def _parts(payload: bytes, key: SigningKey) -> tuple[str, str, str]:
    protected, body = b64(key.header()), b64(payload)
    return protected, body, b64(key.sign(f"{protected}.{body}".encode("ascii")))


def compact(payload: bytes, key: SigningKey) -> str:
    """``header.payload.signature``."""
    return ".".join(_parts(payload, key))


def flattened(payload: bytes, key: SigningKey) -> str:
    """go-jose's ``FullSerialize`` of a one-signature JWS: ``{"payload","protected","signature"}``."""
    protected, body, signature = _parts(payload, key)
    return jsoncodec.dumps({"payload": body, "protected": protected, "signature": signature}).decode()


def sign(payload: bytes, key: SigningKey, full: bool = False) -> str:
    return flattened(payload, key) if full else compact(payload, key)


def signing_keys(document: Any, alg: str) -> dict[str, SigningKey]:
    """``kid:<kid>`` -> key for every JWK in ``document`` that can sign ``alg``; ValueError if not a JWK set."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK set (no \"keys\" list)")
    keys: dict[str, SigningKey] = {}
    for item in document["keys"]:
        if not isinstance(item, dict) or item.get("kty") != KEY_TYPES[alg] or item.get("use") == "enc" \
                or item.get("alg") not in (None, alg):
            continue
        ops = item.get("key_ops")
        if isinstance(ops, list) and "sign" not in ops:
            continue
        try:
            key = SigningKey(item, alg)
        except Exception as exc:  # noqa: BLE001 - one unusable key must not hide the others
            log.warning("[JWKS] signing key %r skipped: %s", item.get("kid"), exc)
            continue
        keys[f"kid:{key.kid}"] = key
    return keys
