-- The examples of the NodeMCU mqtt document (bindings/lua/examples/nodemcu,
-- byte for byte the document's code blocks; examples/extract.py --check
-- proves it) run unmodified. The broker addresses they name are mapped to
-- the private broker by the shim (shim.redirect), as the device's network
-- would reach the broker; print() is recorded.
local T = require("t")
local shim = require("shim")
local host, port = T.host, assert(T.port, "EMQ_TEST_PORT")
local dir = arg[0]:match("^(.*)/tests/nodemcu/[^/]*$") .. "/examples/nodemcu/"

local function run_until(pred, ms) return shim.run(ms or 5000, pred) end
local function idle(ms) shim.run(ms, function() return false end) end

shim.redirect(host, port)

-- --- example 1: mqtt.Client() ... m:connect(...) ... m:close() ------------
T.section("example 1 (mqtt.Client), as printed")
local env1 = {}
local ok, err = T.run_file(dir .. "01.lua", env1)
T.ok(ok, "example 1 runs (" .. tostring(err) .. ")")
T.ok(env1.m ~= nil, "example 1 made its client m")
idle(500)
-- Its m:close() comes right after m:connect(), before the connection is
-- up: the connection is abandoned and no callback runs (on the device too:
-- close() drops the client's callbacks).
T.eq(#env1.printed, 0, "m:close() right after m:connect(): nothing is printed")
T.eq(mqtt._host.active(), 0, "no connection left behind")
-- "-- you can call m:connect again": the example's client and callbacks
-- are still set up; connecting it again runs the example's callbacks.
local watcher = mqtt.Client(T.uid("ex-watch"), 60)
local seen = {}
watcher:on("message", function(c, t, d) seen[#seen + 1] = d end)
local wready = false
watcher:connect(host, port, 0, function(c) c:subscribe("/topic", 0, function() wready = true end) end)
run_until(function() return wready end)
-- the connect call of the example, with its two callbacks, from the file
local src = T.readfile(dir .. "01.lua")
local call = src:match("(m:connect%(\"192%.168%.11%.118\", 1883, 0, function%(client%).-\nend%)\n)")
T.ok(call ~= nil, "the example's connect call found in the file")
local chunk = (loadstring or load)(call)
if setfenv then setfenv(chunk, env1) else chunk = load(call, "=example1-connect", "t", env1) end
chunk()
run_until(function()
  return T.printed(env1, "sent") and T.printed(env1, "subscribe success") and T.printed(env1, "hello")
end)
T.ok(T.printed(env1, "connected"), "example 1: \"connected\" printed (connect callback and 'connect' event)")
T.ok(T.printed(env1, "subscribe success"), "example 1: \"subscribe success\" printed")
T.ok(T.printed(env1, "sent"), "example 1: \"sent\" printed (publish callback)")
T.ok(T.printed(env1, "/topic:"), "example 1: its 'message' handler printed the topic")
T.ok(T.printed(env1, "hello"), "example 1: and the data")
run_until(function() return #seen >= 1 end)
T.eq(seen[1], "hello", "another client got the example's publish")
-- the example's lwt: /lwt "offline" when the connection drops without DISCONNECT
local lwt = {}
watcher:on("message", function(c, t, d) lwt[#lwt + 1] = t .. "=" .. tostring(d) end)
local lready = false
watcher:subscribe("/lwt", 0, function() lready = true end)
run_until(function() return lready end)
local taker = mqtt.Client("clientid", 60) -- the example's client id
taker:connect(host, port)
run_until(function() return #lwt >= 1 end)
T.eq(lwt[1], "/lwt=offline", "example 1's lwt published when its connection is taken over")
run_until(function() return T.printed(env1, "offline") end)
T.ok(T.printed(env1, "offline"), "example 1: its 'offline' handler ran")
taker:close()
env1.m:close()

-- --- example 2: the connect error handling pattern -------------------------
T.section("example 2 (handle_mqtt_error / do_mqtt_connect)")
-- The snippet calls connect on a client it names `mqtt`: run it with that
-- global bound to a client (as a script that did mqtt = mqtt.Client(...)).
local client2 = mqtt.Client(T.uid("ex2"), 60)
local env2 = { mqtt = client2 }
ok, err = T.run_file(dir .. "02.lua", env2)
T.ok(ok, "example 2 runs (" .. tostring(err) .. ")")
T.eq(type(env2.handle_mqtt_error), "function", "it defines handle_mqtt_error")
T.eq(type(env2.do_mqtt_connect), "function", "it defines do_mqtt_connect")
-- The broker is down: the error handler arms a 10 s retry timer.
shim.redirect(host, T.free_port())
env2.do_mqtt_connect()
local armed
run_until(function()
  for t in pairs(shim.timers()) do armed = t end
  return armed ~= nil
end)
T.ok(armed ~= nil, "connection failed: handle_mqtt_error armed a timer")
T.eq(armed and armed.ms, 10000, "the retry timer is 10 * 1000 ms, single")
-- The broker is back; the timer's call connects ("connected" printed).
shim.redirect(host, port)
if armed then armed:stop(); armed.fn(armed) end
run_until(function() return T.printed(env2, "connected") end)
T.ok(T.printed(env2, "connected"), "the retry connects: \"connected\" printed")
client2:close()

-- --- examples 3 and 4: subscribe / unsubscribe on a connected m -----------
T.section("examples 3 and 4 (subscribe, unsubscribe)")
local env3 = { m = mqtt.Client(T.uid("ex3"), 60) }
local up = false
env3.m:connect(host, port, function() up = true end)
run_until(function() return up end)
ok, err = T.run_file(dir .. "03.lua", env3)
T.ok(ok, "example 3 runs (" .. tostring(err) .. ")")
run_until(function() return T.printed(env3, "subscribe success") end)
T.ok(T.printed(env3, "subscribe success"), "example 3: \"subscribe success\" printed")
ok, err = T.run_file(dir .. "04.lua", env3)
T.ok(ok, "example 4 runs (" .. tostring(err) .. ")")
run_until(function() return T.printed(env3, "unsubscribe success") end)
T.ok(T.printed(env3, "unsubscribe success"), "example 4: \"unsubscribe success\" printed")
env3.m:close()
watcher:close()

T.done()
