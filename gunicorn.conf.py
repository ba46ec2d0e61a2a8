"""gunicorn settings for Propylon, from GATEWAY_* environment variables.

gunicorn reads every module-level name here that matches one of its
settings, so helpers are imported under underscore-prefixed names only.

The master runs this file at start and again on every SIGHUP (reload).  It
checks the settings and the configuration, building every endpoint stack,
before a worker is forked:

* at start, a mistake is printed once (JSON path or variable name) and
  gunicorn exits with status 1;
* on reload, a mistake is printed the same way and the previous, validated
  configuration stays in force: new workers are started on it, so a bad file
  never takes the gateway down.

Workers load the validated snapshot the master wrote (``PROPYLON_ACTIVE_CONFIG``),
never the file itself, so what they serve is exactly what was checked.
"""
import json as _json
import os as _os
import shutil as _shutil
import sys as _sys
import tempfile as _tempfile
from dataclasses import replace as _replace

# Runs once per master process; a reload runs this file again in the same one.
_first_load = _os.environ.get("PROPYLON_MASTER_PID") != str(_os.getpid())
_os.environ["PROPYLON_MASTER_PID"] = str(_os.getpid())

# Prometheus multiprocess mode: every worker writes its metrics into this
# directory and the listener in the master sums them.  It must be set before
# prometheus_client is first imported (the app imports it), and it is wiped at
# start (never on reload) so counts of an earlier run never leak in.
_metrics_dir = (_os.environ.get("GATEWAY_METRICS_DIR") or _os.environ.get("PROMETHEUS_MULTIPROC_DIR")
                or _os.path.join(_tempfile.gettempdir(), f"propylon-metrics-{_os.getpid()}"))
_runtime_dir = _metrics_dir.rstrip("/") + "-config"
if _first_load:
    for _directory in (_metrics_dir, _runtime_dir):
        _shutil.rmtree(_directory, ignore_errors=True)
        _os.makedirs(_directory, exist_ok=True)
    # Directories of default-named earlier runs that died without cleaning up (SIGKILL).
    for _entry in _os.listdir(_tempfile.gettempdir()):
        _pid = _entry.removeprefix("propylon-metrics-").removesuffix("-config")
        if _entry.startswith("propylon-metrics-") and _pid.isdigit() and not _os.path.exists(f"/proc/{_pid}"):
            _shutil.rmtree(_os.path.join(_tempfile.gettempdir(), _entry), ignore_errors=True)
_os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir

from app import create_app as _create_app  # noqa: E402 - after the multiprocess directory is set
from app.config.build import build_service as _build_service  # noqa: E402
from app.config.loader import load_raw as _load_raw  # noqa: E402
from app.errors import ConfigError as _ConfigError, ConfigErrors as _ConfigErrors  # noqa: E402
from app.settings import Settings as _Settings, default_workers as _default_workers, read as _read  # noqa: E402
from app.telemetry.listeners import parse as _metrics_settings  # noqa: E402


def _report(lines):
    for line in lines:
        print(f"propylon: {line}", file=_sys.stderr, flush=True)


def _fail(lines):
    _report(lines)
    _sys.exit(1)


def _validated_snapshot(settings):
    """Load, build and snapshot the configuration; returns (service, snapshot path)."""
    raw = _load_raw(settings.config_path)
    service = _build_service(raw, source=settings.config_path)
    _create_app(_replace(settings, log_level="CRITICAL"), service)
    count = len(_os.listdir(_runtime_dir))
    path = _os.path.join(_runtime_dir, f"active-{count}.json")
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        _json.dump(raw, handle)
    _os.replace(path + ".tmp", path)
    return service, path


_env = dict(_os.environ)
_env.pop("PROPYLON_ACTIVE_CONFIG", None)  # the master always reads the operator's file
try:
    _settings = _Settings.from_env(_env)
    workers = _default_workers()
    _bind = _read("GATEWAY_BIND")
    keepalive = _read("GATEWAY_KEEPALIVE")
    _graceful = _read("GATEWAY_GRACEFUL_TIMEOUT")
    timeout = _read("GATEWAY_WORKER_TIMEOUT")
    max_requests = _read("GATEWAY_MAX_REQUESTS")
    max_requests_jitter = _read("GATEWAY_MAX_REQUESTS_JITTER")
    limit_request_line = _read("GATEWAY_LIMIT_REQUEST_LINE")
    limit_request_fields = _read("GATEWAY_LIMIT_REQUEST_FIELDS")
    limit_request_field_size = _read("GATEWAY_LIMIT_REQUEST_FIELD_SIZE")
except ValueError as _exc:
    if _first_load:
        _fail([str(_exc)])
    _report([f"reload refused: {_exc}"])
    raise
try:
    _service, _snapshot = _validated_snapshot(_settings)
    _os.environ["PROPYLON_ACTIVE_CONFIG"] = _snapshot
except _ConfigError as _exc:
    _errors = _exc.errors if isinstance(_exc, _ConfigErrors) else (_exc,)
    _lines = [f"{_settings.config_path}: {len(_errors)} configuration error(s)"] + [str(e) for e in _errors]
    if _first_load:
        _fail(_lines)
    _report(_lines + ["reload refused: the previous configuration stays in force"])
    _service = _build_service(_load_raw(_os.environ["PROPYLON_ACTIVE_CONFIG"]))

bind = [_bind or f"{_service.listen_ip or '0.0.0.0'}:{_service.port}"]
worker_class = "gthread"
# gunicorn's control socket next to the config snapshots (not in the service user's home).
control_socket = _os.path.join(_runtime_dir, "gunicorn.ctl")
threads = _settings.threads
graceful_timeout = _graceful or int(max((e.timeout for e in _service.endpoints), default=2.0)) + 5
# Threads and sockets must be created after fork; SIGHUP must reload the code.
preload_app = False
# Believe X-Forwarded-Proto/For only from the configured proxies.
forwarded_allow_ips = ",".join(str(n) for n in _settings.trusted_proxies) or "127.0.0.1,::1"
if _settings.debug:
    loglevel = "debug"

_metrics = _metrics_settings(_service.extra_config)


def when_ready(server):
    """Start the Prometheus listener(s) in the master: one scrape sums every worker."""
    from prometheus_flask_exporter.multiprocess import GunicornPrometheusMetrics
    for host, port in (_metrics.listeners if _metrics else ()):
        GunicornPrometheusMetrics.start_http_server_when_ready(port, host or "0.0.0.0")
        server.log.info("Prometheus metrics on %s:%s/metrics", host or "0.0.0.0", port)


def on_exit(server):
    for directory in (_metrics_dir, _runtime_dir):
        _shutil.rmtree(directory, ignore_errors=True)


def child_exit(server, worker):
    """A dead worker's gauges must stop counting (prometheus_client multiprocess)."""
    from prometheus_flask_exporter.multiprocess import GunicornPrometheusMetrics
    GunicornPrometheusMetrics.mark_process_dead_on_child_exit(worker.pid)
