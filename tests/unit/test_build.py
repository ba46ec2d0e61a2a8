"""app.config.build: build_service defaults, inheritance and validation; sanitize_host (reference §1.3-1.5, §3.2)."""
from __future__ import annotations

from typing import Any, Callable, Optional

import pytest

from app.config.build import build_service, sanitize_host
from app.config.model import BackendConfig, EndpointConfig, ServiceConfig
from app.errors import ConfigErrors

HOST = "http://backend:8080"


def backend(url: str = "/b", **keys: Any) -> dict[str, Any]:
    return {"url_pattern": url, **keys}


def endpoint(path: str = "/e", backends: Optional[list[Any]] = None, **keys: Any) -> dict[str, Any]:
    return {"endpoint": path, "backend": [backend()] if backends is None else backends, **keys}


def service(endpoints: Optional[list[Any]] = None, **top: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"version": 3, "host": [HOST], "endpoints": [endpoint()] if endpoints is None else endpoints}
    raw.update(top)
    return raw


def errors_of(raw: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigErrors) as info:
        build_service(raw)
    return [(e.path, e.message) for e in info.value.errors]


def first_endpoint(s: ServiceConfig) -> EndpointConfig:
    return s.endpoints[0]


def first_backend(s: ServiceConfig) -> BackendConfig:
    return s.endpoints[0].backends[0]


Getter = Callable[[ServiceConfig], Any]

