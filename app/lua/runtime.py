"""Sandboxed Lua runtimes (lupa, Lua 5.4): one per script block and thread, bounded in time and memory.

A ``ScriptBlock`` is one configured namespace instance (a ``modifier/lua-*``
object on one endpoint or backend).  Lua states are not thread-safe and
gunicorn's gthread workers (and the fan-out pool) serve requests from
several threads, so each thread gets its own ``Runtime`` of the block,
created on first use; its chunks (sources, ``pre``, ``post``) are compiled
once (again only when a ``live`` source changed) and each request runs them
in a fresh environment, as krakend-lua runs every request in a new VM.

Runtimes are created with ``register_eval=False``, ``register_builtins=False``
and an attribute filter that refuses every Python attribute; the prelude
removes lupa's ``python`` module, and no Python object is ever handed to a
script (see ``prelude``).  Memory: ``max_memory`` per runtime (64 MiB).
Time: the request's deadline (router level: now + the endpoint timeout),
checked by a count hook every ``HOOK_STEP`` instructions; library calls the
hook cannot interrupt are bounded by the prelude (pattern matching: see
``patterns``).  Python data a script makes is bounded per request
(``api.MAX_DATA``) and data leaving a script that linked containers is
checked (``Session.export``).  The state is collected when a request ends.

Errors: ``custom_error(msg[, status[, content_type]])`` becomes a
``ScriptError`` with that status (500 without one) whose client text is
``msg``; passing the deadline a ``BackendTimeout``; anything else (a Lua
runtime error, the memory limit, a missing source) a ``ScriptError`` 500
with the fixed text ``lua script error``, the Lua message and traceback
going to the log only, prefixed ``[ENDPOINT: /x][Lua]`` or
``[BACKEND: /x][Lua]``.

State: per worker process and thread; nothing is shared between requests
but the compiled chunks (globals a script sets die with its request).
"""
from __future__ import annotations

import logging
import math
import re
import threading
import time
from typing import Any, Optional

from lupa import lua54

from app.deps import GatewayDeps
from app.errors import BackendTimeout, ConfigError, ConfigErrors, GatewayError, ScriptError
from app.lua.api import Bridge
from app.lua.convert import NIL, ConversionError, check_tree
from app.lua.patterns import LIMIT, PATTERNS
from app.lua.prelude import PRELUDE
from app.lua.settings import LuaSettings, Snapshot, Sources
from app.proxy.model import Executor

log = logging.getLogger("propylon.lua")
MAX_MEMORY = 64 * 2 ** 20
#: Instructions between two deadline checks (each check is one call into Python; overhead not measurable).
HOOK_STEP = 10_000
GENERIC = "lua script error"
#: Bytes of a Lua error message that reach the log.
LOGGED = 4096
_CUSTOM = re.compile(rb"\x00custom_error:(\d+)\x00")


def _deny_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError("Python attributes are not reachable from Lua")


def is_table(value: Any) -> bool:
    return bool(lua54.lua_type(value) == "table")


def syntax_error(text: bytes, name: str) -> Optional[str]:
    """Why ``text`` does not compile as a Lua chunk, or None (nothing runs)."""
    lua = lua54.LuaRuntime(register_eval=False, register_builtins=False, encoding=None,
                           attribute_filter=_deny_attributes, max_memory=MAX_MEMORY)
    compiled = lua.eval("function(text, name) return load(text, '=' .. name, 't', {}) end")(text, name.encode())
    return None if not isinstance(compiled, tuple) else bytes(compiled[1]).decode("utf-8", "replace")


class ScriptBlock:
    """One configured ``modifier/lua-*`` object: settings, sources and its per-thread runtimes."""

    def __init__(self, settings: LuaSettings, sources: Sources, label: str, prefix: str,
                 transport: Executor) -> None:
        self.settings = settings
        self.sources = sources
        #: What errors and logs call the stack: the endpoint or the backend's url_pattern.
        self.label = label
        #: ``[ENDPOINT: /x]`` or ``[BACKEND: /x]``; log lines add ``[Lua]``.
        self.prefix = prefix
        self.transport = transport
        self._local = threading.local()

    def runtime(self) -> "Runtime":
        runtime: Optional[Runtime] = getattr(self._local, "runtime", None)
        if runtime is None:
            runtime = self._local.runtime = Runtime(self)
        return runtime

    def session(self, deadline: float, request: Any = None, ctx: Any = None) -> "Session":
        """Start a request: fresh environment, sources run.  Raises GatewayError."""
        session = Session(self.runtime(), deadline)
        session.start(request, ctx)
        return session


