"""KrakenD's flexible configuration (``FC_*``), rendered with Jinja2.

With ``FC_ENABLE`` set (any non-empty value, as in KrakenD) the config file
is a template, rendered before it is parsed:

* ``FC_SETTINGS``: a directory; every ``*.json`` in it becomes a variable
  named after the file (``urls.json`` -> ``{{ urls.users }}``);
* ``FC_TEMPLATES``: a directory of templates for ``{% include "x.tmpl" %}``
  (KrakenD: ``{{ template "x.tmpl" . }}``);
* ``FC_PARTIALS``: a directory of files ``{{ include("x.json") }}`` inserts
  verbatim, unrendered;
* ``FC_OUT``: where to write the rendered configuration (for debugging).

Helpers: ``env("NAME", "default")``, ``include("file")`` and
``marshal(value)`` (JSON text).  Differences from KrakenD's Go templates:
Jinja syntax (``{{ urls.users }}`` not ``{{ .urls.users }}``,
``{% for %}`` not ``{{ range }}``), no Sprig library beyond these helpers,
and a template error stops the start with its line instead of KrakenD's
silent fall-back to the unrendered file.  Rendering runs in Jinja's sandbox.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from app.errors import ConfigError


def enabled(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("FC_ENABLE", ""))


def _settings(directory: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for file in sorted(Path(directory).glob("*.json")):
        try:
            values[file.stem] = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError("", f"FC_SETTINGS file {file}: {exc}") from exc
    return values


def render(text: str, name: str, environ: Mapping[str, str]) -> str:
    """The rendered configuration text; raises ``ConfigError`` with the template's line on errors."""
    settings_dir, templates_dir = environ.get("FC_SETTINGS", ""), environ.get("FC_TEMPLATES", "")
    partials = Path(environ.get("FC_PARTIALS", "") or ".")
    loader = jinja2.FileSystemLoader(templates_dir) if templates_dir else None
    env = SandboxedEnvironment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=False,
                               keep_trailing_newline=True)

    def include(file: str) -> str:
        target = (partials / file).resolve()
        if partials.resolve() not in target.parents:
            raise ConfigError("", f"include({file!r}): outside FC_PARTIALS")
        return target.read_text(encoding="utf-8")
    env.globals.update(env=lambda key, default="": environ.get(key, default), include=include,
                       marshal=lambda value: json.dumps(value))
    context = _settings(settings_dir) if settings_dir else {}
    try:
        rendered = env.from_string(text).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError("", f"{name}: template error at line {exc.lineno}: {exc.message}") from exc
    except (jinja2.TemplateError, OSError) as exc:
        raise ConfigError("", f"{name}: template error: {exc}") from exc
    out = environ.get("FC_OUT")
    if out:
        Path(out).write_text(rendered, encoding="utf-8")
    return rendered
