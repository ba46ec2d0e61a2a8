"""auth/validator against a real JWKS server: every algorithm, the attack catalogue of
security.md §2.4, key rotation, an identity provider going down, claim propagation.

Each rejection asserts the protected backend was never called.
"""
from __future__ import annotations

import http.client
import json
import logging
import time

import pytest
from jose import jws

from tests.jwt_tools import Keys, b64, claims, hmac_token, raw_token, sign

ISSUER, AUDIENCE = "https://idp.test", ["gw"]


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture
def idp(other_backend, keys):
    """The identity provider: a JWKS with one key per algorithm family."""
    other_backend.json("jwks", {"keys": [keys.rsa_jwk("k1"), keys.rsa_jwk("kp", "PS256"), keys.ec_jwk("ke"),
                                         keys.oct_jwk("kh"), keys.ed_jwk("kd")]})
    return other_backend


def validator(idp, **overrides):
    config = {"alg": "RS256", "jwk_url": f"{idp.url}/json/jwks", "disable_jwk_security": True, "cache": True,
              "issuer": ISSUER, "audience": AUDIENCE, "roles": ["user"]}
    config.update(overrides)
    return {k: v for k, v in config.items() if v is not None}


def protected(backend, idp, path="/p", url_pattern="/echo/p", input_headers=None, **overrides):
    endpoint = {"endpoint": path, "extra_config": {"auth/validator": validator(idp, **overrides)},
                "backend": [{"host": [backend.url], "url_pattern": url_pattern}]}
    if input_headers:
        endpoint["input_headers"] = input_headers
    return endpoint


@pytest.fixture
def gw(gateway, backend, idp):
    return gateway({"endpoints": [protected(backend, idp)]})


