-- Lua RTOS mqtt: error reporting (exceptions "<code>:<message> (<detail>)"),
-- broker down, automatic reconnect, TLS, bad input. Under
-- scripts/with-broker.sh with EMQ_BROKER_TLS_DIR (TLS part skipped without).
local T = require("t")
local shim = require("shim")
local host, port = T.host, assert(T.port, "EMQ_TEST_PORT")
local CANT_CONNECT = tostring(mqtt.error.CannotConnect)

T.section("broker down, unknown host: connect raises")
local down = mqtt.client(T.uid("rt-f"), host, T.free_port(), false)
T.raises(function() down:connect("", "") end, CANT_CONNECT .. ":can't connect (",
         "connect() to a closed port raises the CannotConnect exception")
local ok, err = pcall(down.connect, down, "", "")
T.ok(not ok and tonumber(tostring(err):match("^(%d+):")) == mqtt.error.CannotConnect,
     "the exception starts with the code in mqtt.error (" .. tostring(err) .. ")")
T.eq(down:connected(), false, "connected() false")
local dns = mqtt.client(T.uid("rt-f"), "nonexistent.invalid", 1883, false)
T.raises(function() dns:connect("", "") end, CANT_CONNECT .. ":can't connect (", "unknown host raises")

T.section("automatic reconnect after a lost connection")
local b = T.broker()
b:start()
local c = mqtt.client(T.uid("rt-re"), host, b.port, false)
local got = {}
c:subscribe("/re/#", 1, function(len, payload) got[#got + 1] = payload end)
c:connect("", "")
T.eq(c:connected(), true, "connected to the second broker")
b:stop()
shim.run(3000, function() return not c:connected() end)
T.eq(c:connected(), false, "broker down: connected() false")
T.raises(function() c:publish("/re/x", "x", 0) end, "client is disconnected", "publish while down raises")
tmr.delayms(500)
b:start()
shim.run(12000, function() return c:connected() end)
T.eq(c:connected(), true, "broker back: reconnected by itself (Paho automaticReconnect)")
tmr.delayms(200)
c:publish("/re/x", "after", 1)
shim.run(3000, function() return #got >= 1 end)
T.eq(got[1], "after", "the subscription works again (resubscribed for the new broker's empty session)")
c:disconnect()
b:cleanup()

local tls_port = tonumber(os.getenv("EMQ_TEST_TLS_PORT") or "")
if tls_port then
  T.section("TLS: secure=true, ca_file")
  local dir = T.env("EMQ_TEST_CERT_DIR")
  local function try(p, ...)
    local ok2, res = pcall(function(...)
      local x = mqtt.client(T.uid("rt-tls"), host, p, true, ...)
      x:connect("", "")
      local echo
      x:subscribe("/tls/echo", 1, function(len, payload) echo = payload end)
      tmr.delayms(100)
      x:publish("/tls/echo", "over tls", 1)
      shim.run(3000, function() return echo ~= nil end)
      x:disconnect()
      return echo
    end, ...)
    return ok2, res
  end
  local ok1, r1 = try(tls_port)
  T.ok(ok1 and r1 == "over tls", "secure=true without ca_file: encrypted, not verified (" .. tostring(r1) .. ")")
  local ok2, r2 = try(tls_port, dir .. "/ca.pem")
  T.ok(ok2 and r2 == "over tls", "secure=true, ca_file: verified (" .. tostring(r2) .. ")")
  local ok3, r3 = try(tls_port, dir .. "/other-ca.pem")
  T.ok(not ok3 and tostring(r3):find(CANT_CONNECT .. ":can't connect (", 1, true),
       "ca_file of another CA: connect raises (" .. tostring(r3) .. ")")
  local ok4, r4 = try(tls_port, dir .. "/no-such-file.pem")
  T.ok(not ok4 and tostring(r4):find(tostring(mqtt.error.CannotCreateClient) .. ":can't create client (", 1, true),
       "a ca_file that does not exist: mqtt.client raises CannotCreateClient (" .. tostring(r4) .. ")")
else
  print("# TLS part skipped: EMQ_TEST_TLS_PORT not set")
end

T.section("bad input raises clear Lua errors")
T.raises(function() mqtt.client() end, "clientid", "client() without arguments")
T.raises(function() mqtt.client("id", host) end, "port", "client() without a port")
T.raises(function() mqtt.client("id", host, 1883) end, "boolean expected", "client() without secure")
T.raises(function() mqtt.client("id", host, 1883, "no") end, "boolean expected", "secure as a string")
T.raises(function() mqtt.client("id", host, 99999, false) end, "port out of range", "port 99999")
T.raises(function() mqtt.client("id", "", 1883, false) end, "host", "empty host")
local x = mqtt.client(T.uid("rt-bad"), host, port, false)
T.raises(function() x:connect() end, "username", "connect() without username")
T.raises(function() x:connect("", 5) end, "password", "connect() with a number password")
T.raises(function() x:connect("", "", "yes") end, "boolean expected", "cleansession as a string")
T.raises(function() x:subscribe("t", 0) end, "function expected", "subscribe() without a callback")
T.raises(function() x:subscribe("t", 3, print) end, "qos out of range", "subscribe() with qos 3")
T.raises(function() x:subscribe("a/#/b", 0, print) end, tostring(mqtt.error.CannotSubscribeToTopic) .. ":can't subscribe to topic",
         "subscribe() to an invalid filter raises CannotSubscribeToTopic")
x:connect("", "")
T.raises(function() x:publish("t", "p") end, "qos", "publish() without qos")
T.raises(function() x:publish("t", "p", 0, 1) end, "boolean expected", "publish() retained as a number")
T.raises(function() x:publish("a/+", "p", 0) end, tostring(mqtt.error.CannotPublishToTopic) .. ":can't publish to topic",
         "publish() to a wildcard topic raises CannotPublishToTopic")
T.raises(function() x.publish("t", "p", 0) end, "mqtt client expected", "publish() without the client")
x:disconnect()
T.done()
