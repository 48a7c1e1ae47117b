-- Runs a script written for a firmware on a host Lua, with that firmware's
-- mqtt module (built by bindings/lua/CMakeLists.txt) and its shim:
--
--   lua5.3 bindings/lua/run.lua <nodemcu|luatos|luartos> <script.lua> [args...]
--
-- EMQ_LUA_BUILD: the CMake build dir (default <repo>/build/lua).
--
-- nodemcu: the script runs, then the NodeMCU loop (tasks, timers, mqtt
--          callbacks) until idle or EMQ_LUA_MAX_MS.
-- luatos:  the script runs; it ends with sys.run() as a LuatOS main.lua does
--          (sys.run returns once nothing is left to do, or after EMQ_LUA_MAX_MS).
-- luartos: the script runs (mqtt callbacks run in callback threads while it
--          waits: connect, tmr.delay, thread.sleep, ...), then the loop
--          keeps serving callbacks until idle or EMQ_LUA_LINGER_MS.
local module, script = arg[1], arg[2]
local usage = "usage: run.lua <nodemcu|luatos|luartos> <script.lua> [args...]"
if module ~= "nodemcu" and module ~= "luatos" and module ~= "luartos" then
  io.stderr:write(usage, "\n")
  os.exit(2)
end
if not script then
  io.stderr:write(usage, "\n")
  os.exit(2)
end

local here = (arg[0]:match("^(.*)/[^/]*$") or ".")
local build = os.getenv("EMQ_LUA_BUILD") or (here .. "/../../build/lua")
local ver = _VERSION:match("%d+%.%d+")
package.cpath = build .. "/lua" .. ver .. "/" .. module .. "/?.so;" .. package.cpath
package.path = here .. "/" .. module .. "/?.lua;" .. here .. "/common/?.lua;" .. here
  .. "/tests/lib/?.lua;" .. package.path

-- The script's own arguments, as `arg` and `...` of a main chunk.
local script_args = {}
for i = 3, #arg do script_args[#script_args + 1] = arg[i] end
arg = { [0] = script }
for i, v in ipairs(script_args) do arg[i] = v end

local shim = require(module .. "_shim")
for k, v in pairs(shim.globals) do _G[k] = v end
package.loaded.shim = shim

local chunk, err = loadfile(script)
if not chunk then
  io.stderr:write(err, "\n")
  os.exit(1)
end
local unpack = table.unpack or unpack
local ok, done, why = xpcall(function()
  chunk(unpack(script_args))
  if shim.after_script then return shim.after_script() end
  return true
end, debug.traceback)
if not ok then
  io.stderr:write(tostring(done), "\n")
  -- A test that failed half-way still stops the brokers it started.
  if package.loaded.t and package.loaded.t.cleanup then package.loaded.t.cleanup() end
  os.exit(1)
end
if done == false then
  io.stderr:write("run.lua: time limit reached (", tostring(why or "EMQ_LUA_MAX_MS"), ")\n")
  os.exit(3)
end
os.exit(0)
