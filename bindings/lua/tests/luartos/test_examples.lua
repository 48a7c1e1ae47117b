-- The examples of the Lua RTOS mqtt document (bindings/lua/examples/luartos,
-- byte for byte the document's code blocks; examples/extract.py --check
-- proves it). The shim maps their broker ("xxxx.xx", 1883) to the private
-- broker, as the device's network would reach it.
local T = require("t")
local shim = require("shim")
local host, port = T.host, assert(T.port, "EMQ_TEST_PORT")
local dir = arg[0]:match("^(.*)/tests/luartos/[^/]*$") .. "/examples/luartos/"
shim.redirect(host, port)

local function broker_clients()
  -- the broker's view: is client "100" connected? (its log)
  local log = T.readfile(T.env("EMQ_TEST_BROKER_DIR") .. "/mosquitto.log")
  local n = 0
  for _ in log:gmatch("New client connected from [^\n]* as 100 ") do n = n + 1 end
  return n
end

T.section("example 1: mqtt.client")
local env = {}
local ok, err = T.run_file(dir .. "01.lua", env)
T.ok(ok, "example 1 runs (" .. tostring(err) .. ")")
T.eq(type(env.client), "userdata", "it made a client")
T.eq(env.client:connected(), false, "not connected yet")

T.section("example 2: connect")
env = {}
ok, err = T.run_file(dir .. "02.lua", env)
T.ok(ok, "example 2 runs (" .. tostring(err) .. ")")
T.eq(env.client and env.client:connected(), true, "client:connect(\"\",\"\") connected")
T.ok(broker_clients() >= 1, "the broker saw client id 100 connect")
env.client:disconnect()

T.section("example 3: connect ... disconnect")
-- Its "..." lines stand for the rest of a script: as printed it is not Lua.
local chunk, perr = loadfile(dir .. "03.lua")
T.ok(chunk == nil and tostring(perr):find("unexpected symbol", 1, true),
     "as printed, the \"...\" lines do not compile (" .. tostring(perr) .. ")")
local text = T.readfile(dir .. "03.lua"):gsub("\n%.%.%.\n", "\n\n"):gsub("\n%.%.%.\n", "\n\n")
local path = os.tmpname()
local f = assert(io.open(path, "w"))
f:write(text)
f:close()
env = {}
ok, err = T.run_file(path, env)
os.remove(path)
T.ok(ok, "with the \"...\" lines left empty it runs (" .. tostring(err) .. ")")
T.eq(env.client and env.client:connected(), false, "it connected and disconnected")
T.done()
