"""OpenTelemetry traces exported over real OTLP/HTTP to a local receiver."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


class Receiver:
    """An OTLP/HTTP trace receiver on loopback, keeping every span it is sent."""

    def __init__(self) -> None:
        self.spans: list = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                message = ExportTraceServiceRequest()
                message.ParseFromString(body)
                for resource in message.resource_spans:
                    for scope in resource.scope_spans:
                        receiver.spans.extend((resource, span) for span in scope.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.port = self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def test_one_aggregated_request_gives_an_endpoint_span_with_one_child_per_backend(gateway, backend, receiver):
    gw = gateway({"name": "traced", "extra_config": {"telemetry/opentelemetry": {
        "exporters": {"otlp": [{"name": "local", "host": "127.0.0.1", "port": receiver.port, "use_http": True}]}}},
        "endpoints": [{"endpoint": "/agg", "backend": [
            {"host": [backend.url], "url_pattern": "/echo/a", "group": "a"},
            {"host": [backend.url], "url_pattern": "/echo/b", "group": "b"}]}]})
    incoming_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = gw.get("/agg", headers={"traceparent": f"00-{incoming_trace}-00f067aa0ba902b7-01"})
    assert response.status_code == 200
    gw.app.config["PROPYLON_DEPS"].tracing.provider.force_flush()
    spans = [span for _, span in receiver.spans]
    server = [s for s in spans if s.name == "GET /agg"]
    clients = [s for s in spans if s.name.startswith("GET /echo/")]
    assert len(server) == 1 and len(clients) == 2
    assert server[0].trace_id.hex() == incoming_trace
    assert server[0].parent_span_id.hex() == "00f067aa0ba902b7"
    assert all(c.parent_span_id == server[0].span_id and c.trace_id == server[0].trace_id for c in clients)
    seen = {r.path: r.header("traceparent") for r in backend.requests}
    for client in clients:
        path = "/echo/" + client.name.rsplit("/", 1)[1]
        assert seen[path] == [f"00-{incoming_trace}-{client.span_id.hex()}-01"]
    resource = receiver.spans[0][0].resource
    assert any(a.key == "service.name" and a.value.string_value == "traced" for a in resource.attributes)


def test_sampling_rate_zero_sends_nothing(gateway, backend, receiver):
    gw = gateway({"extra_config": {"telemetry/opentelemetry": {"trace_sample_rate": 0, "exporters": {
        "otlp": [{"name": "local", "host": "127.0.0.1", "port": receiver.port, "use_http": True}]}}},
        "endpoints": [{"endpoint": "/a", "backend": [{"host": [backend.url], "url_pattern": "/echo/a"}]}]})
    assert gw.get("/a").status_code == 200
    gw.app.config["PROPYLON_DEPS"].tracing.provider.force_flush()
    assert receiver.spans == []
    flags = backend.last().header("traceparent")[0].rsplit("-", 1)[1]
    assert int(flags, 16) & 1 == 0  # propagated, marked not sampled
