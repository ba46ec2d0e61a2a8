"""End to end under real gunicorn (gthread, 2 workers), the way operators run it."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Gunicorn:
    def __init__(self, config: Path, port: int, workers: int = 2, **extra_env: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env.update(GATEWAY_CONFIG=str(config), GATEWAY_BIND=f"127.0.0.1:{port}", GATEWAY_WORKERS=str(workers),
                   GATEWAY_THREADS="4", **extra_env)
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.log = ""
        self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app"], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/__health", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"gunicorn did not start:\n{self.log}")

    def stop(self) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process.stdout is not None and not self.process.stdout.closed:
            self.log = self.process.stdout.read().decode()
            self.process.stdout.close()
        return self.process.returncode


@pytest.fixture
def default_gateway(tmp_path) -> Iterator[Gunicorn]:
    """The shipped default config, moved to a free port (it calls its own /__echo/)."""
    port = free_port()
    text = (ROOT / "config/krakend.json").read_text().replace("8080", str(port))
    config = tmp_path / "krakend.json"
    config.write_text(text)
    server = Gunicorn(config, port)
    yield server
    server.stop()


def test_default_config_aggregates_offline_under_two_workers(default_gateway):
    pids = set()
    for _ in range(20):
        response = requests.get(default_gateway.url + "/demo/greeting/ana?lang=en", timeout=5,
                                headers={"Accept-Language": "es", "Connection": "close"})
        assert response.status_code == 200
        body = response.json()
        assert body["greeting"] == {"method": "GET", "query": {"lang": ["en"]},
                                    "request": {"path": "/__echo/greetings/ana"}}
        assert body["profile"]["Accept-Language"] == ["es"]
        assert response.headers["X-Krakend-Completed"] == "true"
        pids.add(response.headers.get("Date"))
    posted = requests.post(default_gateway.url + "/demo/echo", data=b'{"a":1}',
                           headers={"Content-Type": "application/json"}, timeout=5)
    assert posted.json()["req_body"] == '{"a":1}'


def test_raw_paths_under_gunicorn(default_gateway):
    def status(path: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", default_gateway.port, timeout=5)
        conn.request("GET", path)
        response = conn.getresponse()
        try:
            return response.status, response.getheader("Location") or response.read().decode()
        finally:
            conn.close()
    assert status("/demo//greeting/x") == (301, "/demo/greeting/x")
    assert status("/demo/Greeting/x/") == (301, "/demo/greeting/x")
    assert status("/demo/greeting/a%2Fb") in ((400, "error: encoded url params"), (404, "404 page not found"))
    assert status("/demo/greeting/%2e%2e") == (400, "error: encoded url params")
    assert status("/demo/greeting/a%252e") == (400, "error: encoded url params")


def test_bad_config_stops_start_with_json_path(tmp_path):
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"version": 3, "endpoints": [
        {"endpoint": "/a/{id}", "backend": [{"host": ["http://127.0.0.1:8000"], "url_pattern": "/{idd}"}]}]}))
    with pytest.raises(RuntimeError) as failure:
        Gunicorn(config, free_port())
    assert "endpoints[0].backend[0].url_pattern: placeholder {idd} is not an endpoint parameter" in str(failure.value)


def test_sigterm_lets_in_flight_requests_finish(tmp_path, backend):
    config = tmp_path / "k.json"
    config.write_text(json.dumps({"version": 3, "endpoints": [
        {"endpoint": "/slow", "timeout": "3s", "backend": [{"host": [backend.url], "url_pattern": "/sleep/700/x",
                                                            "allow": ["path"]}]}]}))
    server = Gunicorn(config, free_port(), workers=1)
    import threading
    result: dict[str, object] = {}

    def call() -> None:
        result["response"] = requests.get(server.url + "/slow", timeout=10)
    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.3)
    os.killpg(server.process.pid, signal.SIGTERM)
    thread.join(10)
    server.stop()
    response = result["response"]
    assert isinstance(response, requests.Response)
    assert response.status_code == 200 and response.json() == {"path": "/sleep/700/x"}


def test_oversized_header_refused_by_gunicorn(default_gateway):
    conn = http.client.HTTPConnection("127.0.0.1", default_gateway.port, timeout=5)
    try:
        conn.request("GET", "/demo/greeting/x", headers={"Authorization": "Bearer " + "x" * 9000})
        response = conn.getresponse()
        assert response.status in (400, 431)
    finally:
        conn.close()


@pytest.mark.parametrize("env, message", [
    ({"GATEWAY_WORKERS": "abc"}, "propylon: GATEWAY_WORKERS='abc'"),
    ({"GATEWAY_MAX_BODY": "1X"}, "propylon: GATEWAY_MAX_BODY='1X'"),
], ids=["workers", "body-size"])
def test_bad_settings_stop_gunicorn_with_one_line(env, message):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    environ.update(env)
    result = subprocess.run([sys.executable, "-m", "gunicorn", "wsgi:app"], cwd=ROOT, env=environ,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_namespace_error_stops_gunicorn_before_binding(tmp_path):
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"version": 3, "endpoints": [{"endpoint": "/c", "extra_config": {
        "proxy": {"static": {"strategy": "x"}}}, "backend": [{"host": ["http://x:80"], "url_pattern": "/c"}]}]}))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    environ.update(GATEWAY_CONFIG=str(config), GATEWAY_BIND=f"127.0.0.1:{free_port()}")
    result = subprocess.run([sys.executable, "-m", "gunicorn", "wsgi:app"], cwd=ROOT, env=environ,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "endpoints[0].extra_config.proxy.static.strategy: unknown strategy 'x'" in result.stderr
    assert "Traceback" not in result.stderr and "Booting worker" not in result.stderr


def test_two_workers_share_one_limit_through_redis_and_survive_its_loss(tmp_path, backend, redis_server, redis_url):
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor
    config = tmp_path / "k.json"
    config.write_text(json.dumps({"version": 3, "endpoints": [
        {"endpoint": "/l", "extra_config": {"qos/ratelimit/router": {"max_rate": 6, "every": "1h", "capacity": 6}},
         "backend": [{"host": [backend.url], "url_pattern": "/echo/l"}]}]}))
    server = Gunicorn(config, free_port(), workers=2, GATEWAY_STORAGE_URL=redis_url)
    try:
        def one(_: int) -> int:
            return requests.get(server.url + "/l", headers={"Connection": "close"}, timeout=5).status_code
        with ThreadPoolExecutor(8) as pool:
            statuses = Counter(pool.map(one, range(24)))
        assert statuses == Counter({200: 6, 503: 18})
        redis_server.stop()
        with ThreadPoolExecutor(4) as pool:
            after = list(pool.map(one, range(8)))
        assert all(status in (200, 503) for status in after)
        assert 200 in after  # per-worker buckets took over: served, never a 5xx other than the limit's own
    finally:
        server.stop()


def test_one_scrape_counts_every_worker(tmp_path, backend):
    import re
    from concurrent.futures import ThreadPoolExecutor
    metrics_port = free_port()
    config = tmp_path / "k.json"
    config.write_text(json.dumps({"version": 3, "extra_config": {"telemetry/opentelemetry": {
        "exporters": {"prometheus": [{"name": "local", "port": metrics_port, "host": "127.0.0.1"}]}}},
        "endpoints": [{"endpoint": "/agg", "backend": [
            {"host": [backend.url], "url_pattern": "/echo/a", "group": "a"},
            {"host": [backend.url], "url_pattern": "/echo/b", "group": "b"}]}]}))
    server = Gunicorn(config, free_port(), workers=2, GATEWAY_METRICS_DIR=str(tmp_path / "metrics"))
    try:
        def one(_: int) -> int:
            return requests.get(server.url + "/agg", headers={"Connection": "close"}, timeout=5).status_code
        with ThreadPoolExecutor(6) as pool:
            assert set(pool.map(one, range(30))) == {200}
        text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        assert requests.get(server.url + "/metrics", timeout=5).status_code == 404  # never on the public port
        workers = {f for f in os.listdir(tmp_path / "metrics") if f.startswith("histogram")}
    finally:
        server.stop()

    def sample(pattern: str) -> float:
        found = re.search(pattern + r" ([0-9.e+]+)$", text, re.MULTILINE)
        assert found, pattern
        return float(found.group(1))
    assert sample(r'propylon_http_request_duration_seconds_count\{http_route="/agg",method="GET",status="200"\}') \
        == 30
    pattern = r'^krakend_proxy_duration_count\{[^}]*http_route="/agg"\} (\S+)$'
    pipes = sum(float(v) for v in re.findall(pattern, text, re.MULTILINE))
    assert pipes == 30
    assert sample(r'http_client_duration_count\{http_request_method="GET",http_response_status_code="200",'
                  r'http_route="/echo/a",krakend_endpoint_route="/agg"\}') == 30
    assert 'krakend_backend_duration_bucket{' in text
    assert len(workers) == 2, workers  # both workers served and wrote metrics


def test_reloads_under_load_lose_nothing_and_a_bad_config_keeps_the_old_one(tmp_path, backend):
    import threading
    from collections import Counter

    def config(version: int, valid: bool = True) -> str:
        static = {"proxy": {"static": {"strategy": "always", "data": {"version": version}}}}
        return json.dumps({"version": 3, "endpoints": [
            {"endpoint": "/v", "extra_config": static, "backend": [{"host": [backend.url],
                                                                   "url_pattern": "/echo/v", "allow": ["path"]}]},
            *([] if valid else [{"endpoint": "/broken", "backend": []}])]})
    path = tmp_path / "k.json"
    path.write_text(config(1))
    server = Gunicorn(path, free_port(), workers=2)
    results: Counter[str] = Counter()
    versions: list[int] = []
    stop = threading.Event()

    def traffic() -> None:
        session = requests.Session()
        while not stop.is_set():
            try:
                response = session.get(server.url + "/v", timeout=5)
                results[str(response.status_code)] += 1
                versions.append(response.json()["version"])
            except requests.RequestException as exc:
                results[type(exc).__name__] += 1
    threads = [threading.Thread(target=traffic) for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        for version in (2, 3, 4):
            time.sleep(0.7)
            path.write_text(config(version))
            os.kill(server.process.pid, signal.SIGHUP)
        time.sleep(1.5)
        path.write_text(config(5, valid=False))
        os.kill(server.process.pid, signal.SIGHUP)
        time.sleep(1.5)
        stop.set()
        for thread in threads:
            thread.join(10)
        assert server.process.poll() is None, "the master died on reload"
        assert set(results) == {"200"}, results
        assert versions[-1] == 4 and 5 not in versions
        assert requests.get(server.url + "/v", timeout=5).json()["version"] == 4
    finally:
        stop.set()
        server.stop()
    assert "reload refused: the previous configuration stays in force" in server.log