class Runtime:
    """A Lua state of one block, used by one thread only."""

    def __init__(self, block: ScriptBlock) -> None:
        self.block = block
        self.bridge = Bridge(block.prefix, block.transport, is_table)
        self.lua = lua54.LuaRuntime(register_eval=False, register_builtins=False, encoding=None,
                                    unpack_returned_tuples=True, attribute_filter=_deny_attributes,
                                    max_memory=MAX_MEMORY)
        bridge = self.bridge
        py = self.lua.table_from({
            b"over": bridge.over, b"call": bridge.call, b"nil_value": NIL, b"record_custom": bridge.record_custom,
            b"print_line": bridge.print_line, b"http_new": bridge.http_new, b"new_table": bridge.new_table,
            b"new_list": bridge.new_list,
        })
        patterns = self.lua.execute(PATTERNS, LIMIT)
        self.api = self.lua.execute(PRELUDE, py, block.settings.allow_open_libs, HOOK_STEP, patterns)
        self.version = -1
        self.problem: Optional[str] = None
        self.sources: list[Any] = []
        self.pre: Any = None
        self.post: Any = None

    def prepare(self, snapshot: Snapshot) -> Optional[str]:
        """Compile the chunks for ``snapshot`` unless already done; why they cannot run, or None.

        A problem is logged here, once per source version and thread, rather
        than on every refused call.
        """
        if snapshot.version == self.version:
            return self.problem
        self.version, self.problem = snapshot.version, None
        if snapshot.problem is not None:
            self.problem = f"{snapshot.problem[0]}: {snapshot.problem[1]}"
            log.error("%s[Lua] %s", self.block.prefix, self.problem)
            return self.problem
        compile_chunk = self.api[b"compile"]
        chunks = [(name, text) for name, text in snapshot.texts]
        settings = self.block.settings
        chunks += [("pre", settings.pre.encode()), ("post", settings.post.encode())]
        compiled = []
        for name, text in chunks:
            fn = compile_chunk(text, name.encode())
            if isinstance(fn, tuple):  # (nil, message)
                self.problem = bytes(fn[1]).decode("utf-8", "replace")
                log.error("%s[Lua] %s", self.block.prefix, self.problem)
                return self.problem
            compiled.append(fn)
        self.sources, (self.pre, self.post) = compiled[:-2], compiled[-2:]
        return None


