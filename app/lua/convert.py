"""Values between Lua (lupa, ``encoding=None``) and the gateway's JSON data.

Pure functions, following krakend-lua (``types.go`` ``ParseToTable`` and the
``luaTable``/``luaList`` getters and setters):

* to Lua: strings as UTF-8 bytes, booleans, integers (outside 64 bits: a
  float), literal-preserving numbers (``jsoncodec.RawNumber``) as floats
  (Go reads ``json.Number`` as ``float64``), ``null`` as ``luaNil``, objects
  and arrays as ``luaTable`` / ``luaList`` views of the same Python dict /
  list (changes through them change the data, as in KrakenD);
* from Lua: a Lua string becomes ``str`` (invalid UTF-8 replaced, as Go's
  encoder does), an integral float within 64 bits an ``int`` and any other
  float a ``RawNumber`` with Go's ``encoding/json`` text (``1e+21``,
  ``1e-7``), so the data keeps encoding like KrakenD's.  NaN and infinities
  cannot be encoded and are an error.  A plain Lua table set with
  ``luaTable:set``/``luaList:set`` becomes an object with string keys (Lua
  ``{"a", "b"}`` is ``{"1": "a", "2": "b"}``, krakend-lua's quirk); tables
  nested inside it become arrays when every key is an integer (sorted by
  key) and ``null`` when empty.  Functions, coroutines and other userdata
  are left out.  Values untouched by a script keep their literal.

Names of values that have none (a table as a key, a table as a header
value) are ``table: 0x...``-like, as Lua's ``tostring`` without
``__tostring``: converting never runs Lua code (a ``__tostring`` would run
outside the script's error handling) nor a Python ``repr`` of script data
(a DAG of lists has an exponential one).  ``check_tree`` bounds data leaving
a script that linked containers into each other.

``from_lua`` receives tables already translated by the prelude: handles of
``luaTable``/``luaList`` replaced by their Python dict/list and ``luaNil``
by ``NIL``.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Optional

from lupa import lua54

from app.jsoncodec import RawNumber

INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
#: Tags of what a bridge returns to the prelude, which wraps the value accordingly.
VALUE, TABLE, LIST, NIL_TAG, HTTP = 0, 1, 2, 3, 4
#: Nesting limit for tables converted from Lua (a table may contain itself).
MAX_DEPTH = 64
#: Bounds of data a script linked containers into (``check_tree``): values plus characters, depth.
MAX_SIZE, MAX_NESTING = 2 ** 27, 200
_INTEGER_KEY = re.compile(r"[+-]?[0-9]+")


class _Nil:
    """``luaNil``: a JSON null a script can store and read back (Lua nil deletes)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NIL"


NIL = _Nil()
#: A value with no JSON form (functions, coroutines, foreign userdata): left out.
SKIP = object()


class ConversionError(ValueError):
    """A Lua value that has no JSON form the gateway may write (NaN, a too deeply nested table)."""


@dataclass
class Tally:
    """What one ``from_lua`` made: Python bytes (about) and whether it kept a container by reference."""

    size: int = 0
    linked: bool = False


def opaque(value: Any) -> str:
    """A value without a text of its own named as Lua names it (``table: 0x...``), running nothing."""
    kind = lua54.lua_type(value) or "userdata"
    return f"{kind}: 0x{id(value):x}"


def go_float(value: float) -> str:
    """Go's ``encoding/json`` text of a float64: shortest digits, ``e`` only below 1e-6 or from 1e21."""
    if not math.isfinite(value):
        raise ConversionError(f"unsupported value: {value}")
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    text = repr(value)
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        mantissa, _, exponent = text.partition("e")
        sign, digits = exponent[0], exponent[1:].lstrip("0") or "0"
        # Go writes at least two exponent digits, then json trims "e-07" to "e-7".
        if sign == "+" and len(digits) < 2:
            digits = digits.rjust(2, "0")
        return f"{mantissa}e{sign}{digits}"
    fixed = format(Decimal(text), "f")
    return fixed.rstrip("0").rstrip(".") if "." in fixed else fixed


def lua_number(value: float) -> Any:
    """A Lua float as gateway data: an ``int`` when integral within 64 bits, else Go's literal."""
    if value.is_integer() and INT64_MIN <= value <= INT64_MAX:
        return int(value)
    return RawNumber(go_float(value))


def key_text(key: Any) -> str:
    """A Lua table key as krakend-lua names it (``LValue.String()``)."""
    if isinstance(key, bytes):
        return key.decode("utf-8", "replace")
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return go_float(key) if math.isfinite(key) else str(key)
    if isinstance(key, str):
        return key
    if key is NIL:
        return "luaNil"
    return opaque(key)


