"""app.auth.signing and the pure parts of app.auth.signer: tokens, keys, serializations, settings."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jose import jws as jose_jws

from app.auth import signer, signing
from app.errors import ConfigError
from tests.jwt_tools import Keys, b64
from tests.private_jwks import ec_private_jwk, ed_private_jwk, rsa_private_jwk

CLAIMS = {"aud": "http://api.example.com", "iss": "https://krakend.io", "sub": "1234567890qwertyuio",
          "jti": "mnb23vcsrt756yuiomnbvcx98ertyuiop", "roles": ["role_y"], "exp": 1735689600}


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


def go_json(value: Any) -> bytes:
    """Go's json.Marshal of ASCII data: sorted keys, no spaces (independent of app.jsoncodec)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def test_hs256_is_byte_deterministic_like_go_jose() -> None:
    secret = b"k" * 64
    key = signing.SigningKey({"kty": "oct", "kid": "sim2", "alg": "HS256", "k": b64(secret)}, "HS256")
    token = signing.sign(go_json(CLAIMS), key)
    head = b64(b'{"alg":"HS256","kid":"sim2","typ":"JWT"}')
    body = b64(go_json(CLAIMS))
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert token == f"{head}.{body}.{b64(mac)}"
    assert signing.sign(go_json(CLAIMS), key) == token


@pytest.mark.parametrize("alg", ["RS256", "RS512", "ES256", "PS256", "EdDSA", "HS384"])
def test_asymmetric_and_hmac_tokens_verify_with_the_public_key(keys: Keys, alg: str) -> None:
    jwk = {"RS": lambda: rsa_private_jwk(keys.rsa, "k1", alg), "PS": lambda: rsa_private_jwk(keys.rsa, "k1", alg),
           "ES": lambda: ec_private_jwk(keys.ec, "k1"), "Ed": lambda: ed_private_jwk(keys.ed, "k1"),
           "HS": lambda: {"kty": "oct", "kid": "k1", "k": b64(b"x" * 48)}}[alg[:2]]()
    token = signing.sign(go_json(CLAIMS), signing.SigningKey(jwk, alg))
    head, body, signature = token.split(".")
    assert json.loads(unb64(head)) == {"alg": alg, "kid": "k1", "typ": "JWT"}
    assert json.loads(unb64(body)) == CLAIMS
    data, raw = f"{head}.{body}".encode(), unb64(signature)
    if alg in ("RS256", "RS512"):
        public_pem = keys.rsa_public_pem()
        assert json.loads(jose_jws.verify(token, public_pem, algorithms=[alg])) == CLAIMS
    elif alg == "ES256":
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        keys.ec.public_key().verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    elif alg == "PS256":
        keys.rsa.public_key().verify(raw, data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                                     hashes.SHA256())
    elif alg == "EdDSA":
        keys.ed.public_key().verify(raw, data)
    else:
        assert raw == hmac.new(b"x" * 48, data, hashlib.sha384).digest()


def test_rsa_key_without_primes_still_signs(keys: Keys) -> None:
    key = signing.SigningKey(rsa_private_jwk(keys.rsa, "k1", primes=False), "RS256")
    token = signing.sign(b"{}", key)
    assert jose_jws.verify(token, keys.rsa_public_pem(), algorithms=["RS256"]) == b"{}"


