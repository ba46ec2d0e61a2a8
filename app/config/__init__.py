"""Configuration: krakend.json (version 3) in, frozen model out.

Order: ``loader`` (file -> raw tree) -> ``namespaces`` (alias normalisation)
-> ``build`` (validation + service->endpoint->backend inheritance) -> ``model``.
"""
from __future__ import annotations

from app.config.build import build_service
from app.config.loader import load_raw
from app.config.model import BackendConfig, EndpointConfig, ServiceConfig


def load(path: str) -> ServiceConfig:
    """Load, validate and build the configuration at ``path``.

    Raises ``ConfigErrors`` listing every problem with its JSON path.
    """
    return build_service(load_raw(path), source=path)


__all__ = ["load", "BackendConfig", "EndpointConfig", "ServiceConfig"]
