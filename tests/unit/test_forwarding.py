"""app.router.forwarding: canonical header names and the zero-trust HeaderPolicy (reference §2.3)."""
from __future__ import annotations

from typing import Any, Optional

import pytest

from app.router.forwarding import HeaderPolicy, canonical
from app.version import IDENTITY

CANONICAL = [
    ("content-type", "Content-Type"),
    ("x-y-Z", "X-Y-Z"),
    ("X-API-KEY", "X-Api-Key"),
    ("user-agent", "User-Agent"),
    ("etag", "Etag"),
    ("www-authenticate", "Www-Authenticate"),
    ("x_custom", "X_custom"),
    ("-x", "-X"),
    ("", ""),
]


@pytest.mark.parametrize(("name", "expected"), CANONICAL, ids=[n or "empty" for n, _ in CANONICAL])
def test_canonical(name: str, expected: str) -> None:
    assert canonical(name) == expected


CLIENT_IP = "203.0.113.7"
HOST = "gw.example:8080"
#: What the gateway always adds (the gateway User-Agent unless the client's is forwarded).
GATEWAY = {"User-Agent": IDENTITY, "X-Forwarded-For": CLIENT_IP, "X-Forwarded-Host": HOST, "Accept-Encoding": "gzip"}
VIA = {"X-Forwarded-Via": IDENTITY, "X-Forwarded-For": CLIENT_IP, "X-Forwarded-Host": HOST, "Accept-Encoding": "gzip"}

CLIENT: dict[str, Any] = {
    "REQUEST_METHOD": "POST",
    "REMOTE_ADDR": "10.0.0.9",
    "CONTENT_TYPE": "application/json",
    "CONTENT_LENGTH": "999",
    "HTTP_HOST": HOST,
    "HTTP_USER_AGENT": "curl/8",
    "HTTP_X_API_KEY": "k1",
    "HTTP_COOKIE": "s=1",
    "HTTP_AUTHORIZATION": "Bearer t",
    "HTTP_ACCEPT_ENCODING": "br",
    "HTTP_X_FORWARDED_FOR": "198.51.100.1",
    "HTTP_X_FORWARDED_HOST": "evil.example",
    "HTTP_KEEP_ALIVE": "timeout=5",
    "HTTP_TE": "trailers",
    "HTTP_UPGRADE": "h2c",
    "HTTP_PROXY_AUTHORIZATION": "Basic x",
    "HTTP_TRANSFER_ENCODING": "chunked",
    "HTTP_EXPECT": "100-continue",
}


def env(**extra: Any) -> dict[str, Any]:
    out = dict(CLIENT)
    for key, value in extra.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


BUILD: list[tuple[str, list[str], dict[str, Any], bytes, Optional[dict[str, str]], dict[str, str]]] = [
    ("default-only-content-type", [], env(), b"", None, {"Content-Type": "application/json", **GATEWAY}),
    ("default-without-content-type", [], env(CONTENT_TYPE=None), b"", None, GATEWAY),
    ("listed-case-insensitive", ["x-api-key"], env(), b"", None, {"X-Api-Key": "k1", **GATEWAY}),
    ("listed-drops-content-type", ["X-API-KEY", "Cookie"], env(), b"", None,
     {"X-Api-Key": "k1", "Cookie": "s=1", **GATEWAY}),
    ("listed-content-type", ["content-type"], env(), b"", None, {"Content-Type": "application/json", **GATEWAY}),
    ("listed-but-absent", ["X-Missing"], env(), b"", None, GATEWAY),
    ("listed-user-agent-via", ["User-Agent"], env(), b"", None, {"User-Agent": "curl/8", **VIA}),
    ("listed-user-agent-absent", ["User-Agent"], env(HTTP_USER_AGENT=None), b"", None, GATEWAY),
    ("unlisted-user-agent-replaced", ["X-Api-Key"], env(), b"", None, {"X-Api-Key": "k1", **GATEWAY}),
    ("listed-gateway-headers-not-copied", ["X-Forwarded-For", "X-Forwarded-Host", "Accept-Encoding", "Host"], env(),
     b"", None, GATEWAY),
    ("star-forwards-all-but-hop-by-hop", ["*"], env(), b"", None, {
        "Content-Type": "application/json", "User-Agent": "curl/8", "X-Api-Key": "k1", "Cookie": "s=1",
        "Authorization": "Bearer t", **VIA}),
    ("no-host-no-forwarded-host", [], env(HTTP_HOST=None), b"", None,
     {"Content-Type": "application/json", "User-Agent": IDENTITY, "X-Forwarded-For": CLIENT_IP,
      "Accept-Encoding": "gzip"}),
    # Connection-nominated headers go, gateway headers and overrides stay
    ("connection-removes-nominated", ["*"],
     env(HTTP_CONNECTION="close, X-Api-Key, cookie, User-Agent, X-Forwarded-For, X-Forwarded-Host, X-User"),
     b"", {"X-User": "alice"}, {"Content-Type": "application/json", "Authorization": "Bearer t", "X-User": "alice",
                                **GATEWAY}),
    ("connection-listed-header", ["X-Api-Key", "Content-Type"], env(HTTP_CONNECTION="x-api-key"), b"", None,
     {"Content-Type": "application/json", **GATEWAY}),
    # overrides (propagated claims) replace client values only when the header is forwarded at all
    ("override-listed", ["x-user"], env(HTTP_X_USER="evil"), b"", {"X-User": "alice"}, {"X-User": "alice", **GATEWAY}),
    ("override-not-listed", [], env(HTTP_X_USER="evil"), b"", {"X-User": "alice"},
     {"Content-Type": "application/json", **GATEWAY}),
    ("override-star-canonical", ["*"], env(), b"", {"x-user": "alice"}, {
        "Content-Type": "application/json", "User-Agent": "curl/8", "X-Api-Key": "k1", "Cookie": "s=1",
        "Authorization": "Bearer t", "X-User": "alice", **VIA}),
    # Content-Length: only when listed (or *) and there is a body; the real length
    ("content-length-listed-with-body", ["Content-Length"], env(), b"abc", None, {"Content-Length": "3", **GATEWAY}),
    ("content-length-listed-no-body", ["content-length"], env(), b"", None, GATEWAY),
    ("content-length-not-listed", [], env(), b"abc", None, {"Content-Type": "application/json", **GATEWAY}),
    ("content-length-star", ["*"], env(HTTP_USER_AGENT=None, HTTP_COOKIE=None, HTTP_AUTHORIZATION=None,
                                       HTTP_X_API_KEY=None), b"hello", None,
     {"Content-Type": "application/json", "Content-Length": "5", **GATEWAY}),
]


@pytest.mark.parametrize(("input_headers", "environ", "body", "overrides", "expected"), [b[1:] for b in BUILD],
                         ids=[b[0] for b in BUILD])
def test_build(input_headers: list[str], environ: dict[str, Any], body: bytes,
               overrides: Optional[dict[str, str]], expected: dict[str, str]) -> None:
    assert HeaderPolicy(input_headers).build(environ, CLIENT_IP, body, overrides) == expected


def test_build_does_not_modify_the_environ_or_overrides() -> None:
    environ, overrides = env(HTTP_CONNECTION="X-Api-Key"), {"X-User": "alice"}
    before = (dict(environ), dict(overrides))
    HeaderPolicy(["*"]).build(environ, CLIENT_IP, b"x", overrides)
    assert (environ, overrides) == before


def test_empty_content_type_in_environ_is_not_forwarded() -> None:
    assert "Content-Type" not in HeaderPolicy([]).build(env(CONTENT_TYPE=""), CLIENT_IP, b"")
