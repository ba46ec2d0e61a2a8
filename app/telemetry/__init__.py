"""Telemetry: Prometheus metrics (and, later, traces and logs)."""
