"""auth/validator against a real JWKS server: 401/403, claims in URLs, no backend call on rejection."""
from __future__ import annotations

import base64
import time

import pytest
from jose import jwt

SECRET = b"0123456789abcdef0123456789abcdef"
JWKS = {"keys": [{"kty": "oct", "kid": "k1", "alg": "HS256",
                  "k": base64.urlsafe_b64encode(SECRET).rstrip(b"=").decode()}]}


def token(claims=None, kid="k1", alg="HS256", key=SECRET, **headers):
    base = {"sub": "user-1", "iss": "https://idp", "aud": ["api", "other"], "exp": int(time.time()) + 300,
            "roles": ["user"]}
    return jwt.encode({**base, **(claims or {})}, key, algorithm=alg, headers={"kid": kid, **headers})


@pytest.fixture
def gw(gateway, backend):
    jwks = backend.json("jwks", JWKS)
    validator = {"alg": "HS256", "jwk_url": backend.url + jwks, "disable_jwk_security": True, "cache": True,
                 "issuer": "https://idp", "audience": ["api"], "roles": ["user"],
                 "propagate_claims": [["sub", "X-User"]]}
    return gateway({"endpoints": [{
        "endpoint": "/me", "input_headers": ["X-User"],
        "extra_config": {"auth/validator": validator},
        "backend": [{"host": [backend.url], "url_pattern": "/echo/users/{JWT.sub}/{JWT_CLAIMS.sub}"}]}]})


def backend_calls(backend):
    return [r for r in backend.requests if r.path.startswith("/echo")]


def test_valid_token_reaches_backend_with_claims(gw, backend):
    response = gw.get("/me", headers={"Authorization": f"Bearer {token()}", "X-User": "forged"})
    assert response.status_code == 200
    assert response.json()["path"] == "/echo/users/user-1/user-1"
    assert backend_calls(backend)[-1].header("X-User") == ["user-1"]


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"Authorization": "Bearer a.bad.token"}, 401),
    ({"Authorization": "Bearer " + token({"exp": int(time.time()) - 120})}, 401),
    ({"Authorization": "Bearer " + token({"iat": int(time.time()) + 3600})}, 401),
    ({"Authorization": "Bearer " + token({"exp": "9999999999"})}, 401),
    ({"Authorization": "Bearer " + token({"aud": "other"})}, 401),
    ({"Authorization": "Bearer " + token({"iss": "https://evil"})}, 401),
    ({"Authorization": "Bearer " + token(kid="nope")}, 401),
    ({"Authorization": "Bearer " + token(key=b"another secret of 32 bytes......")}, 401),
    ({"Authorization": "Bearer " + token(crit=["x"])}, 401),
    ({"Authorization": "Bearer " + token({"roles": ["admin"]})}, 403),
    ({"Authorization": "Bearer " + token({"roles": [1, None]})}, 403),
], ids=["missing", "malformed", "expired", "iat-future", "exp-string", "audience", "issuer", "unknown-kid",
        "bad-signature", "crit", "wrong-role", "junk-roles"])
def test_rejections_have_empty_body_and_skip_backend(gw, backend, headers, status):
    response = gw.get("/me", headers=headers)
    assert response.status_code == status
    assert response.content == b""
    assert "Content-Type" not in response.headers and "X-Krakend-Completed" not in response.headers
    assert backend_calls(backend) == []


def test_alg_none_is_rejected(gw, backend):
    header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"k1"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(b'{"sub":"x","roles":["user"],"aud":"api","iss":"https://idp"}')
    forged = f"{header}.{payload.rstrip(b'=').decode()}."
    assert gw.get("/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_cookie_token_and_space_separated_roles(gw):
    response = gw.get("/me", cookies={"access_token": token({"roles": "admin user"})})
    assert response.status_code == 200


def test_jwks_is_cached(gw, backend):
    for _ in range(3):
        assert gw.get("/me", headers={"Authorization": f"Bearer {token()}"}).status_code == 200
    assert backend.hits["json"] == 1


def test_broken_validator_config_fails_closed(gateway, backend):
    gw = gateway({"endpoints": [{"endpoint": "/x", "extra_config": {"auth/validator": {
        "alg": "HS256", "jwk_url": "http://idp.invalid/jwks"}},
        "backend": [{"host": [backend.url], "url_pattern": "/echo/x"}]}]})
    assert gw.get("/x", headers={"Authorization": f"Bearer {token()}"}).status_code == 401
    assert backend.requests == []
