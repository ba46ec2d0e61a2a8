"""The propylon command: check, routes, settings; every shipped config passes check."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.settings import markdown_table
from tests.conftest import ROOT, write_config

SHIPPED = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "config").rglob("*")
                 if p.suffix in (".json", ".yaml", ".yml"))


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out), out.getvalue()


@pytest.mark.parametrize("path", SHIPPED)
def test_every_shipped_config_passes_check(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out = run("check", "-c", path)
    assert code == 0, out
    assert "configuration OK" in out


def test_check_reports_every_error_with_its_json_path(tmp_path):
    config = write_config(tmp_path, {"endpoints": [
        {"endpoint": "/a/{id}", "backend": [{"host": ["http://x:80"], "url_pattern": "/u/{idd}"}]},
        {"endpoint": "/b", "timeout": "3 seconds", "backend": [{"host": ["http://x:80"], "url_pattern": "/b"}]},
        {"endpoint": "/c", "backend": []},
    ]})
    code, out = run("check", "-c", str(config))
    assert code == 1
    assert "endpoints[0].backend[0].url_pattern: placeholder {idd} is not an endpoint parameter" in out
    assert "endpoints[1].timeout: '3 seconds' is not a duration" in out
    assert "endpoints[2].backend: endpoint /c has 0 backends defined" in out


def test_check_reports_namespace_errors_and_ignored_namespaces(tmp_path):
    bad = write_config(tmp_path, {"endpoints": [{"endpoint": "/a", "extra_config": {
        "auth/validator": {"alg": "RS256", "jwk_url": "http://idp/jwks"},
        "proxy": {"static": {"strategy": "sometimes", "data": {}}}},
        "backend": [{"host": ["http://x:80"], "url_pattern": "/a"}]}]}, "bad.json")
    code, out = run("check", "-c", str(bad))
    assert code == 1
    assert "endpoints[0].extra_config.auth/validator.jwk_url: 'http://idp/jwks' is not https" in out
    assert "endpoints[0].extra_config.proxy.static.strategy: unknown strategy 'sometimes'" in out
    good = write_config(tmp_path, {"extra_config": {"security/http": {}}, "endpoints": [
        {"endpoint": "/a", "backend": [{"host": ["http://x:80"], "url_pattern": "/a",
                                        "extra_config": {"backend/graphql": {}}}]}]}, "good.json")
    code, out = run("check", "-c", str(good))
    assert code == 0
    assert "extra_config: security/http" in out
    assert "endpoints[0].backend[0].extra_config: backend/graphql" in out


def test_check_yaml_and_syntax_errors(tmp_path):
    yaml_file = tmp_path / "k.yaml"
    yaml_file.write_text("version: 3\nendpoints:\n  - endpoint: /y\n    backend:\n      - host: [http://x:80]\n"
                         "        url_pattern: /y\n")
    assert run("check", "-c", str(yaml_file))[0] == 0
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 3,\n "endpoints": [,]}')
    code, out = run("check", "-c", str(broken))
    assert code == 1 and "invalid JSON at line 2, column 16" in out
    code, out = run("check", "-c", str(tmp_path / "missing.json"))
    assert code == 1 and "cannot read" in out
    version = write_config(tmp_path, {"version": 2, "endpoints": []}, "v2.json")
    assert "version: unsupported version: 2 (want: 3)" in run("check", "-c", str(version))[1]


def test_routes_lists_backends(tmp_path):
    config = write_config(tmp_path, {"endpoints": [{"endpoint": "/a", "method": "post", "backend": [
        {"host": ["api.internal:8000/"], "url_pattern": "/v1/a"}]}]})
    code, out = run("routes", "-c", str(config))
    assert code == 0
    assert "POST   /a" in out and "-> POST   http://api.internal:8000/v1/a  [json]" in out


def test_settings_table_and_readme_agree():
    assert run("settings") == (0, markdown_table())
    assert markdown_table() in (ROOT / "README.md").read_text(), \
        "README's settings table is stale: paste the output of `propylon settings`"


def test_python_dash_m_app_and_exit_codes(tmp_path):
    bad = write_config(tmp_path, {"endpoints": [{"endpoint": "/a", "backend": []}]})
    result = subprocess.run([sys.executable, "-m", "app", "check", "-c", str(bad)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "endpoints[0].backend" in result.stdout
    result = subprocess.run([sys.executable, "-m", "app", "check", "-c", "config/krakend.json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    json.loads((ROOT / "config/krakend.json").read_text())
    assert Path(ROOT / "wsgi.py").read_text().count("create_app") == 2


def test_check_tells_typos_from_unimplemented_features(tmp_path):
    config = write_config(tmp_path, {
        "extra_config": {"router": {"return_error_msg": True, "retrun": 1, "trusted_proxies": ["10.0.0.0/8"]},
                         "totally/made-up": {}, "qos/ratelimit/router": {}},
        "endpoints": [{"endpoint": "/c", "backend": [{"host": ["http://x:80"], "url_pattern": "/c", "extra_config": {
            "backend/http": {"return_error_detail": True}}}]}]})
    code, out = run("check", "-c", str(config))
    assert code == 0
    assert "extra_config: qos/ratelimit/router" in out
    assert "unknown namespace 'totally/made-up'" in out
    assert "extra_config.router.retrun: unknown key" in out
    assert "extra_config.router.trusted_proxies: accepted but not implemented" in out
    assert "backend/http.return_error_detail: unknown key, ignored (known: return_error_code, " \
           "return_error_details)" in out


def test_check_validates_the_environment(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("GATEWAY_WORKERS", "abc")
    code, out = run("check", "-c", "config/krakend.json")
    assert code == 1 and "GATEWAY_WORKERS='abc'" in out


def test_check_warns_about_per_worker_limits(tmp_path, monkeypatch):
    config = write_config(tmp_path, {"endpoints": [{"endpoint": "/l", "extra_config": {
        "qos/ratelimit/router": {"max_rate": 10}}, "backend": [{"host": ["http://x:80"], "url_pattern": "/l"}]}]})
    monkeypatch.setenv("GATEWAY_WORKERS", "4")
    code, out = run("check", "-c", str(config))
    assert code == 0 and "admits up to 4 times its limit" in out
    monkeypatch.setenv("GATEWAY_STORAGE_URL", "redis://127.0.0.1:6379/0")
    assert "admits up to" not in run("check", "-c", str(config))[1]


def test_lint_flags_each_risky_pattern(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEWAY_WORKERS", "4")
    config = write_config(tmp_path, {"extra_config": {"security/http": {}}, "endpoints": [
        {"endpoint": "/star", "input_headers": ["*"], "timeout": "120s",
         "extra_config": {"qos/ratelimit/router": {"max_rate": 10}},
         "backend": [{"host": ["http://x:80"], "url_pattern": "/a", "input_headers": ["*"]}]},
        {"endpoint": "/jwt", "extra_config": {"auth/validator": {
            "alg": "RS256", "jwk_url": "http://idp.example.com/jwks", "disable_jwk_security": True}},
         "backend": [{"host": ["http://x:80"], "url_pattern": "/b"}]},
        {"endpoint": "/open", "backend": [{"host": ["http://x:80"], "url_pattern": "/c"}]}]})
    code, out = run("check", "--lint", "-c", str(config))
    assert code == 0
    expected = [
        'LINT endpoints[0].input_headers: ["*"] forwards every client header',
        'LINT endpoints[0].backend[0].input_headers: ["*"]',
        "LINT endpoints[0].timeout: 120s holds a worker thread",
        "LINT endpoints[0].extra_config.qos/ratelimit/router: counted per worker, so 4 workers",
        "LINT endpoints[1].extra_config.auth/validator.jwk_url: keys fetched over plain http",
        "LINT endpoints[1].extra_config.auth/validator.disable_jwk_security: meant for development",
        "LINT endpoints[2]: GET /open has neither authentication nor a rate limit",
        "LINT extra_config.security/http: not implemented by Propylon",
    ]
    for line in expected:
        assert line in out, line
    assert "lint: 8 finding(s)" in out


@pytest.mark.parametrize("path", SHIPPED)
def test_lint_is_quiet_on_shipped_configs(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("GATEWAY_WORKERS", "1")
    code, out = run("check", "--lint", "-c", path)
    assert code == 0 and "lint: 0 finding(s)" in out, out


def test_check_reports_every_service_level_feature_error_at_once(tmp_path):
    config = write_config(tmp_path, {"extra_config": {
        "security/cors": {"max_age": "12 hours"},
        "modifier/lua-endpoint": {"pre": "local = 1"},
        "security/bot-detector": {"patterns": ["(?<=x)"]}}, "endpoints": []})
    code, out = run("check", "-c", str(config))
    assert code == 1
    for path in ("extra_config.security/cors.max_age", "extra_config.modifier/lua-endpoint.pre",
                 "extra_config.security/bot-detector.patterns[0]"):
        assert path in out, out
