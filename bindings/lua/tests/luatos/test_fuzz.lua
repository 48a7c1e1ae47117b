-- LuatOS mqtt: every function with random arguments of every type, on a
-- connected, a closed and a fresh client and on non-clients: errors are Lua
-- errors with a message, never a crash; the module still works after.
local T = require("t")
local F = require("fuzzargs")
local seed = tonumber(os.getenv("EMQ_LUA_SEED") or "") or os.time()
math.randomseed(seed)
print("# seed " .. seed .. " (EMQ_LUA_SEED to repeat)")

sys.taskInit(function()
  local live = mqtt.create(nil, T.host, T.port)
  live:auth(T.uid("lt-fz"))
  live:on(function(c, event) if event == "conack" then sys.publish("up") end end)
  live:connect()
  sys.waitUntil("up", 3000)
  local closed = mqtt.create(nil, T.host, T.port)
  closed:close()
  local selves = { live, closed, mqtt.create(nil, T.host, T.free_port()), {}, 5, "x" }
  local names = {}
  for name, fn in pairs(mqtt._host.methods) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local raised, bad = F.fuzz(name, mqtt._host.methods[name], { selves = selves })
    T.ok(bad == nil, string.format("mqttc:%s with random arguments: %d of 150 raised, all with a message", name, raised))
    sys.wait(20)
  end
  -- create(): keep host names off DNS.
  local raised, bad = F.fuzz("create", mqtt.create, { fix = function(args)
    if type(args[2]) == "string" then args[2] = "127.0.0.1" end
  end })
  T.ok(bad == nil, string.format("mqtt.create with random arguments: %d of 150 raised, all with a message", raised))
  for _, s in ipairs(selves) do if type(s) == "userdata" then pcall(s.close, s) end end
  collectgarbage("collect")

  local m = mqtt.create(nil, T.host, T.port)
  m:auth(T.uid("lt-fz-after"))
  local got
  m:on(function(c, event, data, payload)
    if event == "conack" then c:subscribe("/fz", 1) end
    if event == "suback" then c:publish("/fz", "still fine", 1) end
    if event == "recv" then got = payload; sys.publish("got") end
  end)
  m:connect()
  if not got then sys.waitUntil("got", 5000) end
  T.eq(got, "still fine", "the module works after the random calls")
  m:close()
  T.done()
end)
sys.run()
