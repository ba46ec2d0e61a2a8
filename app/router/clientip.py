"""Who the client is: the socket peer, unless that peer is a trusted proxy.

Deviation from KrakenD (whose router believes ``X-Forwarded-For`` from any
peer by default): only peers inside ``GATEWAY_TRUSTED_PROXIES`` may name the
client, and then the right-most address of their ``X-Forwarded-For`` that is
not itself a trusted proxy is the client.
"""
from __future__ import annotations

import ipaddress
from typing import Mapping, Sequence

from app.settings import IPNetwork


def is_trusted(address: str, networks: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def strip_port(hop: str) -> str:
    """``1.2.3.4:80`` -> ``1.2.3.4``, ``[::1]:80`` -> ``::1`` (some proxies append the port)."""
    if hop.startswith("["):
        return hop[1:].split("]", 1)[0]
    return hop.rsplit(":", 1)[0] if hop.count(":") == 1 else hop


def client_ip(environ: Mapping[str, object], trusted: Sequence[IPNetwork]) -> str:
    peer = str(environ.get("REMOTE_ADDR") or "")
    if not trusted or not is_trusted(peer, trusted):
        return peer
    forwarded = str(environ.get("HTTP_X_FORWARDED_FOR") or "")
    for hop in reversed([strip_port(h.strip()) for h in forwarded.split(",") if h.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer
        if not is_trusted(hop, trusted):
            return hop
    return peer