def text(value: Any) -> str:
    """A Lua argument read as a string (krakend-lua's ``c.Arg(n).String()``)."""
    if value is None:
        return "nil"
    return key_text(value)


def number(value: Any) -> float:
    """A Lua argument read as a number (``c.Arg(n).Number()``); strings holding numbers are accepted."""
    if isinstance(value, bool):
        raise ConversionError("number expected, got boolean")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, bytes):
        try:
            return float(value)
        except ValueError:
            pass
    raise ConversionError(f"number expected, got {type(value).__name__}")


def to_lua(value: Any) -> tuple[int, Any]:
    """``(tag, value)`` for the prelude: scalars as Lua values, containers as handles to wrap."""
    if isinstance(value, str):
        return VALUE, value.encode()
    if isinstance(value, bool):
        return VALUE, value
    if value is None or value is NIL:
        return NIL_TAG, None
    if isinstance(value, int):
        return VALUE, value if INT64_MIN <= value <= INT64_MAX else float(value)
    if isinstance(value, float):
        return VALUE, value
    if isinstance(value, RawNumber):
        return VALUE, float(value.literal)
    if isinstance(value, dict):
        return TABLE, value
    if isinstance(value, list):
        return LIST, value
    raise ConversionError(f"unknown type ({type(value).__name__})")


def from_lua(value: Any, is_table: Callable[[Any], bool], nested: bool = False, depth: int = 0,
             tally: Optional[Tally] = None) -> Any:
    """A (translated) Lua value as gateway data, or ``SKIP`` when it has no JSON form.

    ``is_table`` tells lupa's Lua tables apart (``lupa.lua_type(v) == "table"``).
    ``nested`` applies krakend-lua's array rule to tables inside tables.
    ``tally`` (when given) counts what the conversion allocated.
    """
    tally = tally if tally is not None else Tally()
    tally.size += 16
    if value is NIL:
        return None
    if isinstance(value, bytes):
        tally.size += len(value)
        return value.decode("utf-8", "replace")
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return lua_number(value)
    if isinstance(value, (dict, list)):
        tally.linked = True  # a luaTable/luaList handle: stored by reference, as krakend-lua does
        return value
    if is_table(value):
        if depth >= MAX_DEPTH:
            raise ConversionError("table nested too deeply (or containing itself)")
        out: dict[str, Any] = {}
        for key, item in value.items():
            converted = from_lua(item, is_table, True, depth + 1, tally)
            if converted is not SKIP:
                out[key_text(key)] = converted
                tally.size += 64
        return as_array(out) if nested else out
    return SKIP


def check_tree(data: Any, deadline: float = math.inf) -> None:
    """ConversionError when ``data`` contains itself, or when written out it would exceed
    ``MAX_SIZE`` (values plus string characters) or ``MAX_NESTING`` levels, or takes past
    ``deadline`` (``time.monotonic()``) to tell.

    Measured once per distinct container: a DAG of forty levels (``2 ** 40``
    values once written) is refused at once.  Shared containers stay shared,
    as the maps krakend-lua links.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    count = [0]

    def measure(value: Any, depth: int) -> int:
        if isinstance(value, str):
            return 1 + len(value)
        if not isinstance(value, (dict, list)):
            return 1
        known = sizes.get(id(value))
        if known is not None:
            return known
        if id(value) in on_path or depth > MAX_NESTING:
            raise ConversionError("answer data too deep or containing itself")
        count[0] += 1
        if not count[0] % 4096 and time.monotonic() > deadline:
            raise ConversionError("answer data: deadline passed while checking it")
        on_path.add(id(value))
        size = 1
        items = value.values() if isinstance(value, dict) else value
        for item in items:
            size += measure(item, depth + 1)
            if size > MAX_SIZE:
                raise ConversionError("answer data too large")
        if isinstance(value, dict):
            size += sum(map(len, value))
        on_path.discard(id(value))
        sizes[id(value)] = size
        return size
    try:
        measure(data, 0)
    except RecursionError:  # a deep stack already: as too deep
        raise ConversionError("answer data too deep") from None


def as_array(table: dict[str, Any]) -> Any:
    """krakend-lua's ``tryConvertToArray``: integer keys -> list sorted by key (empty -> null)."""
    if not all(_INTEGER_KEY.fullmatch(k) for k in table):
        return table
    if not table:
        return None
    return [value for _, value in sorted(table.items(), key=lambda kv: int(kv[0]))]
