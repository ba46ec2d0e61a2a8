"""The Martian modifier kinds, one small class each, over a mutable message view.

``Message`` is the working copy of a backend request (or response) while
modifiers run: headers as an ordered list (repeated names kept), URL parts,
body.  Each modifier kind is a class with ``parse(spec, path, parse_child)``
building it from its JSON object (raising ``ConfigError`` with the JSON path)
and ``request(msg)`` / ``response(msg)`` applying it; a kind that has no
meaning in a direction has no method for it, which is how unsupported scopes
are refused.  Shapes follow google/martian's JSON (camelCase keys).
"""
from __future__ import annotations

import base64
import binascii
import mimetypes
import uuid

import re2
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from app.config.values import flag
from app.errors import ConfigError
from app.router.forwarding import HEADER_NAME

REQUEST, RESPONSE = "request", "response"
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass
class Message:
    """A backend request or response being modified."""

    headers: list[tuple[str, str]]
    body: Optional[bytes]
    method: str = ""
    url: str = ""
    status: int = 0
    #: The request this response answers (response scope filters test its URL).
    request: Optional["Message"] = None
    #: Set by static.Modifier: answer from this file instead of calling the backend.
    static_file: Optional[Path] = None
    static_missing: bool = False

    def get(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for k, v in self.headers if k.lower() == lname]

    def delete(self, name: str) -> None:
        lname = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lname]

    def set(self, name: str, value: str) -> None:
        self.delete(name)
        self.headers.append((name, value))

    def add(self, name: str, value: str) -> None:
        self.headers.append((name, value))

    def parts(self) -> tuple[str, str, str, str]:
        """(scheme, netloc, path, query) of the URL."""
        split = urlsplit(self.url)
        return split.scheme, split.netloc, split.path, split.query

    def set_parts(self, scheme: str, netloc: str, path: str, query: str) -> None:
        self.url = urlunsplit((scheme, netloc, path, query, ""))


ParseChild = Callable[[Any, str], "Modifier"]


class Modifier:
    """Base: a kind implements ``request`` and/or ``response``; ``scopes`` says which run."""

    scopes: frozenset[str] = frozenset()

    def request(self, msg: Message) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def response(self, msg: Message) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    @classmethod
    def supported(cls) -> frozenset[str]:
        return frozenset(s for s in (REQUEST, RESPONSE) if getattr(cls, s) is not getattr(Modifier, s))


def _str(spec: Mapping[str, Any], key: str, path: str, required: bool = True, default: str = "") -> str:
    value = spec.get(key, None)
    if value is None:
        if required:
            raise ConfigError(f"{path}.{key}", "missing")
        return default
    if not isinstance(value, str):
        raise ConfigError(f"{path}.{key}", f"expected a string, got {value!r}")
    return value


def _int(spec: Mapping[str, Any], key: str, path: str, required: bool = True) -> Optional[int]:
    value = spec.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{path}.{key}", f"expected an integer, got {value!r}")
    return value


def _regex(spec: Mapping[str, Any], key: str, path: str) -> Any:
    """RE2, as Go (and so KrakenD) uses: linear time, so client input cannot make a filter slow."""
    text = _str(spec, key, path)
    try:
        return re2.compile(text)
    except re2.error as exc:
        raise ConfigError(f"{path}.{key}", f"invalid regular expression {text!r} (RE2 syntax): {exc}") from exc


#: Names a modifier may not set: framing and hop-by-hop headers belong to the transport.
FORBIDDEN = frozenset({"content-length", "transfer-encoding", "connection", "te", "trailer", "upgrade",
                       "keep-alive", "proxy-connection"})


def _header_name(spec: Mapping[str, Any], key: str, path: str, default: str = "") -> str:
    name = _str(spec, key, path, required=not default, default=default) or default
    if not HEADER_NAME.fullmatch(name):
        raise ConfigError(f"{path}.{key}", f"{name!r} is not a valid header name")
    if name.lower() in FORBIDDEN:
        raise ConfigError(f"{path}.{key}", f"{name} is a framing or hop-by-hop header; a modifier cannot set it")
    return name


