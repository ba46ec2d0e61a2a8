"""Validation and service -> endpoint -> backend inheritance (lura's ``Init``).

Every problem is collected with its JSON path so ``propylon check`` can show
them all at once; ``build_service`` raises ``ConfigErrors`` when there is any.
Defaults follow lura: version 3, timeout 2s, method GET, output encoding
json, backend host and method inherited, backend timeout = endpoint timeout.
"""
from __future__ import annotations

import ipaddress
import re
from types import MappingProxyType
from typing import Any, Callable, Mapping, Optional, TypeVar

from app.config.durations import parse_duration
from app.config.model import BackendConfig, EndpointConfig, ServiceConfig
from app.config.namespaces import IMPLEMENTED, normalize
from app.config.urlpattern import JWT, PARAM, RESP, compile_pattern
from app.errors import ConfigError, ConfigErrors

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_TIMEOUT = 2.0
_HOST = re.compile(r"^(?:(https?)://)?([A-Za-z0-9_.\-]+)(:\d{2,6})?/?$")
_RESERVED = re.compile(r"(^|/)__(debug|echo|health)(/|$)")
_SEGMENT_PARAM = re.compile(r"^\{([A-Za-z0-9_\-]+)\}$")
_ANY_PARAM = re.compile(r"\{([^{}]*)\}")
_LOOSE_PARAM = re.compile(r"^[A-Za-z0-9_\-.:/]+$")

T = TypeVar("T")