def call(gw, token=None, path="/p", **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return gw.get(path, headers=headers)


def assert_rejected(response, backend, status=401):
    assert response.status_code == status
    assert response.content == b""
    assert "Content-Type" not in response.headers and "X-Krakend-Completed" not in response.headers
    assert backend.hits["echo"] == 0


@pytest.mark.parametrize("alg, kid", [("RS256", "k1"), ("PS256", "kp"), ("ES256", "ke"), ("HS256", "kh"),
                                      ("EdDSA", "kd")])
def test_every_algorithm_family_verifies(gateway, backend, idp, keys, alg, kid):
    gw = gateway({"endpoints": [protected(backend, idp, alg=alg)]})
    assert call(gw, sign(keys, alg, claims(), kid=kid)).status_code == 200
    assert backend.hits["echo"] == 1


def test_ps_token_with_a_flipped_bit_is_rejected(gateway, backend, idp, keys):
    gw = gateway({"endpoints": [protected(backend, idp, alg="PS256")]})
    token = sign(keys, "PS256", claims(), kid="kp")
    head, body, sig = token.split(".")
    tampered = f"{head}.{body}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}"
    assert_rejected(call(gw, tampered), backend)


def test_j1_no_token(gw, backend):
    assert_rejected(call(gw), backend)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_j2_alg_none(gw, backend, alg):
    assert_rejected(call(gw, raw_token({"alg": alg, "kid": "k1"}, claims())), backend)


def test_j3_j4_hmac_keyed_with_public_key_material(gw, backend, keys):
    jwk_json = json.dumps(keys.rsa_jwk("k1")).encode()
    for secret in (keys.rsa_public_pem(), keys.rsa_public_der(), jwk_json, keys.rsa_jwk("k1")["n"].encode()):
        assert_rejected(call(gw, hmac_token(secret, claims())), backend)


def test_j5_other_algorithm_with_the_real_key(gw, backend, keys):
    assert_rejected(call(gw, sign(keys, "RS512", claims())), backend)
    assert_rejected(call(gw, sign(keys, "PS256", claims(), kid="k1")), backend)


def test_j6_attacker_key_with_known_kid(gw, backend, keys):
    forged = jws.sign(json.dumps(claims()).encode(), keys.rsa_pem(keys.rsa_other), headers={"kid": "k1"},
                      algorithm="RS256")
    assert_rejected(call(gw, forged), backend)


def test_j7_stripped_or_spliced_signature(gw, backend, keys):
    token = sign(keys, "RS256", claims())
    other = sign(keys, "RS256", claims(sub="admin"))
    head, body, _ = token.split(".")
    assert_rejected(call(gw, f"{head}.{body}."), backend)
    assert_rejected(call(gw, f"{head}.{other.split('.')[1]}.{token.split('.')[2]}"), backend)


def test_j8_keys_from_the_token_are_never_fetched(gw, backend, keys, gateway, other_backend):
    trap = other_backend.json("attacker-jwks", {"keys": [keys.rsa_jwk("evil", key=keys.rsa_other)]})
    before = other_backend.hits["json"]
    for extra in ({"jku": other_backend.url + trap}, {"x5u": other_backend.url + trap},
                  {"jwk": keys.rsa_jwk("evil", key=keys.rsa_other)}):
        forged = jws.sign(json.dumps(claims()).encode(), keys.rsa_pem(keys.rsa_other),
                          headers={"kid": "evil", **extra}, algorithm="RS256")
        assert_rejected(call(gw, forged), backend)
    assert other_backend.hits["json"] - before <= 1  # at most the one refresh for the unknown kid
    assert all("attacker" not in r.path for r in other_backend.requests)


def test_j9_expired_and_leeway(gateway, backend, idp, keys):
    expired = sign(keys, "RS256", claims(exp=int(time.time()) - 120))
    gw = gateway({"endpoints": [protected(backend, idp), protected(backend, idp, path="/lenient", leeway="300s")]})
    assert_rejected(call(gw, expired), backend)
    assert call(gw, expired, path="/lenient").status_code == 200


@pytest.mark.parametrize("overrides", [
    {"nbf": int(time.time()) + 600}, {"iat": int(time.time()) + 3600},
    {"aud": None}, {"aud": "other"}, {"aud": 5}, {"aud": ["x"]},
    {"iss": None}, {"iss": "https://evil"}, {"iss": "https://idp.test/"},
    {"exp": "9999999999"}, {"exp": [1]}, {"exp": {}}, {"exp": True}, {"iat": "x"},
    {"sub": 42},
], ids=["j10-nbf-future", "j11-iat-future", "j13-aud-missing", "j13-aud-other", "j13-aud-number", "j13-aud-list",
        "j14-iss-missing", "j14-iss-evil", "j14-iss-trailing-slash", "j12-exp-string", "j12-exp-list",
        "j12-exp-object", "j12-exp-bool", "j12-iat-string", "sub-not-string"])
def test_claim_checks(gw, backend, keys, overrides):
    assert_rejected(call(gw, sign(keys, "RS256", claims(**overrides))), backend)


@pytest.mark.parametrize("literal", [b"null", b"1e400", b"NaN", b"-Infinity"])
def test_j12_non_finite_or_null_exp_never_500(gw, backend, keys, literal):
    payload = json.dumps(claims(exp=None)).encode()[:-1] + b', "exp": ' + literal + b"}"
    token = jws.sign(payload, keys.rsa_pem(), headers={"kid": "k1"}, algorithm="RS256")
    assert_rejected(call(gw, token), backend)


def test_j15_hostile_kids_never_500_and_fetch_at_most_once(gw, backend, keys, idp):
    assert call(gw, sign(keys, "RS256", claims())).status_code == 200
    backend.hits.clear()
    fetched = idp.hits["json"]
    for kid in ("../../dev/null", "' OR 1=1--", "x" * 5000, 123, ["k1"], {"a": 1}, None):
        head = {"alg": "RS256", "kid": kid}
        token = jws.sign(json.dumps(claims()).encode(), keys.rsa_pem(), headers=head, algorithm="RS256")
        assert_rejected(call(gw, token), backend)
    assert idp.hits["json"] - fetched <= 1


def test_j16_random_kids_do_not_amplify(gw, backend, keys, idp):
    fetched = idp.hits["json"]
    for i in range(30):
        assert_rejected(call(gw, sign(keys, "RS256", claims(), kid=f"random-{i}")), backend)
    assert idp.hits["json"] - fetched <= 1


def test_j17_crit(gw, backend, keys):
    assert_rejected(call(gw, sign(keys, "RS256", claims(), crit=["exp"])), backend)


@pytest.mark.parametrize("value", [
    "Bearer a.bad.token", "Bearer ", "Bearer", "a.b.c.d.e", "Bearer " + b64(b"[]") + ".e30.",
    "Bearer " + b64(b"[" * 5000 + b"]" * 5000) + ".e30.", "Bearer \xe9\xe9.\xe9.\xe9",
    "Bearer " + "a" * 9000 + ".b.c",
], ids=["bad", "empty", "bearer-only", "five-parts", "header-array", "deep-header", "non-ascii", "oversized"])
def test_j18_malformed_tokens(gw, backend, value):
    conn = http.client.HTTPConnection(gw.url.removeprefix("http://"), timeout=5)
    conn.putrequest("GET", "/p")
    conn.putheader("Authorization", value.encode("latin-1"))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 401 and response.read() == b""
    conn.close()
    assert backend.hits["echo"] == 0


def test_j19_query_token_ignored(gw, backend, keys):
    assert_rejected(gw.get(f"/p?access_token={sign(keys, 'RS256', claims())}"), backend)


def test_j20_two_authorization_headers(gw, backend, keys):
    conn = http.client.HTTPConnection(gw.url.removeprefix("http://"), timeout=5)
    conn.putrequest("GET", "/p")
    conn.putheader("Authorization", f"Bearer {sign(keys, 'RS256', claims())}")
    conn.putheader("Authorization", "Bearer junk")
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 401
    conn.close()
    assert backend.hits["echo"] == 0


@pytest.mark.parametrize("roles, status", [
    (["admin"], 403), (["USER"], 403), ([1, None], 403), ({"user": True}, 403), (None, 403),
    ("user admin", 200), (["admin", "user"], 200),
], ids=["other", "case", "junk-list", "object", "missing", "space-separated", "list"])
def test_j22_j23_roles(gw, backend, keys, roles, status):
    response = call(gw, sign(keys, "RS256", claims(roles=roles)))
    if status == 403:
        assert_rejected(response, backend, 403)
    else:
        assert response.status_code == 200


def test_j24_jwe_token(gw, backend):
    jwe = ".".join([b64(b'{"alg":"RSA-OAEP","enc":"A256GCM","kid":"k1"}'), "a", "b", "c", "d"])
    assert_rejected(call(gw, jwe), backend)


@pytest.mark.parametrize("matcher, held, status", [
    ("any", "read", 200), ("any", "write", 403), ("all", "read write", 200), ("all", "read", 403),
], ids=["any-ok", "any-missing", "all-ok", "all-missing"])
def test_scopes(gateway, backend, idp, keys, matcher, held, status):
    gw = gateway({"endpoints": [protected(backend, idp, roles=None, scopes=["read", "write"] if matcher == "all"
                                          else ["read"], scopes_key="scope", scopes_matcher=matcher)]})
    assert call(gw, sign(keys, "RS256", claims(scope=held))).status_code == status


def test_key_rotation_picks_up_a_new_kid_after_the_cooldown(gateway, backend, idp, keys):
    gw = gateway({"endpoints": [protected(backend, idp, failed_jwk_key_cooldown="1s")]})
    new_key = sign(keys, "RS256", claims(), kid="k2")
    assert call(gw, sign(keys, "RS256", claims())).status_code == 200
    assert call(gw, new_key).status_code == 401
    idp.documents["jwks"]["keys"].append(keys.rsa_jwk("k2"))
    time.sleep(1.1)
    assert call(gw, new_key).status_code == 200


def test_cached_keys_survive_the_identity_provider_going_down(gateway, backend, keys, other_backend):
    other_backend.json("jwks", {"keys": [keys.rsa_jwk("k1")]})
    gw = gateway({"endpoints": [protected(backend, other_backend, cache_duration=1)]})
    token = sign(keys, "RS256", claims())
    assert call(gw, token).status_code == 200
    other_backend.close()
    time.sleep(1.1)
    assert call(gw, token).status_code == 200


def test_identity_provider_down_at_first_use_is_401_fast(gateway, backend, keys):
    gw = gateway({"endpoints": [{"endpoint": "/p", "extra_config": {"auth/validator": {
        "alg": "RS256", "jwk_url": "http://127.0.0.1:39/jwks", "disable_jwk_security": True}},
        "backend": [{"host": [backend.url], "url_pattern": "/echo/p"}]}]})
    started = time.monotonic()
    assert_rejected(call(gw, sign(keys, "RS256", claims())), backend)
    assert time.monotonic() - started < 3


def test_propagated_claims_overwrite_and_survive_connection(gateway, backend, idp, keys):
    gw = gateway({"endpoints": [protected(backend, idp, input_headers=["X-User", "X-Tenant", "X-Groups"],
                                          propagate_claims=[["sub", "X-User"], ["tenant", "X-Tenant"],
                                                            ["groups", "X-Groups"]])]})
    token = sign(keys, "RS256", claims(groups=["a", "b"]))
    response = call(gw, token, **{"X-User": "forged", "X-Tenant": "forged", "Connection": "X-User, X-Tenant"})
    assert response.status_code == 200
    seen = backend.last()
    assert seen.header("X-User") == ["user-1"]
    assert seen.header("X-Tenant") == [""]
    assert seen.header("X-Groups") == ["a,b"]


def test_unsendable_claim_is_401(gateway, backend, idp, keys):
    gw = gateway({"endpoints": [protected(backend, idp, input_headers=["X-User"],
                                          propagate_claims=[["sub", "X-User"]])]})
    assert_rejected(call(gw, sign(keys, "RS256", claims(sub="a\r\nX-Admin: 1"))), backend)


def test_claims_in_url_patterns(gateway, backend, idp, keys):
    pattern = "/echo/{JWT_CLAIMS.user_id}/{JWT.http://example.com/tenant}/{JWT.org.id}/{JWT.a:b}?r={JWT.roles}"
    gw = gateway({"endpoints": [protected(backend, idp, url_pattern=pattern)]})
    odd_names = {"http://example.com/tenant": "t1", "a:b": "colon"}
    token = sign(keys, "RS256", claims(user_id=42, org={"id": "o/1"}, roles=["user", "x"], **odd_names))
    assert call(gw, token).status_code == 200
    seen = backend.last()
    assert seen.path == "/echo/42/t1/o%2F1/colon"
    assert seen.query == {"r": ["user,x"]}


def test_custom_header_and_cookie(gateway, backend, idp, keys):
    gw = gateway({"endpoints": [protected(backend, idp, auth_header_name="X-Token", cookie_key="session")]})
    token = sign(keys, "RS256", claims())
    assert call(gw, **{"X-Token": token}).status_code == 200
    assert gw.get("/p", cookies={"session": token}).status_code == 200
    assert gw.get("/p", cookies={"access_token": token}).status_code == 401


def test_local_jwk_file(gateway, backend, keys, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [keys.rsa_jwk("k1")]}))
    gw = gateway({"endpoints": [{"endpoint": "/p", "extra_config": {"auth/validator": {
        "alg": "RS256", "jwk_local_path": str(path), "disable_jwk_security": True}},
        "backend": [{"host": [backend.url], "url_pattern": "/echo/p"}]}]})
    assert call(gw, sign(keys, "RS256", claims())).status_code == 200


