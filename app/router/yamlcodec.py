"""The data object as YAML, byte-compatible with KrakenD v2.9.1 (gin's YAML render, go-yaml v3).

PyYAML's emitter (a port of libyaml, like go-yaml's) writes the text; what
go-yaml decides differently is decided here:

* indentation: 4 spaces per level, block sequences indented under their key,
  and a node inside a sequence item starts right after ``- `` (go-yaml's
  "more regular" indentation);
* scalars: every node is built by hand as a plain ``str`` node under a
  resolver without implicit types, so no tag (``!!python/...`` or any other)
  is ever written; ``null``, ``true``/``false``, integers and number literals
  (kept as the backend wrote them) are plain; a string that go-yaml would read
  back as something else (``"123"``, ``"true"``, ``"yes"``, ``"2024-01-02"``,
  ``""``) is double-quoted; a multi-line string is a literal block;
* map keys are sorted with go-yaml's order (letters before other characters,
  numbers inside keys compared by value: ``a2`` before ``a10``);
* no line folding, Unicode written as is.

Known differences, all reading back the same: a double-quoted string keeps
characters beyond U+FFFF as ``\\U...`` escapes (go-yaml writes them raw); the
string ``=`` and strings holding U+0085, U+2028 or U+2029 are double-quoted,
so YAML 1.1 readers (PyYAML) neither fail on them nor read line breaks.
Always valid YAML: a literal block's indentation indicator is its real
offset from its parent (PyYAML's is wrong inside a sequence item), and a
lone surrogate becomes U+FFFD, as Go's JSON decoder makes it.
"""
from __future__ import annotations

import datetime
import io
import math
import re
import sys
from functools import cmp_to_key
from typing import Any, Optional

from yaml.emitter import Emitter
from yaml.events import ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver
from yaml.serializer import Serializer

from app.jsoncodec import RawNumber, without_surrogates
from app.proxy.xmlcodec import go_float

MAX_DEPTH = 200
STR = "tag:yaml.org,2002:str"
SEQ = "tag:yaml.org,2002:seq"
MAP = "tag:yaml.org,2002:map"


class YAMLEncodeError(ValueError):
    pass


class _Dumper(Emitter, Serializer, BaseResolver):
    """Emitter + serializer; ``BaseResolver`` has no implicit resolvers, so every str node is implicit."""

    def __init__(self, stream: io.StringIO) -> None:
        Emitter.__init__(self, stream, indent=4, width=sys.maxsize, allow_unicode=True)
        Serializer.__init__(self)
        BaseResolver.__init__(self)

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        """go-yaml v3: inside a sequence item skip the ``- ``, else round up to the next multiple of 4."""
        self.indents.append(self.indent)
        if self.indent is None:
            self.indent = self.best_indent if flow else 0
        elif self.states and self.states[-1] == self.expect_block_sequence_item:
            self.indent += 2
        else:
            self.indent = self.best_indent * ((self.indent + self.best_indent) // self.best_indent)

    def determine_block_hints(self, text: str) -> str:
        """A literal block's indentation indicator is counted from its parent node, which the layout
        above does not always put ``best_indent`` away (a sequence item is 2 in); PyYAML assumes it is."""
        hints = str(super().determine_block_hints(text))
        parent = self.indents[-1] if self.indents else None
        if hints[:1].isdigit() and parent is not None and self.indent is not None:
            hints = str(self.indent - parent) + hints[1:]
        return hints

    def check_simple_key(self) -> bool:
        """libyaml's rule: a key up to 128 bytes on one line (PyYAML also refuses an empty key)."""
        if isinstance(self.event, ScalarEvent):
            if self.analysis is None:
                self.analysis = self.analyze_scalar(self.event.value)
            return len(self.event.value.encode()) <= 128 and not self.analysis.multiline
        return bool(super().check_simple_key())


# --------------------------------------------------------------------------- what go-yaml would not read as a string

_OLD_BOOLS = frozenset("y Y yes Yes YES on On ON n N no No NO off Off OFF".split())
_SPECIAL = frozenset(["", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
                      ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
                      "-.inf", "-.Inf", "-.INF", "<<",
                      # go-yaml reads "=" as a string, but YAML 1.1 readers (PyYAML) fail on it.
                      "="])
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(inf|infinity|nan)", re.IGNORECASE)
_GO_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")  # ParseInt base 0
_TIMESTAMP = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?"
                        r"(?:Z|[-+]\d{2}:\d{2}))|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?))?")


