"""Real HTTP backends for the tests: threaded servers on 127.0.0.1, ephemeral ports.

``Backend`` answers by path prefix:

* ``/echo/...``: 200 JSON of what arrived: method, path, query (name -> list),
  headers (name -> list, in arrival order), body, and whether it came chunked;
* ``/status/<code>``: that status with ``{"status": code}`` (and a text body for 404);
* ``/sleep/<ms>/...``: the echo after a delay;
* ``/redirect/<code>?to=<url>``: a redirect;
* ``/big/<kib>``: an object with about that many KiB;
* ``/gzip``: a gzip-encoded JSON object;
* ``/array``, ``/scalar``, ``/text``, ``/invalid``, ``/empty``: odd bodies;
* ``/leaky``: headers a gateway should not pass on;
* ``/json/<name>``: a JSON object registered with ``Backend.json``;
* ``/switch/<name>/...``: the status set in ``Backend.switches[name]`` (default 200) with a small JSON body;
* ``/cache/<Cache-Control value>/...``: the echo with that ``Cache-Control`` (``?cookie=1`` adds a Set-Cookie).

Every request is recorded in ``Backend.requests`` and counted per first segment.
"""
from __future__ import annotations

import gzip
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: list[tuple[str, str]]
    body: bytes
    chunked: bool

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # gateways under test open many connections at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client (the gateway) hanging up mid-answer is expected here; stay quiet."""


class Backend:
    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.hits: Counter[str] = Counter()
        self.documents: dict[str, Any] = {}
        self.switches: dict[str, int] = {}
        self._lock = threading.Lock()
        self.server = QuietServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def json(self, name: str, document: Any) -> str:
        """Serve ``document`` at ``/json/<name>``; returns the path (bytes are sent as they are)."""
        self.documents[name] = document
        return f"/json/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def last(self) -> Seen:
        return self.requests[-1]

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)
            self.hits[seen.path.strip("/").split("/")[0]] += 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _body(self) -> tuple[bytes, bool]:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks), True
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length), False

            def _send(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None,
                      content_type: str = "application/json") -> None:
                self.send_response(status)
                for key, value in headers or []:
                    self.send_header(key, value)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def handle_any(self) -> None:
                body, chunked = self._body()
                url = urlsplit(self.path)
                seen = Seen(self.command, url.path, parse_qs(url.query, keep_blank_values=True),
                            list(self.headers.items()), body, chunked)
                backend._record(seen)
                parts = url.path.strip("/").split("/")
                route = parts[0]
                if route == "sleep":
                    time.sleep(int(parts[1]) / 1000)
                    route = "echo"
                extra: list[tuple[str, str]] = [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
                if route == "cache":
                    extra = [("Cache-Control", parts[1].replace("%20", " ").replace("%2C", ","))]
                    if seen.query.get("cookie"):
                        extra.append(("Set-Cookie", "sid=1"))
                    route = "echo"
                if route == "echo":
                    headers: dict[str, list[str]] = {}
                    for key, value in seen.headers:
                        headers.setdefault(key, []).append(value)
                    doc = {"method": seen.method, "path": seen.path, "query": seen.query, "headers": headers,
                           "body": body.decode("utf-8", "replace"), "chunked": chunked}
                    self._send(200, json.dumps(doc).encode(), extra)
                elif route == "switch":
                    code = backend.switches.get(parts[1], 200)
                    self._send(code, json.dumps({"switch": parts[1], "status": code}).encode())
                elif route == "status":
                    code = int(parts[1])
                    if code == 404:
                        self._send(404, b"404 page not found\n", content_type="text/plain; charset=utf-8")
                    else:
                        self._send(code, json.dumps({"status": code}).encode())
                elif route == "redirect":
                    target = seen.query.get("to", ["/echo/redirected"])[0]
                    self._send(int(parts[1]), b"", [("Location", target)], content_type="")
                elif route == "big":
                    kib = int(parts[1])
                    self._send(200, json.dumps({f"k{i}": "x" * 1000 for i in range(kib)}).encode())
                elif route == "gzip":
                    self._send(200, gzip.compress(b'{"zipped":true}'), [("Content-Encoding", "gzip")])
                elif route == "json" and parts[1] in backend.documents:
                    doc = backend.documents[parts[1]]
                    self._send(200, doc if isinstance(doc, bytes) else json.dumps(doc).encode())
                elif route in ("array", "scalar", "text", "invalid", "empty"):
                    payload = {"array": b'[{"i":0},{"i":1}]', "scalar": b"42", "text": b"hello world",
                               "invalid": b'{"a":', "empty": b""}[route]
                    self._send(200, payload)
                elif route == "leaky":
                    leaky = [("Server", "Apache/2.4.1"), ("X-Powered-By", "PHP/5"), ("X-Backend", "db-7"),
                             ("Set-Cookie", "sid=1")]
                    self._send(200, b'{"leaky":true}', leaky)
                else:
                    self._send(404, b"404 page not found\n", content_type="text/plain; charset=utf-8")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

            def log_message(self, format: str, *args: Any) -> None:
                pass
        return Handler
