"""gunicorn settings for Propylon, from GATEWAY_* environment variables.

gunicorn reads every module-level name here that matches one of its
settings, so helpers are imported under underscore-prefixed names only.
The configuration and the settings are checked here, before gunicorn binds
its port or forks a worker: a mistake is printed once, with its JSON path or
variable name, and gunicorn exits with status 1.
"""
import sys as _sys
from dataclasses import replace as _replace

from app import create_app as _create_app
from app.config import load as _load_config
from app.errors import ConfigError as _ConfigError, ConfigErrors as _ConfigErrors
from app.settings import Settings as _Settings, default_workers as _default_workers, read as _read


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