DEFAULTS: list[tuple[str, dict[str, Any], Getter, Any]] = [
    ("service-timeout-2s", service(), lambda s: s.timeout, 2.0),
    ("endpoint-timeout-2s", service(), lambda s: first_endpoint(s).timeout, 2.0),
    ("backend-timeout-2s", service(), lambda s: first_backend(s).timeout, 2.0),
    ("method-GET", service(), lambda s: first_endpoint(s).method, "GET"),
    ("backend-method-GET", service(), lambda s: first_backend(s).method, "GET"),
    ("output-json", service(), lambda s: first_endpoint(s).output_encoding, "json"),
    ("encoding-json", service(), lambda s: first_backend(s).encoding, "json"),
    ("cache-ttl-0", service(), lambda s: first_endpoint(s).cache_ttl, 0.0),
    ("concurrent-1", service(), lambda s: first_endpoint(s).concurrent_calls, 1),
    ("port-8080", service(), lambda s: s.port, 8080),
    ("port-0-is-8080", service(port=0), lambda s: s.port, 8080),
    ("leading-slash-added", service([endpoint("e/{id}", [backend("/b/{id}")])]),
     lambda s: first_endpoint(s).endpoint, "/e/{id}"),
    ("params-in-order", service([endpoint("/u/{id}/x/{name}")]), lambda s: first_endpoint(s).params, ("id", "name")),
    ("json-path-kept", service([endpoint(), endpoint("/f", [backend(), backend("/c")])]),
     lambda s: s.endpoints[1].backends[1].path, "endpoints[1].backend[1]"),
    # timeout: service -> endpoint -> backend; a backend "timeout" is ignored
    ("service-timeout-inherited", service(timeout="3s"), lambda s: first_endpoint(s).timeout, 3.0),
    ("endpoint-timeout-wins", service([endpoint(timeout="500ms")], timeout="3s"),
     lambda s: first_endpoint(s).timeout, 0.5),
    ("backend-gets-endpoint-timeout", service([endpoint(timeout="500ms", backends=[backend(timeout="10s")])]),
     lambda s: first_backend(s).timeout, 0.5),
    ("service-timeout-0-is-2s", service(timeout="0s"), lambda s: s.timeout, 2.0),
    ("bare-number-is-nanoseconds", service(timeout=3000), lambda s: s.timeout, pytest.approx(3e-6)),
    # method
    ("method-upper-cased", service([endpoint(method="post")]), lambda s: first_endpoint(s).method, "POST"),
    ("backend-inherits-method", service([endpoint(method="post")]), lambda s: first_backend(s).method, "POST"),
    ("backend-method-own", service([endpoint(method="get", backends=[backend(method="put")])]),
     lambda s: first_backend(s).method, "PUT"),
    # output_encoding
    ("service-output-inherited", service(output_encoding="string"),
     lambda s: first_endpoint(s).output_encoding, "string"),
    ("endpoint-output-wins", service([endpoint(output_encoding="xml")], output_encoding="string"),
     lambda s: first_endpoint(s).output_encoding, "xml"),
    # cache_ttl: endpoint value if non-zero, else service value
    ("service-cache-ttl-inherited", service(cache_ttl="1h"), lambda s: first_endpoint(s).cache_ttl, 3600.0),
    ("endpoint-cache-ttl-wins", service([endpoint(cache_ttl="10s")], cache_ttl="1h"),
     lambda s: first_endpoint(s).cache_ttl, 10.0),
    ("endpoint-cache-ttl-0-inherits", service([endpoint(cache_ttl="0s")], cache_ttl="1h"),
     lambda s: first_endpoint(s).cache_ttl, 3600.0),
    # hosts
    ("backend-inherits-service-host", service(host=["api.internal:8080/"]),
     lambda s: first_backend(s).hosts, ("http://api.internal:8080",)),
    ("backend-host-wins", service([endpoint(backends=[backend(host=["https://a.example", "b"])])]),
     lambda s: first_backend(s).hosts, ("https://a.example", "http://b")),
    ("service-hosts-sanitised", service(host=["x.example/"]), lambda s: s.hosts, ("http://x.example",)),
    ("disable-host-sanitize", service([endpoint(backends=[backend(host=["http://x.example/api/"],
                                                                  disable_host_sanitize=True)])]),
     lambda s: first_backend(s).hosts, ("http://x.example/api",)),
    # encodings
    ("backend-encoding-kept", service([endpoint(backends=[backend(encoding="safejson")])]),
     lambda s: first_backend(s).encoding, "safejson"),
    ("empty-encoding-is-json", service([endpoint(backends=[backend(encoding="")])]),
     lambda s: first_backend(s).encoding, "json"),
    ("no-op-forces-backend-encoding", service([endpoint(output_encoding="no-op", backends=[backend(encoding="json")])]),
     lambda s: first_backend(s).encoding, "no-op"),
    ("service-no-op-forces-backend-encoding", service(output_encoding="no-op"),
     lambda s: first_backend(s).encoding, "no-op"),
    # concurrent calls copied to the backend
    ("concurrent-copied", service([endpoint(concurrent_calls=3)]), lambda s: first_backend(s).concurrent_calls, 3),
    # backend manipulation fields
    ("backend-fields", service([endpoint(backends=[backend(target="data", allow=["a"], deny=["b"],
                                                           mapping={"a": "x"}, group="g", is_collection=True)])]),
     lambda s: (first_backend(s).target, first_backend(s).allow, first_backend(s).deny,
                dict(first_backend(s).mapping), first_backend(s).group, first_backend(s).is_collection),
     ("data", ("a",), ("b",), {"a": "x"}, "g", True)),
    ("disable-rest-inner-placeholder", service([endpoint("/file.{ext}", [backend("/f.{ext}")])], disable_rest=True),
     lambda s: first_endpoint(s).params, ("ext",)),
    ("jwt-placeholder-allowed", service([endpoint(backends=[backend("/u/{JWT.sub}?t={JWT_CLAIMS.tenant}")])]),
     lambda s: first_backend(s).url_pattern.source, "/u/{JWT.sub}?t={JWT_CLAIMS.tenant}"),
]


@pytest.mark.parametrize(("raw", "get", "expected"), [d[1:] for d in DEFAULTS], ids=[d[0] for d in DEFAULTS])
def test_defaults_and_inheritance(raw: dict[str, Any], get: Getter, expected: Any) -> None:
    assert get(build_service(raw)) == expected


