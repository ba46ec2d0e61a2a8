"""gunicorn settings for Propylon, from GATEWAY_* environment variables.

gunicorn reads every module-level name here that matches one of its
settings, so helpers are imported under underscore-prefixed names only.
"""
import os as _os

from app.config import load as _load_config
from app.errors import ConfigError as _ConfigError
from app.settings import default_workers as _default_workers, read as _read

_config_path = _read("GATEWAY_CONFIG")
try:
    _service = _load_config(_config_path)
except _ConfigError:
    _service = None  # the worker's create_app reports the errors with their JSON paths

_port = _service.port if _service else 8080
_listen_ip = (_service.listen_ip if _service else "") or "0.0.0.0"
bind = [_read("GATEWAY_BIND") or f"{_listen_ip}:{_port}"]
worker_class = "gthread"
workers = _default_workers()
threads = _read("GATEWAY_THREADS")
keepalive = _read("GATEWAY_KEEPALIVE")
# A heartbeat, not a request deadline (gthread); endpoint timeouts bound requests.
timeout = 30
_longest = max((e.timeout for e in _service.endpoints), default=2.0) if _service else 2.0
graceful_timeout = _read("GATEWAY_GRACEFUL_TIMEOUT") or int(_longest) + 5
# Threads and sockets must be created after fork; SIGHUP must reload the code.
preload_app = False
# Believe X-Forwarded-Proto/For only from the configured proxies.
_trusted = _read("GATEWAY_TRUSTED_PROXIES")
forwarded_allow_ips = ",".join(str(n) for n in _trusted) if _trusted else "127.0.0.1,::1"
max_requests = 10000
max_requests_jitter = 1000
if _os.environ.get("GATEWAY_DEBUG", "") not in ("", "0", "false", "no", "off"):
    loglevel = "debug"
