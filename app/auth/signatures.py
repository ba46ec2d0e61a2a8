"""JWS signature verification behind one small interface.

``build_key(jwk, alg)`` turns one JWK into a ``VerifyingKey``; its
``verify(token)`` checks the compact JWS signature and returns the raw
payload bytes, raising ``InvalidSignature`` on any failure.

HS/RS/ES algorithms go through python-jose (with its cryptography backend);
python-jose has no RSASSA-PSS, so PS256/384/512 are verified with
``cryptography`` directly, and EdDSA (Ed25519) likewise.  Keeping every
algorithm behind this interface lets the JWT library be swapped without
touching the validator (python-jose is lightly maintained, security.md §2.1).
Claims are not checked here; the validator does that for every algorithm.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any, Callable, Mapping, Protocol

from cryptography.exceptions import InvalidSignature as _CryptoInvalid
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from jose import jwk as jose_jwk
from jose import jws as jose_jws

HS = ("HS256", "HS384", "HS512")
RS = ("RS256", "RS384", "RS512")
ES = ("ES256", "ES384", "ES512")
PS = ("PS256", "PS384", "PS512")
ALGORITHMS = HS + RS + ES + PS + ("EdDSA",)
#: JWK ``kty`` a key must have to be used with an algorithm family.
KEY_TYPES: Mapping[str, str] = {**{a: "oct" for a in HS}, **{a: "RSA" for a in RS + PS},
                                **{a: "EC" for a in ES}, "EdDSA": "OKP"}
_PSS_HASHES: Mapping[str, Callable[[], hashes.HashAlgorithm]] = {
    "PS256": hashes.SHA256, "PS384": hashes.SHA384, "PS512": hashes.SHA512}


class InvalidSignature(Exception):
    """The token's signature does not verify with this key (or the token is malformed)."""


class VerifyingKey(Protocol):
    def verify(self, token: str) -> bytes: ...


def _b64(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignature("bad base64url") from exc


def _int(value: Any) -> int:
    if not isinstance(value, str):
        raise ValueError("JWK number is not a base64url string")
    return int.from_bytes(_b64(value), "big")


class _JoseKey:
    def __init__(self, jwk: Mapping[str, Any], alg: str) -> None:
        self.alg = alg
        self.key = jose_jwk.construct(dict(jwk), alg)

    def verify(self, token: str) -> bytes:
        try:
            return bytes(jose_jws.verify(token, self.key, algorithms=[self.alg]))
        except Exception as exc:  # noqa: BLE001 - python-jose raises JWSError, JWKError, ValueError ...
            raise InvalidSignature(str(exc)) from exc


class _CryptographyKey:
    """PS* (RSA-PSS, salt length = hash length, as RFC 7518 §3.5) and EdDSA (Ed25519)."""

    def __init__(self, jwk: Mapping[str, Any], alg: str) -> None:
        self.alg = alg
        if alg == "EdDSA":
            if jwk.get("crv") != "Ed25519":
                raise ValueError(f"unsupported OKP curve {jwk.get('crv')!r}")
            self.ed_key = ed25519.Ed25519PublicKey.from_public_bytes(_b64(str(jwk.get("x", ""))))
        else:
            self.rsa_key = rsa.RSAPublicNumbers(_int(jwk.get("e")), _int(jwk.get("n"))).public_key()

    def verify(self, token: str) -> bytes:
        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidSignature("not a compact JWS")
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
        signature = _b64(parts[2])
        try:
            if self.alg == "EdDSA":
                self.ed_key.verify(signature, signing_input)
            else:
                digest = _PSS_HASHES[self.alg]()
                self.rsa_key.verify(signature, signing_input,
                                    padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size), digest)
        except _CryptoInvalid as exc:
            raise InvalidSignature("signature mismatch") from exc
        return _b64(parts[1])


_CURVES: Mapping[str, str] = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


def build_key(jwk: Mapping[str, Any], alg: str) -> VerifyingKey:
    """A verifying key for ``alg`` from one JWK; raises ValueError when the JWK does not fit."""
    if jwk.get("kty") != KEY_TYPES.get(alg):
        raise ValueError(f"key type {jwk.get('kty')!r} cannot verify {alg}")
    if alg in _CURVES and jwk.get("crv") != _CURVES[alg]:
        raise ValueError(f"curve {jwk.get('crv')!r} cannot verify {alg} (RFC 7518 binds it to {_CURVES[alg]})")
    if alg in PS or alg == "EdDSA":
        return _CryptographyKey(jwk, alg)
    try:
        return _JoseKey(jwk, alg)
    except Exception as exc:  # noqa: BLE001 - python-jose's JWKError and friends
        raise ValueError(str(exc)) from exc
