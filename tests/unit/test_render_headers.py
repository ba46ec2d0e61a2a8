"""``render.answer_headers``: which headers of an answer may reach the client."""
from __future__ import annotations

import pytest

from app.router.render import OWN_HEADERS, answer_headers


@pytest.mark.parametrize("headers, taken, kept", [
    ([("X-A", "1"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")], OWN_HEADERS,
     [("X-A", "1"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]),
    ([("Content-Length", "3"), ("Transfer-Encoding", "chunked"), ("connection", "close"), ("Keep-Alive", "5"),
      ("Content-Encoding", "gzip"), ("Upgrade", "h2c"), ("Server", "x"), ("X-A", "1")], OWN_HEADERS, [("X-A", "1")]),
    ([("X-Krakend", "fake"), ("x-krakend-completed", "true"), ("X-A", "1")], OWN_HEADERS, [("X-A", "1")]),
    ([("Content-Type", "text/html"), ("Vary", "Origin")], {"content-type"}, [("Vary", "Origin")]),
    ([("X-A", "a\r\nInjected: 1"), ("X-B", "a\nb"), ("X-C", "a\x00b"), ("X-D", "\x7f"), ("X-E", "tab\tok")],
     OWN_HEADERS, [("X-E", "tab\tok")]),
    ([("X-A\r\nInjected", "1"), ("Bad Name", "1"), ("X:A", "1"), ("", "1"), ("X-Ok", "1")], OWN_HEADERS,
     [("X-Ok", "1")]),
    ([("X-Latin", "caf\xe9"), ("X-Euro", "\u20ac")], OWN_HEADERS, [("X-Latin", "caf\xe9")]),
], ids=["kept-in-order-with-repeats", "framing-and-fingerprints", "gateway-own", "taken-by-the-renderer",
        "control-characters", "invalid-names", "latin-1-only"])
def test_answer_headers(headers, taken, kept):
    assert answer_headers(headers, taken) == kept
