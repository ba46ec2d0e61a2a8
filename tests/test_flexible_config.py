"""FC_* flexible configuration rendered with Jinja2, through the same loader as the gateway."""
from __future__ import annotations

import io
import json

import pytest

from app.cli import main
from app.config import load
from app.errors import ConfigError


@pytest.fixture
def fc(tmp_path, monkeypatch):
    settings, templates, partials = (tmp_path / d for d in ("settings", "templates", "partials"))
    for directory in (settings, templates, partials):
        directory.mkdir()
    (settings / "urls.json").write_text(json.dumps({"users": "http://127.0.0.1:9100", "timeout": "3s"}))
    (templates / "backend.tmpl").write_text('{"host": ["{{ urls.users }}"], "url_pattern": "/users/{id}"}')
    (partials / "static.json").write_text('{"strategy": "always", "data": {"from": "partial"}}')
    for name, value in (("FC_ENABLE", "1"), ("FC_SETTINGS", str(settings)), ("FC_TEMPLATES", str(templates)),
                        ("FC_PARTIALS", str(partials)), ("FC_OUT", str(tmp_path / "out.json")),
                        ("SERVICE_NAME", "from-env")):
        monkeypatch.setenv(name, value)
    return tmp_path


def test_template_renders_settings_env_templates_partials_and_marshal(fc):
    template = fc / "krakend.json"
    template.write_text('''{"version": 3, "name": "{{ env('SERVICE_NAME', 'x') }}", "timeout": "{{ urls.timeout }}",
      "endpoints": [{"endpoint": "/users/{id}",
                     "extra_config": {"proxy": {"static": {{ include("static.json") }}}},
                     "input_headers": {{ marshal(["X-A", "X-B"]) }},
                     "backend": [{% include "backend.tmpl" %}]}]}''')
    service = load(str(template))
    assert service.name == "from-env" and service.timeout == 3.0
    endpoint = service.endpoints[0]
    assert endpoint.backends[0].hosts == ("http://127.0.0.1:9100",)
    assert endpoint.input_headers == ("X-A", "X-B")
    assert endpoint.extra_config["proxy"]["static"]["data"] == {"from": "partial"}
    assert json.loads((fc / "out.json").read_text())["name"] == "from-env"


def test_template_errors_stop_with_their_line(fc):
    template = fc / "krakend.json"
    template.write_text('{"version": 3,\n "name": "{{ missing.value }}", "endpoints": []}')
    with pytest.raises(ConfigError, match="template error"):
        load(str(template))
    template.write_text('{"version": 3,\n "name": "{% if %}", "endpoints": []}')
    with pytest.raises(ConfigError, match="template error at line 2"):
        load(str(template))


def test_check_renders_before_validating(fc):
    template = fc / "krakend.json"
    template.write_text('{"version": 3, "endpoints": [{"endpoint": "/u/{id}", "backend": [{% include "backend.tmpl" %}]'
                        '}]}')
    out = io.StringIO()
    assert main(["routes", "-c", str(template)], out) == 0
    assert "-> GET    http://127.0.0.1:9100/users/{id}" in out.getvalue()


def test_partials_cannot_escape_their_directory(fc):
    template = fc / "krakend.json"
    template.write_text('{"version": 3, "name": {{ marshal(include("../settings/urls.json")) }}, "endpoints": []}')
    with pytest.raises(ConfigError, match="outside FC_PARTIALS"):
        load(str(template))
