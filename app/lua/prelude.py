"""The trusted Lua code run once in every runtime, before any script (``runtime.Runtime``).

It captures what only trusted code may use (``debug.sethook``,
``debug.setupvalue``, the raw ``pcall``), installs the time-bound hook,
builds the API objects a script sees and returns the functions Python
drives a request with (``begin``, ``set_response``, ``finish``, ``compile``,
``run``).  Scripts never see Python objects: a ``luaTable``, ``request``...
is an empty Lua table with a protected metatable, its Python object kept in
a private weak table, and each method call goes through one Python
dispatcher (``api.Bridge.call``) with ``luaTable``/``luaList`` handles and
``luaNil`` in the arguments already replaced by their Python values.

Sandbox (no ``allow_open_libs``): every request gets a fresh environment
holding copies of the safe base functions and of ``string`` (no ``dump``),
``table``, ``math``, ``utf8`` and ``coroutine``, ``load`` for text chunks
only, and the API; no ``io``, ``os``, ``package``/``require``,
``dofile``/``loadfile``, ``debug``, ``collectgarbage`` or lupa's ``python``
module.  With ``allow_open_libs`` the environment reads through to the whole
standard library (``debug`` without ``sethook``).

Time bound: a count hook (every ``step`` instructions, on the main thread
and on every coroutine a script creates) raises once the deadline kept in
Python passed; ``pcall``/``xpcall``/``coroutine.resume`` re-raise it, so a
script cannot catch it and go on, and an ``xpcall`` handler is skipped once
it fired (a hook's error runs the handler with hooks off).  ``__gc``
metamethods are refused: a finalizer would run outside any request's
deadline.  C library calls the hook cannot interrupt are replaced (also in
the real ``string``/``table`` tables, which string methods reach):
``find``/``match``/``gmatch``/``gsub`` by ``patterns`` (C only when provably
cheap), ``string.rep`` of empty strings, ``table.move`` of more than 2^22
elements, ``table.insert``/``remove`` on tables with ``__len``.

No Python object ever reaches a script: lupa's userdata metatable (with its
``__gc``, and ``__call`` which the hook's deadline check goes through) would
be one ``getmetatable`` away.  Bridges therefore return ``(-1, message)``
instead of raising, ``custom_error`` raises a string whose status waits in
Python (``record_custom``), and the metatable is locked besides.  ``luaNil``
is a new table per request (``rawset`` on a shared one would leak data to
the next request).
"""
from __future__ import annotations

