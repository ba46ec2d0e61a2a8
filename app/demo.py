"""Demo backends for ``config/examples/user-profile.json`` (``propylon demo-backends``).

Three tiny JSON services on loopback, standard library only:

* users (PORT):        ``GET /users/<id>`` -> ``{"data": {id, name, email, password_hash, internal_notes}}``
* billing (PORT+1):    ``GET /subscriptions/active?user_id=<id>`` -> ``{"plan", "user_id"}``
* preferences (PORT+2): ``GET /preferences/<id>`` -> ``{"settings": {"theme", "language"}}``
* identity (PORT+3):   ``GET /jwks.json`` -> its public RSA key;
  ``GET /token?user_id=<id>[&roles=a,b]`` -> an RS256 token (text) for
  ``config/examples/user-profile-jwt.json`` (issuer ``propylon-demo``,
  audience ``propylon-demo``, kid ``demo``, valid one hour).  A new key is
  made at every start; never expose this service.

They exist so a newcomer can watch the gateway aggregate and shape real
answers offline; the tests start the same servers.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional, TextIO
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt

Route = Callable[[str, dict[str, list[str]]], Optional[Any]]


def _id(text: str) -> Any:
    return int(text) if text.isdigit() else text


def users(path: str, query: dict[str, list[str]]) -> Optional[Any]:
    parts = path.strip("/").split("/")
    if len(parts) != 2 or parts[0] != "users":
        return None
    return {"data": {"id": _id(parts[1]), "name": "Alice", "email": "alice@example.com",
                     "password_hash": "x", "internal_notes": "y"}}


def billing(path: str, query: dict[str, list[str]]) -> Optional[Any]:
    if path != "/subscriptions/active" or "user_id" not in query:
        return None
    return {"plan": "pro", "user_id": _id(query["user_id"][0])}


def preferences(path: str, query: dict[str, list[str]]) -> Optional[Any]:
    parts = path.strip("/").split("/")
    if len(parts) != 2 or parts[0] != "preferences":
        return None
    return {"settings": {"theme": "dark", "language": "en"}}


ISSUER = AUDIENCE = "propylon-demo"


class Identity:
    """A throw-away RSA key that signs demo tokens and publishes its JWK set."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()

        def b64(value: int) -> str:
            raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"keys": [{"kty": "RSA", "kid": "demo", "alg": "RS256", "use": "sig",
                          "n": b64(numbers.n), "e": b64(numbers.e)}]}

    def token(self, user_id: str, roles: list[str]) -> str:
        now = int(time.time())
        claims = {"sub": f"user-{user_id}", "user_id": _id(user_id), "roles": roles, "iss": ISSUER,
                  "aud": AUDIENCE, "iat": now, "exp": now + 3600}
        pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
        return str(jwt.encode(claims, pem, algorithm="RS256", headers={"kid": "demo"}))

    def route(self, path: str, query: dict[str, list[str]]) -> Optional[Any]:
        if path == "/jwks.json":
            return self.jwks()
        if path == "/token":
            roles = query.get("roles", ["user"])[0].split(",")
            return self.token(query.get("user_id", ["42"])[0], roles)
        return None


def _handler(route: Route) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlsplit(self.path)
            found = route(url.path, parse_qs(url.query))
            if isinstance(found, str):
                body, content_type = found.encode(), "text/plain"
            else:
                body = json.dumps(found).encode() if found is not None else b'{"error":"not found"}'
                content_type = "application/json"
            self.send_response(200 if found is not None else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass
    return Handler


def services() -> tuple[tuple[str, Route], ...]:
    return (("users", users), ("billing", billing), ("preferences", preferences), ("identity", Identity().route))


def start(host: str = "127.0.0.1", port: int = 9100) -> list[ThreadingHTTPServer]:
    """Start the four services on ``port`` .. ``port+3`` (0: any free ports) in daemon threads."""
    servers = []
    for offset, (_, route) in enumerate(services()):
        server = ThreadingHTTPServer((host, port + offset if port else 0), _handler(route))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
        servers.append(server)
    return servers


def serve_forever(host: str, port: int, out: TextIO) -> None:
    servers = start(host, port)
    for (name, _), server in zip(services(), servers):
        print(f"{name:<12} http://{host}:{server.server_address[1]}", file=out, flush=True)
    print(f"token:       curl -s 'http://{host}:{servers[3].server_address[1]}/token?user_id=42'", file=out, flush=True)
    print("Ctrl-C to stop.", file=out, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.shutdown()
