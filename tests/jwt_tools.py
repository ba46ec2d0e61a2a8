"""Real keys, JWK sets and signed tokens for the JWT tests (no mocks: cryptography and python-jose)."""
from __future__ import annotations

import base64
import json
import time
from typing import Any, Optional

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from jose import jwt


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(value: int) -> str:
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class Keys:
    """One key per algorithm family, with their public JWKs."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rsa_other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.ed = ed25519.Ed25519PrivateKey.generate()
        self.secret = b"s" * 32

    def rsa_pem(self, key: Optional[rsa.RSAPrivateKey] = None) -> bytes:
        return (key or self.rsa).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption())

    def rsa_public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)

    def rsa_public_der(self) -> bytes:
        return self.rsa.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)

    def rsa_jwk(self, kid: str, alg: str = "RS256", key: Optional[rsa.RSAPrivateKey] = None) -> dict[str, Any]:
        numbers = (key or self.rsa).public_key().public_numbers()
        return {"kty": "RSA", "kid": kid, "alg": alg, "use": "sig", "n": _int(numbers.n), "e": _int(numbers.e)}

    def ec_jwk(self, kid: str) -> dict[str, Any]:
        numbers = self.ec.public_key().public_numbers()
        return {"kty": "EC", "kid": kid, "alg": "ES256", "crv": "P-256",
                "x": b64(numbers.x.to_bytes(32, "big")), "y": b64(numbers.y.to_bytes(32, "big"))}

    def ed_jwk(self, kid: str) -> dict[str, Any]:
        raw = self.ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA", "x": b64(raw)}

    def oct_jwk(self, kid: str) -> dict[str, Any]:
        return {"kty": "oct", "kid": kid, "alg": "HS256", "k": b64(self.secret)}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "user-1", "iss": "https://idp.test", "aud": ["gw"], "exp": now + 300, "iat": now,
            "roles": ["user"]}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def raw_token(header: dict[str, Any], payload: Any, signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(payload).encode()) if not isinstance(payload, bytes) else b64(payload)
    return f"{head}.{body}.{b64(signature)}"


def sign(keys: Keys, alg: str, payload: dict[str, Any], kid: str = "k1", **header: Any) -> str:
    """A compact JWS for ``alg`` with the matching test key."""
    if alg.startswith(("RS", "ES", "HS")):
        key: Any = {"RS": keys.rsa_pem(), "ES": keys.ec.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
            "HS": keys.secret}[alg[:2]]
        return str(jwt.encode(payload, key, algorithm=alg, headers={"kid": kid, **header}))
    head = b64(json.dumps({"alg": alg, "kid": kid, "typ": "JWT", **header}).encode())
    body = b64(json.dumps(payload).encode())
    signing_input = f"{head}.{body}".encode()
    if alg == "EdDSA":
        signature = keys.ed.sign(signing_input)
    else:
        digest = {"PS256": hashes.SHA256(), "PS384": hashes.SHA384(), "PS512": hashes.SHA512()}[alg]
        pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        signature = keys.rsa.sign(signing_input, pss, digest)
    return f"{head}.{body}.{b64(signature)}"


def hmac_token(secret: bytes, payload: dict[str, Any], kid: str = "k1") -> str:
    """HS256 keyed with arbitrary bytes (the algorithm-confusion attacks)."""
    import hashlib
    import hmac
    head = b64(json.dumps({"alg": "HS256", "kid": kid}).encode())
    body = b64(json.dumps(payload).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"
