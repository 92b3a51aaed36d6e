"""The Lua side of custom health scripts: a bootstrap run once per runtime, with the full
standard library, that returns the two functions `lua.LuaHealth` calls (`compile` and
`run`). Scripts themselves only ever see the table `environment` builds.

What a script gets (Argo CD gives custom scripts Lua's base and table libraries and an
`os` with only `time` and `date`, also through `require("os")`): `obj` (the live object as
tables), the base functions minus everything that loads code or reaches the runtime
(`load*`, `dofile`, `require` of anything but "os", `getfenv`/`setfenv`, `collectgarbage`,
`newproxy`), `table`, `string` (without `dump`), `math`, and that `os`. No `io`, `debug`,
`package`, `coroutine`, and `print` writes nowhere. Each run gets a fresh global table
and fresh read-only views of the libraries, so one script cannot leave state for the next.

Bounds: a count hook every 1000 VM instructions checks a wall-clock deadline and raises;
`pcall`/`xpcall` re-raise once the deadline passed, so a script cannot swallow it;
pattern-matching functions refuse subjects over `MAX_SUBJECT` bytes (a C call is not
interruptible by the hook); memory is capped by the runtime's allocator (`max_memory`).
"""

from __future__ import annotations

TIMED_OUT = "health script timed out"
MAX_SUBJECT = 65536

BOOTSTRAP = """
local clock, max_subject, timed_out = ...
local raw_pcall, raw_xpcall, raw_error = pcall, xpcall, error
local sethook, setfenv, loadstring, unpack = debug.sethook, setfenv, loadstring, unpack
local expired = false

local function check(...)
  if expired then raw_error(timed_out, 0) end
  return ...
end
local function safe_pcall(...) return check(raw_pcall(...)) end
local function safe_xpcall(...) return check(raw_xpcall(...)) end

local function bounded(match)
  return function(s, ...)
    if type(s) == "string" and #s > max_subject then
      raw_error("string of " .. #s .. " bytes is too long to match a pattern against", 2)
    end
    return match(s, ...)
  end
end
local safe_string = {}
for name, fn in pairs(string) do
  if name ~= "dump" then safe_string[name] = fn end
end
for _, name in ipairs({"find", "match", "gmatch", "gsub"}) do
  safe_string[name] = bounded(string[name])
end
local strings = debug.getmetatable("")
strings.__index = safe_string
strings.__metatable = false

local safe_os = {time = os.time, date = os.date}
-- read-only views: a script's writes land in its own fresh table, reads fall through
local function view(lib)
  return {__index = lib, __metatable = false}
end
local views = {
  table = view(table), string = view(safe_string), math = view(math), os = view(safe_os),
}
local function require_os(name)
  if name == "os" then return setmetatable({}, views.os) end
  raw_error("module '" .. tostring(name) .. "' is not available to health scripts", 2)
end

local base = {
  print = function() end, pcall = safe_pcall, xpcall = safe_xpcall, require = require_os,
}
for _, name in ipairs({
  "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawset",
  "select", "setmetatable", "getmetatable", "tonumber", "tostring", "type", "unpack",
  "_VERSION",
}) do base[name] = _G[name] end
local globals = view(base)

local function environment(obj)
  local env = setmetatable({obj = obj}, globals)
  for name, lib in pairs(views) do env[name] = setmetatable({}, lib) end
  env._G = env
  return env
end

local function compile(source, name)
  local fn, err = loadstring(source, "=" .. name)
  return fn or false, err or ""
end

local function run(fn, obj, timeout)
  expired = false
  local deadline = clock() + timeout
  setfenv(fn, environment(obj))
  sethook(function()
    if clock() > deadline then
      expired = true
      raw_error(timed_out, 0)
    end
  end, "", 1000)
  local ok, result = raw_pcall(fn)
  sethook()
  setfenv(fn, {})
  if expired then return "timeout", timed_out end
  if not ok then
    if type(result) ~= "string" then result = "the script raised a " .. type(result) .. " value" end
    return "error", result
  end
  if type(result) ~= "table" then
    return "error", "expect table output from Lua script, not " .. type(result)
  end
  return "ok", rawget(result, "status"), rawget(result, "message")
end

return compile, run
"""
