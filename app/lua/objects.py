"""The objects behind ``request.load()``, ``response.load()`` and ``http_response.new()``.

Each ``lua_<name>`` method is the Lua method ``<name>``, called through
``api.Bridge.call`` with the Lua arguments (strings as bytes, handles
translated); the argument count decides getter or setter, as ``c.Top()``
does in krakend-lua.  They return ``(tag, value)`` for the prelude (see
``convert``) or None, and raise ``APIError`` for misuse.

Request semantics (``modifier/lua-proxy`` before the backends' request
building, ``modifier/lua-backend`` after it): ``url()`` is the full backend
URL at backend level and empty at endpoint level (setting it there has no
effect, nor has ``path``, ``query`` or ``method`` at backend level, where
the URL is already built); ``params`` are title-cased (``{id}`` is ``Id``;
the endpoint's own spelling is accepted too) and, at backend level of a
sequential endpoint, also answer ``Resp<N>_<field>`` and ``Resp<N>`` from
earlier responses (whether or not ``sequential_propagated_params`` lists
them).  Headers hold one value each: ``headerList`` setters join the
values with ``, ``.  Response ``statusCode()`` reads 0 unless the answer is
``no-op``, as KrakenD documents; ``data()`` is a private copy of the data
(static data and caches never change under a script).
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Optional
from urllib.parse import parse_qsl

from app import jsoncodec
from app.lua import convert
from app.lua.convert import LIST, TABLE, VALUE, text
from app.proxy.formatting import dig
from app.proxy.model import ProxyRequest, ProxyResponse
from app.proxy.request_builder import encode_query
from app.router.forwarding import canonical, header_field_ok

Result = Optional[tuple[int, Any]]
_RESP_PARAM = re.compile(r"Resp(\d+)(?:_(.+))?")
_MISSING = object()


class APIError(Exception):
    """A script used the API wrongly; becomes a Lua error with this text."""


def title(name: str) -> str:
    """KrakenD's parameter name: the first letter upper-cased (``id`` -> ``Id``)."""
    return name[:1].upper() + name[1:]


def _string(value: str | bytes) -> tuple[int, bytes]:
    return VALUE, value.encode() if isinstance(value, str) else value


def _header(headers: Any, name: str) -> Optional[str]:
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return str(value)
    return None