def test_x5t_key_identification(gateway, backend, keys, other_backend):
    jwk = {**keys.rsa_jwk("k1"), "x5t": "thumb-1"}
    other_backend.json("jwks", {"keys": [jwk]})
    gw = gateway({"endpoints": [protected(backend, other_backend, key_identify_strategy="x5t")]})
    token = jws.sign(json.dumps(claims()).encode(), keys.rsa_pem(), headers={"x5t": "thumb-1"}, algorithm="RS256")
    assert call(gw, token).status_code == 200
    assert call(gw, sign(keys, "RS256", claims())).status_code == 401  # kid only


def test_broken_key_file_fails_closed(gateway, backend, keys, tmp_path):
    gw = gateway({"endpoints": [{"endpoint": "/p", "extra_config": {"auth/validator": {
        "alg": "RS256", "jwk_local_path": str(tmp_path / "missing.json"), "disable_jwk_security": True}},
        "backend": [{"host": [backend.url], "url_pattern": "/echo/p"}]}]})
    assert_rejected(call(gw, sign(keys, "RS256", claims())), backend)


def test_operation_debug_logs_the_reason_not_the_client(gateway, backend, idp, keys, caplog):
    gw = gateway({"endpoints": [protected(backend, idp, operation_debug=True)]})
    logging.getLogger("propylon").propagate = True
    try:
        with caplog.at_level(logging.WARNING, logger="propylon.auth"):
            response = call(gw, sign(keys, "RS256", claims(iss="https://evil")))
    finally:
        logging.getLogger("propylon").propagate = False
    assert_rejected(response, backend)
    assert "issuer mismatch" in caplog.text


