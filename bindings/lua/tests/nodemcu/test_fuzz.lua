-- NodeMCU mqtt: every function with random arguments of every type, on
-- a connected, a closed and a fresh client and on non-clients: errors are
-- Lua errors with a message, never a crash; the module still works after.
local T = require("t")
local F = require("fuzzargs")
local shim = require("shim")
local seed = tonumber(os.getenv("EMQ_LUA_SEED") or "") or os.time()
math.randomseed(seed)
print("# seed " .. seed .. " (EMQ_LUA_SEED to repeat)")

local live = mqtt.Client(T.uid("nm-fz"), 60)
local up = false
live:connect(T.host, T.port, function() up = true end)
shim.run(3000, function() return up end)
local closed = mqtt.Client(T.uid("nm-fz"), 60)
closed:close()
local selves = { live, closed, mqtt.Client(T.uid("nm-fz"), 1), {}, 5, "x" }

-- connect(): keep host names off DNS (a random string as host name).
local function fix_connect(args)
  if type(args[1]) == "string" then args[1] = "127.0.0.1" end
end

local names = {}
for name in pairs(mqtt._host.methods) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do
  local raised, bad = F.fuzz(name, mqtt._host.methods[name],
                             { selves = selves, fix = name == "connect" and fix_connect or nil })
  T.ok(bad == nil, string.format("m:%s with random arguments: %d of 150 raised, all with a message", name, raised))
  shim.run(20, function() return false end) -- callbacks of whatever was set up run
end
local raised, bad = F.fuzz("Client", mqtt.Client)
T.ok(bad == nil, string.format("mqtt.Client with random arguments: %d of 150 raised, all with a message", raised))
for _, s in ipairs(selves) do if type(s) == "userdata" then s:close() end end
collectgarbage("collect")

-- still in working order
local m = mqtt.Client(T.uid("nm-fz-after"), 60)
local got
m:on("message", function(c, t, d) got = d end)
m:connect(T.host, T.port, function(c)
  c:subscribe("/fz", 1, function(c2) c2:publish("/fz", "still fine", 1, 0) end)
end)
shim.run(5000, function() return got ~= nil end)
T.eq(got, "still fine", "the module works after the random calls")
m:close()
T.done()
