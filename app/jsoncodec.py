"""JSON in and out, byte-compatible with KrakenD.

Decoding keeps every number literal exactly as the backend wrote it
(``1.0`` stays ``1.0``, big integers are not rounded): floats and integers
beyond 64 bits become ``orjson.Fragment`` leaves that are written back
verbatim (``RawNumber``).  Encoding matches Go's ``encoding/json``: keys sorted, no spaces,
``<``, ``>``, ``&``, U+2028 and U+2029 escaped, no trailing newline.
"""
from __future__ import annotations

import json
import re
import secrets
from typing import Any

import orjson

_I64_DIGITS = 18  # any integer literal this short fits in 64 bits


class RawNumber:
    """A JSON number kept as the literal text the backend sent."""

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawNumber) and other.literal == self.literal

    def __hash__(self) -> int:
        return hash(self.literal)

    def __repr__(self) -> str:
        return f"RawNumber({self.literal!r})"


def _number(literal: str) -> Any:
    return RawNumber(literal)


def _integer(literal: str) -> Any:
    if literal == "-0":
        return RawNumber(literal)
    if len(literal.lstrip("-")) <= _I64_DIGITS:
        return int(literal)
    value = int(literal) if len(literal) < 4000 else None
    if value is not None and -(2 ** 63) <= value < 2 ** 64:
        return value
    return RawNumber(literal)


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_float=_number, parse_int=_integer, parse_constant=_constant)


def loads(body: bytes) -> Any:
    """Decode a backend body; invalid UTF-8 is replaced as Go does. Raises ``ValueError``."""
    text = body.decode("utf-8", "replace")
    return _DECODER.decode(text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """``text`` with its lone surrogates (a JSON ``"\\ud800"`` escape) as U+FFFD, as Go's decoder reads them.

    Python's decoder keeps them, and neither UTF-8 nor RE2 can carry them.
    """
    return _SURROGATE.sub("\ufffd", text)


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return without_surrogates(value)
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    return value


def _fragment(value: Any) -> Any:
    if isinstance(value, RawNumber):
        return orjson.Fragment(value.literal)
    raise TypeError(f"cannot encode {type(value).__name__}")


_ESCAPES = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"),
            ("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"))


def dumps(data: Any) -> bytes:
    """Encode as Go's ``json.Marshal`` would (sorted keys, HTML-safe escapes)."""
    try:
        out = orjson.dumps(data, default=_fragment, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:
        if "recursion" in str(exc).lower():
            out = _deep_dumps(data)
        else:
            # A lone surrogate escape (\\ud800) decodes to a str that is not valid
            # UTF-8; Go decodes it as U+FFFD.  Rare, so only repaired on failure.
            out = orjson.dumps(_replace_surrogates(data), default=_fragment, option=orjson.OPT_SORT_KEYS)
    # These bytes can only occur inside strings (fragments are numbers), so a
    # plain replace is exact.
    for raw, escaped in _ESCAPES:
        if raw in out:
            out = out.replace(raw, escaped)
    return out


def _deep_dumps(data: Any) -> bytes:
    """The slow path for data nested deeper than orjson's 255 levels.

    Anything the decoder accepted (bounded by Python's recursion limit) is
    encodable by the standard library's C encoder, which has the same short
    escapes as orjson.  Number literals travel as unique placeholder strings
    (a fresh nonce per call, so no backend string can collide) and are put
    back verbatim; lone surrogates can only sit inside strings, so replacing
    them in the text is exact.
    """
    nonce = secrets.token_hex(8)
    literals: list[str] = []

    def placeholder(value: Any) -> str:
        if not isinstance(value, RawNumber):
            raise TypeError(f"cannot encode {type(value).__name__}")
        literals.append(value.literal)
        return f"{nonce}:{len(literals) - 1}"

    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=placeholder)
    for index, literal in enumerate(literals):
        text = text.replace(f'"{nonce}:{index}"', literal, 1)
    return without_surrogates(text).encode()


def scalar_text(value: Any) -> str:
    """A decoded value as lura writes it into a URL (sequential ``{respN_x}`` values).

    Like Go's ``fmt`` (``%v``), except that a top-level array is joined with
    commas.
    """
    if isinstance(value, list):
        return ",".join(_go_value(v) for v in value)
    return _go_value(value)


def _go_value(value: Any) -> str:
    """Go's ``fmt.Sprint`` of a decoded JSON value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, RawNumber):
        return value.literal
    if isinstance(value, list):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_value(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)