# Regressions from the security review of the validator.

@pytest.mark.parametrize("sub", ["..", ".", ""], ids=["dotdot", "dot", "empty"])
def test_claims_cannot_walk_the_backend_path(gateway, backend, idp, keys, sub):
    gw = gateway({"endpoints": [protected(backend, idp, url_pattern="/echo/users/{JWT.sub}/profile")]})
    assert_rejected(call(gw, sign(keys, "RS256", claims(sub=sub))), backend)


def test_claims_in_the_query_may_be_anything(gateway, backend, idp, keys):
    gw = gateway({"endpoints": [protected(backend, idp, url_pattern="/echo/p?u={JWT.sub}")]})
    assert call(gw, sign(keys, "RS256", claims(sub=".."))).status_code == 200
    assert backend.last().query == {"u": [".."]}


def test_hostile_jwks_body_is_401_and_respects_the_cooldown(gateway, backend, keys, other_backend):
    other_backend.json("jwks", b"[" * 100000 + b"]" * 100000)
    gw = gateway({"endpoints": [protected(backend, other_backend)]})
    for _ in range(5):
        assert_rejected(call(gw, sign(keys, "RS256", claims())), backend)
    assert other_backend.hits["json"] == 1


@pytest.mark.parametrize("literal", [b"1" * 400, b"-" + b"9" * 30], ids=["huge", "huge-negative"])
def test_huge_integer_times_are_401(gw, backend, keys, literal):
    payload = json.dumps(claims(exp=None)).encode()[:-1] + b', "exp": ' + literal + b"}"
    token = jws.sign(payload, keys.rsa_pem(), headers={"kid": "k1"}, algorithm="RS256")
    assert_rejected(call(gw, token), backend)


