"""Backend body decoders: bytes -> data object, per backend ``encoding``.

``json`` (default, also for unknown names as in KrakenD) wants an object,
or an array when ``is_collection``; ``safejson`` takes anything; ``string``
wraps the text; ``xml`` is krakend-xml's mapping (``app.proxy.xmlcodec``),
the whole document under ``collection`` when ``is_collection``.  Arrays land
under ``collection``, scalars under ``content``.  ``rss`` is not implemented
(it decodes as json, with a start-up warning).
"""
from __future__ import annotations

from typing import Any, Callable

from app import jsoncodec
from app.proxy import xmlcodec

Decoder = Callable[[bytes], dict[str, Any]]

IMPLEMENTED = ("json", "safejson", "string", "no-op", "xml")


class NotAnObject(ValueError):
    pass


def _json(body: bytes) -> dict[str, Any]:
    value = jsoncodec.loads(body)
    if value is None:
        return {}  # Go decodes null into an empty map without error
    if not isinstance(value, dict):
        raise NotAnObject(f"expected a JSON object, got {type(value).__name__}")
    return value


def _json_collection(body: bytes) -> dict[str, Any]:
    value = jsoncodec.loads(body)
    if value is None:
        return {"collection": None}
    if not isinstance(value, list):
        raise NotAnObject(f"expected a JSON array (is_collection), got {type(value).__name__}")
    return {"collection": value}


def _safejson(body: bytes) -> dict[str, Any]:
    value = jsoncodec.loads(body)
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {"collection": value}
    return {"content": value}


def _string(body: bytes) -> dict[str, Any]:
    return {"content": body.decode("utf-8", "replace")}


def _xml_collection(body: bytes) -> dict[str, Any]:
    return {"collection": xmlcodec.loads(body)}  # krakend-xml wraps the map itself, not a list


def decoder_for(encoding: str, is_collection: bool) -> Decoder:
    """The decoder for a backend; raises nothing at build time (unknown -> json)."""
    if encoding == "xml":
        return _xml_collection if is_collection else xmlcodec.loads
    if encoding == "safejson":
        return _safejson
    if encoding == "string":
        return _string  # lura's string decoder ignores is_collection
    return _json_collection if is_collection else _json
