"""gunicorn settings for Propylon, from GATEWAY_* environment variables.

gunicorn reads every module-level name here that matches one of its
settings, so helpers are imported under underscore-prefixed names only.
The configuration and the settings are checked here, before gunicorn binds
its port or forks a worker: a mistake is printed once, with its JSON path or
variable name, and gunicorn exits with status 1.
"""
import os as _os
import shutil as _shutil
import sys as _sys
import tempfile as _tempfile
from dataclasses import replace as _replace

# Prometheus multiprocess mode: every worker writes its metrics into this
# directory and the listener in the master sums them.  It must be set before
# prometheus_client is first imported (the app imports it), and it is wiped at
# start so counts of an earlier run never leak in.
_metrics_dir = (_os.environ.get("GATEWAY_METRICS_DIR") or _os.environ.get("PROMETHEUS_MULTIPROC_DIR")
                or _os.path.join(_tempfile.gettempdir(), f"propylon-metrics-{_os.getpid()}"))
_shutil.rmtree(_metrics_dir, ignore_errors=True)
_os.makedirs(_metrics_dir, exist_ok=True)
_os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir

from app import create_app as _create_app
from app.config import load as _load_config
from app.errors import ConfigError as _ConfigError, ConfigErrors as _ConfigErrors
from app.settings import Settings as _Settings, default_workers as _default_workers, read as _read
from app.telemetry.listeners import parse as _metrics_settings


def _fail(lines):
    for line in lines:
        print(f"propylon: {line}", file=_sys.stderr)
    _sys.exit(1)


try:
    _settings = _Settings.from_env()
    workers = _default_workers()
    _bind = _read("GATEWAY_BIND")
    keepalive = _read("GATEWAY_KEEPALIVE")
    _graceful = _read("GATEWAY_GRACEFUL_TIMEOUT")
except ValueError as _exc:
    _fail([str(_exc)])
try:
    _service = _load_config(_settings.config_path)
    # Build every endpoint stack once here too, so namespace errors also stop
    # the start before any worker forks (the workers build their own app).
    _create_app(_replace(_settings, log_level="CRITICAL"), _service)
except _ConfigError as _exc:
    _errors = _exc.errors if isinstance(_exc, _ConfigErrors) else (_exc,)
    _fail([f"{_settings.config_path}: {len(_errors)} configuration error(s)"] + [str(e) for e in _errors])

bind = [_bind or f"{_service.listen_ip or '0.0.0.0'}:{_service.port}"]
worker_class = "gthread"
threads = _settings.threads
# A heartbeat, not a request deadline (gthread); endpoint timeouts bound requests.
timeout = 30
graceful_timeout = _graceful or int(max((e.timeout for e in _service.endpoints), default=2.0)) + 5
# Threads and sockets must be created after fork; SIGHUP must reload the code.
preload_app = False
# Believe X-Forwarded-Proto/For only from the configured proxies.
forwarded_allow_ips = ",".join(str(n) for n in _settings.trusted_proxies) or "127.0.0.1,::1"
max_requests = 10000
max_requests_jitter = 1000
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
    _shutil.rmtree(_metrics_dir, ignore_errors=True)


def child_exit(server, worker):
    """A dead worker's gauges must stop counting (prometheus_client multiprocess)."""
    from prometheus_flask_exporter.multiprocess import GunicornPrometheusMetrics
    GunicornPrometheusMetrics.mark_process_dead_on_child_exit(worker.pid)
