"""Shared fixtures: real loopback backends, gateways built from config dicts, env hygiene."""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from werkzeug.serving import make_server

from app import create_app
from app.config.build import build_service
from app.settings import Settings
from tests.backends import Backend

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GATEWAY_* / KRAKEND_* / proxy variable leaks into a test."""
    import os
    for name in list(os.environ):
        if name.startswith(("GATEWAY_", "KRAKEND_", "FC_")) or name.lower().endswith("_proxy") \
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