def _is_timestamp(text: str) -> bool:
    match = _TIMESTAMP.fullmatch(text)
    if not match:
        return False
    year, month, day = (int(g) for g in match.group(1, 2, 3))
    clock = [int(g) for g in (match.group(4, 5, 6) if match.group(4) else match.group(7, 8, 9)) if g is not None]
    try:
        datetime.date(year, month, day)
        if clock:
            datetime.time(clock[0], clock[1], clock[2])
    except ValueError:
        return False
    return True


def _resolves_to_other(text: str) -> bool:
    """True when go-yaml's resolver reads ``text`` unquoted as anything but a string."""
    if text in _SPECIAL or text in _OLD_BOOLS or _BASE60.fullmatch(text):
        return True
    first = text[0]
    if first == ".":
        return bool(_GO_FLOAT.fullmatch(text))
    if first not in "+-0123456789":
        return False
    plain = text.replace("_", "")
    return bool(_is_timestamp(text) or _GO_INT.fullmatch(plain) or _YAML_FLOAT.fullmatch(plain))


# --------------------------------------------------------------------------- go-yaml's key order

def _key_less(a: str, b: str) -> bool:
    digits = False
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            digits = a[i].isdecimal()
            continue
        a_letter, b_letter = a[i].isalpha(), b[i].isalpha()
        if a_letter and b_letter:
            return a[i] < b[i]
        if a_letter or b_letter:
            return a_letter if digits else b_letter
        return _number_less(a, b, i)
    return len(a) < len(b)


def _number_less(a: str, b: str, i: int) -> bool:
    a_num = b_num = 0
    if a[i] == "0" or b[i] == "0":
        j = i - 1
        while j >= 0 and a[j].isdecimal():
            if a[j] != "0":
                a_num = b_num = 1
                break
            j -= 1
    a_end = i
    while a_end < len(a) and a[a_end].isdecimal():
        a_num = a_num * 10 + ord(a[a_end]) - 48
        a_end += 1
    b_end = i
    while b_end < len(b) and b[b_end].isdecimal():
        b_num = b_num * 10 + ord(b[b_end]) - 48
        b_end += 1
    if a_num != b_num:
        return a_num < b_num
    if a_end != b_end:
        return a_end < b_end
    return a[i] < b[i]


def _key_compare(a: str, b: str) -> int:
    return -1 if _key_less(a, b) else (1 if _key_less(b, a) else 0)


_KEY_ORDER = cmp_to_key(_key_compare)


# --------------------------------------------------------------------------- data -> nodes

#: Line breaks for YAML 1.1 readers (PyYAML) only: a plain, quoted or block scalar would lose them there.
_OLD_BREAKS = re.compile("[\x85\u2028\u2029]")


def _text(value: str) -> ScalarNode:
    value = without_surrogates(value)
    style: Optional[str] = None
    if _OLD_BREAKS.search(value):
        style = '"'  # escaped as \N, \L, \P
    elif "\n" in value:
        style = "|"
    elif _resolves_to_other(value):
        style = '"'
    return ScalarNode(STR, value, style=style)


def _plain(value: Any) -> Optional[str]:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, RawNumber):
        return value.literal
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
        return go_float(value)
    return None


def _node(value: Any, depth: int) -> Node:
    if depth > MAX_DEPTH:
        raise YAMLEncodeError(f"data nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        pairs = [(_text(str(k)), _node(value[k], depth + 1)) for k in sorted(value, key=_KEY_ORDER)]
        return MappingNode(MAP, pairs)
    if isinstance(value, list):
        return SequenceNode(SEQ, [_node(item, depth + 1) for item in value])
    plain = _plain(value)
    if plain is None:
        raise YAMLEncodeError(f"cannot write {type(value).__name__} as YAML")
    return ScalarNode(STR, plain)  # implicit and plain: written without quotes or tag


def dumps(data: Any) -> bytes:
    """YAML text, ending in a newline; raises ``YAMLEncodeError`` for data JSON cannot hold."""
    stream = io.StringIO()
    dumper = _Dumper(stream)
    try:
        dumper.open()
        dumper.serialize(_node(data, 0))
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue().encode()
