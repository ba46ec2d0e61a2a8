"""auth/signer on a live gateway, with real backends and a real loopback JWKS server."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import serialization
from jose import jws as jose_jws
from jose.exceptions import JWSError

from app import create_app
from app.config.build import build_service
from app.errors import ConfigErrors
from app.settings import Settings
from tests.backends import Backend
from tests.jwt_tools import Keys, b64
from tests.private_jwks import rsa_private_jwk

SECRET = b"0123456789abcdef0123456789abcdef0123456789abcdef"
LOGIN = {"access_token": {"sub": "user-1", "roles": ["a", "b"], "exp": 1735689600, "ratio": 1.5},
         "refresh_token": {"sub": "user-1", "jti": "r-1"}, "expires_in": 3600, "token_type": "bearer"}
#: The same answer as the backend writes it, number literal ``1.50`` included.
LOGIN_BODY = json.dumps(LOGIN).replace("1.5", "1.50").encode()
GATEWAY_HEADERS = ("X-Krakend", "X-Krakend-Completed", "Cache-Control")


@pytest.fixture
def jwks_server():
    server = Backend()
    yield server
    server.close()


@pytest.fixture(scope="module")
def keys():
    return Keys()


def hs_jwks():
    return {"keys": [{"kty": "oct", "kid": "other", "alg": "HS256", "k": b64(b"z" * 32)},
                     {"kty": "oct", "kid": "sim2", "alg": "HS256", "k": b64(SECRET)}]}


def signer_config(jwks_url, **overrides):
    return {"alg": "HS256", "kid": "sim2", "keys_to_sign": ["access_token", "refresh_token", "expires_in"],
            "jwk_url": jwks_url, "disable_jwk_security": True, **overrides}


def endpoint(backends, signer, **extra):
    return {"endpoint": "/token", "cache_ttl": "300s", "backend": backends,
            "extra_config": {"auth/signer": signer, **extra}}


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_hs256_tokens_replace_the_objects_and_verify(gateway, backend, jwks_server):
    login = backend.json("login", LOGIN_BODY)
    jwks = jwks_server.url + jwks_server.json("jwks", hs_jwks())
    gw = gateway({"endpoints": [endpoint([{"host": [backend.url], "url_pattern": login}], signer_config(jwks))]})
    for _ in range(3):
        response = gw.get("/token")
        assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert not any(name in response.headers for name in GATEWAY_HEADERS)
    body = response.json()
    assert body["expires_in"] == 3600 and body["token_type"] == "bearer"
    head, payload, signature = body["access_token"].split(".")
    assert unb64(head) == b'{"alg":"HS256","kid":"sim2","typ":"JWT"}'
    # Go-JSON of the object: sorted keys, compact, number literals kept (1.50 stays 1.50).
    assert unb64(payload) == b'{"exp":1735689600,"ratio":1.50,"roles":["a","b"],"sub":"user-1"}'
    assert unb64(signature) == hmac.new(SECRET, f"{head}.{payload}".encode(), hashlib.sha256).digest()
    assert json.loads(jose_jws.verify(body["refresh_token"], SECRET, algorithms=["HS256"])) == LOGIN["refresh_token"]
    assert jwks_server.hits["json"] == 1  # fetched once, then kept


def test_rs256_full_serialization_verifies_with_the_public_key(gateway, backend, jwks_server, keys):
    login = backend.json("login", LOGIN)
    jwks = jwks_server.url + jwks_server.json("jwks", {"keys": [rsa_private_jwk(keys.rsa, "rs1")]})
    gw = gateway({"endpoints": [endpoint([{"host": [backend.url], "url_pattern": login}],
                                         signer_config(jwks, alg="RS256", kid="rs1", full=True))]})
    response = gw.get("/token")
    assert response.status_code == 200
    full = json.loads(response.json()["access_token"])
    compact = f"{full['protected']}.{full['payload']}.{full['signature']}"
    assert json.loads(jose_jws.verify(compact, keys.rsa_public_pem(), algorithms=["RS256"])) == LOGIN["access_token"]
    other_public = keys.rsa_other.public_key().public_bytes(serialization.Encoding.PEM,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(JWSError):
        jose_jws.verify(compact, other_public, algorithms=["RS256"])


@pytest.mark.parametrize("jwks_state", ["down", "unknown-kid", "not-json", "public-key-only"])
def test_no_usable_signing_key_gives_400_with_an_empty_body(gateway, backend, jwks_server, keys, jwks_state):
    login = backend.json("login", LOGIN)
    if jwks_state == "down":
        dead = Backend()
        jwks = dead.url + "/json/jwks"
        dead.close()
    else:
        document = {"unknown-kid": {"keys": [{"kty": "oct", "kid": "nope", "k": b64(SECRET)}]},
                    "not-json": b"<html>keys</html>",
                    "public-key-only": {"keys": [keys.rsa_jwk("sim2")]}}[jwks_state]
        jwks = jwks_server.url + jwks_server.json("jwks", document)
    alg = "RS256" if jwks_state == "public-key-only" else "HS256"
    gw = gateway({"endpoints": [endpoint([{"host": [backend.url], "url_pattern": login}],
                                         signer_config(jwks, alg=alg))]})
    response = gw.get("/token")
    assert response.status_code == 400
    assert response.content == b"" and "Content-Type" not in response.headers
    assert not any(name in response.headers for name in GATEWAY_HEADERS)


@pytest.mark.parametrize("second", ["/status/500", "/sleep/3000/x"], ids=["failed", "timed-out"])
def test_partial_responses_are_not_signed(gateway, backend, jwks_server, second):
    login = backend.json("login", LOGIN)
    jwks = jwks_server.url + jwks_server.json("jwks", hs_jwks())
    gw = gateway({"endpoints": [{**endpoint([{"host": [backend.url], "url_pattern": login},
                                             {"host": [backend.url], "url_pattern": second, "group": "more"}],
                                            signer_config(jwks)), "timeout": "1s"}]})
    response = gw.get("/token")
    assert response.status_code == 400 and response.content == b""


def test_backend_failure_gives_400(gateway, backend, jwks_server):
    jwks = jwks_server.url + jwks_server.json("jwks", hs_jwks())
    gw = gateway({"endpoints": [endpoint([{"host": [backend.url], "url_pattern": "/status/503"}],
                                         signer_config(jwks))]})
    response = gw.get("/token")
    assert response.status_code == 400 and response.content == b""
    assert jwks_server.hits["json"] == 0  # nothing to sign, no key needed


def test_invalid_body_for_the_json_schema_is_a_400_before_any_call(gateway, backend, jwks_server):
    jwks = jwks_server.url + jwks_server.json("jwks", hs_jwks())
    ep = endpoint([{"host": [backend.url], "url_pattern": backend.json("login", LOGIN)}], signer_config(jwks),
                  **{"validation/json-schema": {"type": "object", "required": ["user"]}})
    gw = gateway({"endpoints": [{**ep, "method": "POST"}]})
    assert gw.request("POST", "/token", json={"nobody": 1}).status_code == 400
    assert backend.hits["json"] == 0
    assert gw.request("POST", "/token", json={"user": "u"}).status_code == 200


def test_the_endpoint_rate_limit_still_applies(gateway, backend, jwks_server):
    jwks = jwks_server.url + jwks_server.json("jwks", hs_jwks())
    ep = endpoint([{"host": [backend.url], "url_pattern": backend.json("login", LOGIN)}], signer_config(jwks),
                  **{"qos/ratelimit/router": {"max_rate": 1, "every": "1h"}})
    gw = gateway({"endpoints": [ep]})
    assert gw.get("/token").status_code == 200
    assert gw.get("/token").status_code == 503
    assert backend.hits["json"] == 1


def test_broken_config_fails_closed_and_check_reports_its_path(gateway, backend):
    login = backend.json("login", LOGIN)
    broken = signer_config("http://keys.test/jwk", disable_jwk_security=False)
    raw = {"endpoints": [endpoint([{"host": [backend.url], "url_pattern": login}], broken)]}
    gw = gateway(raw)
    response = gw.get("/token")
    assert response.status_code == 400 and response.content == b""
    assert backend.requests == []
    unsupported = {"endpoints": [endpoint([{"host": [backend.url], "url_pattern": login}],
                                          signer_config("https://keys.test/jwk", alg="RS1"))]}
    for config, where in ((raw, "auth/signer.jwk_url"), (unsupported, "auth/signer.alg")):
        with pytest.raises(ConfigErrors) as caught:
            create_app(Settings(), build_service({"version": 3, **config}), strict=True)
        assert f"endpoints[0].extra_config.{where}" in str(caught.value)


def test_local_jwk_file(gateway, backend, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(hs_jwks()))
    config = signer_config("", jwk_local_path=str(path))
    gw = gateway({"endpoints": [endpoint([{"host": [backend.url], "url_pattern": backend.json("login", LOGIN)}],
                                         config)]})
    token = gw.get("/token").json()["access_token"]
    assert json.loads(jose_jws.verify(token, SECRET, algorithms=["HS256"]))["sub"] == "user-1"


def test_script_set_headers_pass_the_same_filter_as_other_answers(gateway, backend, jwks_server):
    """A Lua post script's headers reach a signed answer only if they are safe to send."""
    login = backend.json("login", LOGIN_BODY)
    jwks = jwks_server.url + jwks_server.json("jwks", hs_jwks())
    post = r"""local r = response.load()
r:headers('X-From-Lua', 'yes'); r:headers('X-Split', 'a' .. string.char(13, 10) .. 'X-Evil: 1')
r:headers('Connection', 'close'); r:headers('Server', 'spoofed')"""
    gw = gateway({"endpoints": [endpoint([{"host": [backend.url], "url_pattern": login}], signer_config(jwks),
                                         **{"modifier/lua-proxy": {"post": post}})]})
    response = gw.get("/token")
    assert response.status_code == 200 and response.headers["X-From-Lua"] == "yes"
    assert "X-Split" not in response.headers and "X-Evil" not in response.headers
    assert response.headers.get("Server", "") != "spoofed"