def test_a_signature_by_another_key_does_not_verify(keys: Keys) -> None:
    token = signing.sign(b"{}", signing.SigningKey(rsa_private_jwk(keys.rsa_other, "k1"), "RS256"))
    with pytest.raises(Exception):
        jose_jws.verify(token, keys.rsa_public_pem(), algorithms=["RS256"])
    head, body, signature = token.split(".")
    with pytest.raises(InvalidSignature):
        keys.rsa.public_key().verify(unb64(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())


def test_full_serialization_is_go_jose_flattened_json() -> None:
    key = signing.SigningKey({"kty": "oct", "kid": "sim2", "k": b64(b"k" * 32)}, "HS256")
    full = signing.sign(go_json(CLAIMS), key, full=True)
    assert list(json.loads(full)) == ["payload", "protected", "signature"]
    parts = json.loads(full)
    assert full == json.dumps(parts, separators=(",", ":"))
    assert f"{parts['protected']}.{parts['payload']}.{parts['signature']}" == signing.sign(go_json(CLAIMS), key)


@pytest.mark.parametrize("make, alg, reason", [
    (lambda k: k.rsa_jwk("k1"), "RS256", "no private part"),
    (lambda k: {"kty": "oct", "kid": "k1", "k": b64(b"short")}, "HS256", "at least 32 bytes"),
    (lambda k: {"kty": "oct", "kid": "k1", "k": b64(b"x" * 40)}, "HS384", "at least 48 bytes"),
    (lambda k: rsa_private_jwk(rsa.generate_private_key(65537, 1024), "k1"), "RS256", "2048 bits"),
    (lambda k: ec_private_jwk(k.ec, "k1"), "RS256", "cannot sign"),
    (lambda k: {**ec_private_jwk(k.ec, "k1"), "crv": "P-384"}, "ES256", "curve"),
    (lambda k: ed_private_jwk(k.ed, "k1", public_of=ed25519.Ed25519PrivateKey.generate()), "EdDSA", "do not match"),
], ids=["public-only", "short-hs256-secret", "short-hs384-secret", "small-rsa", "wrong-kty", "wrong-curve",
        "mismatched-halves"])
def test_keys_that_cannot_sign_are_refused(keys: Keys, make: Any, alg: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        signing.SigningKey(make(keys), alg)
    assert reason in str(caught.value)


def test_signing_keys_keeps_only_usable_keys_by_kid(keys: Keys) -> None:
    document = {"keys": [
        {"kty": "oct", "alg": "A128KW", "k": b64(b"a" * 32), "kid": "wrap"},
        {"kty": "oct", "use": "enc", "k": b64(b"b" * 32), "kid": "enc"},
        {"kty": "oct", "key_ops": ["verify"], "k": b64(b"c" * 32), "kid": "verify-only"},
        {"kty": "oct", "k": b64(b"short"), "kid": "weak"},
        rsa_private_jwk(keys.rsa, "rsa"),
        {"kty": "oct", "alg": "HS256", "k": b64(b"d" * 32), "kid": "good"},
    ]}
    assert list(signing.signing_keys(document, "HS256")) == ["kid:good"]
    assert list(signing.signing_keys(document, "RS256")) == ["kid:rsa"]
    with pytest.raises(ValueError):
        signing.signing_keys({"no": "keys"}, "HS256")


def test_sign_fields_signs_objects_only() -> None:
    key = signing.SigningKey({"kty": "oct", "kid": "k", "k": b64(b"k" * 32)}, "HS256")
    data = {"access_token": {"sub": "a"}, "refresh_token": "already a string", "expires": 3600,
            "list": [{"sub": "b"}], "other": {"kept": True}}
    signed = signer.sign_fields(data, ("access_token", "refresh_token", "expires", "list", "missing"),
                                lambda: key, False)
    assert signed["access_token"] == signing.sign(b'{"sub":"a"}', key)
    assert {k: v for k, v in signed.items() if k != "access_token"} == \
        {k: v for k, v in data.items() if k != "access_token"}
    assert data["access_token"] == {"sub": "a"}  # the proxy's data is not modified


def test_sign_fields_asks_for_the_key_only_when_something_is_signed() -> None:
    def no_key() -> signing.SigningKey:
        raise AssertionError("the key was needed")
    assert signer.sign_fields({"access_token": "x"}, ("access_token",), no_key, False) == {"access_token": "x"}


BASE = {"alg": "HS256", "kid": "sim2", "keys_to_sign": ["access_token"], "jwk_url": "https://keys.test/jwk"}


@pytest.mark.parametrize("change, path, fragment", [
    ({"alg": "none"}, ".alg", "unsupported algorithm"),
    ({"alg": None}, ".alg", "unsupported algorithm"),
    ({"kid": ""}, ".kid", "set the kid"),
    ({"keys_to_sign": []}, ".keys_to_sign", "non-empty list"),
    ({"keys_to_sign": "access_token"}, ".keys_to_sign", "non-empty list"),
    ({"jwk_url": "http://keys.test/jwk"}, ".jwk_url", "not https"),
    ({"jwk_url": "file:///etc/keys"}, ".jwk_url", "not an http(s) URL"),
    ({"jwk_url": None}, "", "set jwk_url or jwk_local_path"),
    ({"full": "yes"}, ".full", "expected bool"),
    ({"jwk_fingerprints": ["abc="]}, ".jwk_fingerprints", "pinning is not supported"),
    ({"secret_url": "base64key://x"}, ".secret_url", "not supported"),
], ids=["alg-none", "alg-missing", "kid-empty", "keys-empty", "keys-not-list", "http", "file-url", "no-source",
        "full-not-bool", "fingerprints", "encrypted"])
def test_signer_config_errors_name_the_key(change: dict[str, Any], path: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        signer.parse({**BASE, **change}, "endpoints[1].extra_config.auth/signer")
    assert caught.value.path == "endpoints[1].extra_config.auth/signer" + path
    assert fragment in caught.value.message


def test_signer_settings() -> None:
    settings = signer.parse({**BASE, "jwk_url": "http://keys.test/jwk", "disable_jwk_security": True, "full": True},
                            "p")
    assert settings == signer.SignerSettings(alg="HS256", kid="sim2", keys_to_sign=("access_token",),
                                             jwk_url="http://keys.test/jwk", disable_jwk_security=True, full=True)