# (raw, expected JSON path, a fragment of the message)
ERRORS: list[tuple[str, dict[str, Any], str, str]] = [
    ("version-2", service(version=2), "version", "unsupported version: 2 (want: 3)"),
    ("version-missing", {"host": [HOST], "endpoints": [endpoint()]}, "version", "unsupported version: None (want: 3)"),
    ("version-true", service(version=True), "version", "unsupported version: True"),
    ("zero-backends", service([endpoint(backends=[])]), "endpoints[0].backend", "endpoint /e has 0 backends defined"),
    ("backend-key-missing", service([{"endpoint": "/e"}]), "endpoints[0].backend", "0 backends defined"),
    ("undefined-placeholder", service([endpoint("/u/{id}", [backend("/x/{idd}")])]),
     "endpoints[0].backend[0].url_pattern", "placeholder {idd} is not an endpoint parameter (the endpoint has: {id})"),
    ("placeholder-case-matters", service([endpoint("/u/{id}", [backend("/x/{Id}")])]),
     "endpoints[0].backend[0].url_pattern", "placeholder {Id} is not an endpoint parameter"),
    ("placeholder-no-params", service([endpoint("/u", [backend(), backend("/x?q={q}")])]),
     "endpoints[0].backend[1].url_pattern", "placeholder {q} is not an endpoint parameter (the endpoint has: none)"),
    ("reserved-debug", service([endpoint("/__debug")]), "endpoints[0].endpoint", "is reserved or invalid"),
    ("reserved-debug-sub", service([endpoint("/__debug/x")]), "endpoints[0].endpoint", "is reserved or invalid"),
    ("reserved-echo", service([endpoint("/__echo/")]), "endpoints[0].endpoint", "is reserved or invalid"),
    ("reserved-health", service([endpoint("/__health")]), "endpoints[0].endpoint", "'/__health' is reserved"),
    ("reserved-nested-health", service([endpoint("/a/__health")]), "endpoints[0].endpoint", "is reserved or invalid"),
    ("wildcard", service([endpoint("/a/*x")]), "endpoints[0].endpoint", "is reserved or invalid"),
    ("inner-placeholder-needs-disable-rest", service([endpoint("/file.{ext}", [backend("/f")])]),
     "endpoints[0].endpoint", "placeholder {ext} must be a whole path segment"),
    ("service-host-scheme", service(host=["ftp://h"]), "host[0]", "invalid host 'ftp://h'"),
    ("service-host-path", service(host=[HOST, "http://x.com/api"]), "host[1]", "invalid host 'http://x.com/api'"),
    ("backend-host-ipv6", service([endpoint(backends=[backend(host=["http://[::1]:8080"])])]),
     "endpoints[0].backend[0].host[0]", "invalid host 'http://[::1]:8080'"),
    ("no-host-anywhere", service(host=[]), "endpoints[0].backend[0].host", "no host"),
    ("no-op-two-backends", service([endpoint(output_encoding="no-op", backends=[backend(), backend("/c")])]),
     "endpoints[0].output_encoding", "no-op endpoints must have exactly one backend"),
    ("bad-duration", service(timeout="3d"), "timeout", "'3d' is not a duration"),
    ("bad-endpoint-duration", service([endpoint(cache_ttl="soon")]), "endpoints[0].cache_ttl",
     "'soon' is not a duration"),
    ("negative-duration", service([endpoint(timeout="-1s")]), "endpoints[0].timeout", "negative duration '-1s'"),
    ("listen-ip", service(listen_ip="localhost"), "listen_ip", "invalid ip address 'localhost'"),
    ("port-range", service(port=70000), "port", "port 70000 out of range 1-65535"),
    ("port-type", service(port="8080"), "port", "expected an integer port, got '8080'"),
    ("concurrent-negative", service([endpoint(concurrent_calls=-1)]), "endpoints[0].concurrent_calls",
     "must be at least 1, got -1"),
    ("sd-dns", service([endpoint(backends=[backend(sd="dns")])]), "endpoints[0].backend[0].sd", "not implemented"),
    ("endpoint-not-object", service(["/e"]), "endpoints[0]", "expected an endpoint object, got '/e'"),
    ("backend-not-object", service([endpoint(backends=["/b"])]), "endpoints[0].backend[0]",
     "expected a backend object, got '/b'"),
    ("input-headers-type", service([endpoint(input_headers="X-A")]), "endpoints[0].input_headers",
     "expected a list of strings, got 'X-A'"),
    ("missing-endpoint-path", service([{"backend": [backend()]}]), "endpoints[0].endpoint", "missing endpoint path"),
    ("missing-url-pattern", service([endpoint(backends=[{"host": [HOST]}])]),
     "endpoints[0].backend[0].url_pattern", "missing url_pattern"),
    ("duplicate-endpoint-param", service([endpoint("/a/{x}/{x}", [backend("/b/{x}")])]), "endpoints[0].endpoint",
     "a placeholder appears twice"),
]


