"""Private JWKs (what an ``auth/signer`` JWK set holds) for the signing tests."""
from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.jwt_tools import b64


def _int(value: int) -> str:
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def rsa_private_jwk(key: rsa.RSAPrivateKey, kid: str, alg: str = "RS256", primes: bool = True) -> dict[str, Any]:
    numbers = key.private_numbers()
    jwk = {"kty": "RSA", "kid": kid, "alg": alg, "n": _int(numbers.public_numbers.n),
           "e": _int(numbers.public_numbers.e), "d": _int(numbers.d)}
    if primes:
        jwk.update(p=_int(numbers.p), q=_int(numbers.q), dp=_int(numbers.dmp1), dq=_int(numbers.dmq1),
                   qi=_int(numbers.iqmp))
    return jwk


def ec_private_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    numbers = key.private_numbers()
    point = numbers.public_numbers
    return {"kty": "EC", "kid": kid, "alg": "ES256", "crv": "P-256",
            "d": b64(numbers.private_value.to_bytes(32, "big")),
            "x": b64(point.x.to_bytes(32, "big")), "y": b64(point.y.to_bytes(32, "big"))}


def ed_private_jwk(key: ed25519.Ed25519PrivateKey, kid: str, public_of: Any = None) -> dict[str, Any]:
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    public = (public_of or key).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA", "d": b64(raw), "x": b64(public)}
