-- NodeMCU mqtt: failure paths (broker down, DNS, reconnect, offline,
-- overflow, TLS failures) and bad input. Under scripts/with-broker.sh with
-- EMQ_BROKER_TLS_DIR set (the TLS part is skipped without it).
local T = require("t")
local shim = require("shim")
local host, port = T.host, assert(T.port, "EMQ_TEST_PORT")

local function run_until(pred, ms) return shim.run(ms or 5000, pred) end
local function idle(ms) shim.run(ms, function() return false end) end

-- A connect() whose outcome is collected: "connected" or the reason.
local function attempt(m, ...)
  local res = {}
  local args = { ... }
  args[#args + 1] = function(c) res.outcome = "connected"; res.client = c end
  args[#args + 1] = function(c, reason) res.outcome = reason; res.client = c end
  res.started = m:connect(T.unpack(args))
  return res
end

-- --- broker down ------------------------------------------------------------
T.section("broker down, DNS failure: the failure callback and connfail event")
local closed = T.free_port()
local m = mqtt.Client(T.uid("nm-f"), 60)
local ev_reason
m:on("connfail", function(c, reason) ev_reason = reason end)
local res = attempt(m, host, closed, 0, 0)
T.eq(res.started, true, "connect() to a closed port still starts (the outcome comes later)")
run_until(function() return res.outcome ~= nil and ev_reason ~= nil end)
T.eq(res.outcome, mqtt.CONN_FAIL_SERVER_NOT_FOUND, "failure callback: CONN_FAIL_SERVER_NOT_FOUND (-5)")
T.ok(res.client == m, "failure callback gets the client")
T.eq(ev_reason, mqtt.CONN_FAIL_SERVER_NOT_FOUND, "connfail event with the same reason")
-- No further callbacks after a failure, and no retry without autoreconnect.
local later = false
m:on("connect", function() later = true end)
idle(300)
T.ok(not later, "no further callbacks after the failure")

res = attempt(m, "nonexistent.invalid", 1883)
run_until(function() return res.outcome ~= nil end, 15000)
T.eq(res.outcome, mqtt.CONN_FAIL_DNS, "unknown host: CONN_FAIL_DNS (-3)")

-- Deprecated autoreconnect: a failed FIRST connection is final.
ev_reason = nil
res = attempt(m, host, closed, 0, 1)
run_until(function() return res.outcome ~= nil end)
T.eq(res.outcome, mqtt.CONN_FAIL_SERVER_NOT_FOUND, "autoreconnect=1, first connection fails: reported")
local count = 0
m:on("connfail", function() count = count + 1 end)
idle(2500) -- past one reconnect interval
T.eq(count, 0, "autoreconnect=1: no reconnect attempt after a failed first connection")
m:close()

-- --- broker goes away while connected ----------------------------------------
T.section("offline, autoreconnect")
local b = T.broker()
b:start()
local r = mqtt.Client(T.uid("nm-re"), 60)
local connects, offlines, fails, oneshot = 0, 0, 0, 0
r:on("connect", function() connects = connects + 1 end)
r:on("offline", function() offlines = offlines + 1 end)
r:on("connfail", function() fails = fails + 1 end)
T.eq(r:connect(host, b.port, 0, 1, function() oneshot = oneshot + 1 end), true,
     "connect(host, port, 0, 1, fn) with autoreconnect")
run_until(function() return connects == 1 end)
T.eq(connects, 1, "connected")
b:stop()
run_until(function() return offlines == 1 end)
T.eq(offlines, 1, "broker down: offline event")
idle(2500) -- attempts fail meanwhile, silently
T.eq(fails, 0, "autoreconnect: failed attempts after the first connection give no error")
b:start()
run_until(function() return connects == 2 end, 8000)
T.eq(connects, 2, "broker back: reconnected by itself, 'connect' event again")
T.eq(oneshot, 1, "the connect() callback fired only for the first connection")
-- resubscribing is the application's job (cleansession): subscribe again works
local sub = false
T.eq(r:subscribe("/re", 0, function() sub = true end), true, "subscribe after the reconnect")
run_until(function() return sub end)
T.ok(sub, "SUBACK after the reconnect")
r:close()

-- Without autoreconnect the client stays offline.
local n = mqtt.Client(T.uid("nm-nore"), 60)
local nconn, noff = 0, 0
n:on("connect", function() nconn = nconn + 1 end)
n:on("offline", function() noff = noff + 1 end)
n:connect(host, b.port, 0, 0)
run_until(function() return nconn == 1 end)
b:stop()
run_until(function() return noff == 1 end)
T.eq(noff, 1, "autoreconnect=0: offline event")
b:start()
idle(2500)
T.eq(nconn, 1, "autoreconnect=0: no reconnection")
-- the handler pattern of the document: reconnect from the application
local again = false
T.eq(n:connect(host, b.port, function() again = true end), true, "connect() again after offline")
run_until(function() return again end)
T.ok(again, "reconnected by the application")
n:close()
b:cleanup()

-- --- overflow --------------------------------------------------------------
T.section("overflow (max_message_length)")
local o = mqtt.Client(T.uid("nm-ov"), 60, nil, nil, 1, 64)
local otopic = "/" .. T.uid("ov")
local ov, msgs = {}, {}
o:on("overflow", function(c, t, d) ov[#ov + 1] = { c = c, t = t, d = d } end)
o:on("message", function(c, t, d) msgs[#msgs + 1] = d end)
local osub = false
o:connect(host, port, function(c) c:subscribe(otopic, 1, function() osub = true end) end)
run_until(function() return osub end)
T.pub(otopic, string.rep("x", 200), 1)
T.pub(otopic, "small", 1)
run_until(function() return #ov == 1 and #msgs == 1 end)
T.eq(#ov, 1, "a message larger than max_message_length: overflow event")
T.ok(ov[1] and ov[1].c == o, "overflow event gets the client")
T.eq(ov[1] and ov[1].t, otopic, "overflow event: topic")
T.ok(ov[1] and type(ov[1].d) == "string" and #ov[1].d < 200 and ov[1].d:match("^x+$") ~= nil,
     "overflow event: the start of the message")
T.eq(msgs[1], "small", "the connection stays up: the next message arrives")
o:close()

-- --- an error raised by a callback ----------------------------------------
T.section("an error raised by a callback")
local ec = mqtt.Client(T.uid("nm-err"), 60)
ec:on("connect", function() error("boom in a callback") end)
local connected_cb = false
ec:connect(host, port, function() connected_cb = true end)
local ok, err = pcall(shim.run, 3000, function() return false end)
T.ok(not ok and tostring(err):find("boom in a callback", 1, true) ~= nil,
     "it propagates out of the loop (" .. tostring(err) .. ")")
T.ok(connected_cb, "the connect callback ran before it")
local sub = false
ec:subscribe("/err", 0, function() sub = true end)
run_until(function() return sub end)
T.ok(sub, "the loop and the client go on afterwards")
ec:close()

-- --- TLS ---------------------------------------------------------------------
local tls_port = tonumber(os.getenv("EMQ_TEST_TLS_PORT") or "")
if tls_port then
  T.section("TLS: secure=1, ca_cert, client certificate, failures")
  local dir = T.env("EMQ_TEST_CERT_DIR")
  local ca = T.readfile(dir .. "/ca.pem")
  local other = T.readfile(dir .. "/other-ca.pem")
  local cert, key = T.readfile(dir .. "/client.pem"), T.readfile(dir .. "/client.key")
  local mtls = tonumber(T.env("EMQ_TEST_MTLS_PORT"))
  local expired = tonumber(T.env("EMQ_TEST_EXPIRED_PORT"))

  local function tls_outcome(label, ...)
    local c = mqtt.Client(T.uid("nm-tls"), 60)
    local res = attempt(c, ...)
    run_until(function() return res.outcome ~= nil end, T.scale(5000))
    if res.outcome == "connected" then
      -- prove the session works over TLS
      local got
      c:on("message", function(_, _, d) got = d end)
      local t = "/" .. T.uid("tls")
      local ready = false
      c:subscribe(t, 1, function() ready = true end)
      run_until(function() return ready end)
      c:publish(t, label, 1, 0)
      run_until(function() return got ~= nil end)
      res.echo = got
    end
    c:close()
    return res
  end

  local r1 = tls_outcome("secure=1", host, tls_port, 1)
  T.eq(r1.outcome, "connected", "secure=1 (no CA: not verified, as esp-tls) connects")
  T.eq(r1.echo, "secure=1", "publish/subscribe over TLS")
  local r2 = tls_outcome("ca", host, tls_port, { ca_cert = ca })
  T.eq(r2.outcome, "connected", "secure={ca_cert=...}: verified, connects")
  T.eq(r2.echo, "ca", "publish/subscribe over verified TLS")
  local r3 = tls_outcome("untrusted", host, tls_port, { ca_cert = other })
  T.eq(r3.outcome, mqtt.CONN_FAIL_SERVER_NOT_FOUND, "a CA that did not sign the server: connection fails")
  local r4 = tls_outcome("expired", host, expired, { ca_cert = ca })
  T.eq(r4.outcome, mqtt.CONN_FAIL_SERVER_NOT_FOUND, "expired server certificate: connection fails")
  local r5 = tls_outcome("mtls", host, mtls, { ca_cert = ca, client_cert = cert, client_key = key })
  T.eq(r5.outcome, "connected", "mutual TLS with client_cert and client_key connects")
  local r6 = tls_outcome("no cert", host, mtls, { ca_cert = ca })
  T.ok(r6.outcome ~= "connected" and type(r6.outcome) == "number",
       "mutual TLS without a client certificate: connection fails (" .. tostring(r6.outcome) .. ")")
  local r7 = tls_outcome("plain", host, port, 1)
  T.ok(type(r7.outcome) == "number", "secure=1 against a plain listener fails (" .. tostring(r7.outcome) .. ")")
  local bad = mqtt.Client(T.uid("nm-tls"), 60)
  local started, why = bad:connect(host, tls_port, { ca_cert = "not a certificate" })
  T.eq(started, false, "ca_cert that is not PEM: connect() returns false (" .. tostring(why) .. ")")
  bad:close()
else
  print("# TLS part skipped: EMQ_TEST_TLS_PORT not set")
end

-- --- bad input -------------------------------------------------------------
T.section("bad input raises clear Lua errors")
T.raises(function() mqtt.Client() end, "clientid (string) expected", "Client() without a client id")
T.raises(function() mqtt.Client("id") end, "keepalive", "Client() without keepalive")
T.raises(function() mqtt.Client("id", "sixty") end, "keepalive", "keepalive given as a non-numeric string")
T.raises(function() mqtt.Client("id", -1) end, "out of range", "negative keepalive")
T.raises(function() mqtt.Client("id", 60, 5) end, "username", "username not a string")
T.raises(function() mqtt.Client("id", 60, "u", "p", 2) end, "cleansession", "cleansession 2")
T.raises(function() mqtt.Client("a\0b", 60) end, "NUL", "client id with a NUL byte")
local c = mqtt.Client(T.uid("nm-bad"), 60)
T.raises(function() c:on("bogus", print) end, "invalid option 'bogus'", "on() with an unknown event")
T.raises(function() c:on("message", 42) end, "function expected", "on() with a number for the function")
T.raises(function() c:connect() end, "host", "connect() without a host")
T.raises(function() c:connect("") end, "empty", "connect() with an empty host")
T.raises(function() c:connect(host, 70000) end, "port out of range", "connect() with port 70000")
T.raises(function() c:connect(host, 1883, 2) end, "secure", "connect() with secure 2")
T.raises(function() c:connect(host, 1883, { ca_cert = 5 }) end, "ca_cert", "secure.ca_cert not a string")
T.raises(function() c:connect(host, 1883, { client_cert = "x" }) end, "client_key go together",
         "client_cert without client_key")
T.raises(function() c:connect(host, 1883, 0, 0, print, print, print) end, "too many", "three callbacks")
T.raises(function() c:connect(host, print, 1883) end, "function expected", "a port after the callbacks")
T.raises(function() c:lwt() end, "topic", "lwt() without a topic")
T.raises(function() c:lwt("a/#", "x") end, "invalid topic", "lwt() with a wildcard topic")
T.raises(function() c:lwt("t", "x", 3) end, "qos", "lwt() with qos 3")
T.raises(function() c:publish("t", "x", 3, 0) end, "qos out of range", "publish() with qos 3")
T.raises(function() c:publish("t", "x", 1) end, "retain", "publish() without retain")
T.raises(function() c:publish("t", nil, 0, 0) end, "payload", "publish() without a payload")
T.raises(function() c:publish("t", "x", 0, 0, "cb") end, "function expected", "publish() with a string callback")
T.raises(function() c:subscribe() end, "topic", "subscribe() without a topic")
T.raises(function() c:subscribe("t", 5) end, "qos", "subscribe() with qos 5")
T.raises(function() c:subscribe({ t = 7 }) end, "qos of 't'", "subscribe(table) with qos 7")
T.raises(function() c:subscribe({}) end, "no topics", "subscribe() with an empty table")
T.raises(function() c:unsubscribe(12) end, "topic", "unsubscribe() with a number")
T.raises(function() c.publish(nil, "t", "x", 0, 0) end, "mqtt client expected", "publish() called without the client")
T.raises(function() c.close({}) end, "mqtt client expected", "close() on a table")
-- invalid topics are refused by the library: false, no error
c:connect(host, port)
local up = false
c:on("connect", function() up = true end)
run_until(function() return up end)
T.eq(c:publish("a/+/b", "x", 0, 0), false, "publish() to a wildcard topic returns false")
T.eq(c:subscribe("a/#/b", 0), false, "subscribe() to an invalid filter returns false")
c:close()

T.done()