def _list_of_text(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise APIError("invalid header value, must be a luaList")
    # Never str() a container: a nested list's repr may be exponential (a DAG).
    return [v if isinstance(v, str) else convert.text(v) if not isinstance(v, (dict, list)) else convert.opaque(v)
            for v in value]


class RequestState:
    """The mutable request a script sees (``request.load()``), applied back to a ProxyRequest."""

    def __init__(self, request: ProxyRequest) -> None:
        self.method, self.path, self.url = request.method, request.path, request.url
        self.params = dict(request.params)
        self.query = list(request.query)
        self.headers = dict(request.headers)
        self.body = request.body
        self.previous = request.previous

    def applied(self, request: ProxyRequest) -> ProxyRequest:
        return dataclasses.replace(request, method=self.method, path=self.path, url=self.url,
                                   params=self.params, query=tuple(self.query), headers=self.headers,
                                   body=self.body)

    def _param_key(self, name: str) -> Optional[str]:
        for key in self.params:
            if title(key) == name:
                return key
        return name if name in self.params else None

    def _propagated(self, name: str) -> Optional[str]:
        """``Resp0_a.b`` / ``Resp0``: a value of an earlier sequential response."""
        match = _RESP_PARAM.fullmatch(name)
        previous = self.previous.get(int(match.group(1))) if match else None
        if match is None or previous is None:
            return None
        if not match.group(2):
            raw = previous.raw
            return raw.decode("utf-8", "replace") if raw is not None else jsoncodec.dumps(previous.data).decode()
        node = dig(previous.data, match.group(2), _MISSING)
        return None if node is _MISSING else jsoncodec.scalar_text(node)

    def lua_method(self, *args: Any) -> Result:
        if not args:
            return _string(self.method)
        self.method = text(args[0])
        return None

    def lua_path(self, *args: Any) -> Result:
        if not args:
            return _string(self.path)
        self.path = text(args[0])
        return None

    def lua_url(self, *args: Any) -> Result:
        if not args:
            return _string(self.url)
        self.url = text(args[0])
        return None

    def lua_query(self, *args: Any) -> Result:
        if not args:
            return _string(encode_query(tuple(self.query)))
        self.query = parse_qsl(text(args[0]).lstrip("?"), keep_blank_values=True)
        return None

    def lua_params(self, *args: Any) -> Result:
        if not args:
            return TABLE, {title(k): v for k, v in self.params.items()}
        name = text(args[0])
        key = self._param_key(name)
        if len(args) == 1:
            value = self.params[key] if key is not None else self._propagated(name)
            return _string(value or "")
        # A new name is stored as an endpoint placeholder would spell it ({foo} for "Foo").
        self.params[key if key is not None else name[:1].lower() + name[1:]] = text(args[1])
        return None

    def lua_headers(self, *args: Any) -> Result:
        return headers_method(self.headers, args)

    def lua_headerList(self, *args: Any) -> Result:  # noqa: N802 - KrakenD's method name
        return header_list_method(self.headers, args)

    def lua_body(self, *args: Any) -> Result:
        if not args:
            return VALUE, self.body
        self.body = args[0] if isinstance(args[0], bytes) else text(args[0]).encode()
        return None


def sendable_header(name: str, value: str) -> str:
    """``value``, if ``name: value`` can be sent: Go's client refuses it otherwise (urllib3 lets NUL through)."""
    if not header_field_ok(name, value):
        raise APIError(f"invalid header field {name[:64]!r}")
    return value


def headers_method(headers: dict[str, str], args: tuple[Any, ...]) -> Result:
    """``headers()`` / ``headers(name)`` / ``headers(name, value)`` (nil deletes) on a single-valued map."""
    if not args:
        return TABLE, {k: [v] for k, v in headers.items()}
    name = canonical(text(args[0]))
    existing = [k for k in headers if k.lower() == name.lower()]
    if len(args) == 1:
        return _string(headers[existing[0]] if existing else "")
    for key in existing:
        del headers[key]
    if args[1] is not None:
        headers[name] = sendable_header(name, text(args[1]))
    return None


def header_list_method(headers: dict[str, str], args: tuple[Any, ...]) -> Result:
    if not args:
        raise APIError("need arguments")
    name = canonical(text(args[0]))
    value = _header(headers.items(), name)
    if len(args) == 1:
        return LIST, [value] if value is not None else []
    values = _list_of_text(args[1])
    for key in [k for k in headers if k.lower() == name.lower()]:
        del headers[key]
    headers[name] = sendable_header(name, ", ".join(values))
    return None


def _copy(value: Any) -> Any:
    """A private copy of response data (static data and caches must not change under a script)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class ResponseState:
    """The mutable response a ``post`` script sees (``response.load()``)."""

    def __init__(self, response: ProxyResponse) -> None:
        self.original = response
        self._data: Optional[dict[str, Any]] = None
        self.is_complete = response.is_complete
        self.status = response.status
        self.headers = list(response.headers)
        self.raw = response.raw

    def result(self) -> ProxyResponse:
        data = self._data if self._data is not None else self.original.data
        return ProxyResponse(data, self.is_complete, self.status, tuple(self.headers), self.raw,
                             self.original.errors)

    def lua_isComplete(self, *args: Any) -> Result:  # noqa: N802
        if not args:
            return VALUE, self.is_complete
        self.is_complete = args[0] is not None and args[0] is not False
        return None

    def lua_statusCode(self, *args: Any) -> Result:  # noqa: N802
        if not args:
            # KrakenD has a status only for no-op answers; others read 0.
            return VALUE, self.status if self.raw is not None else 0
        self.status = int(convert.number(args[0]))
        return None

    def lua_data(self, *args: Any) -> Result:
        if self._data is None:
            self._data = _copy(self.original.data)
        return TABLE, self._data

    def lua_headers(self, *args: Any) -> Result:
        if not args:
            table: dict[str, list[str]] = {}
            for key, value in self.headers:
                table.setdefault(key, []).append(value)
            return TABLE, table
        name = text(args[0])
        if len(args) == 1:
            return _string(_header(self.headers, name) or "")
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        if args[1] is not None:
            self.headers.append((canonical(name), text(args[1])))
        return None

    def lua_headerList(self, *args: Any) -> Result:  # noqa: N802
        if not args:
            raise APIError("need arguments")
        name = canonical(text(args[0]))
        if len(args) == 1:
            return LIST, [v for k, v in self.headers if k.lower() == name.lower()]
        values = _list_of_text(args[1])
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.extend((name, v) for v in values)
        return None

    def lua_body(self, *args: Any) -> Result:
        if not args:
            return VALUE, self.raw or b""
        self.raw = args[0] if isinstance(args[0], bytes) else text(args[0]).encode()
        return None


@dataclasses.dataclass
class HttpResult:
    """An ``http_response.new(...)`` answer."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def lua_statusCode(self, *args: Any) -> Result:  # noqa: N802
        return VALUE, self.status

    def lua_headers(self, *args: Any) -> Result:
        if not args:
            raise APIError("need arguments")
        return _string(_header(self.headers, text(args[0])) or "")

    def lua_headerList(self, *args: Any) -> Result:  # noqa: N802
        if not args:
            raise APIError("need arguments")
        name = text(args[0]).lower()
        return LIST, [v for k, v in self.headers if k.lower() == name]

    def lua_body(self, *args: Any) -> Result:
        return VALUE, self.body

    def lua_close(self, *args: Any) -> Result:
        self.body = b""
        return None
