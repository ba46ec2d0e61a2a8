"""Demo backends for ``config/examples/user-profile.json`` (``propylon demo-backends``).

Three tiny JSON services on loopback, standard library only:

* users (PORT):        ``GET /users/<id>`` -> ``{"data": {id, name, email, password_hash, internal_notes}}``
* billing (PORT+1):    ``GET /subscriptions/active?user_id=<id>`` -> ``{"plan", "user_id"}``
* preferences (PORT+2): ``GET /preferences/<id>`` -> ``{"settings": {"theme", "language"}}``

They exist so a newcomer can watch the gateway aggregate and shape real
answers offline; the tests start the same servers.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional, TextIO
from urllib.parse import parse_qs, urlsplit

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


def _handler(route: Route) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlsplit(self.path)
            found = route(url.path, parse_qs(url.query))
            body = json.dumps(found).encode() if found is not None else b'{"error":"not found"}'
            self.send_response(200 if found is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass
    return Handler


SERVICES: tuple[tuple[str, Route], ...] = (("users", users), ("billing", billing), ("preferences", preferences))


def start(host: str = "127.0.0.1", port: int = 9100) -> list[ThreadingHTTPServer]:
    """Start the three services on ``port``, ``port+1``, ``port+2`` (0: any free ports) in daemon threads."""
    servers = []
    for offset, (_, route) in enumerate(SERVICES):
        server = ThreadingHTTPServer((host, port + offset if port else 0), _handler(route))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
        servers.append(server)
    return servers


def serve_forever(host: str, port: int, out: TextIO) -> None:
    servers = start(host, port)
    for (name, _), server in zip(SERVICES, servers):
        print(f"{name:<12} http://{host}:{server.server_address[1]}", file=out, flush=True)
    print("Ctrl-C to stop.", file=out, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.shutdown()
