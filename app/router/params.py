"""Path-parameter hygiene, checked before any backend is called.

KrakenD parity: a parameter that still holds a percent sign (it would decode
again: double encoding, or an invalid escape) is refused with 400
``error: encoded url params`` unless router ``disable_path_decoding``.
Deviations, always on: ``.`` and ``..``, ``?``, ``#``, ``\\``, ``;``, control
characters, invalid UTF-8, and an encoded ``/`` anywhere in the raw path are
refused the same way, so a value can never walk or re-shape the backend URL.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping

BAD_PARAMS_BODY = b"error: encoded url params"
_ALWAYS_BAD = re.compile(r"[?#\\;\x00-\x1f\x7f\ufffd]")
_ENCODED_SLASH = re.compile(r"%2f", re.IGNORECASE)


def params_ok(values: Iterable[str], environ: Mapping[str, object], check_encoding: bool) -> bool:
    """False when any parameter (or the raw path) breaks the rules above."""
    for value in values:
        if value in (".", "..") or _ALWAYS_BAD.search(value):
            return False
        if check_encoding and "%" in value:
            return False
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
    return not _ENCODED_SLASH.search(raw.split("?", 1)[0])
