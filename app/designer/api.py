"""The Designer: its page (``/``, ``static/``) and JSON API over the one configuration file it was opened on.

* ``GET  /api/schema``: the namespace forms (``app.designer.namespaces``);
* ``GET  /api/config``: the file's text and its decoded object (key order kept);
* ``POST /api/check``:  check a candidate configuration with ``propylon check --lint``'s
  own code (``app.config.check``); every error carries its JSON path;
* ``POST /api/save``:   check, then replace the file atomically; refused (422)
  while the candidate has errors, so a saved file always passes ``propylon check``;
* ``POST /api/try``:    check, then send one request to the real gateway running
  the candidate in a sandbox process (``app.designer.sandbox``).

Safety, because a browser on the same machine can reach any loopback port:
requests must name the Designer itself in ``Host`` (DNS rebinding), must not
come from another ``Origin``, and writes must be ``application/json`` (which a
cross-site form cannot send without a CORS preflight, which is never granted).
The Designer writes only the file it was opened on.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Mapping, Optional

from flask import Flask, Response, abort, jsonify, request
from werkzeug.exceptions import HTTPException

from app.config.check import CheckReport, check_file
from app.designer.layout import preserve
from app.designer.namespaces import NAMESPACES
from app.designer.sandbox import Sandbox, SandboxError
from app.errors import ConfigError

#: Hosts the Designer answers to (with its port); anything else is a rebinding attempt.
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")
#: Methods "Try it" may send (the ones KrakenD endpoints can declare).
TRY_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def detect_indent(text: str) -> int:
    """The indent width of a pretty-printed JSON text (2 when it has none), so saving keeps its layout."""
    match = re.search(r"\n( +)\S", text)
    return len(match.group(1)) if match else 2


def render(config: Any, indent: int) -> str:
    """The text the Designer writes: key order as given, UTF-8 kept, a final newline."""
    return json.dumps(config, indent=indent, ensure_ascii=False) + "\n"


def report_json(report: CheckReport) -> dict[str, Any]:
    """A check report as the UI consumes it: every finding with the JSON path it belongs to."""
    errors = [{"path": e.path, "message": e.message} for e in report.errors]
    if report.environment_error:
        errors.append({"path": "", "message": f"environment: {report.environment_error}"})
    endpoints = [] if report.service is None else [
        {"endpoint": e.endpoint, "method": e.method,
         "backends": [{"hosts": list(b.hosts), "url_pattern": b.url_pattern.source, "method": b.method}
                      for b in e.backends]}
        for e in report.service.endpoints]
    return {
        "ok": report.ok,
        "errors": errors,
        "warnings": list(report.warnings),
        "lint": list(report.lint),
        "unimplemented": [{"path": p, "namespace": n} for p, n in report.unimplemented],
        "unknown": [{"path": p, "namespace": n} for p, n in report.unknown],
        "endpoints": endpoints,
    }


def saved_text(target: Path, config: Any) -> str:
    """What saving ``config`` over ``target`` writes: the original's bytes wherever nothing changed."""
    original = target.read_text(encoding="utf-8") if target.exists() else ""
    try:
        json.loads(original)
    except ValueError:  # a new or broken file: nothing to keep
        return render(config, detect_indent(original))
    return preserve(original, config, detect_indent(original))


def check_candidate(config: Any, suffix: str) -> CheckReport:
    """Check ``config`` exactly as ``propylon check --lint`` would check it saved to a file."""
    with tempfile.TemporaryDirectory(prefix="propylon-designer-") as tmp:
        candidate = Path(tmp) / f"candidate{suffix}"
        candidate.write_text(render(config, 2), encoding="utf-8")
        report = check_file(str(candidate), lint=True)
    report.path = "<candidate>"
    return report


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename, keeping its permission bits."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_object() -> dict[str, Any]:
    if request.mimetype != "application/json":
        abort(415, "send the configuration as application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "the body must be a JSON object (the configuration)")
    return body


def try_request(body: Mapping[str, Any]) -> tuple[Any, str, str, dict[str, str], str]:
    """The config and the request of a ``/api/try`` body, validated; aborts 400 naming the bad field."""
    config, method, path = body.get("config"), body.get("method", "GET"), body.get("path")
    headers, payload = body.get("headers", {}), body.get("body", "")
    if not isinstance(config, dict):
        abort(400, "config: must be the configuration object")
    if not isinstance(method, str) or method.upper() not in TRY_METHODS:
        abort(400, f"method: must be one of {', '.join(TRY_METHODS)}")
    if not isinstance(path, str) or not path.startswith("/") or any(c.isspace() or ord(c) < 32 for c in path):
        abort(400, "path: must start with / and hold no spaces or control characters")
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in headers.items()):
        abort(400, "headers: must be an object of strings")
    if not isinstance(payload, str):
        abort(400, "body: must be a string")
    return config, method.upper(), path, headers, payload


