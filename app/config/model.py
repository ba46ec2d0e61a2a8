"""The parsed configuration: frozen dataclasses named after lura's structs.

Durations are float seconds.  ``extra_config`` mappings hold canonical
namespace names (see ``namespaces``); each feature parses its own namespace.
``path`` fields keep the JSON path of the object for error messages.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from app.config.urlpattern import URLPattern

EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Any:
    return field(default_factory=lambda: EMPTY)


@dataclass(frozen=True)
class BackendConfig:
    url_pattern: URLPattern                 # "url_pattern", compiled
    hosts: tuple[str, ...]                  # "host" (sanitised), else the service's
    method: str                             # "method", else the endpoint's
    encoding: str                           # "encoding": json, safejson, string, no-op ...
    timeout: float                          # always the endpoint timeout (lura ignores a backend "timeout")
    is_collection: bool = False             # "is_collection"
    target: str = ""                        # "target"
    allow: tuple[str, ...] = ()             # "allow"
    deny: tuple[str, ...] = ()              # "deny"
    mapping: Mapping[str, str] = _empty()     # "mapping"
    group: str = ""                         # "group"
    input_headers: tuple[str, ...] = ()     # backend-level "input_headers" (second filter; empty = no filter)
    input_query_strings: tuple[str, ...] = ()  # backend-level "input_query_strings"
    concurrent_calls: int = 1               # copied from the endpoint
    extra_config: Mapping[str, Any] = _empty()
    path: str = ""                          # JSON path, e.g. endpoints[0].backend[1]
    owner: str = ""                         # "METHOD /endpoint" of the endpoint it belongs to

    @property
    def label(self) -> str:
        """What logs and errors call this backend: its url_pattern."""
        return self.url_pattern.source

    @property
    def state_key(self) -> str:
        """A name for shared state (Redis) that survives reordering the config: what is called, from where."""
        text = "\n".join((self.owner, self.method, ",".join(self.hosts), self.url_pattern.source))
        return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class EndpointConfig:
    endpoint: str                           # "endpoint", with {params}
    method: str                             # "method", upper-case
    backends: tuple[BackendConfig, ...]     # "backend"
    timeout: float                          # "timeout", else the service's
    cache_ttl: float = 0.0                  # "cache_ttl", else the service's
    output_encoding: str = "json"           # "output_encoding", else the service's
    concurrent_calls: int = 1               # "concurrent_calls"
    input_headers: tuple[str, ...] = ()     # "input_headers"
    input_query_strings: tuple[str, ...] = ()  # "input_query_strings"
    params: tuple[str, ...] = ()            # placeholder names in "endpoint", in order
    extra_config: Mapping[str, Any] = _empty()
    path: str = ""


@dataclass(frozen=True)
class ServiceConfig:
    version: int
    name: str = ""
    port: int = 8080
    listen_ip: str = ""
    timeout: float = 2.0
    cache_ttl: float = 0.0
    output_encoding: str = "json"
    hosts: tuple[str, ...] = ()
    endpoints: tuple[EndpointConfig, ...] = ()
    debug_endpoint: bool = False
    echo_endpoint: bool = False
    disable_rest: bool = False
    extra_config: Mapping[str, Any] = _empty()
    #: (JSON path, namespace) of every extra_config namespace Propylon ignores.
    ignored_namespaces: tuple[tuple[str, str], ...] = ()
    #: Non-fatal findings (skipped endpoints, suspicious values) with their paths.
    warnings: tuple[str, ...] = ()
    source: str = ""
    raw: Mapping[str, Any] = field(default_factory=lambda: EMPTY, repr=False, compare=False)
