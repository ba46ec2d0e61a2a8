"""Shared fixtures: real loopback backends, gateways built from config dicts, env hygiene."""
from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from werkzeug.serving import make_server

from app import create_app
from app.config.build import build_service
from app.designer.api import create_designer
from app.settings import Settings
from tests.backends import Backend

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GATEWAY_* / KRAKEND_* / proxy variable leaks into a test."""
    import os
    for name in list(os.environ):
        if name.startswith(("GATEWAY_", "KRAKEND_", "FC_", "PROPYLON_", "PROMETHEUS_")) \
                or name.lower().endswith("_proxy") \
                or name == "WEB_CONCURRENCY":
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def backend() -> Iterator[Backend]:
    server = Backend()
    yield server
    server.close()


@pytest.fixture
def other_backend() -> Iterator[Backend]:
    server = Backend()
    yield server
    server.close()


class LiveGateway:
    """A gateway app served over real HTTP by werkzeug's threaded server, plus its test client."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.client = app.test_client()
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.session = requests.Session()
        self.session.trust_env = False

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url + path, allow_redirects=False, timeout=10, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + path, allow_redirects=False, timeout=10, **kwargs)

    def close(self) -> None:
        self.server.shutdown()
        self.session.close()
        self.app.config["PROPYLON_DEPS"].close()


GatewayFactory = Callable[..., LiveGateway]


@pytest.fixture
def gateway() -> Iterator[GatewayFactory]:
    """``gateway(config_dict, **settings)`` -> a LiveGateway; endpoints need no "version"."""
    started: list[LiveGateway] = []

    def start(config: dict[str, Any], **settings: Any) -> LiveGateway:
        raw = {"version": 3, **config}
        app = create_app(Settings(**settings), build_service(raw))
        live = LiveGateway(app)
        started.append(live)
        return live
    yield start
    for live in started:
        live.close()


def write_config(tmp_path: Path, config: dict[str, Any], name: str = "krakend.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"version": 3, **config}))
    return path


class RedisServer:
    """A real redis-server on a free loopback port (Debian package ``redis-server``)."""

    def __init__(self, tmp: Path) -> None:
        import shutil
        import socket
        import subprocess
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server); .ci/run installs it")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                      "--dir", str(tmp)]
        self._subprocess = subprocess
        self.start_again()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def start_again(self) -> None:
        """Start the server (again, after ``stop``) and wait until it accepts connections."""
        import socket
        import time
        self.process = self._subprocess.Popen(self._args, stdout=self._subprocess.DEVNULL,
                                              stderr=self._subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def flush(self) -> None:
        import redis
        client = redis.Redis.from_url(self.url)
        client.flushall()
        client.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A running, empty Redis; restarted if an earlier test stopped it."""
    if redis_server.process.poll() is not None:
        redis_server.start_again()
    redis_server.flush()
    return redis_server.url


#: The product brief's example, which the Designer tests open.
EXAMPLE = ROOT / "config" / "examples" / "user-profile.json"


class Designer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.app = create_designer(str(path))
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.session = requests.Session()
        self.session.trust_env = False

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url + path, timeout=30, **kwargs)


@pytest.fixture
def designer(tmp_path: Path) -> Iterator[Designer]:
    path = tmp_path / "krakend.json"
    shutil.copy(EXAMPLE, path)
    served = Designer(path)
    yield served
    served.server.shutdown()
    served.session.close()
    served.app.extensions["designer_sandbox"].stop()
