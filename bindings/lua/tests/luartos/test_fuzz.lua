-- Lua RTOS mqtt: every function with random arguments of every type, on a
-- connected, a disconnected and a fresh client and on non-clients: errors
-- are Lua errors with a message, never a crash; the module works after.
local T = require("t")
local F = require("fuzzargs")
local shim = require("shim")
local seed = tonumber(os.getenv("EMQ_LUA_SEED") or "") or os.time()
math.randomseed(seed)
print("# seed " .. seed .. " (EMQ_LUA_SEED to repeat)")

local live = mqtt.client(T.uid("rt-fz"), T.host, T.port, false)
live:connect("", "", true)
local off = mqtt.client(T.uid("rt-fz"), T.host, T.port, false)
local nowhere = mqtt.client(T.uid("rt-fz"), T.host, T.free_port(), false)
local selves = { live, off, nowhere, {}, 5, "x" }
local names = {}
for name in pairs(mqtt._host.methods) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do
  local raised, bad = F.fuzz(name, mqtt._host.methods[name], { selves = selves })
  T.ok(bad == nil, string.format("client:%s with random arguments: %d of 150 raised, all with a message", name, raised))
  tmr.delayms(20)
end
-- mqtt.client(): keep host names off DNS.
local raised, bad = F.fuzz("client", mqtt.client, { fix = function(args)
  if type(args[2]) == "string" then args[2] = "127.0.0.1" end
end })
T.ok(bad == nil, string.format("mqtt.client with random arguments: %d of 150 raised, all with a message", raised))
for _, s in ipairs(selves) do if type(s) == "userdata" then s:disconnect() end end
collectgarbage("collect")

local m = mqtt.client(T.uid("rt-fz-after"), T.host, T.port, false)
local got
m:subscribe("/fz", 1, function(len, payload) got = payload end)
m:connect("", "", true)
m:publish("/fz", "still fine", 1)
shim.run(5000, function() return got ~= nil end)
T.eq(got, "still fine", "the module works after the random calls")
m:disconnect()
T.done()
