"""``output_encoding: "negotiate"``: pick json, yaml or xml from the client's ``Accept``.

This is gin's ``Context.NegotiateFormat`` as lura calls it, offering
``application/json`` (json), ``text/plain`` (yaml) and ``application/xml``
(xml), in that order:

* the header is split at commas; each entry loses its parameters (``;q=...``
  included: q-values are ignored, the order of the entries decides) and
  surrounding spaces; empty entries are dropped;
* no entries (header missing or blank) -> the first offer, json;
* the first entry that matches any offer wins, offers tried in order; an entry
  matches when it equals the offer, is a prefix of it, or has a ``*`` where
  they first differ (so ``*/*`` and ``application/*`` give json, ``text/*``
  gives yaml); comparison is case-sensitive, as in gin;
* nothing matches -> json.

Deviation (extension): ``application/x-yaml`` and ``application/yaml`` are
offered after gin's three, so a client asking for YAML by its own MIME type
gets YAML where KrakenD answers JSON; every answer gin would give is unchanged.
"""
from __future__ import annotations

OFFERS: tuple[tuple[str, str], ...] = (
    ("application/json", "json"),
    ("text/plain", "yaml"),
    ("application/xml", "xml"),
    ("application/x-yaml", "yaml"),
    ("application/yaml", "yaml"),
)


def accepted(header: str) -> list[str]:
    """gin's ``parseAccept``: media ranges in header order, parameters dropped."""
    out = []
    for part in header.split(","):
        cut = part.find(";")
        if cut > 0:  # gin cuts only when ";" is not the first character
            part = part[:cut]
        part = part.strip()
        if part:
            out.append(part)
    return out


def _matches(entry: str, offer: str) -> bool:
    for a, o in zip(entry, offer):
        if a == "*" or o == "*":
            return True
        if a != o:
            return False
    return len(entry) <= len(offer)


def choose(header: str) -> str:
    """The renderer name (``json``, ``yaml`` or ``xml``) for an ``Accept`` header value."""
    entries = accepted(header)
    if not entries:
        return OFFERS[0][1]
    for entry in entries:
        for offer, name in OFFERS:
            if _matches(entry, offer):
                return name
    return "json"
