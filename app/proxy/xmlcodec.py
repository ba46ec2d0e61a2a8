"""XML in and out, the way KrakenD's krakend-xml (on clbanning/mxj) does it.

Decoding (backend ``"encoding": "xml"``), with xmltodict over expat:

* element names are keys, without their namespace prefix (``<ns:a>`` -> ``a``);
* attributes are keys prefixed with ``-`` (``xmlns:ns="..."`` -> ``-ns``);
* text is a string with spaces, tabs and line breaks trimmed; an empty element
  is ``""``; the text of an element that also has attributes or children is
  under ``#text``; repeated elements become a list; every leaf is a string.

The body is untrusted: no DTD may declare entities (so no entity expansion
bombs and no external entities), nothing is ever fetched, and elements nest
at most ``MAX_DEPTH`` deep (checked as each element opens, so a deep document
is refused before it is built).  Every failure is a ``ValueError``.

Encoding (``output_encoding: "xml"``), written here because the bytes must
match mxj and xmltodict's writer escapes and quotes differently: a single
top-level key becomes the root element, otherwise the root is ``<doc>``;
keys are written sorted; ``-key`` becomes an attribute, ``#text`` the text;
lists repeat the element; ``null``, ``""``, ``{}`` and ``[]`` give ``<key/>``;
numbers keep their literal, booleans are ``true``/``false``; ``& < > " '``
are escaped.  Deviations from mxj, for well-formed output: a single
top-level key holding a list is wrapped in ``<doc>`` (mxj writes several root
elements), names that are not XML names without a colon (NCNames) get ``_``
for each bad character (``dc:title`` -> ``dc_title``: an undeclared prefix
breaks namespace-aware readers), and characters XML cannot carry become
U+FFFD.  A value mxj refuses (an attribute that is not a scalar), and two
attributes that end up with one name, raise ``XMLEncodeError``.
"""
from __future__ import annotations

import decimal
import math
import re
from functools import lru_cache
from typing import Any, Callable, Optional
from xml.parsers import expat
from xml.sax.saxutils import escape

import xmltodict

from app.jsoncodec import RawNumber

MAX_DEPTH = 200
TEXT = "#text"
_TRIM = "\t\r\n\b "  # mxj trims exactly these, not every Unicode space
_QUOTES = {'"': "&quot;", "'": "&apos;"}


class XMLEncodeError(ValueError):
    pass


# --------------------------------------------------------------------------- decoding

class _BoundedParser:
    """A pyexpat parser whose element-start handler refuses nesting beyond ``MAX_DEPTH``.

    xmltodict documents its ``expat`` argument as the place to hand in a
    hardened expat; it only assigns handlers and flags and calls ``Parse``.
    """

    def __init__(self, parser: Any) -> None:
        self.__dict__["_parser"] = parser
        self.__dict__["_depth"] = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "StartElementHandler":
            value = self._bounded_start(value)
        elif name == "EndElementHandler":
            value = self._bounded_end(value)
        setattr(self._parser, name, value)

    def _bounded_start(self, handler: Callable[..., None]) -> Callable[..., None]:
        def start(name: str, attrs: Any) -> None:
            self.__dict__["_depth"] += 1
            if self._depth > MAX_DEPTH:
                raise ValueError(f"XML nested deeper than {MAX_DEPTH} elements")
            handler(name, attrs)
        return start

    def _bounded_end(self, handler: Callable[..., None]) -> Callable[..., None]:
        def end(name: str) -> None:
            self.__dict__["_depth"] -= 1
            handler(name)
        return end


class _HardenedExpat:
    """The ``expat`` module as xmltodict sees it."""

    @staticmethod
    def ParserCreate(encoding: Optional[str] = None,  # noqa: N802 (the expat module's name)
                     namespace_separator: Optional[str] = None) -> _BoundedParser:
        parser = expat.ParserCreate(encoding, namespace_separator)
        # Never read an external DTD or parameter entity (also expat's default).
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        return _BoundedParser(parser)


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _as_mxj(_path: Any, key: str, value: Any) -> Optional[tuple[str, Any]]:
    """xmltodict postprocessor: mxj's names and values."""
    if key == TEXT:
        text = value.strip(_TRIM)
        return (key, text) if text else None
    if key.startswith("-"):  # an attribute (element names cannot start with "-"): value kept as is
        return "-" + _local(key[1:]), value
    if value is None:
        value = ""
    elif isinstance(value, str):
        value = value.strip(_TRIM)
    return _local(key), value


