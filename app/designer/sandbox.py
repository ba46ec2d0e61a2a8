"""The Designer's "Try it": the real gateway, under gunicorn, on the edited config.

One sandbox process at a time: started on a free 127.0.0.1 port the first time
a configuration is tried, reused while the configuration stays the same, and
replaced when it changes.  It is the production server (``gunicorn wsgi:app``
with ``gunicorn.conf.py``), one worker, so what the Designer shows is what the
gateway will do.  It never shares state with a production gateway on the same
machine: ``GATEWAY_*`` settings are not inherited (no ``GATEWAY_STORAGE_URL``,
so its limits, breakers and cache are its own) and its files live in a private
temporary directory.
"""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Mapping, Optional

import requests

#: How long a sandbox may take to accept connections; gunicorn usually needs about a second.
START_TIMEOUT = 30.0
#: Longest sandbox answer body shown in the Designer.
MAX_BODY = 1024 * 1024
#: Last bytes of the sandbox's output shown when it fails to start.
LOG_TAIL = 4096


class SandboxError(Exception):
    """The sandbox gateway could not start or answer; ``log`` holds the tail of its output."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


def source_root() -> Path:
    """The directory holding ``wsgi.py`` and ``gunicorn.conf.py`` (a checkout or ``/opt/propylon``)."""
    for candidate in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (candidate / "wsgi.py").is_file() and (candidate / "gunicorn.conf.py").is_file():
            return candidate
    raise SandboxError("Try it needs Propylon's wsgi.py and gunicorn.conf.py: run the Designer from the "
                       "Propylon directory")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: str
    truncated: bool
    elapsed_ms: float


class Sandbox:
    """At most one sandbox gateway; thread-safe (the Designer's server is threaded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: Optional[subprocess.Popen[bytes]] = None
        self._digest = ""
        self._dir: Optional[tempfile.TemporaryDirectory[str]] = None
        self._log: Optional[IO[bytes]] = None
        self.port = 0
        self.session = requests.Session()
        self.session.trust_env = False  # loopback only: never through a proxy from the environment

    @property
    def pid(self) -> int:
        return self._process.pid if self._process is not None else 0

    def ensure(self, text: str) -> bool:
        """Run a sandbox on the config ``text``; returns whether a running one was reused."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        with self._lock:
            if self._process is not None and self._process.poll() is None and digest == self._digest:
                return True
            self._stop()
            self._start(text)
            self._digest = digest
            return False

    def _start(self, text: str) -> None:
        root = source_root()
        self._dir = tempfile.TemporaryDirectory(prefix="propylon-sandbox-")
        config = Path(self._dir.name) / "krakend.json"
        config.write_text(text, encoding="utf-8")
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env.update(GATEWAY_CONFIG=str(config), GATEWAY_BIND=f"127.0.0.1:{self.port}", GATEWAY_WORKERS="1",
                   GATEWAY_THREADS="4", GATEWAY_METRICS_DIR=str(Path(self._dir.name) / "metrics"),
                   TMPDIR=self._dir.name)
        self._log = open(Path(self._dir.name) / "gunicorn.log", "w+b")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(root / "gunicorn.conf.py"), "wsgi:app"],
            cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        log = self.log_tail()
        self._stop()
        raise SandboxError("the sandbox gateway did not start on this configuration", log)

    def log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, self._log.tell() - LOG_TAIL))
        return self._log.read().decode("utf-8", "replace")

    def send(self, method: str, path: str, headers: Mapping[str, str], body: str, timeout: float) -> Answer:
        """One request to the running sandbox."""
        started = time.perf_counter()
        try:
            response = self.session.request(method, f"http://127.0.0.1:{self.port}{path}", headers=dict(headers),
                                            data=body.encode() if body else None, timeout=timeout,
                                            allow_redirects=False, stream=True)
        except requests.RequestException as exc:
            raise SandboxError(f"the sandbox gateway did not answer: {type(exc).__name__}", self.log_tail()) from exc
        with response:
            raw = response.raw.read(MAX_BODY + 1, decode_content=True)
        elapsed = (time.perf_counter() - started) * 1000
        return Answer(response.status_code, list(response.headers.items()),
                      raw[:MAX_BODY].decode("utf-8", "replace"), len(raw) > MAX_BODY, round(elapsed, 1))

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
        self._digest = ""

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
