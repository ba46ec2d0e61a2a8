"""The keys the three Lua namespaces share, and their source files.

Namespaces ``modifier/lua-endpoint`` (endpoint), ``modifier/lua-proxy``
(endpoint) and ``modifier/lua-backend`` (backend); one parser, as
krakend-lua's ``Parse`` serves all three::

    "modifier/lua-backend": {
        "sources": ["scripts/helpers.lua"],
        "md5": {"scripts/helpers.lua": "49ae50f58e35f4821ad4550e1a4d1de0"},
        "pre": "local r = request.load(); r:headers('X-From-Lua', '1')",
        "post": "local d = response.load():data(); d:set('seen', true)",
        "live": false, "allow_open_libs": false, "skip_next": false
    }

Keys: ``sources`` (files run before ``pre`` on every request, paths
relative to the working directory as in KrakenD), ``md5`` (expected
checksums by source), ``pre`` / ``post`` (Lua run before / after the next
layer), ``live`` (re-read a source when its modification time or size
changes), ``allow_open_libs`` (the whole standard library, and
``http_response``), ``skip_next`` (do not call the next layer; ``post``
gets an empty response).  Wrong types are a ConfigError with the key's path
(KrakenD ignores them).

Sources are read when the stacks are built (and, with ``live``, again on
change).  A missing or unreadable file, or a checksum mismatch, is a
"problem" with the JSON path of the source: ``propylon check`` reports it as
a ConfigError, the running gateway logs it and answers every call of that
stack with an error (KrakenD logs it and fails each request with ``lua:
unable to load required source``; it skips the whole module on a checksum
mismatch, which Propylon refuses to do).  With ``live`` the checksum is
checked on every reload too.
"""
from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from app.config.values import flag
from app.errors import ConfigError

ENDPOINT, PROXY, BACKEND = "modifier/lua-endpoint", "modifier/lua-proxy", "modifier/lua-backend"
KEYS = frozenset({"sources", "md5", "pre", "post", "live", "allow_open_libs", "skip_next"})
#: Sources larger than this are refused (a script, not a data file).
MAX_SOURCE = 4 * 2 ** 20


@dataclass(frozen=True)
class LuaSettings:
    sources: tuple[str, ...] = ()                           # "sources"
    md5: Mapping[str, str] = field(default_factory=dict)    # "md5": source -> hex digest
    pre: str = ""                                           # "pre"
    post: str = ""                                          # "post"
    live: bool = False                                      # "live"
    allow_open_libs: bool = False                           # "allow_open_libs"
    skip_next: bool = False                                 # "skip_next"


def _text(raw: Mapping[str, Any], key: str, path: str) -> str:
    value = raw.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(f"{path}.{key}", f"expected Lua code as a string, got {value!r}")
    return value


def parse(raw: Any, path: str) -> LuaSettings:
    """The namespace object at ``path``; raises ConfigError naming the bad key."""
    if not isinstance(raw, dict):
        raise ConfigError(path, f"expected an object, got {raw!r}")
    sources = raw.get("sources") or []
    if not isinstance(sources, list):
        raise ConfigError(f"{path}.sources", f"expected a list of file names, got {sources!r}")
    for index, source in enumerate(sources):
        if not isinstance(source, str) or not source:
            raise ConfigError(f"{path}.sources[{index}]", f"expected a file name, got {source!r}")
    md5 = raw.get("md5") or {}
    if not isinstance(md5, dict):
        raise ConfigError(f"{path}.md5", f"expected an object of source -> md5, got {md5!r}")
    for source, digest in md5.items():
        if source not in sources:
            raise ConfigError(f"{path}.md5.{source}", "not one of the sources")
        if not isinstance(digest, str) or len(digest) != 32:
            raise ConfigError(f"{path}.md5.{source}", f"expected a hex md5 digest, got {digest!r}")
    return LuaSettings(tuple(sources), {k: v.lower() for k, v in md5.items()}, _text(raw, "pre", path),
                       _text(raw, "post", path), flag(raw, "live", path), flag(raw, "allow_open_libs", path),
                       flag(raw, "skip_next", path))


@dataclass(frozen=True)
class Snapshot:
    """The source texts at one moment; ``version`` changes whenever a text does."""

    version: int
    texts: tuple[tuple[str, bytes], ...]
    #: (JSON path, message) of the first source that cannot be used, else None.
    problem: Optional[tuple[str, str]] = None


class Sources:
    """The source files of one namespace instance: read once, or re-read on change with ``live``."""

    def __init__(self, settings: LuaSettings, path: str) -> None:
        self._settings = settings
        self._path = path
        self._lock = threading.Lock()
        self._stamps: dict[str, Optional[tuple[int, int]]] = {}
        self._texts: dict[str, Optional[bytes]] = {}
        self._problems: dict[str, str] = {}
        self._snapshot = Snapshot(0, ())
        with self._lock:
            self._refresh()

    def snapshot(self) -> Snapshot:
        if self._settings.live:
            with self._lock:
                self._refresh()
        return self._snapshot

    def _refresh(self) -> None:
        changed = False
        for name in self._settings.sources:
            stamp = _stamp(name)
            if name in self._stamps and stamp == self._stamps[name] and stamp is not None:
                continue
            self._stamps[name] = stamp
            text, problem = _read(name, self._settings.md5.get(name))
            if text != self._texts.get(name, b"\0") or problem != self._problems.get(name):
                changed = True
            self._texts[name] = text
            if problem:
                self._problems[name] = problem
            else:
                self._problems.pop(name, None)
        if changed or not self._snapshot.version:
            self._snapshot = self._build(self._snapshot.version + 1)

    def _build(self, version: int) -> Snapshot:
        problem = None
        for index, name in enumerate(self._settings.sources):
            if name in self._problems:
                problem = (f"{self._path}.sources[{index}]", self._problems[name])
                break
        texts = tuple((name, text) for name in self._settings.sources
                      if (text := self._texts.get(name)) is not None)
        return Snapshot(version, texts, problem)


def _stamp(name: str) -> Optional[tuple[int, int]]:
    try:
        info = os.stat(name)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _read(name: str, md5: Optional[str]) -> tuple[Optional[bytes], Optional[str]]:
    try:
        with open(name, "rb") as handle:
            text = handle.read(MAX_SOURCE + 1)
    except OSError as exc:
        return None, f"unable to load required source {name!r}: {exc.strerror or exc}"
    if len(text) > MAX_SOURCE:
        return None, f"source {name!r} is larger than {MAX_SOURCE} bytes"
    if md5 is not None:
        actual = hashlib.md5(text, usedforsecurity=False).hexdigest()
        if actual != md5:
            return None, f"wrong checksum for source {name!r}: have {actual}, want {md5}"
    return text, None