def create_designer(path: str, sandbox: Optional[Sandbox] = None) -> Flask:
    """The Designer's app for the configuration file at ``path`` (JSON; it may not exist yet)."""
    target = Path(path).resolve()
    if target.suffix.lower() in (".yml", ".yaml"):
        raise ConfigError("", f"{path}: the Designer edits JSON files only; convert the YAML first")
    if not target.parent.is_dir():
        raise ConfigError("", f"{path}: directory {target.parent} does not exist")
    app = Flask("propylon.designer", static_folder=str(Path(__file__).parent / "static"))
    runner = sandbox if sandbox is not None else Sandbox()
    app.extensions["designer_sandbox"] = runner
    app.config["MAX_CONTENT_LENGTH"] = 8 * 1024 * 1024
    app.json.sort_keys = False  # type: ignore[attr-defined]  # the file's key order is the user's

    @app.before_request
    def same_origin_only() -> Optional[Response]:
        host = request.host if request.host.endswith("]") else request.host.rsplit(":", 1)[0]
        if host not in LOCAL_NAMES and host != app.config.get("DESIGNER_HOST"):
            abort(403, f"the Designer answers to {', '.join(LOCAL_NAMES)} only")
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            abort(403, "cross-origin requests are refused")
        return None

    @app.get("/")
    def index() -> Response:
        return app.send_static_file("index.html")

    @app.after_request
    def lock_down(response: Response) -> Response:
        # Only the Designer's own files run; no framing, no sniffing (the page can write a file).
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' blob: data:; frame-ancestors 'none'; base-uri 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/api/schema")
    def schema() -> Response:
        return jsonify(NAMESPACES)  # tuples become JSON arrays

    @app.get("/api/config")
    def get_config() -> Response:
        if not target.exists():
            return jsonify(path=str(target), exists=False, text="", config={"version": 3, "endpoints": []})
        text = target.read_text(encoding="utf-8")
        try:
            config = json.loads(text)
        except ValueError as exc:
            return jsonify(path=str(target), exists=True, text=text, config=None,
                           error=f"invalid JSON: {exc}")
        return jsonify(path=str(target), exists=True, text=text, config=config)

    @app.post("/api/check")
    def check() -> Response:
        return jsonify(report_json(check_candidate(_json_object(), target.suffix or ".json")))

    @app.post("/api/save")
    def save() -> Response:
        config = _json_object()
        report = check_candidate(config, target.suffix or ".json")
        if not report.ok:
            response = jsonify(saved=False, **report_json(report))
            response.status_code = 422
            return response
        write_atomically(target, saved_text(target, config))
        return jsonify(saved=True, path=str(target), **report_json(report))

    @app.post("/api/try")
    def try_it() -> Response:
        config, method, path, headers, payload = try_request(_json_object())
        report = check_candidate(config, target.suffix or ".json")
        if not report.ok or report.service is None:
            response = jsonify(error="the configuration has errors", **report_json(report))
            response.status_code = 422
            return response
        timeout = max((e.timeout for e in report.service.endpoints), default=3.0) + 5.0
        try:
            reused = runner.ensure(render(config, 2))
            answer = runner.send(method, path, headers, payload, timeout)
        except SandboxError as exc:
            response = jsonify(error=str(exc), log=exc.log)
            response.status_code = 502
            return response
        return jsonify(status=answer.status, headers=answer.headers, body=answer.body,
                       truncated=answer.truncated, elapsed_ms=answer.elapsed_ms,
                       sandbox={"pid": runner.pid, "port": runner.port, "reused": reused})

    @app.errorhandler(Exception)
    def error_json(exc: Exception) -> tuple[Response, int]:
        if isinstance(exc, HTTPException):
            return jsonify(error=exc.description), exc.code or 500
        if isinstance(exc, RecursionError):
            return jsonify(error="the configuration nests too deeply"), 400
        app.logger.exception("designer request failed")  # the traceback stays in the terminal
        return jsonify(error=f"internal error: {type(exc).__name__}"), 500

    return app
