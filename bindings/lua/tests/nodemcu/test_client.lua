-- NodeMCU mqtt: every documented function and event against the private
-- broker (run.lua nodemcu, under scripts/with-broker.sh).
local T = require("t")
local shim = require("shim")
local host, port = T.host, assert(T.port, "EMQ_TEST_PORT")

local function run_until(pred, ms) return shim.run(ms or 5000, pred) end

-- --- mqtt.Client(), on(), lwt(), connect() with its callbacks ---------------
T.section("Client, on, connect callbacks, connect event")
local id = T.uid("nm")
local m = mqtt.Client(id, 120)
T.ok(m ~= nil, "mqtt.Client(clientid, keepalive) returns a client")
T.eq(m:on("connect", function() end), nil, "on() returns nil")
T.eq(m:lwt("/lwt", "offline", 0, 0), nil, "lwt() returns nil")

local log = {}
m:on("connect", function(client)
  log[#log + 1] = "on:connect"
  T.ok(client == m, "connect event gets the client")
end)
m:on("offline", function(client) log[#log + 1] = "on:offline" end)
local got = {}
m:on("message", function(client, topic, data)
  got[#got + 1] = { topic = topic, data = data }
end)

local ok_client
local r = m:connect(host, port, 0, function(client)
  log[#log + 1] = "cb:connected"
  ok_client = client
end, function(client, reason)
  log[#log + 1] = "cb:failed " .. tostring(reason)
end)
T.eq(r, true, "connect() returns true when the connection is started")
T.eq(m:connect(host, port), false, "a second connect() while connecting returns false")
run_until(function() return #log >= 2 end)
T.eq(log[1], "cb:connected", "connect callback first")
T.eq(log[2], "on:connect", "then the 'connect' event")
T.ok(ok_client == m, "connect callback gets the client")

-- --- subscribe / publish / message -----------------------------------------
T.section("subscribe, publish (QoS 0/1/2), message, callbacks")
local topic = "/" .. T.uid("nm-topic")
local subacks, pubacks = 0, 0
T.eq(m:subscribe(topic, 0, function(client)
  subacks = subacks + 1
  T.ok(client == m, "subscribe callback gets the client")
end), true, "subscribe(topic, qos, fn) returns true")
run_until(function() return subacks == 1 end)
T.eq(subacks, 1, "subscribe callback fired on SUBACK")

T.eq(m:publish(topic, "hello", 0, 0, function(client)
  pubacks = pubacks + 1
end), true, "publish(topic, payload, 0, 0, fn) returns true")
run_until(function() return #got == 1 and pubacks == 1 end)
T.eq(pubacks, 1, "publish callback fired for QoS 0 (once written)")
T.eq(got[1] and got[1].topic, topic, "message event: topic")
T.eq(got[1] and got[1].data, "hello", "message event: data")

-- The last publish callback defined serves every publish.
local second = 0
m:publish(topic .. "/a", "x", 1, 0, function() second = second + 1 end)
m:publish(topic .. "/b", "y", 2, 0)
run_until(function() return second == 2 end)
T.eq(second, 2, "last callback defined is called for ALL publishes (QoS 1 PUBACK, QoS 2 PUBCOMP)")

-- QoS 1 and 2 both ways, binary payload, empty payload
local sub2 = 0
m:subscribe(topic .. "/q", 2, function() sub2 = sub2 + 1 end)
run_until(function() return sub2 == 1 end)
got = {}
local bin = "a\0b\255c"
m:publish(topic .. "/q", bin, 1, 0)
m:publish(topic .. "/q", "two", 2, 0)
m:publish(topic .. "/q", "", 1, 0)
run_until(function() return #got == 3 end)
-- (the broker forwards a QoS 2 message after its PUBREL: order may differ)
local by = {}
for _, g in ipairs(got) do by[g.data == nil and "<nil>" or g.data] = true end
T.ok(by[bin], "binary payload round trip (QoS 1)")
T.ok(by["two"], "QoS 2 round trip")
T.ok(by["<nil>"], "empty payload: message callback gets data == nil")

-- retained
local rtopic = topic .. "/retained"
m:publish(rtopic, "kept", 1, 1)
local pubs = 0
m:publish(rtopic .. "/x", "", 0, 0, function() pubs = pubs + 1 end)
run_until(function() return pubs >= 1 end)
got = {}
m:subscribe(rtopic, 1)
run_until(function() return #got == 1 end)
T.eq(got[1] and got[1].data, "kept", "retain flag: the broker keeps the message")
T.clear_retained(rtopic)

-- table form of subscribe / unsubscribe
T.section("subscribe/unsubscribe table forms, unsubscribe")
local t1, t2 = topic .. "/t1", topic .. "/t2"
local sb = 0
T.eq(m:subscribe({ [t1] = 0, [t2] = 1 }, function() sb = sb + 1 end), true,
     "subscribe(table, fn) returns true")
run_until(function() return sb == 1 end)
T.eq(sb, 1, "one SUBACK for the table")
got = {}
T.pub(t1, "m1", 0)
T.pub(t2, "m2", 1)
run_until(function() return #got == 2 end)
T.eq(#got, 2, "messages on both topics of the table")

local ub = 0
T.eq(m:unsubscribe(t1, function(client)
  ub = ub + 1
  T.ok(client == m, "unsubscribe callback gets the client")
end), true, "unsubscribe(topic, fn) returns true")
run_until(function() return ub == 1 end)
T.eq(ub, 1, "unsubscribe callback fired on UNSUBACK")
T.eq(m:unsubscribe({ [t2] = true, [topic] = true }), true, "unsubscribe(table) returns true")
run_until(function() return ub == 2 end)
T.eq(ub, 2, "last unsubscribe callback serves the table form too")
got = {}
T.pub(t1, "gone", 0)
T.pub(t2, "gone", 0)
T.pub(topic, "gone", 0)
T.pub(topic .. "/q", "still", 0)
run_until(function() return #got >= 1 end, 3000)
shim.run(200, function() return false end)
T.eq(#got, 1, "after unsubscribing only the remaining subscription delivers")
T.eq(got[1] and got[1].data, "still", "the remaining subscription's message")

-- puback / suback / unsuback events (the ESP8266 module's names)
T.section("puback, suback, unsuback events")
local ev = {}
m:on("puback", function(c) ev.puback = (ev.puback or 0) + 1 end)
m:on("suback", function(c) ev.suback = (ev.suback or 0) + 1 end)
m:on("unsuback", function(c) ev.unsuback = (ev.unsuback or 0) + 1 end)
m:subscribe(topic .. "/ev", 1)
m:publish(topic .. "/ev", "e", 1, 0)
m:unsubscribe(topic .. "/ev")
run_until(function() return ev.puback and ev.suback and ev.unsuback end)
T.eq(ev.suback, 1, "suback event")
T.eq(ev.puback, 1, "puback event")
T.eq(ev.unsuback, 1, "unsuback event")
m:on("puback", nil)
m:on("suback", nil)
m:on("unsuback", nil)

-- --- close() and connect again -----------------------------------------
T.section("close, connect again, offline")
local offline_before = 0
for _, l in ipairs(log) do if l == "on:offline" then offline_before = offline_before + 1 end end
T.eq(m:close(), nil, "close() returns nil")
shim.run(300, function() return false end)
local offline_after = 0
for _, l in ipairs(log) do if l == "on:offline" then offline_after = offline_after + 1 end end
T.eq(offline_after, offline_before, "close() gives no further callbacks")
T.eq(m:publish(topic, "x", 0, 0), false, "publish after close returns false")
T.eq(m:subscribe(topic, 0), false, "subscribe after close returns false")
T.eq(m:unsubscribe(topic), false, "unsubscribe after close returns false")

local again = false
T.eq(m:connect(host, port, function() again = true end), true, "connect again after close (port, callback)")
run_until(function() return again end)
T.ok(again, "reconnected after close; connect callback fired")

-- The broker drops the connection: a second client takes the client id.
local offline = 0
m:on("offline", function(c) offline = offline + 1 end)
local m2 = mqtt.Client(id, 60)
m2:connect(host, port)
run_until(function() return offline == 1 end)
T.eq(offline, 1, "offline event when the broker closes the connection")
T.eq(m:publish(topic, "x", 0, 0), false, "publish while offline returns false")
m2:close()
m:close()

-- --- lwt ---------------------------------------------------------------------
T.section("lwt")
local wtopic = "/" .. T.uid("nm-will")
local watcher = mqtt.Client(T.uid("nm-watch"), 60)
local wgot = {}
watcher:on("message", function(c, t, d) wgot[#wgot + 1] = d end)
local wready = false
watcher:connect(host, port, 0, function(c)
  c:subscribe(wtopic, 0, function() wready = true end)
end)
run_until(function() return wready end)
local wid = T.uid("nm-willer")
local w = mqtt.Client(wid, 60)
w:lwt(wtopic, "offline", 0, 0)
local wconn = false
w:connect(host, port, 0, function() wconn = true end)
run_until(function() return wconn end)
-- Taken over by another connection with its client id: the broker
-- publishes the will (the connection was not closed with DISCONNECT).
local thief = mqtt.Client(wid, 60)
thief:connect(host, port)
run_until(function() return #wgot >= 1 end)
T.eq(wgot[1], "offline", "the broker published the last will")
w:close()
thief:close()
watcher:close()

-- --- cleansession 0 keeps the session --------------------------------------
T.section("cleansession")
local sid = T.uid("nm-persist")
local ptopic = "/" .. T.uid("nm-persist-topic")
local p1 = mqtt.Client(sid, 60, nil, nil, 0)
local pready = false
p1:connect(host, port, 0, function(c) c:subscribe(ptopic, 1, function() pready = true end) end)
run_until(function() return pready end)
p1:close()
T.pub(ptopic, "while away", 1)
local p2 = mqtt.Client(sid, 60, nil, nil, 0)
local pgot
p2:on("message", function(c, t, d) pgot = d end)
p2:connect(host, port)
run_until(function() return pgot ~= nil end)
T.eq(pgot, "while away", "cleansession 0: a QoS 1 message queued while away arrives")
p2:close()
-- and clean again (default 1), so the broker forgets it
local p3 = mqtt.Client(sid, 60)
local p3c = false
p3:connect(host, port, function() p3c = true end)
run_until(function() return p3c end)
p3:close()

-- --- garbage collection --------------------------------------------------
T.section("garbage collection")
local gone = 0
do
  local conns = 0
  for i = 1, 40 do
    local x = mqtt.Client(T.uid("nm-gc"), 60)
    x:on("message", function() end)
    if i % 8 == 0 then
      x:connect(host, port, function() conns = conns + 1 end)
      run_until(function() return conns == i / 8 end)
      x:close()
    end
  end
  -- A connected client nobody refers to keeps working (as on the device).
  local kept = mqtt.Client(T.uid("nm-gc-kept"), 60)
  local kgot
  kept:on("message", function(c, t, d) kgot = d; c:close() end)
  local ktopic = "/gc/" .. T.uid("k")
  kept:connect(host, port, function(c)
    c:subscribe(ktopic, 0, function(c2) c2:publish(ktopic, "x", 0, 0) end)
  end)
  kept = nil
  gone = conns
end
collectgarbage("collect")
collectgarbage("collect")
T.eq(gone, 5, "40 clients made (5 connected and closed), dropped and collected")
T.ok(mqtt._host.active() >= 1, "a connected client nobody refers to is kept alive")
run_until(function() return mqtt._host.active() == 0 end)
T.eq(mqtt._host.active(), 0, "it closed itself from its callback")

T.done()
