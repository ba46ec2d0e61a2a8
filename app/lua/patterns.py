"""Lua's pattern matching (``string.find``, ``match``, ``gmatch``, ``gsub``) bounded by the time hook.

Lua's C matcher backtracks without ever running the count hook: ``('a'):rep(1e5):find('a*b')``
is quadratic, ``('.-'):rep(9) .. 'x'`` over a few hundred bytes exponential, and a single call
holds its thread for hours.  A script running a fixed pattern over request data (the classic
``s:match('^%s*(.-)%s*$')``) is enough.  ``PATTERNS`` keeps the C functions for calls whose
worst case is provably small (``cheap``: below ``LIMIT`` work units, at most milliseconds) and runs
every other call on ``lstrlib.c``'s algorithm written in Lua, where the hook stops it at the
deadline.  Results are the C functions' (``tests/unit/test_lua_patterns.py`` compares them);
only error texts differ, and a malformed pattern is an error even where C would have stopped
matching before reaching the malformed part.

Worst case of the C matcher on a subject of ``n`` bytes: every quantified single-character item
(``*``, ``+``, ``-``) multiplies the backtracking by at most ``n + 2`` and ``?`` by 2; each path
costs at most ``P`` (pattern length) per item plus ``n`` per quantifier, ``%b`` or back reference;
unanchored calls try ``n + 1`` starts.  Plain ``find`` costs ``(n + 1) * #needle``.

The chunk is run once per Lua state by the prelude, before the sandbox is built; it returns
``{find, match, gmatch, gsub}``.
"""
from __future__ import annotations

#: Work units (see the module docstring) below which the C functions run: a bound, real calls
#: take far less (``a*b`` on 250 bytes is at the limit and takes microseconds).
LIMIT = 2 ** 24