def _header_value(spec: Mapping[str, Any], key: str, path: str) -> str:
    value = _str(spec, key, path, required=False)
    if any(ord(ch) < 0x20 and ch != "\t" or ord(ch) == 0x7F for ch in value):
        raise ConfigError(f"{path}.{key}", "contains control characters (a trailing newline in a secret?)")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ConfigError(f"{path}.{key}", "only Latin-1 characters can be sent in a header") from None
    return value


# ---- header -----------------------------------------------------------------

@dataclass
class _NamedValue(Modifier):
    name: str
    value: str

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "_NamedValue":
        return cls(_str(spec, "name", path), _str(spec, "value", path, required=False))


class HeaderModifier(_NamedValue):
    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "HeaderModifier":
        return cls(_header_name(spec, "name", path), _header_value(spec, "value", path))

    def request(self, msg: Message) -> None:
        msg.set(self.name, self.value)

    response = request


class HeaderAppend(HeaderModifier):
    def request(self, msg: Message) -> None:
        msg.add(self.name, self.value)

    response = request


@dataclass
class HeaderBlacklist(Modifier):
    names: tuple[str, ...]

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "HeaderBlacklist":
        names = spec.get("names")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"{path}.names", f"expected a list of header names, got {names!r}")
        return cls(tuple(names))

    def request(self, msg: Message) -> None:
        for name in self.names:
            msg.delete(name)

    response = request


@dataclass
class HeaderCopy(Modifier):
    source: str
    target: str

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "HeaderCopy":
        return cls(_str(spec, "from", path), _header_name(spec, "to", path))

    def request(self, msg: Message) -> None:
        values = msg.get(self.source)
        if values:
            msg.set(self.target, values[0])

    response = request


@dataclass
class HeaderId(Modifier):
    header: str

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "HeaderId":
        return cls(_header_name(spec, "header", path, default="X-Krakend-Id"))

    def request(self, msg: Message) -> None:
        if not msg.get(self.header):
            msg.set(self.header, str(uuid.uuid4()))


# ---- query, url, port, stash, body, cookie, status ----------------------------

class QueryModifier(_NamedValue):
    def request(self, msg: Message) -> None:
        scheme, netloc, url_path, query = msg.parts()
        # Set replaces every client value of the name (martian's Set), re-encoded sorted like Go.
        pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != self.name]
        pairs.append((self.name, self.value))
        msg.set_parts(scheme, netloc, url_path, urlencode(sorted(pairs, key=lambda kv: kv[0])))


@dataclass
class URLModifier(Modifier):
    scheme: str
    host: str
    path: str
    query: str

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "URLModifier":
        return cls(*(_str(spec, key, path, required=False) for key in ("scheme", "host", "path", "query")))

    def request(self, msg: Message) -> None:
        scheme, netloc, url_path, query = msg.parts()
        if not msg.get("Host"):
            msg.set("Host", netloc)  # martian keeps the Host header when it changes the URL host
        msg.set_parts(self.scheme or scheme, self.host or netloc, self.path or url_path, self.query or query)


@dataclass
class PortModifier(Modifier):
    port: Optional[int]
    default_for_scheme: bool
    remove: bool

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "PortModifier":
        port = _int(spec, "port", path, required=False)
        default, remove = flag(spec, "defaultForScheme", path), flag(spec, "remove", path)
        if sum((port is not None, default, remove)) != 1:
            raise ConfigError(path, "set exactly one of port, defaultForScheme and remove")
        if port is not None and not 0 < port < 65536:
            raise ConfigError(f"{path}.port", f"port {port} out of range")
        return cls(port, default, remove)

    def request(self, msg: Message) -> None:
        scheme, netloc, url_path, query = msg.parts()
        host = urlsplit(msg.url).hostname or ""
        if self.remove:
            netloc = host
        else:
            netloc = f"{host}:{self.port if self.port is not None else DEFAULT_PORTS.get(scheme, 80)}"
        msg.set_parts(scheme, netloc, url_path, query)
        msg.set("Host", netloc)


