-- LuatOS mqtt: failure paths (broker down, autoreconn, "no retransmission",
-- TLS verification levels) and bad input, as a LuatOS script. Under
-- scripts/with-broker.sh with EMQ_BROKER_TLS_DIR (TLS part skipped without).
local T = require("t")
local host, port = T.host, assert(T.port, "EMQ_TEST_PORT")
local now = mqtt._host.now

local unseen = {}
local function handler(c, event, data, payload, metas)
  unseen[#unseen + 1] = { client = c, event = event, data = data, payload = payload, at = now() }
  sys.publish("mqtt_any")
end

-- The next `event` of `client` (a record), or nil after ms.
local function wait_event(client, event, ms)
  local deadline = now() + (ms or 3000)
  while true do
    for i, e in ipairs(unseen) do
      if e.client == client and e.event == event then return table.remove(unseen, i) end
    end
    local left = deadline - now()
    if left <= 0 or not sys.waitUntil("mqtt_any", left) then return nil end
  end
end

local function drain(client)
  for i = #unseen, 1, -1 do if unseen[i].client == client then table.remove(unseen, i) end end
end

local function events_of(client, event)
  local n = 0
  for _, e in ipairs(unseen) do if e.client == client and e.event == event then n = n + 1 end end
  return n
end

local function client(p, ssl, opts)
  local c, why = mqtt.create(nil, host, p, ssl, opts)
  if c then
    c:auth(T.uid("lt-f"))
    c:on(handler)
  end
  return c, why
end

sys.taskInit(function()
  T.section("broker down: error and disconnect events, no retry")
  local closed = T.free_port()
  local c = client(closed)
  T.eq(c:connect(), true, "connect() to a closed port starts (true)")
  local e = wait_event(c, "error")
  T.ok(e ~= nil and e.data == "connect", "error event, data \"connect\" (" .. tostring(e and e.payload) .. ")")
  T.eq(type(e and e.payload), "number", "error event payload: a code")
  local d = wait_event(c, "disconnect")
  T.ok(d ~= nil and d.data == -1, "disconnect event, data -1 (socket)")
  T.eq(c:state(), 0, "state() back to 0")
  sys.wait(1500)
  T.eq(events_of(c, "error"), 0, "without autoreconn: no further attempt")
  c:close()

  T.section("autoreconn: retries a failed first connection at a fixed interval")
  local b = T.broker()
  local r = client(b.port)
  T.eq(r:autoreconn(true, 1000), nil, "autoreconn(true, 1000) returns nothing")
  r:connect()
  local e1 = wait_event(r, "error")
  local e2 = wait_event(r, "error", 3000)
  local e3 = wait_event(r, "error", 3000)
  T.ok(e1 and e2 and e3, "attempt after attempt while the broker is down")
  if e1 and e2 and e3 then
    local d1, d2 = e2.at - e1.at, e3.at - e2.at
    T.ok(d1 > 700 and d1 < 1900 and d2 > 700 and d2 < 1900,
         string.format("every 1000 ms (%.0f ms, %.0f ms)", d1, d2))
  end
  b:start()
  T.ok(wait_event(r, "conack", 4000) ~= nil, "the broker is up: conack")
  T.eq(r:ready(), true, "ready()")

  T.section("autoreconn: reconnects after the broker goes away")
  drain(r) -- attempts that failed before the broker came up
  b:stop()
  local de = wait_event(r, "error", 3000)
  T.ok(de ~= nil and de.data == "other", "broker down: error event \"other\" (" .. tostring(de and de.payload) .. ")")
  local dd = wait_event(r, "disconnect", 3000)
  T.ok(dd ~= nil, "then the disconnect event")
  T.eq(r:ready(), false, "ready() false while it is down")
  sys.wait(1200)
  b:start()
  T.ok(wait_event(r, "conack", 4000) ~= nil, "broker back: reconnected by itself (conack)")

  T.section("no retransmission: an unacknowledged QoS 1 message is not resent")
  -- The broker freezes (no PUBACK), then dies; a new one takes its port.
  drain(r)
  b:signal("STOP")
  local lost = r:publish("/" .. T.uid("lost"), "lost", 1)
  T.ok(type(lost) == "number" and lost > 0, "QoS 1 publish into the frozen broker: id " .. tostring(lost))
  sys.wait(200)
  b:signal("KILL")
  T.ok(wait_event(r, "disconnect", 3000) ~= nil, "the connection is gone: disconnect event")
  b:start()
  T.ok(wait_event(r, "conack", 4000) ~= nil, "reconnected to the new broker")
  local sent = wait_event(r, "sent", 1000)
  T.ok(sent == nil, "no sent event: the message was not sent again (LuatOS: no retransmission)")
  local q = r:publish("/" .. T.uid("after"), "after", 1)
  local s2 = wait_event(r, "sent", 3000)
  T.ok(s2 ~= nil and s2.data == q, "a new QoS 1 publish is acknowledged (sent " .. tostring(s2 and s2.data) .. ")")
  T.eq(r:disconnect(), true, "disconnect() ends autoreconn")
  wait_event(r, "disconnect", 3000)
  drain(r)
  b:stop()
  sys.wait(1500)
  T.eq(events_of(r, "error"), 0, "after disconnect(): no reconnect attempts")
  r:close()
  b:cleanup()

  local tls_port = tonumber(os.getenv("EMQ_TEST_TLS_PORT") or "")
  if tls_port then
    T.section("TLS: ssl=true, server_cert, verify 0/1/2, mutual TLS, key password")
    local dir = T.env("EMQ_TEST_CERT_DIR")
    local ca, other = T.readfile(dir .. "/ca.pem"), T.readfile(dir .. "/other-ca.pem")
    local cert, key = T.readfile(dir .. "/client.pem"), T.readfile(dir .. "/client.key")
    local enc = T.readfile(dir .. "/client-enc.key")
    local mtls = tonumber(T.env("EMQ_TEST_MTLS_PORT"))
    local expired = tonumber(T.env("EMQ_TEST_EXPIRED_PORT"))
    local function outcome(p, ssl)
      local x, why = client(p, ssl)
      if not x then return "nil: " .. tostring(why) end
      x:connect()
      local res
      local deadline = now() + T.scale(5000)
      while not res and now() < deadline do
        for _, ev in ipairs(unseen) do
          if ev.client == x and (ev.event == "conack" or ev.event == "error") then res = ev end
        end
        if not res then sys.waitUntil("mqtt_any", 200) end
      end
      if res and res.event == "conack" then
        local t = "/" .. T.uid("tls")
        x:subscribe(t, 1)
        wait_event(x, "suback")
        x:publish(t, "over tls", 1)
        local m = wait_event(x, "recv")
        res = m and m.payload == "over tls" and "conack+echo" or "conack"
      elseif res then
        res = "error " .. tostring(res.data) .. " " .. tostring(res.payload)
      end
      x:close()
      return res or "nothing"
    end
    T.eq(outcome(tls_port, true), "conack+echo", "ssl=true: encrypted, certificate not checked")
    T.eq(outcome(tls_port, { server_cert = ca }), "conack+echo", "server_cert: verified (verify 2 by default)")
    T.eq(outcome(tls_port, { server_cert = other }), "error connect 60",
         "server_cert of another CA, verify 2: error event (60, certificate not trusted)")
    T.eq(outcome(tls_port, { server_cert = other, verify = 1 }), "conack+echo",
         "verify=1 (optional): connects even though the check failed")
    T.eq(outcome(tls_port, { server_cert = other, verify = 0 }), "conack+echo", "verify=0: not checked")
    T.eq(outcome(expired, { server_cert = ca }), "error connect 62", "expired server certificate: error (62)")
    T.eq(outcome(mtls, { server_cert = ca, client_cert = cert, client_key = key }), "conack+echo",
         "mutual TLS: client_cert and client_key")
    T.eq(outcome(mtls, { server_cert = ca, client_cert = cert, client_key = enc,
                         client_password = "embermq-key-pass" }), "conack+echo",
         "mutual TLS with an encrypted key and client_password")
    local bad = outcome(mtls, { server_cert = ca, client_cert = cert, client_key = enc, client_password = "nope" })
    T.ok(bad:match("^nil: "), "wrong client_password: create() returns nil (" .. bad .. ")")
    local nocert = outcome(mtls, { server_cert = ca })
    T.ok(nocert:match("^error connect"), "mutual TLS without a client certificate: error (" .. nocert .. ")")
    local x, why = mqtt.create(nil, host, tls_port, { server_cert = "not PEM" })
    T.ok(x == nil and type(why) == "string", "server_cert that is not PEM: create() returns nil (" .. tostring(why) .. ")")
  else
    print("# TLS part skipped: EMQ_TEST_TLS_PORT not set")
  end

  T.section("bad input raises clear Lua errors")
  T.raises(function() mqtt.create(nil) end, "host", "create() without a host")
  T.raises(function() mqtt.create(nil, host) end, "port", "create() without a port")
  T.raises(function() mqtt.create(nil, host, 0) end, "port out of range", "create() with port 0")
  T.raises(function() mqtt.create("eth", host, 1883) end, "adapter", "create() with a string adapter")
  T.raises(function() mqtt.create(nil, host, 1883, 5) end, "ssl", "create() with ssl = 5")
  T.raises(function() mqtt.create(nil, host, 1883, { verify = 3 }) end, "verify", "verify = 3")
  T.raises(function() mqtt.create(nil, host, 1883, { server_cert = 1 }) end, "server_cert", "server_cert not a string")
  T.raises(function() mqtt.create(nil, host, 1883, nil, { rxSize = "big" }) end, "rxSize", "rxSize not a number")
  T.raises(function() mqtt.create(nil, host, 1883, nil, 7) end, "isipv6", "opts = 7")
  local m = mqtt.create(nil, host, port)
  T.raises(function() m:auth(12) end, "client_id", "auth() with a number id")
  T.raises(function() m:auth("id", "u", "p", "yes") end, "boolean expected", "auth() cleanSession not a boolean")
  T.raises(function() m:keepalive("x") end, "time", "keepalive('x')")
  T.raises(function() m:on(5) end, "function expected", "on(5)")
  T.raises(function() m:autoreconn(1) end, "boolean expected", "autoreconn(1)")
  T.raises(function() m:will() end, "topic", "will() without a topic")
  T.raises(function() m:will("t", "p", 5) end, "qos", "will() with qos 5")
  T.eq(m:will("a/#", "p"), false, "will() with a wildcard topic returns false")
  T.raises(function() m:publish() end, "topic", "publish() without a topic")
  T.raises(function() m:publish("t") end, "data", "publish() without data")
  T.raises(function() m:publish("t", "d", 3) end, "qos out of range", "publish() with qos 3")
  T.raises(function() m:subscribe(5) end, "topic", "subscribe(5)")
  T.raises(function() m:subscribe({ t = 9 }) end, "qos", "subscribe({t = 9})")
  T.raises(function() m:subscribe({}) end, "no topics", "subscribe({})")
  T.raises(function() m:unsubscribe({ 1, 2 }) end, "topic", "unsubscribe({1, 2})")
  T.raises(function() m:debug("on") end, "boolean", "debug('on')")
  T.raises(function() mqtt.ready({}) end, "mqtt client expected", "mqtt.ready({})")
  T.raises(function() mqtt.state() end, "mqtt client expected", "mqtt.state()")
  -- refused by the library, not an error
  m:keepalive(5)
  m:auth(T.uid("lt-bad"))
  m:on(handler)
  m:connect()
  wait_event(m, "conack")
  T.eq(m:publish("a/+", "x"), nil, "publish() to a wildcard topic returns nil")
  T.eq(m:subscribe("a/#/b"), nil, "subscribe() to an invalid filter returns nil")
  m:close()
  T.done()
end)

sys.run()