PATTERNS = r"""
local LIMIT = ...
local c_find, c_match, c_gmatch, c_gsub = string.find, string.match, string.gmatch, string.gsub
local byte, sub, char, format = string.byte, string.sub, string.char, string.format
local type, tostring, tointeger, error = type, tostring, math.tointeger, error
local unpack, concat = table.unpack, table.concat
local SINGLE, OPEN, CLOSE, DOLLAR, BALANCE, FRONTIER, BACKREF = 1, 2, 3, 4, 5, 6, 7
local UNFINISHED, POSITION = -1, -2
local ANY = {}
for c = 0, 255 do ANY[c] = true end

-- %a, %d... as the C library's ctype functions answer them (the C matcher's own verdicts).
local classes, every = {}, {}
for c = 0, 255 do every[c + 1] = char(c) end
every = concat(every)
for _, letter in ipairs({"a", "c", "d", "g", "l", "p", "s", "u", "w", "x"}) do
  local yes, no = {}, {}
  for c in c_gmatch(every, "%" .. letter) do yes[byte(c)] = true end
  for c in c_gmatch(every, "%" .. letter:upper()) do no[byte(c)] = true end
  classes[byte(letter)], classes[byte(letter:upper())] = yes, no
end
local literals = setmetatable({}, {__index = function(t, c) local set = {[c] = true}; t[c] = set; return set end})

local function escaped(c) return classes[c] or literals[c] end

-- matchbracketclass: the set of bytes "[...]" (p..ec, ec at the closing ']') accepts.
local function bracket(p, i, ec)
  local members, negate = {}, false
  if byte(p, i + 1) == 94 then negate = true; i = i + 1 end
  local items = {}
  i = i + 1
  while i < ec do
    local c = byte(p, i)
    if c == 37 then
      i = i + 1
      items[#items + 1] = escaped(byte(p, i))
    elseif byte(p, i + 1) == 45 and i + 2 < ec then
      items[#items + 1] = {range = true, c, byte(p, i + 2)}
      i = i + 2
    else
      items[#items + 1] = literals[c]
    end
    i = i + 1
  end
  for c = 0, 255 do
    local hit = false
    for k = 1, #items do
      local item = items[k]
      if item.range then hit = item[1] <= c and c <= item[2] else hit = item[c] == true end
      if hit then break end
    end
    if hit ~= negate then members[c] = true end
  end
  return members
end

-- classEnd: the end (exclusive) of the single-character class at i, and its set.
local function class_at(p, i, plen)
  local c = byte(p, i)
  if c == 37 then
    if i >= plen then error("malformed pattern (ends with '%')", 0) end
    return i + 2, escaped(byte(p, i + 1)), sub(p, i, i + 1)
  elseif c == 91 then
    local j = i + 1
    if byte(p, j) == 94 then j = j + 1 end
    repeat
      if j > plen then error("malformed pattern (missing ']')", 0) end
      local d = byte(p, j)
      j = j + 1
      if d == 37 and j <= plen then j = j + 1 end
    until byte(p, j) == 93
    return j + 1, bracket(p, i, j), sub(p, i, j)
  elseif c == 46 then
    return i + 1, ANY, nil
  end
  return i + 1, literals[c], nil
end

local cache, cached = {}, 0

-- The pattern as items, plus what its C worst case depends on.
local function compile(p)
  local cp = cache[p]
  if cp then return cp end
  local items, plen, i = {}, #p, 1
  local quantified, optional, linear = 0, 0, 0
  while i <= plen do
    local c, item = byte(p, i), nil
    if c == 40 then
      if byte(p, i + 1) == 41 then item = {t = OPEN, pos = true}; i = i + 2
      else item = {t = OPEN}; i = i + 1 end
    elseif c == 41 then item = {t = CLOSE}; i = i + 1
    elseif c == 36 and i == plen then item = {t = DOLLAR}; i = i + 1
    elseif c == 37 and byte(p, i + 1) == 98 then
      if i + 3 > plen then error("malformed pattern (missing arguments to '%b')", 0) end
      item = {t = BALANCE, open = byte(p, i + 2), close = byte(p, i + 3)}
      i, linear = i + 4, linear + 1
    elseif c == 37 and byte(p, i + 1) == 102 then
      if byte(p, i + 2) ~= 91 then error("missing '[' after '%f' in pattern", 0) end
      local j, set = class_at(p, i + 2, plen)
      item = {t = FRONTIER, set = set}
      i = j
    elseif c == 37 and (byte(p, i + 1) or 0) >= 48 and byte(p, i + 1) <= 57 then
      item = {t = BACKREF, index = byte(p, i + 1) - 48}
      i, linear = i + 2, linear + 1
    else
      local j, set, source = class_at(p, i, plen)
      local q = byte(p, j)
      if q == 42 or q == 43 or q == 45 then quantified = quantified + 1; j = j + 1
      elseif q == 63 then optional = optional + 1; j = j + 1
      else q = nil end
      item = {t = SINGLE, set = set, q = q, any = set == ANY, source = source,
              literal = source == nil and set ~= ANY and c or nil}
      i = j
    end
    items[#items + 1] = item
  end
  cp = {items = items, plen = plen, quantified = quantified, optional = optional, linear = linear + quantified}
  local first = items[1]
  if first and first.t == SINGLE and (first.q == nil or first.q == 43) and not first.any
      and (first.literal or #first.source <= 32) then
    cp.first = first  -- every match starts with this class: C finds the candidates (linear)
  end
  if cached >= 256 then cache, cached = {}, 0 end
  cache[p], cached = cp, cached + 1
  return cp
end

-- The C matcher's worst case on n bytes (see the module docstring).
local function cheap(cp, n, anchored)
  local w = (anchored and 1 or n + 1) * (cp.plen + 1) * (1 + n * cp.linear)
  if cp.quantified > 0 then w = w * (n + 2.0) ^ cp.quantified end
  if cp.optional > 0 then w = w * 2.0 ^ cp.optional end
  return w <= LIMIT
end

local do_match

local function max_expand(ms, s, i, item)
  local S, set, j = ms.S, item.set, s
  if item.any then j = ms.N + 1
  else
    while true do
      local c = byte(S, j)
      if c and set[c] then j = j + 1 else break end
    end
  end
  while j >= s do
    local r = do_match(ms, j, i + 1)
    if r then return r end
    j = j - 1
  end
  return nil
end

local function min_expand(ms, s, i, item)
  local S, set = ms.S, item.set
  while true do
    local r = do_match(ms, s, i + 1)
    if r then return r end
    local c = byte(S, s)
    if c and set[c] then s = s + 1 else return nil end
  end
end

local function capture_to_close(ms)
  for level = ms.level, 1, -1 do
    if ms.len[level] == UNFINISHED then return level end
  end
  error("invalid pattern capture", 0)
end

-- match(): the end (exclusive) of a match of items[i..] at s, or nil.
do_match = function(ms, s, i)
  local items, S = ms.items, ms.S
  while true do
    local item = items[i]
    if item == nil then return s end
    local t = item.t
    if t == SINGLE then
      local c = byte(S, s)
      local q = item.q
      if not (c and item.set[c]) then
        if q == 42 or q == 63 or q == 45 then i = i + 1 else return nil end
      elseif q == nil then s, i = s + 1, i + 1
      elseif q == 63 then
        local r = do_match(ms, s + 1, i + 1)
        if r then return r end
        i = i + 1
      elseif q == 45 then return min_expand(ms, s, i, item)
      elseif q == 43 then return max_expand(ms, s + 1, i, item)
      else return max_expand(ms, s, i, item) end
    elseif t == OPEN then
      local level = ms.level + 1
      if level > 32 then error("too many captures", 0) end
      ms.init[level], ms.len[level], ms.level = s, item.pos and POSITION or UNFINISHED, level
      local r = do_match(ms, s, i + 1)
      if r == nil then ms.level = ms.level - 1 end
      return r
    elseif t == CLOSE then
      local l = capture_to_close(ms)
      ms.len[l] = s - ms.init[l]
      local r = do_match(ms, s, i + 1)
      if r == nil then ms.len[l] = UNFINISHED end
      return r
    elseif t == DOLLAR then
      return s == ms.N + 1 and s or nil
    elseif t == BALANCE then
      if byte(S, s) ~= item.open then return nil end
      local depth, j, found = 1, s + 1, nil
      while j <= ms.N do
        local c = byte(S, j)
        if c == item.close then
          depth = depth - 1
          if depth == 0 then found = j + 1; break end
        elseif c == item.open then depth = depth + 1 end
        j = j + 1
      end
      if not found then return nil end
      s, i = found, i + 1
    elseif t == FRONTIER then
      local previous = s == 1 and 0 or byte(S, s - 1)
      if item.set[previous] or not item.set[byte(S, s) or 0] then return nil end
      i = i + 1
    else  -- BACKREF
      local l = item.index
      if l < 1 or l > ms.level or ms.len[l] == UNFINISHED then
        error(format("invalid capture index %%%d", l), 0)
      end
      local len = ms.len[l]
      if len < 0 or ms.N - s + 1 < len or sub(S, s, s + len - 1) ~= sub(S, ms.init[l], ms.init[l] + len - 1) then
        return nil
      end
      s, i = s + len, i + 1
    end
  end
end

local function capture(ms, k, s, e)
  if k > ms.level then
    if k ~= 1 then error(format("invalid capture index %%%d", k), 0) end
    return sub(ms.S, s, e - 1)
  end
  local len = ms.len[k]
  if len == UNFINISHED then error("unfinished capture", 0) end
  if len == POSITION then return ms.init[k] end
  return sub(ms.S, ms.init[k], ms.init[k] + len - 1)
end

local function captures(ms, s, e, whole)
  local n = (ms.level == 0 and whole) and 1 or ms.level
  local out = {}
  for k = 1, n do out[k] = capture(ms, k, s, e) end
  return unpack(out, 1, n)
end

local function state(S, cp)
  return {S = S, N = #S, items = cp.items, level = 0, init = {}, len = {}}
end

-- The next start at or after s where a match can begin (the first item found by C), or nil.
local function candidate(ms, cp, s)
  local first = cp.first
  if first == nil then return s end
  if first.literal then return (c_find(ms.S, char(first.literal), s, true)) end
  return (c_find(ms.S, first.source, s))
end

local function text_arg(v, n, fname)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return tostring(v) end
  error(format("bad argument #%d to '%s' (string expected, got %s)", n, fname, t == "nil" and "no value" or t), 3)
end

local function int_arg(v, default, n, fname)
  if v == nil then return default end
  local i = tointeger(v)
  if i == nil then
    error(format("bad argument #%d to '%s' (number has no integer representation)", n, fname), 3)
  end
  return i
end

local function posrelat(pos, len)
  if pos > 0 then return pos elseif pos == 0 or pos < -len then return 1 end
  return len + pos + 1
end

local function plain_find(S, p, init)
  local n, m = #S, #p
  if (n + 1.0) * (m + 1) <= LIMIT or m == 0 then return c_find(S, p, init, true) end
  local first = sub(p, 1, 1)
  local s = init
  while true do
    s = c_find(S, first, s, true)
    if s == nil or s + m - 1 > n then return nil end
    if sub(S, s, s + m - 1) == p then return s, s + m - 1 end
    s = s + 1
  end
end

local function find_aux(find, fname, S, p, init, plain)
  S, p = text_arg(S, 1, fname), text_arg(p, 2, fname)
  local n = #S
  init = posrelat(int_arg(init, 1, 3, fname), n)
  if init > n + 1 then return nil end
  if find and (plain or not c_find(p, "[%^%$%*%+%?%.%(%[%%%-]")) then return plain_find(S, p, init) end
  local anchored = byte(p, 1) == 94
  local cp = compile(anchored and sub(p, 2) or p)
  if cheap(cp, n, anchored) then
    if find then return c_find(S, p, init) end
    return c_match(S, p, init)
  end
  local ms = state(S, cp)
  local s = init
  repeat
    if not anchored then
      s = candidate(ms, cp, s)
      if s == nil then return nil end
    end
    ms.level = 0
    local e = do_match(ms, s, 1)
    if e then
      if find then return s, e - 1, captures(ms, s, e, false) end
      return captures(ms, s, e, true)
    end
    s = s + 1
  until anchored or s > n + 1
  return nil
end

local function find(S, p, init, plain) return find_aux(true, "find", S, p, init, plain) end
local function match(S, p, init) return find_aux(false, "match", S, p, init) end

local function gmatch(S, p, init)
  S, p = text_arg(S, 1, "gmatch"), text_arg(p, 2, "gmatch")
  local n = #S
  init = posrelat(int_arg(init, 1, 3, "gmatch"), n)
  if init > n + 1 then init = n + 2 end
  local cp = compile(p)
  if cheap(cp, n, false) then return c_gmatch(S, p, init) end
  local ms, s, last = state(S, cp), init, nil
  return function()
    while s <= n + 1 do
      s = candidate(ms, cp, s)
      if s == nil then s = n + 2; return nil end
      ms.level = 0
      local e = do_match(ms, s, 1)
      if e and e ~= last then
        local start = s
        s, last = e, e
        return captures(ms, start, e, true)
      end
      s = s + 1
    end
    return nil
  end
end

-- add_s: a replacement string with %0-%9 and %%.
local function add_string(out, repl, ms, s, e)
  local i = 1
  while true do
    local j = c_find(repl, "%", i, true)
    if j == nil then out[#out + 1] = sub(repl, i); return end
    out[#out + 1] = sub(repl, i, j - 1)
    local d = byte(repl, j + 1)
    if d == 37 then out[#out + 1] = "%"
    elseif d == 48 then out[#out + 1] = sub(ms.S, s, e - 1)
    elseif d and d >= 49 and d <= 57 then out[#out + 1] = tostring(capture(ms, d - 48, s, e))
    else error("invalid use of '%' in replacement string", 0) end
    i = j + 2
  end
end

-- add_value: true when the match was replaced.
local function add_value(out, repl, kind, ms, s, e)
  if kind == "string" then add_string(out, repl, ms, s, e); return true end
  local v
  if kind == "function" then v = repl(captures(ms, s, e, true))
  else v = repl[capture(ms, 1, s, e)] end
  if not v then out[#out + 1] = sub(ms.S, s, e - 1); return false end
  local tv = type(v)
  if tv ~= "string" and tv ~= "number" then error("invalid replacement value (a " .. tv .. ")", 0) end
  out[#out + 1] = tostring(v)
  return true
end

local function gsub(original, p, repl, max_n)
  local S = text_arg(original, 1, "gsub")
  p = text_arg(p, 2, "gsub")
  local kind = type(repl)
  if kind == "number" then repl, kind = tostring(repl), "string" end
  if kind ~= "string" and kind ~= "function" and kind ~= "table" then
    error("bad argument #3 to 'gsub' (string/function/table expected, got "
          .. (kind == "nil" and "no value" or kind) .. ")", 2)
  end
  local n = #S
  max_n = int_arg(max_n, n + 1, 4, "gsub")
  local anchored = byte(p, 1) == 94
  local cp = compile(anchored and sub(p, 2) or p)
  if cheap(cp, n, anchored) then return c_gsub(S, p, repl, max_n) end
  local ms, out, s, count, changed, last = state(S, cp), {}, 1, 0, false, nil
  while count < max_n do
    ms.level = 0
    local e = do_match(ms, s, 1)
    if e and e ~= last then
      count = count + 1
      changed = add_value(out, repl, kind, ms, s, e) or changed
      s, last = e, e
    elseif s <= n then
      local next_s = anchored and s + 1 or (candidate(ms, cp, s + 1) or n + 1)
      out[#out + 1] = sub(S, s, next_s - 1)
      s = next_s
    else break end
    if anchored then break end
  end
  if not changed then return original, count end
  out[#out + 1] = sub(S, s)
  return concat(out), count
end

return {find = find, match = match, gmatch = gmatch, gsub = gsub}
"""
