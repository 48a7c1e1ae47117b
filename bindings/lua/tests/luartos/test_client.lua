-- Lua RTOS mqtt: client, connect, subscribe with per-topic callbacks in
-- callback threads, publish, connected, disconnect, against the private
-- broker; written as a Lua RTOS script (blocking calls, tmr.delayms).
local T = require("t")
local shim = require("shim")
local host, port = T.host, assert(T.port, "EMQ_TEST_PORT")

local function wait_for(pred, ms) return shim.run(ms or 3000, pred) end

T.section("module, client, connected")
T.eq(mqtt.QOS0, 0, "mqtt.QOS0")
T.eq(mqtt.QOS1, 1, "mqtt.QOS1")
T.eq(mqtt.QOS2, 2, "mqtt.QOS2")
T.eq(mqtt.error.CannotConnect, 12 * 2^24 + 2, "mqtt.error.CannotConnect: the driver exception code")
local id = T.uid("rt")
local client = mqtt.client(id, host, port, false)
T.eq(type(client), "userdata", "mqtt.client(clientid, host, port, false) returns a client")
T.eq(client:connected(), false, "connected() before connect: false")

T.section("subscribe before connect, connect, callbacks")
local base = "/" .. T.uid("rt-topic")
local calls = {}
local function record(tag)
  return function(len, payload, tlen, topic)
    local co, main = coroutine.running()
    calls[#calls + 1] = { tag = tag, len = len, payload = payload, tlen = tlen, topic = topic,
                          in_thread = co ~= nil and not main }
  end
end
local all = record("all")
T.eq(client:subscribe(base .. "/#", mqtt.QOS0, all), nil, "subscribe before connect (remembered) returns nothing")
T.eq(client:connect("", ""), nil, "connect(\"\", \"\") returns nothing once connected")
T.eq(client:connected(), true, "connected() true")
local a = record("a")
client:subscribe(base .. "/a", mqtt.QOS1, a)
client:subscribe(base .. "/a", mqtt.QOS1, a) -- the same again: one subscription
client:subscribe(base .. "/a", mqtt.QOS2, record("a2"))
tmr.delayms(100)
T.eq(client:publish(base .. "/a", "hello", mqtt.QOS1), nil, "publish(topic, payload, qos) returns nothing")
wait_for(function() return #calls >= 3 end)
tmr.delayms(100)
local tags = {}
for _, c in ipairs(calls) do tags[c.tag] = (tags[c.tag] or 0) + 1 end
T.eq(tags.all, 1, "the wildcard subscription's callback ran")
T.eq(tags.a, 1, "the topic's callback ran once (the same topic, qos and function subscribe once)")
T.eq(tags.a2, 1, "a second function on the same topic ran too")
local c1 = calls[1]
T.eq(c1 and c1.len, 5, "callback(length, ...): payload length")
T.eq(c1 and c1.payload, "hello", "callback(.., payload, ..)")
T.eq(c1 and c1.tlen, #(base .. "/a"), "callback(.., topic_length, ..)")
T.eq(c1 and c1.topic, base .. "/a", "callback(.., topic)")
T.ok(c1 and c1.in_thread, "the callback runs in a thread of its own (a coroutine here)")

T.section("QoS 2, binary payload, retained")
calls = {}
client:publish(base .. "/b", "x\0y", mqtt.QOS2)
wait_for(function() return #calls >= 1 end)
T.eq(calls[1] and calls[1].payload, "x\0y", "binary payload (QoS 2) delivered whole")
T.eq(calls[1] and calls[1].len, 3, "its length")
client:publish(base .. "/r", "kept", mqtt.QOS1, true)
tmr.delayms(200)
calls = {}
local c2 = mqtt.client(T.uid("rt-2"), host, port, false)
c2:subscribe(base .. "/r", 1, record("retained"))
c2:connect("", "", true)
wait_for(function() return #calls >= 1 end)
T.eq(calls[1] and calls[1].payload, "kept", "publish(..., true): retained")
c2:disconnect()
T.clear_retained(base .. "/r")

T.section("callback threads run while the script waits, and can sleep")
calls = {}
local order = {}
client:subscribe(base .. "/slow", 0, function(len, payload)
  order[#order + 1] = "start " .. payload
  thread.sleepms(200)
  order[#order + 1] = "end " .. payload
end)
tmr.delayms(100)
client:publish(base .. "/slow", "1", 0)
client:publish(base .. "/slow", "2", 0)
tmr.delayms(100)
T.eq(#order, 2, "two callback threads started, both sleeping")
tmr.delayms(300)
T.eq(#order, 4, "both finished")
local t_done = false
thread.start(function() thread.sleepms(50); t_done = true end)
tmr.delayms(100)
T.ok(t_done, "thread.start: a script thread runs too")

T.section("disconnect, connect again (subscriptions kept), clean session")
T.eq(client:disconnect(), nil, "disconnect() returns nothing")
T.eq(client:connected(), false, "connected() false after disconnect")
T.raises(function() client:publish(base .. "/a", "x", 0) end,
         "201326596:can't publish to topic (client is disconnected)",
         "publish while disconnected raises (Lua RTOS exception)")
-- cleansession defaults to false: the broker keeps the session
T.pub(base .. "/a", "while away", 1)
calls = {}
client:connect("", "")
wait_for(function() return #calls >= 3 end)
local away = 0
for _, c in ipairs(calls) do if c.payload == "while away" then away = away + 1 end end
T.ok(away >= 1, "cleansession false (the default): a message sent while away arrives (" .. away .. " callbacks)")
client:disconnect()
client:connect("", "", true)
calls = {}
client:publish(base .. "/a", "again", 0)
wait_for(function() return #calls >= 3 end)
T.eq(#calls, 3, "after a clean connect the subscriptions are made again (all three callbacks)")
T.raises(function() client:connect("", "") end, "already connected", "connect() while connected raises")
client:disconnect()
T.eq(client:disconnect(), nil, "disconnect() when not connected is fine")
T.eq(#shim.errors, 0, "no callback thread failed")

T.section("garbage collection")
for i = 1, 30 do
  local x = mqtt.client(T.uid("rt-gc"), host, port, false)
  x:subscribe("/gc/" .. i, 0, function() end)
  if i % 10 == 0 then
    x:connect("", "", true)
    x:disconnect()
  end
end
collectgarbage("collect")
collectgarbage("collect")
T.eq(mqtt._host.active(), 0, "30 clients (3 connected and disconnected) dropped and collected")
T.done()