def test_deeply_nested_claims_never_500(gateway, backend, idp, keys):
    gw = gateway({"endpoints": [protected(backend, idp, url_pattern="/echo/{JWT.g}", input_headers=["X-G"],
                                          propagate_claims=[["g", "X-G"]])]})
    nested: list = []
    for _ in range(900):
        nested = [nested]
    assert_rejected(call(gw, sign(keys, "RS256", claims(g=nested))), backend)


@pytest.mark.parametrize("mangle", [lambda t: t + "==", lambda t: t + "!!!!",
                                    lambda t: t[:-4] + t[-4:].replace("-", "+").replace("_", "/") + "+/"],
                         ids=["padding", "junk", "standard-alphabet"])
def test_signature_segment_has_one_spelling(gw, backend, keys, mangle):
    assert_rejected(call(gw, mangle(sign(keys, "RS256", claims()))), backend)


@pytest.mark.parametrize("header", ["Content-Length", "Host", "Transfer-Encoding", "Connection", "X Bad"])
def test_claims_cannot_be_propagated_into_framing_headers(gateway, backend, idp, keys, header):
    gw = gateway({"endpoints": [protected(backend, idp, input_headers=["*"], propagate_claims=[["sub", header]])]})
    assert_rejected(call(gw, sign(keys, "RS256", claims())), backend)  # a broken validator fails closed


def test_jwks_must_be_served_as_json(gateway, backend, keys, tmp_path):
    import http.server
    import threading

    class Html(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps({"keys": [keys.rsa_jwk("k1")]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Html)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        gw = gateway({"endpoints": [{"endpoint": "/p", "extra_config": {"auth/validator": {
            "alg": "RS256", "jwk_url": f"http://127.0.0.1:{server.server_port}/jwks",
            "disable_jwk_security": True}}, "backend": [{"host": [backend.url], "url_pattern": "/echo/p"}]}]})
        assert_rejected(call(gw, sign(keys, "RS256", claims())), backend)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("overrides", [{"aud": 5}, {"aud": [1]}, {"iss": 7}],
                         ids=["aud-number", "aud-list", "iss-number"])
def test_standard_claims_are_typed_even_without_checks(gateway, backend, idp, keys, overrides):
    gw = gateway({"endpoints": [protected(backend, idp, issuer=None, audience=None)]})
    assert_rejected(call(gw, sign(keys, "RS256", claims(**overrides))), backend)


def test_es256_refuses_a_key_on_another_curve(gateway, backend, other_backend):
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives import serialization
    p384 = ec.generate_private_key(ec.SECP384R1())
    numbers = p384.public_key().public_numbers()
    jwk = {"kty": "EC", "kid": "k1", "crv": "P-384", "x": b64(numbers.x.to_bytes(48, "big")),
           "y": b64(numbers.y.to_bytes(48, "big"))}
    other_backend.json("jwks", {"keys": [jwk]})
    gw = gateway({"endpoints": [protected(backend, other_backend, alg="ES256")]})
    pem = p384.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    token = jws.sign(json.dumps(claims()).encode(), pem, headers={"kid": "k1"}, algorithm="ES256")
    assert_rejected(call(gw, token), backend)


def test_endpoints_share_one_key_set_fetch_budget(gateway, backend, idp, keys):
    gw = gateway({"endpoints": [protected(backend, idp, path=f"/p{i}", failed_jwk_key_cooldown="1s")
                                for i in range(5)]})
    fetched = idp.hits["json"]
    for i in range(5):
        assert_rejected(call(gw, sign(keys, "RS256", claims(), kid=f"random-{i}"), path=f"/p{i}"), backend)
    assert idp.hits["json"] - fetched == 1
