"""Product identity: the name and version Propylon reports on the wire.

KrakenD sends ``User-Agent: KrakenD Version X`` to backends and answers with
``X-Krakend: Version X``; Propylon keeps the same shapes with its own name so
backends and dashboards built for KrakenD keep working.
"""
from __future__ import annotations

NAME = "Propylon"
VERSION = "0.1.0"
#: Sent as the backend ``User-Agent`` (or ``X-Forwarded-Via`` when the client's
#: agent is forwarded).
IDENTITY = f"{NAME} Version {VERSION}"
#: Value of the ``X-Krakend`` response header.
VERSION_HEADER = f"Version {VERSION}"
