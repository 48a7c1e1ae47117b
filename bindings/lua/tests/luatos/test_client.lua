-- LuatOS mqtt: every documented function and event against the private
-- broker, written as a LuatOS script (sys tasks, sys.waitUntil, sys.run).
local T = require("t")
local host, port = T.host, assert(T.port, "EMQ_TEST_PORT")

-- Every event is kept, and announced on the bus as "mqtt_<event>" (as the
-- LuatOS demos do); wait_event takes the oldest one not taken yet, so an
-- event that came before the wait is not missed.
local events, unseen = {}, {}
local function handler(mqtt_client, event, data, payload, metas)
  local e = { client = mqtt_client, event = event, data = data, payload = payload, metas = metas }
  events[#events + 1] = e
  unseen[#unseen + 1] = e
  sys.publish("mqtt_" .. event, mqtt_client, data, payload, metas)
  sys.publish("mqtt_any")
end

-- Returns ok, client, data, payload, metas of the next `event` (of
-- `client`, if given).
local function wait_event(event, ms, client)
  local deadline = mqtt._host.now() + (ms or 3000)
  while true do
    for i, e in ipairs(unseen) do
      if e.event == event and (client == nil or e.client == client) then
        table.remove(unseen, i)
        return true, e.client, e.data, e.payload, e.metas
      end
    end
    local left = deadline - mqtt._host.now()
    if left <= 0 or not sys.waitUntil("mqtt_any", left) then return false end
  end
end

-- Forgets the events of `client` not taken yet.
local function drain(client)
  for i = #unseen, 1, -1 do
    if unseen[i].client == client then table.remove(unseen, i) end
  end
end

local function count(event)
  local n = 0
  for _, e in ipairs(events) do if e.event == event then n = n + 1 end end
  return n
end

sys.taskInit(function()
  T.section("constants, create, auth, keepalive, will, on")
  T.eq(mqtt.STATE_DISCONNECT, 0, "mqtt.STATE_DISCONNECT")
  T.eq(mqtt.STATE_SCONNECT, 1, "mqtt.STATE_SCONNECT")
  T.eq(mqtt.STATE_MQTT, 2, "mqtt.STATE_MQTT")
  T.eq(mqtt.STATE_READY, 3, "mqtt.STATE_READY")

  local id = T.uid("lt")
  local mqttc = mqtt.create(nil, host, port)
  T.eq(type(mqttc), "userdata", "mqtt.create(nil, host, port) returns a client")
  T.eq(mqttc:state(), mqtt.STATE_DISCONNECT, "state() before connect: 0")
  T.eq(mqttc:ready(), false, "ready() before connect: false")
  T.eq(mqttc:auth(id), nil, "auth(client_id) returns nothing")
  T.eq(mqttc:keepalive(30), nil, "keepalive(30) returns nothing")
  T.eq(mqttc:will("/" .. id .. "/will", "gone"), true, "will(topic, payload) returns true")
  T.eq(mqttc:on(handler), nil, "on(cb) returns nothing")

  -- Idle from here to the pong section.
  local pinger = mqtt.create(nil, host, port)
  pinger:auth(T.uid("lt-ping"))
  pinger:keepalive(1)
  pinger:on(handler)
  pinger:connect()
  T.ok(wait_event("conack", 3000, pinger), "a second client, keepalive(1) (clamped to 15 s), connected")

  T.section("connect, conack, ready, state")
  T.eq(mqttc:connect(), true, "connect() returns true")
  local st = mqttc:state()
  T.ok(st >= mqtt.STATE_SCONNECT, "state() right after connect(): connecting or beyond (" .. st .. ")")
  T.eq(mqttc:connect(), false, "connect() while connecting returns false")
  local ok, c = wait_event("conack", 5000)
  T.ok(ok, "conack event")
  T.ok(c == mqttc, "the callback's first argument is the client")
  T.eq(mqttc:ready(), true, "ready() after conack: true")
  T.eq(mqttc:state(), mqtt.STATE_READY, "state() after conack: 3")
  T.eq(mqttc:connect(), false, "connect() while connected returns false")

  T.section("subscribe, suback, publish, sent, recv with metas")
  local topic = "/" .. T.uid("lt-topic")
  local sid = mqttc:subscribe(topic, 0)
  T.eq(type(sid), "number", "subscribe(topic, 0) returns a message id")
  local sok, _, granted_ok, granted = wait_event("suback", 3000)
  T.ok(sok and granted_ok == true and granted == 0, "suback event: true, granted QoS 0")
  local sid2 = mqttc:subscribe(topic .. "/+", 2)
  T.ok(type(sid2) == "number" and sid2 ~= sid, "subscribe(filter, 2) returns another id")
  sok, _, granted_ok, granted = wait_event("suback", 3000)
  T.eq(granted, 2, "suback event: granted QoS 2")

  local pid = mqttc:publish(topic, "123")
  T.eq(pid, 0, "publish(topic, data): QoS 0 by default, message id 0")
  local ok1, _, sent_id = wait_event("sent", 3000)
  T.ok(ok1 and sent_id == 0, "sent event for QoS 0 at once, data = 0")
  local rok, _, rtopic, rpayload, metas = wait_event("recv", 3000)
  T.ok(rok, "recv event")
  T.eq(rtopic, topic, "recv: data is the topic")
  T.eq(rpayload, "123", "recv: payload")
  T.eq(type(metas), "table", "recv: metas table")
  T.eq(metas and metas.qos, 0, "metas.qos")
  T.eq(metas and metas.retain, 0, "metas.retain")
  T.eq(metas and metas.dup, 0, "metas.dup")
  T.eq(metas and metas.message_id, 0, "metas.message_id (0 for QoS 0)")

  local q1 = mqttc:publish(topic .. "/a", "one", 1, 0)
  T.ok(type(q1) == "number" and q1 > 0, "publish(..., 1, 0) returns a message id")
  local ok2, _, sent1 = wait_event("sent", 3000)
  T.eq(sent1, q1, "sent event (PUBACK) with that message id")
  rok, _, rtopic, rpayload, metas = wait_event("recv", 3000)
  T.eq(rpayload, "one", "QoS 1 message received")
  T.eq(metas and metas.qos, 1, "metas.qos 1 (granted 2, sent at 1)")
  T.ok(metas and metas.message_id > 0, "metas.message_id of a QoS 1 message")

  local q2 = mqttc:publish(topic .. "/b", "two\0bytes", 2, 0)
  local ok3, _, sent2 = wait_event("sent", 3000)
  T.eq(sent2, q2, "QoS 2: sent event with its id")
  rok, _, rtopic, rpayload, metas = wait_event("recv", 3000)
  T.eq(rpayload, "two\0bytes", "binary QoS 2 message received")
  T.eq(metas and metas.qos, 2, "metas.qos 2")

  -- QoS 2 is "sent" at PUBREC, as in LuatOS, and only then: not again at PUBCOMP.
  local sent_before = count("sent")
  local q2ids = {}
  for i = 1, 5 do q2ids[mqttc:publish(topic .. "/b", "q2-" .. i, 2, 0)] = true end
  for _ = 1, 5 do
    local okn, _, sid = wait_event("sent", 3000)
    T.ok(okn and q2ids[sid], "QoS 2 burst: sent event for one of its ids (" .. tostring(sid) .. ")")
    q2ids[sid or -1] = nil
  end
  for _ = 1, 5 do wait_event("recv", 3000) end
  T.eq(wait_event("sent", 300), false, "no second sent event (PUBCOMP) for a QoS 2 message")
  T.eq(count("sent"), sent_before + 5, "five QoS 2 publishes, five sent events")

  -- retained, and the module-function form
  local rt = topic .. "/retained"
  T.ok(type(mqtt.publish(mqttc, rt, "kept", 1, 1)) == "number", "mqtt.publish(mqttc, ...) works as a function too")
  wait_event("sent", 3000)
  wait_event("recv", 3000) -- the live copy (topic/+)
  mqttc:unsubscribe(topic .. "/+")
  wait_event("unsuback", 3000)
  mqttc:subscribe(rt, 1)
  rok, _, rtopic, rpayload, metas = wait_event("recv", 3000)
  T.ok(rok and rpayload == "kept" and metas.retain == 1, "retained message: metas.retain 1")
  mqttc:unsubscribe(rt)
  wait_event("unsuback", 3000)
  T.clear_retained(rt)

  T.section("subscribe table, unsubscribe (string and list), unsuback")
  local a, b, k = topic .. "/t/a", topic .. "/t/b", topic .. "/t/keep"
  local before = count("suback")
  local tid = mqttc:subscribe({ [a] = 1, [b] = 2, [k] = 0 })
  T.eq(type(tid), "number", "subscribe({[topic]=qos, ...}) returns a message id")
  for _ = 1, 3 do wait_event("suback", 3000) end
  T.eq(count("suback") - before, 3, "one suback event per topic of the table")
  T.pub(a, "A", 1)
  T.pub(b, "B", 1)
  local seen = {}
  for _ = 1, 2 do
    local okr, _, t2, p2 = wait_event("recv", 3000)
    if okr then seen[p2] = t2 end
  end
  T.ok(seen.A == a and seen.B == b, "messages on both topics of the table")
  T.eq(mqttc:unsubscribe(topic), nil, "unsubscribe(topic) returns nothing")
  T.ok(wait_event("unsuback", 3000), "unsuback event")
  T.eq(mqttc:unsubscribe({ a, b }), nil, "unsubscribe({topic, topic}) returns nothing")
  T.ok(wait_event("unsuback", 3000), "unsuback event for the list")
  T.pub(a, "gone", 0)
  T.pub(b, "gone", 0)
  T.pub(topic, "gone", 0)
  T.pub(k, "still", 0)
  local okr, _, _, p3 = wait_event("recv", 3000)
  T.eq(p3, "still", "after unsubscribing only the remaining subscription delivers")
  T.eq(wait_event("recv", 300), false, "nothing else arrives")

  T.section("disconnect, connect again, disconnect event, will")
  T.eq(mqttc:disconnect(), true, "disconnect() returns true")
  local dok, _, state = wait_event("disconnect", 3000)
  T.ok(dok, "disconnect event after disconnect()")
  T.eq(mqttc:ready(), false, "ready() after disconnect: false")
  T.eq(mqttc:state(), 0, "state() after disconnect: 0")
  T.eq(mqttc:publish(topic, "x", 1), nil, "publish while disconnected returns nil")
  T.eq(mqttc:subscribe(topic, 1), nil, "subscribe while disconnected returns nil")
  T.eq(mqttc:connect(), true, "connect() again")
  T.ok(wait_event("conack", 5000), "conack again (auth settings kept)")

  -- The broker drops us (another connection with the client id): the
  -- disconnect event, and the will is published (no DISCONNECT was sent).
  local watcher = mqtt.create(nil, host, port)
  watcher:auth(T.uid("lt-watch"))
  local wgot, watcher_ready
  watcher:on(function(cl, ev, data, payload)
    if ev == "conack" then cl:subscribe("/" .. id .. "/will", 0) end
    if ev == "suback" then watcher_ready = true; sys.publish("watch_ready") end
    if ev == "recv" then wgot = payload; sys.publish("watch_recv") end
  end)
  watcher:connect()
  T.ok(watcher_ready or sys.waitUntil("watch_ready", 3000), "a watcher subscribed to the will topic")
  local thief = mqtt.create(nil, host, port)
  thief:auth(id)
  thief:connect()
  local dok2, dcl, dstate = wait_event("disconnect", 3000)
  T.ok(dok2 and dcl == mqttc, "the broker closed the connection: disconnect event")
  T.eq(dstate, -1, "disconnect event data: -1 (the socket closed)")
  T.ok(wgot ~= nil or sys.waitUntil("watch_recv", 3000), "the will was published")
  T.eq(wgot, "gone", "will payload")
  thief:close()
  watcher:close()

  T.section("auth() without a client id, clean session false, debug")
  local anon = mqtt.create(nil, host, port)
  anon:auth()
  anon:on(handler)
  anon:connect()
  local aok, acl = wait_event("conack", 3000, anon)
  T.ok(aok and acl == anon, "auth() without a client id: the broker assigns one")
  anon:close()

  local pid_ = T.uid("lt-persist")
  local ptopic = "/" .. pid_
  local p1 = mqtt.create(nil, host, port)
  p1:auth(pid_, nil, nil, false)
  p1:on(handler)
  p1:connect()
  wait_event("conack", 3000, p1)
  p1:subscribe(ptopic, 1)
  wait_event("suback", 3000, p1)
  p1:disconnect()
  wait_event("disconnect", 3000, p1)
  T.pub(ptopic, "queued", 1)
  p1:connect()
  wait_event("conack", 3000, p1)
  local pok, _, _, pp = wait_event("recv", 3000, p1)
  T.eq(pp, "queued", "cleanSession false: the session (and a queued message) survive a reconnect")
  p1:auth(pid_) -- clean again, so the broker forgets it
  p1:disconnect()
  wait_event("disconnect", 3000, p1)
  p1:connect()
  wait_event("conack", 3000, p1)
  drain(p1)

  local lines = {}
  local real_debug = log.debug
  log.debug = function(tag, ...) lines[#lines + 1] = table.concat({ tag, ... }, " ") end
  T.eq(p1:debug(true), nil, "debug(true) returns nothing")
  p1:disconnect()
  wait_event("disconnect", 3000, p1)
  p1:connect()
  wait_event("conack", 3000, p1)
  sys.wait(100)
  T.ok(#lines > 0, "debug(true): the library's log lines come out (" .. #lines .. " lines, e.g. '" .. tostring(lines[1]) .. "')")
  p1:debug(false)
  local n = #lines
  p1:disconnect()
  wait_event("disconnect", 3000, p1)
  sys.wait(100)
  T.eq(#lines, n, "debug(false): no more")
  log.debug = real_debug
  p1:close()

  T.section("pong (later LuatOS versions): each PINGRESP")
  -- keepalive() takes at least 15 s (the document's clamp); the pinger has
  -- been idle since the first section.
  T.ok(wait_event("pong", 20000, pinger), "pong event within 20 s of a 15 s keepalive")
  pinger:close()

  T.section("rxSize, close")
  local small = mqtt.create(nil, host, port, nil, { rxSize = 256 })
  small:auth(T.uid("lt-rx"))
  small:on(handler)
  small:connect()
  wait_event("conack", 3000, small)
  local stopic = "/" .. T.uid("lt-rx")
  small:subscribe(stopic, 1)
  wait_event("suback", 3000, small)
  T.pub(stopic, string.rep("z", 1000), 1)
  T.pub(stopic, "fits", 1)
  local sok2, _, _, sp = wait_event("recv", 3000, small)
  T.eq(sp, "fits", "a message larger than rxSize is dropped; the connection stays up")
  small:close()

  T.eq(mqttc:close(), nil, "close() returns nothing")
  T.raises(function() mqttc:publish(topic, "x") end, "closed", "a closed client cannot be used")
  T.raises(function() mqttc:connect() end, "closed", "nor connected again")
  T.eq(mqtt._host.active(), 0, "nothing left connected")

  T.section("garbage collection")
  for i = 1, 40 do
    local x = mqtt.create(nil, host, port)
    x:auth(T.uid("lt-gc"))
    x:on(handler)
    if i % 8 == 0 then
      x:connect()
      wait_event("conack", 3000, x)
      if i % 16 == 0 then x:close() else x:disconnect() end
    end
  end
  collectgarbage("collect")
  collectgarbage("collect")
  T.eq(mqtt._host.active(), 0, "40 clients (5 connected, then closed or disconnected) dropped and collected")
  T.done()
end)

sys.run()
