"""Where the Prometheus listener(s) go: ``telemetry/opentelemetry`` and ``telemetry/metrics``.

* ``telemetry/opentelemetry`` -> ``exporters.prometheus[]``: ``{"name", "port"
  (9090), "host" ("" = all interfaces), "disable_metrics"}``;
* ``telemetry/metrics`` -> ``listen_address`` (default ``:8090``), with
  ``endpoint_disabled`` (no listener), ``router_disabled``, ``proxy_disabled``
  and ``backend_disabled`` (skip those layers' metrics); ``collection_time``
  is accepted and has no effect (Prometheus scrapes, nothing is pushed).

Both serve ``/metrics`` on their own port, never on the gateway's.  Under
gunicorn the listener runs in the master process and sums every worker
(prometheus_client's multiprocess mode, set up in ``gunicorn.conf.py``).
Pure configuration: no import of prometheus_client here, so gunicorn can
read it before the multiprocess directory is set.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from app.config.values import flag
from app.errors import ConfigError

OTEL, METRICS = "telemetry/opentelemetry", "telemetry/metrics"


@dataclass(frozen=True)
class MetricsSettings:
    listeners: tuple[tuple[str, int], ...] = ()   # (host, port); "" = all interfaces
    router: bool = True
    proxy: bool = True
    backend: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.listeners) or self.router or self.proxy or self.backend


def parse(extra: Mapping[str, Any]) -> MetricsSettings | None:
    """The metrics settings of a service, or None when neither namespace asks for metrics."""
    listeners: list[tuple[str, int]] = []
    router = proxy = backend = True
    metrics = extra.get(METRICS)
    otel = extra.get(OTEL)
    if metrics is None and otel is None:
        return None
    if metrics is not None:
        path = f"extra_config.{METRICS}"
        if not isinstance(metrics, dict):
            raise ConfigError(path, f"expected an object, got {metrics!r}")
        address = metrics.get("listen_address", ":8090") or ":8090"
        host, _, port = str(address).rpartition(":")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{path}.listen_address", f"expected [host]:port, got {address!r}")
        if not flag(metrics, "endpoint_disabled", path):
            listeners.append((host.strip("[]"), int(port)))
        router = not flag(metrics, "router_disabled", path)
        proxy = not flag(metrics, "proxy_disabled", path)
        backend = not flag(metrics, "backend_disabled", path)
    if otel is not None:
        path = f"extra_config.{OTEL}"
        if not isinstance(otel, dict):
            raise ConfigError(path, f"expected an object, got {otel!r}")
        exporters = (otel.get("exporters") or {}).get("prometheus") or []
        if not isinstance(exporters, list):
            raise ConfigError(f"{path}.exporters.prometheus", "expected a list of exporters")
        for i, exporter in enumerate(exporters):
            where = f"{path}.exporters.prometheus[{i}]"
            if not isinstance(exporter, dict):
                raise ConfigError(where, f"expected an object, got {exporter!r}")
            if exporter.get("disable_metrics"):
                continue
            port = exporter.get("port", 9090)
            if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
                raise ConfigError(f"{where}.port", f"expected a port number, got {port!r}")
            host = exporter.get("host", exporter.get("listen_ip", "")) or ""
            listeners.append((str(host), port))
    return MetricsSettings(tuple(dict.fromkeys(listeners)), router, proxy, backend)
