"""app.router.clientip.client_ip: socket peer unless a trusted proxy names the client."""
from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from app.router.clientip import client_ip
from app.settings import IPNetwork


def nets(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


PROXIES = nets("10.0.0.0/8", "192.168.0.0/16")

CASES: list[tuple[str, dict[str, Any], tuple[IPNetwork, ...], str]] = [
    ("no-trusted-proxies-ignores-xff", {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}, (),
     "10.0.0.1"),
    ("untrusted-peer-ignores-xff", {"REMOTE_ADDR": "198.51.100.9", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}, PROXIES,
     "198.51.100.9"),
    ("trusted-peer-single-hop", {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}, PROXIES,
     "203.0.113.7"),
    ("rightmost-untrusted-wins", {"REMOTE_ADDR": "10.0.0.1",
                                  "HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.7, 192.168.1.1, 10.0.0.2"}, PROXIES,
     "203.0.113.7"),
    ("all-hops-trusted", {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "10.0.0.3, 192.168.1.1"}, PROXIES,
     "10.0.0.1"),
    ("no-xff", {"REMOTE_ADDR": "10.0.0.1"}, PROXIES, "10.0.0.1"),
    ("empty-xff", {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": " , "}, PROXIES, "10.0.0.1"),
    ("garbage-left-of-client-ignored", {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "garbage, 203.0.113.7"},
     PROXIES, "203.0.113.7"),
    ("garbage-hop-falls-back-to-peer", {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7, garbage"},
     PROXIES, "10.0.0.1"),
    ("ip-with-port-port-dropped", {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7:5000"},
     PROXIES, "203.0.113.7"),
    ("ipv6-with-port-port-dropped", {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "[2001:db8::1]:443"},
     PROXIES, "2001:db8::1"),
    ("ipv6", {"REMOTE_ADDR": "::1", "HTTP_X_FORWARDED_FOR": "2001:db8::1"}, nets("::1/128"), "2001:db8::1"),
    ("ipv4-peer-ipv6-networks", {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}, nets("::/0"),
     "10.0.0.1"),
    ("spaces-trimmed", {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "  203.0.113.7  "}, PROXIES,
     "203.0.113.7"),
    ("no-remote-addr", {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}, PROXIES, ""),
]


@pytest.mark.parametrize(("environ", "trusted", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_client_ip(environ: dict[str, Any], trusted: tuple[IPNetwork, ...], expected: str) -> None:
    assert client_ip(environ, trusted) == expected