@pytest.mark.parametrize(("raw", "path", "fragment"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_carry_json_paths(raw: dict[str, Any], path: str, fragment: str) -> None:
    errors = errors_of(raw)
    assert any(p == path and fragment in m for p, m in errors), errors


def test_every_error_is_collected_and_printed_with_its_path() -> None:
    raw = service([endpoint("/u/{id}", [backend("/x/{idd}")]), endpoint(backends=[])], version=2)
    with pytest.raises(ConfigErrors) as info:
        build_service(raw)
    assert [e.path for e in info.value.errors] == ["version", "endpoints[0].backend[0].url_pattern",
                                                   "endpoints[1].backend"]
    lines = str(info.value).splitlines()
    assert lines[0] == "version: unsupported version: 2 (want: 3)"
    assert lines[1].startswith("endpoints[0].backend[0].url_pattern: placeholder {idd} is not an endpoint parameter")


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "connect"])
def test_unsupported_method_warns_and_skips_the_endpoint(method: str) -> None:
    s = build_service(service([endpoint("/skipped", method=method), endpoint("/kept")]))
    assert [e.endpoint for e in s.endpoints] == ["/kept"]
    assert len(s.warnings) == 1
    assert s.warnings[0].startswith(f"endpoints[0].method: unsupported method {method.upper()!r}; endpoint /skipped "
                                    "skipped")


@pytest.mark.parametrize(("raw", "ignored"), [
    (service(extra_config={"security/http": {}}), [("extra_config", "security/http")]),
    (service(extra_config={"github_com/devopsfaith/krakend-httpsecure": {}}), [("extra_config", "security/http")]),
    (service([endpoint(extra_config={"security/policies": {}})]),
     [("endpoints[0].extra_config", "security/policies")]),
    (service([endpoint(backends=[backend(extra_config={"backend/graphql": {}})])]),
     [("endpoints[0].backend[0].extra_config", "backend/graphql")]),
    (service(extra_config={"router": {}, "@comment": "x", "$x": 1, "_y": 2, "#z": 3}), []),
    (service([endpoint(extra_config={"proxy": {}, "auth/validator": {"alg": "RS256"}},
                       backends=[backend(extra_config={"proxy": {}, "backend/http": {}})])]), []),
    (service([endpoint(extra_config={"router": {}})]), [("endpoints[0].extra_config", "router")]),
], ids=["service", "service-legacy-alias", "endpoint", "backend", "implemented-and-comments",
        "implemented-endpoint-backend", "wrong-scope"])
def test_ignored_namespaces_are_recorded(raw: dict[str, Any], ignored: list[tuple[str, str]]) -> None:
    assert list(build_service(raw).ignored_namespaces) == ignored


def test_legacy_namespace_is_normalised_in_the_model() -> None:
    raw = service([endpoint(extra_config={"github.com/devopsfaith/krakend/proxy": {"sequential": True}})])
    assert dict(build_service(raw).endpoints[0].extra_config) == {"proxy": {"sequential": True}}


@pytest.mark.parametrize(("extra", "warned"), [
    ({}, True),
    ({"proxy": {"sequential": True}}, False),
], ids=["not-sequential", "sequential"])
def test_resp_placeholder_warns_unless_sequential(extra: dict[str, Any], warned: bool) -> None:
    raw = service([endpoint(extra_config=extra, backends=[backend("/a"), backend("/b/{resp0_id}")])])
    warnings = build_service(raw).warnings
    assert any("{resp0_id} only resolves with proxy.sequential" in w for w in warnings) is warned


def test_bare_number_duration_warns() -> None:
    warnings = build_service(service(timeout=3000)).warnings
    assert any(w.startswith("timeout: bare number 3000 read as nanoseconds") for w in warnings)


SANITIZE = [
    ("example.com", "http://example.com"),
    ("http://example.com", "http://example.com"),
    ("https://example.com", "https://example.com"),
    ("https://example.com/", "https://example.com"),
    ("localhost:8080", "http://localhost:8080"),
    ("http://my_host-1.local:65535/", "http://my_host-1.local:65535"),
    ("10.0.0.1:80", "http://10.0.0.1:80"),
    ("  example.com  ", "http://example.com"),
    ("http://example.com/api", None),
    ("ftp://example.com", None),
    ("HTTP://example.com", None),
    ("http://[::1]:8080", None),
    ("::1", None),
    ("example.com:1", None),
    ("example.com:1234567", None),
    ("example.com:80:90", None),
    ("http://", None),
    ("", None),
    ("user@example.com", None),
    ("example.com?x=1", None),
]


@pytest.mark.parametrize(("host", "expected"), SANITIZE, ids=[repr(h) for h, _ in SANITIZE])
def test_sanitize_host(host: str, expected: Optional[str]) -> None:
    assert sanitize_host(host) == expected