class Session:
    """One request's run of a block: ``start`` (sources), then ``run`` pre/post, then ``close``."""

    def __init__(self, runtime: Runtime, deadline: float) -> None:
        self.runtime = runtime
        self.deadline = deadline if math.isfinite(deadline) else time.monotonic() + 60
        self.env: Any = None

    def start(self, request: Any, ctx: Any) -> None:
        runtime, block = self.runtime, self.runtime.block
        try:
            problem = runtime.prepare(block.sources.snapshot())
        except Exception as exc:  # noqa: BLE001 - e.g. the memory limit while compiling
            raise self._failure(exc) from None
        if problem is not None:
            # Logged once per source version by prepare; every call fails closed.
            raise ScriptError(block.label, GENERIC, detail=problem)
        runtime.bridge.begin(self.deadline)
        try:
            self.env = self._call(runtime.api[b"begin"], request, ctx)
            for chunk in runtime.sources:
                self._call(runtime.api[b"run"], chunk, self.env)
        except GatewayError:
            self.close()
            raise

    def run(self, which: str) -> None:
        """Run ``pre`` or ``post`` (an empty snippet compiles to a no-op)."""
        chunk = self.runtime.pre if which == "pre" else self.runtime.post
        self._call(self.runtime.api[b"run"], chunk, self.env)

    def set_response(self, response: Any) -> None:
        self._call(self.runtime.api[b"set_response"], response)

    def export(self, data: dict[str, Any]) -> None:
        """Check ``data`` as the script left it before it leaves the script; raises GatewayError.

        A script that stored a container in another (``d:set('x', d)``, or the
        same list twice, forty levels deep) may have made a cycle or a DAG whose
        JSON never ends: ``convert.check_tree`` refuses those.
        """
        if self.runtime.bridge.linked:
            try:
                check_tree(data, self.deadline)
            except ConversionError as exc:
                raise self._failure(exc) from None

    def close(self) -> None:
        self.runtime.bridge.deadline = math.inf
        try:
            self.runtime.api[b"finish"]()
            # Every handle of this request is garbage now: collecting it at once frees the Python
            # data it holds (a 50 MB answer would otherwise live until the next collection, per
            # thread and script) and whatever the script allocated (about 15 us for a small state).
            self.runtime.lua.gccollect()
        except Exception:  # noqa: BLE001 - finishing only drops references
            pass

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a GatewayError, never a traceback
            raise self._failure(exc) from None

    def _failure(self, exc: Exception) -> GatewayError:
        block, bridge = self.runtime.block, self.runtime.bridge
        message = exc.args[0] if exc.args and isinstance(exc.args[0], (bytes, str)) else repr(exc)
        raw = message if isinstance(message, bytes) else str(message).encode()
        custom = _CUSTOM.search(raw)
        if custom is not None and int(custom.group(1)) in bridge.customs:
            text, status, content_type = bridge.customs[int(custom.group(1))]
            log.debug("%s[Lua] custom_error %d: %s", block.prefix, status, text)
            return ScriptError(block.label, text, status, content_type, detail=f"custom_error {status}")
        # error(body) must not write megabytes of request data to the log per request.
        detail = raw[:LOGGED].decode("utf-8", "replace") + (" [...]" if len(raw) > LOGGED else "")
        if time.monotonic() > self.deadline:
            log.error("%s[Lua] script stopped at the request deadline", block.prefix)
            return BackendTimeout(block.label, "lua script stopped at the deadline")
        if isinstance(exc, lua54.LuaMemoryError) or "not enough memory" in detail:
            self.runtime.lua.gccollect()
            detail = f"memory limit ({MAX_MEMORY // 2 ** 20} MiB) reached"
        elif not isinstance(exc, (lua54.LuaError, ConversionError)):
            log.exception("%s[Lua] unexpected failure", block.prefix)
        log.error("%s[Lua] %s", block.prefix, detail)
        return ScriptError(block.label, GENERIC, detail=detail.splitlines()[0] if detail else "")


def build_block(settings: LuaSettings, path: str, label: str, prefix: str, deps: GatewayDeps) -> ScriptBlock:
    """Read the sources and compile everything once to find problems early.

    ``propylon check`` (``deps.strict``) raises ConfigError(s) naming the
    source, ``pre`` or ``post`` at fault; the running gateway logs them and
    builds the block anyway: its every call then fails closed.
    """
    sources = Sources(settings, path)
    snapshot = sources.snapshot()
    problems = [snapshot.problem] if snapshot.problem else []
    named = [(f"{path}.sources[{settings.sources.index(name)}]", name, text) for name, text in snapshot.texts]
    named += [(f"{path}.{key}", key, code.encode()) for key, code in (("pre", settings.pre), ("post", settings.post))
              if code]
    for where, name, text in named:
        error = syntax_error(text, name)
        if error is not None:
            problems.append((where, f"Lua syntax error: {error}"))
    if problems and deps.strict:
        errors = [ConfigError(where, message) for where, message in problems]
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    for where, message in problems:
        log.error("%s[Lua] %s: %s (every call of this stack fails until fixed)", prefix, where, message)
    log.debug("%s[Lua] ready: %d source(s), open libs %s", prefix, len(settings.sources), settings.allow_open_libs)
    return ScriptBlock(settings, sources, label, prefix, deps.transport)
