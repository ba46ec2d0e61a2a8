"""KrakenD's Lua scripting (``modifier/lua-endpoint``, ``modifier/lua-proxy``, ``modifier/lua-backend``) on lupa.

Modules:

* ``settings``: the keys the three namespaces share (one parser, as
  krakend-lua's ``Parse``) and the source files (read once, or on change
  with ``live``; md5 checks);
* ``convert``: pure conversions between Lua values and the gateway's JSON
  data (krakend-lua's ``ParseToTable`` rules, Go number formatting);
* ``prelude``: the trusted Lua code that builds the sandbox and the Lua API
  objects (``request``, ``response``, ``ctx``, ``luaTable``, ``luaList``,
  ``luaNil``, ``custom_error``, ``http_response``) over Python bridges;
* ``patterns``: Lua's pattern matching written in Lua, so the time bound
  stops pathological patterns (the C matcher runs only when provably cheap);
* ``api``: the Python side of those objects (request, response and router
  context state, ``http_response`` calls);
* ``runtime``: one sandboxed ``LuaRuntime`` per script block and thread,
  compiled once, with the time and memory bounds, and error classification;
* ``proxy``: ``modifier/lua-proxy`` and ``modifier/lua-backend``, one module
  because krakend-lua builds both with the same ``proxy.New`` middleware and
  they differ only in the seam they sit on;
* ``endpoint``: ``modifier/lua-endpoint``, the router-level view decorator
  (the ``ctx`` API of krakend-lua's gin handler);
* ``service``: ``modifier/lua-endpoint`` at the top level, a WSGI middleware
  on every request (krakend-lua's global gin middleware).
"""
