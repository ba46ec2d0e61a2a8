"""The Python side of KrakenD's Lua API: the one bridge a runtime's prelude calls.

``Bridge.call(obj, name, *args)`` serves every method of a handle; ``obj``
is the handle's Python object: a dict for ``luaTable``, a list for
``luaList`` (handled here, as krakend-lua's ``luaTable``/``luaList``
binders), or a ``RequestState``/``ResponseState``/``HttpResult`` (and the
router's ``ctx`` object) whose ``lua_<name>`` method answers.  ``luaList``
indexes from 0; ``set`` past the end pads with nulls; ``get`` of a missing
key or index answers nothing (nil), of a null ``luaNil``.

Nothing here raises into Lua: a failure answers ``(-1, message)`` and the
prelude raises the Lua error (see ``prelude`` for why).

Memory: Python data a script makes (strings and tables it stores, ``luaList``
padding, copies such as ``keys()``, ``headers()``, ``http_response`` bodies)
is outside Lua's 64 MiB bound, so each request's script may make at most
``MAX_DATA`` bytes of it (counted as made, not as still alive).
``http_response.new(url[, method, body[, headers]])`` goes through the
gateway's own transport (its timeouts, size cap and redirect policy) under
the request's deadline.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from app.errors import GatewayError
from app.lua import convert
from app.lua.convert import HTTP, LIST, VALUE, text, to_lua
from app.lua.objects import APIError, HttpResult, Result
from app.proxy.model import Executor, WireRequest
from app.router.forwarding import canonical
from app.version import IDENTITY

log = logging.getLogger("propylon.lua")
ERROR = -1
_MISSING = object()
#: Python bytes a script may make per request (see the module docstring).
MAX_DATA = 64 * 2 ** 20
#: Results that are fresh copies (the others are views of existing data).
_COPIES = frozenset({b"keys", b"headers", b"params", b"headerList"})
_CONTROL = str.maketrans("", "", "".join(map(chr, range(32))) + "\x7f")


def _key(args: tuple[Any, ...], count: int) -> str:
    if len(args) != count:
        raise APIError("need arguments")
    return text(args[0])


def _index(args: tuple[Any, ...], count: int) -> int:
    if len(args) != count:
        raise APIError("need arguments")
    return int(convert.number(args[0]))


class Bridge:
    """The Python functions one runtime's prelude calls; none of them raises into Lua."""

    def __init__(self, prefix: str, transport: Executor, is_table: Callable[[Any], bool]) -> None:
        self.prefix = prefix
        self.transport = transport
        self.is_table = is_table
        self.deadline = float("inf")
        self.customs: dict[int, tuple[str, int, str]] = {}
        #: Bytes of Python data made by this request's script (see MAX_DATA).
        self.spent = 0
        #: Whether the script stored a container inside another (data then leaves through ``check_tree``).
        self.linked = False

    def begin(self, deadline: float) -> None:
        """A new request: its deadline, no custom errors, nothing spent."""
        self.deadline = deadline
        self.customs.clear()
        self.spent, self.linked = 0, False

    def charge(self, size: int) -> None:
        """Count ``size`` bytes the script makes, before making them; APIError past MAX_DATA."""
        if self.spent + size > MAX_DATA:
            raise APIError(f"memory limit ({MAX_DATA // 2 ** 20} MiB of gateway data per request) reached")
        self.spent += size

    def call(self, obj: Any, name: bytes, *args: Any) -> Result:
        try:
            self.charge(sum(len(a) for a in args if isinstance(a, bytes)))
            if isinstance(obj, dict):
                return self._table(obj, name.decode(), args)
            if isinstance(obj, list):
                return self._list(obj, name.decode(), args)
            method = getattr(obj, "lua_" + name.decode(), None)
            if method is None:
                raise APIError(f"{name.decode()}: not available")
            if name == b"headerList" and len(args) == 2 and isinstance(args[1], list):
                # Only texts go further: a nested list would be repr()'d (exponential for a DAG).
                args = (args[0], [convert.opaque(v) if isinstance(v, (dict, list)) else v for v in args[1]])
            result: Result = method(*args)
            if result is not None and result[0] in (convert.TABLE, LIST) and name in _COPIES:
                self.charge(64 * (1 + len(result[1])))
            return result
        except (APIError, convert.ConversionError, ValueError, OverflowError) as exc:
            return ERROR, f"{name.decode()}: {exc}".encode()
        except Exception as exc:  # noqa: BLE001 - a Python error must never cross into Lua as an object
            log.exception("%s[Lua] %s failed", self.prefix, name.decode())
            return ERROR, f"{name.decode()}: internal error ({type(exc).__name__})".encode()

    def _table(self, data: dict[str, Any], name: str, args: tuple[Any, ...]) -> Result:
        if name == "get":
            value = data.get(_key(args, 1), _MISSING)
            return None if value is _MISSING else to_lua(value)
        if name == "set":
            if len(args) != 2:
                raise APIError("need arguments")
            self._store(data, text(args[0]), args[1])
            return None
        if name == "len":
            return VALUE, len(data)
        if name == "del":
            data.pop(_key(args, 1), None)
            return None
        if name == "keys":
            self.charge(64 * (1 + len(data)))
            return LIST, sorted(data)
        return VALUE, _key(args, 1) in data  # keyExists

    def _list(self, data: list[Any], name: str, args: tuple[Any, ...]) -> Result:
        if name == "len":
            return VALUE, len(data)
        if name == "set":
            if len(args) != 2:
                raise APIError("need arguments")
            index = int(convert.number(args[0]))
            if index < 0:
                return None
            if index >= len(data):
                self.charge(8 * (index + 1 - len(data)))  # before allocating: l:set(2^40, x)
                data.extend([None] * (index + 1 - len(data)))
            self._store(data, index, args[1])
            return None
        index = _index(args, 1)
        if not 0 <= index < len(data):
            return None
        if name == "get":
            return to_lua(data[index])
        del data[index]  # del
        return None

    def _store(self, container: Any, key: Any, value: Any) -> None:
        if value is None:  # Lua nil: krakend-lua sets nothing
            return
        tally = convert.Tally()
        converted = convert.from_lua(value, self.is_table, tally=tally)
        self.charge(tally.size)
        self.linked = self.linked or tally.linked
        if converted is not convert.SKIP:
            container[key] = converted

    def over(self) -> bool:
        return time.monotonic() > self.deadline

    def new_table(self) -> dict[str, Any]:
        return {}

    def new_list(self) -> list[Any]:
        return []

    def record_custom(self, message: Any, status: Any = None, content_type: Any = None) -> int:
        """Keep a ``custom_error``'s status and content type; its id.  Never raises (see ``prelude``)."""
        try:
            code = int(convert.number(status)) if status is not None else 500
        except (convert.ConversionError, ValueError, OverflowError):
            code = 500
        # A header value: with control characters (CR, LF) it would fail the answer; the default instead.
        kind = text(content_type) if content_type is not None else ""
        kind = kind if kind == kind.translate(_CONTROL) else ""
        index = len(self.customs)
        self.customs[index] = (text(message), code if 100 <= code <= 599 else 500, kind)
        return index

    def print_line(self, line: bytes) -> None:
        log.info("%s[Lua] %s", self.prefix, line.decode("utf-8", "replace"))

    def http_new(self, *args: Any) -> Result:
        """``http_response.new(url[, method, body[, headers]])`` through the gateway's transport."""
        try:
            if len(args) not in (1, 3, 4):
                raise APIError("need 1, 3 or 4 arguments")
            url = text(args[0])
            method, body = (text(args[1]), args[2] if isinstance(args[2], bytes) else text(args[2]).encode()) \
                if len(args) >= 3 else ("GET", b"")
            headers = {"User-Agent": IDENTITY}
            if len(args) == 4 and self.is_table(args[3]):
                for key, value in args[3].items():
                    values = value.values() if self.is_table(value) else [value]
                    headers[canonical(text(key))] = ", ".join(text(v) for v in values)
            wire = self.transport(WireRequest(method, url, headers, body or None), self.deadline)
            self.charge(len(wire.body))
            return HTTP, HttpResult(wire.status, wire.headers, wire.body)
        except GatewayError as exc:
            return ERROR, f"http_response: {exc}".encode()
        except (APIError, ValueError) as exc:
            return ERROR, f"http_response: {exc}".encode()
        except Exception as exc:  # noqa: BLE001 - never raise into Lua (see the module docstring)
            log.exception("%s[Lua] http_response failed", self.prefix)
            return ERROR, f"http_response: internal error ({type(exc).__name__})".encode()