PRELUDE = r"""
local py, open_libs, step, patterns = ...
local error, type, next, pairs, select, tostring, load, rawget, rawequal =
      error, type, next, pairs, select, tostring, load, rawget, rawequal
local setmetatable, getmetatable, tointeger = setmetatable, getmetatable, math.tointeger
local raw_pcall, raw_xpcall, unpack, concat = pcall, xpcall, table.unpack, table.concat
local sethook, setupvalue, raw_getmetatable = debug.sethook, debug.setupvalue, debug.getmetatable
local co_create, co_resume = coroutine.create, coroutine.resume
local over, call, py_nil, record_custom = py.over, py.call, py.nil_value, py.record_custom
local TIMEOUT = "lua: execution time exceeded"
local CUSTOM = "\0custom_error:"
local expired = false

-- The deadline lives in Python (set without running Lua), so the hook cannot
-- fire on a stale one while trusted code starts a request.
local function hook()
  if over() then
    expired = true
    error(TIMEOUT, 0)
  end
end

local function guard(...)
  if expired then error(TIMEOUT, 0) end
  return ...
end

local function copy(t)
  local c = {}
  for k, v in next, t do c[k] = v end
  return c
end

-- Handles: empty tables whose Python object only trusted code can reach.
local objects = setmetatable({}, {__mode = "k"})
-- luaNil is a new table every request: rawset on a shared one would carry data to the next request.
local nil_mt = {__metatable = false, __tostring = function() return "luaNil" end}
local NIL = setmetatable({}, nil_mt)
local kinds = {}

local function wrap(obj, mt)
  local h = setmetatable({}, mt)
  objects[h] = obj
  return h
end

local function translate(v, depth)
  if type(v) ~= "table" then return v end
  local obj = objects[v]
  if obj ~= nil then return obj end
  if rawequal(v, NIL) then return py_nil end
  if depth > 64 then error("table nested too deeply (or containing itself)", 0) end
  local out = {}
  for k, x in next, v do out[k] = translate(x, depth + 1) end
  return out
end

local function args(...)
  local n = select("#", ...)
  if n == 0 then return end
  local t = {...}
  for i = 1, n do t[i] = translate(t[i], 0) end
  return unpack(t, 1, n)
end

-- Bridges never raise (a Python exception would reach scripts as userdata):
-- they answer (-1, message) and the error is raised here, as a string.
local function result(tag, value)
  if tag == nil or tag == 0 then return value end
  if tag == 3 then return NIL end
  if tag == -1 then error(value, 3) end
  return wrap(value, kinds[tag])
end

local function kind(tag, names)
  local index = {}
  for i = 1, #names do
    local name = names[i]
    index[name] = function(self, ...)
      local obj = objects[self]
      if obj == nil then error(name .. ": call it as a method (with ':')", 2) end
      return result(call(obj, name, args(...)))
    end
  end
  local mt = {__index = index, __metatable = false}
  kinds[tag] = mt
  return mt
end

kind(1, {"get", "set", "len", "del", "keys", "keyExists"})
kind(2, {"get", "set", "len", "del"})
kind(4, {"statusCode", "headers", "headerList", "body", "close"})
local request_mt = kind(5, {"method", "path", "query", "url", "params", "headers", "headerList", "body"})
local response_mt = kind(6, {"isComplete", "statusCode", "data", "headers", "headerList", "body"})
local ctx_mt = kind(7, {"method", "url", "host", "query", "params", "headers", "headerList", "body"})

-- Coroutines get the hook too (Lua keeps hook functions per thread).
local function create(f)
  local co = co_create(f)
  sethook(co, hook, "", step)
  return co
end

local function rethrow(ok, ...)
  if expired then error(TIMEOUT, 0) end
  if not ok then error((...), 0) end
  return ...
end

local coroutine_safe = copy(coroutine)
coroutine_safe.create = create
coroutine_safe.resume = function(co, ...) return guard(co_resume(co, ...)) end
coroutine_safe.wrap = function(f)
  local co = create(f)
  return function(...) return rethrow(co_resume(co, ...)) end
end

local function safe_setmetatable(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("setmetatable: __gc metamethods are not allowed", 2)
  end
  return setmetatable(t, mt)
end

local function lua_print(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  py.print_line(concat(parts, "\t"))
end

-- KrakenD's custom_error fails with a text carrying the status; here the
-- status and content type wait in Python under an id the text carries.
local function custom_error(msg, status, content_type)
  error(CUSTOM .. record_custom(msg, status, content_type) .. "\0" .. tostring(msg), 0)
end

local function http_response_new(...)
  if not open_libs then error("http_response needs allow_open_libs", 2) end
  return result(py.http_new(args(...)))
end

-- Library calls the count hook cannot interrupt, made bounded (in the real tables too: string
-- methods go through the string metatable).  Matching: see patterns.py.
local c_rep, c_move, c_insert, c_remove = string.rep, table.move, table.insert, table.remove
local MAX_SHIFT = 2 ^ 22  -- more elements than 64 MiB can hold
string.find, string.match, string.gmatch, string.gsub = patterns.find, patterns.match, patterns.gmatch, patterns.gsub
string.rep = function(s, n, sep)
  -- str_rep loops n times even when it copies nothing: ("").rep("", 2^62) never returns.
  if s == "" and (sep == nil or sep == "") and tointeger(n) then return "" end
  return c_rep(s, n, sep)
end
table.move = function(a1, f, e, t, a2)
  local first, last = tointeger(f), tointeger(e)
  if first and last and (last + 0.0) - first >= MAX_SHIFT then
    error("bad argument #3 to 'move' (too many elements to move)", 2)
  end
  return c_move(a1, f, e, t, a2)
end
-- A __len metamethod makes insert/remove shift up to 2^63 slots in C: those run here, in Lua.
local function has_len(t)
  local mt = type(t) == "table" and raw_getmetatable(t)
  return mt and rawget(mt, "__len") ~= nil
end
table.insert = function(t, ...)
  if not has_len(t) then return c_insert(t, ...) end
  local count, e = select("#", ...), #t + 1
  if count == 1 then t[e] = ...; return end
  if count ~= 2 then error("wrong number of arguments to 'insert'", 2) end
  local pos, v = ...
  pos = tointeger(pos)
  if not pos or pos < 1 or pos > e then error("bad argument #2 to 'insert' (position out of bounds)", 2) end
  for i = e, pos + 1, -1 do t[i] = t[i - 1] end
  t[pos] = v
end
table.remove = function(t, pos)
  if not has_len(t) then return c_remove(t, pos) end
  local size = #t
  pos = pos == nil and size or tointeger(pos)
  if not pos or (pos ~= size and (pos < 1 or pos > size + 1)) then
    error("bad argument #2 to 'remove' (position out of bounds)", 2)
  end
  local removed = t[pos]
  while pos < size do t[pos] = t[pos + 1]; pos = pos + 1 end
  t[pos] = nil
  return removed
end

local string_safe = copy(string)
string_safe.dump = nil
local debug_open = copy(debug)
debug_open.sethook = nil
local safe_names = {"assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawlen", "rawset",
                    "select", "getmetatable", "tonumber", "tostring", "type", "_VERSION"}
local base = {}
for i = 1, #safe_names do base[safe_names[i]] = _G[safe_names[i]] end
local libs = {table = table, math = math, utf8 = utf8}
local current = {}

local function new_env()
  local env
  if open_libs then
    env = setmetatable({}, {__index = _G})
    env.debug = copy(debug_open)
  else
    env = copy(base)
    for name, lib in next, libs do env[name] = copy(lib) end
    env.string = copy(string_safe)
    env.unpack = unpack
    env.load = function(chunk, name, mode, e)
      if type(chunk) ~= "string" then return nil, "load: only text chunks can be loaded" end
      return load(chunk, name, "t", e or env)
    end
    env.loadstring = env.load
  end
  env._G = env
  env.pcall = function(f, ...) return guard(raw_pcall(f, ...)) end
  env.xpcall = function(f, h, ...)
    if type(h) ~= "function" then error("bad argument #2 to 'xpcall' (function expected)", 2) end
    -- An error raised by the hook runs the handler with hooks off: never the script's once expired.
    return guard(raw_xpcall(f, function(m) if expired then return m end return h(m) end, ...))
  end
  env.coroutine = copy(coroutine_safe)
  env.setmetatable = safe_setmetatable
  env.print = lua_print
  env.custom_error = custom_error
  env.request = {load = function() return current.request end}
  env.response = {load = function() return current.response end}
  env.ctx = {load = function() return current.ctx end}
  env.luaTable = {new = function() return wrap(py.new_table(), kinds[1]) end}
  env.luaList = {new = function() return wrap(py.new_list(), kinds[2]) end}
  env.luaNil = {new = function() return NIL end}
  env.http_response = {new = http_response_new}
  return env
end

-- Trusted-only globals go; the sandbox never sees _G, this is defence in depth.
getmetatable("").__metatable = false
-- lupa's one metatable of Python objects: a script holding one (none should) cannot rewire
-- __call (the hook's deadline check is a Python call) or __gc for every later request.
raw_getmetatable(py.over).__metatable = false
python = nil
if package then package.loaded.python = nil end
if not open_libs then
  string.dump = nil
  io, os, package, require, dofile, loadfile, debug, collectgarbage = nil
end
sethook(hook, "", step)

return {
  begin = function(req, ctx)
    expired = false
    current = {}
    NIL = setmetatable({}, nil_mt)
    if req ~= nil then current.request = wrap(req, request_mt) end
    if ctx ~= nil then current.ctx = wrap(ctx, ctx_mt) end
    return new_env()
  end,
  set_response = function(resp) current.response = wrap(resp, response_mt) end,
  finish = function() current = {} end,
  compile = function(text, name) return load(text, "=" .. name, "t", {}) end,
  run = function(fn, env)
    setupvalue(fn, 1, env)
    return fn()
  end,
}
"""