class _Collector:
    """Gathers errors, warnings and ignored namespaces during one build."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []
        self.warnings: list[str] = []
        self.ignored: list[tuple[str, str]] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(ConfigError(path, message))

    def get(self, obj: Mapping[str, Any], key: str, path: str, check: Callable[[Any], bool],
            expected: str, default: T) -> T:
        """``obj[key]`` when present and valid; else ``default`` (recording an error if invalid)."""
        if key not in obj or obj[key] is None:
            return default
        value = obj[key]
        if not check(value):
            self.error(_join(path, key), f"expected {expected}, got {_show(value)}")
            return default
        return value  # type: ignore[no-any-return]

    def duration(self, obj: Mapping[str, Any], key: str, path: str, default: float) -> float:
        if key not in obj or obj[key] is None:
            return default
        try:
            value = parse_duration(obj[key])
        except ValueError as exc:
            self.error(_join(path, key), str(exc))
            return default
        if value < 0:
            self.error(_join(path, key), f"negative duration {_show(obj[key])}")
            return default
        if isinstance(obj[key], (int, float)):
            self.warnings.append(f"{_join(path, key)}: bare number {obj[key]} read as nanoseconds "
                                 f"(KrakenD does the same); write a unit, e.g. \"{obj[key]}ms\"")
        return value

    def str_list(self, obj: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value: list[str] = self.get(obj, key, path, _is_str_list, "a list of strings", [])
        return tuple(value)

    def extra(self, obj: Mapping[str, Any], path: str, scope: str) -> Mapping[str, Any]:
        raw: dict[str, Any] = self.get(obj, "extra_config", path, lambda v: isinstance(v, dict), "an object", {})
        extra = normalize(raw)
        for name in extra:
            if name[:1] in "@$_#":
                continue
            if name not in IMPLEMENTED[scope]:
                self.ignored.append((_join(path, "extra_config"), name))
        return MappingProxyType(extra)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def sanitize_host(host: str) -> Optional[str]:
    """``[scheme://]name[:port][/]`` -> ``scheme://name[:port]``; None when invalid (lura ``CleanHost``)."""
    match = _HOST.match(host.strip())
    if match is None:
        return None
    return f"{match.group(1) or 'http'}://{match.group(2)}{match.group(3) or ''}"


def build_service(raw: Mapping[str, Any], source: str = "") -> ServiceConfig:
    """Validate ``raw`` and build the frozen model; raises ``ConfigErrors``."""
    c = _Collector()
    version = raw.get("version")
    if version != 3 or isinstance(version, bool):
        c.error("version", f"unsupported version: {_show(version)} (want: 3)")
    port = c.get(raw, "port", "", _is_int, "an integer port", 8080) or 8080
    if not 0 < port < 65536:
        c.error("port", f"port {port} out of range 1-65535")
    listen_ip = c.get(raw, "listen_ip", "", _is_str, "an IP address", "")
    if listen_ip:
        try:
            ipaddress.ip_address(listen_ip)
        except ValueError:
            c.error("listen_ip", f"invalid ip address {listen_ip!r}")
    timeout = c.duration(raw, "timeout", "", DEFAULT_TIMEOUT) or DEFAULT_TIMEOUT
    cache_ttl = c.duration(raw, "cache_ttl", "", 0.0)
    output = c.get(raw, "output_encoding", "", _is_str, "a string", "json") or "json"
    disable_rest = c.get(raw, "disable_rest", "", _is_bool, "true or false", False)
    hosts = _hosts(c, raw, "", False)
    service_extra = c.extra(raw, "", "service")
    defaults = _Defaults(timeout, cache_ttl, output, hosts, disable_rest)
    endpoints = []
    raw_endpoints: list[Any] = c.get(raw, "endpoints", "", lambda v: isinstance(v, list), "a list of endpoints", [])
    for i, item in enumerate(raw_endpoints):
        path = f"endpoints[{i}]"
        if not isinstance(item, dict):
            c.error(path, f"expected an endpoint object, got {_show(item)}")
            continue
        endpoint = _endpoint(c, item, path, defaults)
        if endpoint is not None:
            endpoints.append(endpoint)
    if c.errors:
        raise ConfigErrors(c.errors)
    return ServiceConfig(
        version=3, name=c.get(raw, "name", "", _is_str, "a string", ""), port=port, listen_ip=listen_ip,
        timeout=timeout, cache_ttl=cache_ttl, output_encoding=output, hosts=hosts,
        endpoints=tuple(endpoints),
        debug_endpoint=c.get(raw, "debug_endpoint", "", _is_bool, "true or false", False),
        echo_endpoint=c.get(raw, "echo_endpoint", "", _is_bool, "true or false", False),
        disable_rest=disable_rest, extra_config=service_extra,
        ignored_namespaces=tuple(c.ignored), warnings=tuple(c.warnings), source=source,
        raw=MappingProxyType(dict(raw)),
    )


class _Defaults:
    def __init__(self, timeout: float, cache_ttl: float, output: str, hosts: tuple[str, ...],
                 disable_rest: bool) -> None:
        self.timeout, self.cache_ttl, self.output = timeout, cache_ttl, output
        self.hosts, self.disable_rest = hosts, disable_rest


def _hosts(c: _Collector, obj: Mapping[str, Any], path: str, skip_sanitize: bool) -> tuple[str, ...]:
    out = []
    for j, host in enumerate(c.str_list(obj, "host", path)):
        if skip_sanitize:
            out.append(host.rstrip("/"))
            continue
        clean = sanitize_host(host)
        if clean is None:
            c.error(f"{_join(path, 'host')}[{j}]",
                    f"invalid host {host!r} (want [http[s]://]name[:port], no path; "
                    "set disable_host_sanitize to keep it as written)")
        else:
            out.append(clean)
    return tuple(out)


def _endpoint_params(c: _Collector, endpoint: str, path: str, disable_rest: bool) -> tuple[str, ...]:
    params: list[str] = []
    for segment in endpoint.split("/"):
        whole = _SEGMENT_PARAM.match(segment)
        if whole:
            params.append(whole.group(1))
            continue
        for inner in _ANY_PARAM.finditer(segment):
            name = inner.group(1)
            if not disable_rest:
                c.error(path, f"placeholder {{{name}}} must be a whole path segment "
                              "(or set disable_rest: true at the top level)")
                params.append(name)  # so backends using it are not reported a second time
            elif not _LOOSE_PARAM.match(name):
                c.error(path, f"invalid placeholder name {{{name}}}")
            else:
                params.append(name)
    if len(set(params)) != len(params):
        c.error(path, f"a placeholder appears twice in {endpoint!r}")
    return tuple(params)


def _endpoint(c: _Collector, raw: Mapping[str, Any], path: str, d: _Defaults) -> Optional[EndpointConfig]:
    endpoint = c.get(raw, "endpoint", path, _is_str, "a path string", "")
    if not endpoint:
        c.error(_join(path, "endpoint"), "missing endpoint path")
        return None
    if not endpoint.startswith("/"):
        endpoint = "/" + endpoint
    if _RESERVED.search(endpoint) or re.search(r"\*.", endpoint):
        c.error(_join(path, "endpoint"), f"{endpoint!r} is reserved or invalid "
                "(/__debug, /__echo, /__health and wildcards cannot be endpoints)")
    params = _endpoint_params(c, endpoint, _join(path, "endpoint"), d.disable_rest)
    method = c.get(raw, "method", path, _is_str, "a string", "GET").upper() or "GET"
    timeout = c.duration(raw, "timeout", path, 0.0) or d.timeout
    cache_ttl = c.duration(raw, "cache_ttl", path, 0.0) or d.cache_ttl
    output = c.get(raw, "output_encoding", path, _is_str, "a string", "") or d.output
    concurrent = c.get(raw, "concurrent_calls", path, _is_int, "an integer", 1) or 1
    if concurrent < 1:
        c.error(_join(path, "concurrent_calls"), f"must be at least 1, got {concurrent}")
        concurrent = 1
    input_headers = c.str_list(raw, "input_headers", path)
    input_query = c.str_list(raw, "input_query_strings", path)
    extra = c.extra(raw, path, "endpoint")
    raw_backends: list[Any] = c.get(raw, "backend", path, lambda v: isinstance(v, list), "a list of backends", [])
    if not raw_backends:
        c.error(_join(path, "backend"), f"endpoint {endpoint} has 0 backends defined")
    if output == "no-op" and len(raw_backends) > 1:
        c.error(_join(path, "output_encoding"), "no-op endpoints must have exactly one backend")
    backends = []
    for j, item in enumerate(raw_backends):
        bpath = f"{path}.backend[{j}]"
        if not isinstance(item, dict):
            c.error(bpath, f"expected a backend object, got {_show(item)}")
            continue
        backend = _backend(c, item, bpath, d, method, timeout, concurrent, output, params, extra,
                           f"{method} {endpoint}")
        if backend is not None:
            backends.append(backend)
    if method not in METHODS:
        c.warnings.append(f"{_join(path, 'method')}: unsupported method {method!r}; endpoint {endpoint} "
                          f"skipped (KrakenD does the same; use one of {', '.join(METHODS)})")
        return None
    return EndpointConfig(
        endpoint=endpoint, method=method, backends=tuple(backends), timeout=timeout, cache_ttl=cache_ttl,
        output_encoding=output, concurrent_calls=concurrent, input_headers=input_headers,
        input_query_strings=input_query, params=params, extra_config=extra, path=path,
    )


def _backend(c: _Collector, raw: Mapping[str, Any], path: str, d: _Defaults, method: str, timeout: float,
             concurrent: int, output: str, params: tuple[str, ...],
             endpoint_extra: Mapping[str, Any], owner: str) -> Optional[BackendConfig]:
    pattern_text = c.get(raw, "url_pattern", path, _is_str, "a string", "")
    if not pattern_text:
        c.error(_join(path, "url_pattern"), "missing url_pattern")
        return None
    pattern = compile_pattern(pattern_text)
    for ph in pattern.placeholders:
        if ph.kind == PARAM and ph.name not in params:
            c.error(_join(path, "url_pattern"), f"placeholder {ph.text} is not an endpoint parameter "
                    f"(the endpoint has: {', '.join('{' + p + '}' for p in params) or 'none'})")
        elif ph.kind == RESP and not (endpoint_extra.get("proxy") or {}).get("sequential"):
            c.warnings.append(f"{_join(path, 'url_pattern')}: {ph.text} only resolves with proxy.sequential")
        elif ph.kind == JWT and "auth/validator" not in endpoint_extra:
            c.warnings.append(f"{_join(path, 'url_pattern')}: {ph.text} only resolves with auth/validator "
                              "on the endpoint")
    skip_sanitize = c.get(raw, "disable_host_sanitize", path, _is_bool, "true or false", False)
    hosts = _hosts(c, raw, path, skip_sanitize) or d.hosts
    if not hosts and not raw.get("host"):
        c.error(_join(path, "host"), "no host: set host on the backend or at the top level")
    sd = c.get(raw, "sd", path, _is_str, "a string", "static")
    if sd not in ("", "static"):
        c.error(_join(path, "sd"), f"service discovery {sd!r} is not implemented (only static host lists)")
    encoding = c.get(raw, "encoding", path, _is_str, "a string", "json") or "json"
    if output == "no-op":
        encoding = "no-op"
    mapping: dict[str, str] = c.get(raw, "mapping", path,
                                    lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
                                    "an object of strings", {})
    return BackendConfig(
        url_pattern=pattern, hosts=hosts,
        method=(c.get(raw, "method", path, _is_str, "a string", "") or method).upper(),
        encoding=encoding, timeout=timeout,
        is_collection=c.get(raw, "is_collection", path, _is_bool, "true or false", False),
        target=c.get(raw, "target", path, _is_str, "a string", ""),
        allow=c.str_list(raw, "allow", path), deny=c.str_list(raw, "deny", path),
        mapping=MappingProxyType(dict(mapping)),
        group=c.get(raw, "group", path, _is_str, "a string", ""),
        input_headers=c.str_list(raw, "input_headers", path),
        input_query_strings=c.str_list(raw, "input_query_strings", path),
        concurrent_calls=concurrent, extra_config=c.extra(raw, path, "backend"), path=path, owner=owner,
    )