@dataclass
class StashModifier(Modifier):
    header: str

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "StashModifier":
        return cls(_header_name(spec, "headerName", path))

    # Request scope only (deviation): in response scope martian would copy the
    # internal backend URL into a header that no-op endpoints pass to clients.
    def request(self, msg: Message) -> None:
        msg.set(self.header, msg.url)


@dataclass
class BodyModifier(Modifier):
    body: bytes
    content_type: str

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "BodyModifier":
        try:
            body = base64.b64decode(_str(spec, "body", path), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigError(f"{path}.body", "expected the body in base64") from exc
        return cls(body, _str(spec, "contentType", path, required=False))

    def request(self, msg: Message) -> None:
        msg.body = self.body
        msg.delete("Content-Encoding")
        if self.content_type:
            msg.set("Content-Type", self.content_type)
        if msg.get("Content-Length") or msg.method:
            msg.set("Content-Length", str(len(self.body)))

    response = request


@dataclass
class CookieModifier(Modifier):
    name: str
    value: str
    attributes: str

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "CookieModifier":
        attributes = []
        for key, label in (("path", "Path"), ("domain", "Domain"), ("expires", "Expires")):
            if spec.get(key):
                attributes.append(f"{label}={_str(spec, key, path)}")
        if spec.get("maxAge"):
            attributes.append(f"Max-Age={_int(spec, 'maxAge', path)}")
        attributes += [name for key, name in (("secure", "Secure"), ("httpOnly", "HttpOnly")) if flag(spec, key, path)]
        value = _header_value(spec, "value", path)
        if ";" in value or "," in value:
            raise ConfigError(f"{path}.value", "a cookie value cannot contain ';' or ','")
        return cls(_str(spec, "name", path), value, "; ".join(attributes))

    def request(self, msg: Message) -> None:
        existing = "; ".join(msg.get("Cookie"))
        msg.set("Cookie", f"{existing}; {self.name}={self.value}" if existing else f"{self.name}={self.value}")

    def response(self, msg: Message) -> None:
        msg.add("Set-Cookie", f"{self.name}={self.value}" + (f"; {self.attributes}" if self.attributes else ""))


@dataclass
class StatusModifier(Modifier):
    status: int

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "StatusModifier":
        status = _int(spec, "statusCode", path)
        assert status is not None
        if not 100 <= status <= 999:
            raise ConfigError(f"{path}.statusCode", f"status {status} out of range")
        return cls(status)

    def response(self, msg: Message) -> None:
        msg.status = self.status


@dataclass
class StaticModifier(Modifier):
    root: Path
    explicit: Mapping[str, str]

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "StaticModifier":
        root = Path(_str(spec, "rootPath", path)).resolve()
        if not root.is_dir():
            raise ConfigError(f"{path}.rootPath", f"{root} is not a directory")
        explicit = spec.get("explicitPaths") or {}
        if not isinstance(explicit, dict) or not all(isinstance(v, str) for v in explicit.values()):
            raise ConfigError(f"{path}.explicitPaths", "expected an object of URL path -> file")
        return cls(root, dict(explicit))

    def request(self, msg: Message) -> None:
        url_path = msg.parts()[2]
        relative = self.explicit.get(url_path, url_path).lstrip("/")
        target = (self.root / relative).resolve()
        # Never outside rootPath, whatever the URL says.
        if target != self.root and self.root not in target.parents or not target.is_file():
            msg.static_missing = True
        else:
            msg.static_file = target

    def response(self, msg: Message) -> None:
        """Fill the answer from the file chosen in the request phase."""
        request = msg.request
        if request is None or (request.static_file is None and not request.static_missing):
            return
        if request.static_file is None:
            msg.status, msg.body, msg.headers = 404, b"404 page not found\n", [("Content-Type", "text/plain")]
            return
        msg.status, msg.body = 200, request.static_file.read_bytes()
        content_type = mimetypes.guess_type(request.static_file.name)[0] or "application/octet-stream"
        msg.headers = [("Content-Type", content_type)]


# ---- groups and filters ---------------------------------------------------------

@dataclass
class FifoGroup(Modifier):
    modifiers: Sequence[Modifier]
    aggregate_errors: bool = False

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "FifoGroup":
        items = spec.get("modifiers")
        if not isinstance(items, list) or not items:
            raise ConfigError(f"{path}.modifiers", "expected a non-empty list of modifiers")
        return cls(tuple(child(item, f"{path}.modifiers[{i}]") for i, item in enumerate(items)),
                   flag(spec, "aggregateErrors", path))

    def request(self, msg: Message) -> None:
        _run_all(self.modifiers, REQUEST, msg, self.aggregate_errors)

    def response(self, msg: Message) -> None:
        _run_all(self.modifiers, RESPONSE, msg, self.aggregate_errors)


@dataclass
class PriorityGroup(FifoGroup):
    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "PriorityGroup":
        items = spec.get("modifiers")
        if not isinstance(items, list) or not items:
            raise ConfigError(f"{path}.modifiers", "expected a non-empty list of {priority, modifier}")
        ranked = []
        for i, item in enumerate(items):
            where = f"{path}.modifiers[{i}]"
            if not isinstance(item, dict) or "modifier" not in item:
                raise ConfigError(where, "expected {\"priority\": N, \"modifier\": {...}}")
            ranked.append((_int(item, "priority", where), i, child(item["modifier"], f"{where}.modifier")))
        # Higher priority first; on ties the later-declared one first (martian's order).
        ranked.sort(key=lambda r: (r[0], r[1]), reverse=True)
        return cls(tuple(m for _, _, m in ranked))


def _run_all(modifiers: Sequence[Modifier], scope: str, msg: Message, aggregate: bool) -> None:
    errors: list[Exception] = []
    for modifier in modifiers:
        if scope not in modifier.scopes:
            continue
        try:
            getattr(modifier, scope)(msg)
        except Exception as exc:  # noqa: BLE001 - aggregateErrors collects, else the first one stops the group
            if not aggregate:
                raise
            errors.append(exc)
    if errors:
        raise ModifierFailed("; ".join(str(e) for e in errors))


class ModifierFailed(Exception):
    """A modifier could not be applied (the backend call then fails)."""


@dataclass
class Filter(Modifier):
    """Base of the filters: ``modifier`` when the condition holds, else ``else``."""

    then: Optional[Modifier] = None
    otherwise: Optional[Modifier] = None

    def test(self, msg: Message, scope: str) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    @classmethod
    def children(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> dict[str, Any]:
        then = child(spec["modifier"], f"{path}.modifier") if spec.get("modifier") is not None else None
        otherwise = child(spec["else"], f"{path}.else") if spec.get("else") is not None else None
        if then is None and otherwise is None:
            raise ConfigError(path, "a filter needs a modifier (and optionally else)")
        return {"then": then, "otherwise": otherwise}

    def _apply(self, msg: Message, scope: str) -> None:
        chosen = self.then if self.test(msg, scope) else self.otherwise
        if chosen is not None and scope in chosen.scopes:
            getattr(chosen, scope)(msg)

    def request(self, msg: Message) -> None:
        self._apply(msg, REQUEST)

    def response(self, msg: Message) -> None:
        self._apply(msg, RESPONSE)


@dataclass
class _NameValueFilter(Filter):
    """Filters on a named value (header, query parameter, cookie), optionally equal to ``value``."""

    name: str = ""
    value: Optional[str] = None

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "_NameValueFilter":
        value = spec.get("value")
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{path}.value", f"expected a string, got {value!r}")
        return cls(name=_str(spec, "name", path), value=value, **cls.children(spec, path, child))

    def values(self, msg: Message, scope: str) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def test(self, msg: Message, scope: str) -> bool:
        values = self.values(msg, scope)
        return bool(values) and (self.value is None or self.value in values)


def _request_of(msg: Message, scope: str) -> Optional[Message]:
    """The request a filter looks at: the message itself, or the request a response answers."""
    return msg if scope == REQUEST else msg.request


class HeaderFilter(_NameValueFilter):
    def values(self, msg: Message, scope: str) -> list[str]:
        return msg.get(self.name)


class QueryFilter(_NameValueFilter):
    def values(self, msg: Message, scope: str) -> list[str]:
        target = _request_of(msg, scope)
        query = target.parts()[3] if target is not None else ""
        return [v for k, v in parse_qsl(query, keep_blank_values=True) if k == self.name]


class CookieFilter(_NameValueFilter):
    def values(self, msg: Message, scope: str) -> list[str]:
        if scope == REQUEST:
            pairs = [c.strip().partition("=") for h in msg.get("Cookie") for c in h.split(";")]
        else:
            pairs = [h.split(";", 1)[0].strip().partition("=") for h in msg.get("Set-Cookie")]
        return [v for k, _, v in pairs if k == self.name]


@dataclass
class HeaderRegexFilter(Filter):
    header: str = ""
    regex: Any = None

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "HeaderRegexFilter":
        return cls(header=_str(spec, "header", path), regex=_regex(spec, "regex", path),
                   **cls.children(spec, path, child))

    def test(self, msg: Message, scope: str) -> bool:
        # martian tests the request's header in either scope.
        target = _request_of(msg, scope)
        return target is not None and any(self.regex.search(v) for v in target.get(self.header))


@dataclass
class URLFilter(Filter):
    scheme: str = ""
    host: str = ""
    path: str = ""
    query: str = ""

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "URLFilter":
        scheme, host, url_path, query = (_str(spec, key, path, required=False)
                                         for key in ("scheme", "host", "path", "query"))
        return cls(scheme=scheme, host=host, path=url_path, query=query, **cls.children(spec, path, child))

    def test(self, msg: Message, scope: str) -> bool:
        target = _request_of(msg, scope)
        if target is None:
            return False
        have = dict(zip(("scheme", "host", "path", "query"), target.parts()))
        return all(not want or have[key] == want for key, want in
                   (("scheme", self.scheme), ("host", self.host), ("path", self.path), ("query", self.query)))


@dataclass
class URLRegexFilter(Filter):
    regex: Any = None

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "URLRegexFilter":
        return cls(regex=_regex(spec, "regex", path), **cls.children(spec, path, child))

    def test(self, msg: Message, scope: str) -> bool:
        target = _request_of(msg, scope)
        return target is not None and bool(self.regex.search(target.url))


@dataclass
class PortFilter(Filter):
    port: int = 0

    @classmethod
    def parse(cls, spec: Mapping[str, Any], path: str, child: ParseChild) -> "PortFilter":
        port = _int(spec, "port", path)
        assert port is not None
        return cls(port=port, **cls.children(spec, path, child))

    def test(self, msg: Message, scope: str) -> bool:
        target = _request_of(msg, scope)
        if target is None:
            return False
        split = urlsplit(target.url)
        return (split.port or DEFAULT_PORTS.get(split.scheme, 80)) == self.port


KINDS: Mapping[str, Any] = {
    "header.Modifier": HeaderModifier, "header.Append": HeaderAppend, "header.Blacklist": HeaderBlacklist,
    "header.Copy": HeaderCopy, "header.Id": HeaderId, "header.Filter": HeaderFilter,
    "header.RegexFilter": HeaderRegexFilter, "querystring.Modifier": QueryModifier,
    "querystring.Filter": QueryFilter, "url.Modifier": URLModifier, "url.Filter": URLFilter,
    "url.RegexFilter": URLRegexFilter, "body.Modifier": BodyModifier, "cookie.Modifier": CookieModifier,
    "cookie.Filter": CookieFilter, "port.Modifier": PortModifier, "port.Filter": PortFilter,
    "stash.Modifier": StashModifier, "status.Modifier": StatusModifier, "static.Modifier": StaticModifier,
    "fifo.Group": FifoGroup, "priority.Group": PriorityGroup,
}

__all__ = ["KINDS", "Message", "Modifier", "ModifierFailed", "REQUEST", "RESPONSE"]