def loads(body: bytes) -> dict[str, Any]:
    """An XML document as mxj's map; raises ``ValueError`` for anything else."""
    try:
        doc = xmltodict.parse(body, expat=_HardenedExpat, disable_entities=True, attr_prefix="-",
                              cdata_key=TEXT, strip_whitespace=False, postprocessor=_as_mxj)
    except (expat.ExpatError, LookupError) as exc:  # LookupError: an encoding Python does not know
        raise ValueError(f"invalid XML: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError("no XML element")
    return doc


# --------------------------------------------------------------------------- encoding

_START = ("A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
          "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff")
_MORE = "\\-.0-9\u00b7\u0300-\u036f\u203f-\u2040"
_NAME = re.compile(f"[{_START}][{_START}{_MORE}]*")
_START_CHAR = re.compile(f"[{_START}]")
_NAME_CHAR = re.compile(f"[{_START}{_MORE}]")
_NOT_NAME_CHAR = re.compile(f"[^{_START}{_MORE}]")
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


_CACHED_NAME = 256  # longer keys are not kept, so the cache's memory stays bounded


def _name(key: str) -> str:
    return _cached_name(key) if len(key) <= _CACHED_NAME else _make_name(key)


@lru_cache(maxsize=4096)
def _cached_name(key: str) -> str:
    return _make_name(key)


def _make_name(key: str) -> str:
    if _NAME.fullmatch(key):
        return key
    if key and not _START_CHAR.match(key) and _NAME_CHAR.match(key):  # a digit, "-" or "." first: keep it
        key = "_" + key
    return _NOT_NAME_CHAR.sub("_", key) or "_"


def _escape(text: str) -> str:
    return escape(_NOT_XML_CHAR.sub("\ufffd", text), _QUOTES)


def go_float(value: float) -> str:
    """A float as Go's ``%v`` / ``strconv.FormatFloat(f, 'g', -1, 64)`` writes it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + int(exponent)  # position of the decimal point in ``text``
    prefix = "-" if sign else ""
    exp = point - 1
    if exp < -4 or exp >= 6:  # Go's shortest 'g' switches to %e from 1e+06 and below 1e-04
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{exp:+03d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, RawNumber):
        return value.literal
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if value is None:
        return ""
    raise XMLEncodeError(f"cannot write {type(value).__name__} as XML text")


def _element(out: list[str], key: str, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise XMLEncodeError(f"data nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, list):
        if not value:
            out.append(f"<{_name(key)}/>")
        for item in value:  # nested lists flatten into repeated elements, as in mxj
            _element(out, key, item, depth + 1)
        return
    tag = _name(key)
    if isinstance(value, dict):
        _mapping(out, tag, value, depth)
        return
    text = _scalar(value)
    out.append(f"<{tag}>{text}</{tag}>" if text else f"<{tag}/>")


def _mapping(out: list[str], tag: str, value: dict[str, Any], depth: int) -> None:
    start = [f"<{tag}"]
    children = []
    names = set()
    for key in sorted(value):
        if len(key) > 1 and key[0] == "-":
            attribute, name = value[key], _name(key[1:])
            if attribute is None or isinstance(attribute, (dict, list)):
                raise XMLEncodeError(f"invalid attribute value for: {key}")
            if name in names:  # "-a b" and "-a_b" would repeat an attribute: not XML
                raise XMLEncodeError(f"two attributes named {name}")
            names.add(name)
            start.append(f' {name}="{_scalar(attribute)}"')
        elif key != TEXT:
            children.append(key)
    if not children and TEXT not in value:
        out.append("".join(start) + "/>")
        return
    out.append("".join(start) + ">")
    if TEXT in value:  # the text goes first, then any children (mxj issue #90)
        if isinstance(value[TEXT], (dict, list)):
            raise XMLEncodeError("#text must be a scalar")
        out.append(_scalar(value[TEXT]))
    for key in children:
        _element(out, key, value[key], depth + 1)
    out.append(f"</{tag}>")


def dumps(data: dict[str, Any]) -> bytes:
    """The data object as an XML document without declaration; raises ``XMLEncodeError``."""
    out: list[str] = []
    if len(data) == 1 and not isinstance(next(iter(data.values())), list):
        key, value = next(iter(data.items()))
        _element(out, key, value, 0)
    else:
        _mapping(out, "doc", data, 0)
    return "".join(out).encode()
