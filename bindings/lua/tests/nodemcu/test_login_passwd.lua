-- NodeMCU mqtt: username/password, refused credentials. Under
-- scripts/with-broker.sh with EMQ_BROKER_PASSWD=user:password.
local T = require("t")
local shim = require("shim")
local host, port = T.host, assert(T.port, "EMQ_TEST_PORT")
local user, pass = T.env("EMQ_TEST_USERNAME"), T.env("EMQ_TEST_PASSWORD")

local function outcome(client)
  local res = {}
  client:on("connfail", function(c, reason) res.event = reason end)
  res.started = client:connect(host, port, 0, function() res.outcome = "connected" end,
                               function(c, reason) res.outcome = reason end)
  shim.run(5000, function() return res.outcome ~= nil end)
  return res
end

T.section("refused credentials")
local bad = mqtt.Client(T.uid("nm-login"), 60, user, "wrong-" .. pass)
local r = outcome(bad)
T.eq(r.started, true, "connect() with a wrong password starts")
T.eq(r.outcome, mqtt.CONNACK_REFUSED_NOT_AUTHORIZED,
     "wrong password: failure callback with the CONNACK code (mosquitto answers 5, not authorized)")
T.eq(r.event, r.outcome, "connfail event with the same reason")
bad:close()

local anon = mqtt.Client(T.uid("nm-login"), 60)
r = outcome(anon)
T.ok(r.outcome == mqtt.CONNACK_REFUSED_NOT_AUTHORIZED or r.outcome == mqtt.CONNACK_REFUSED_BAD_USER_OR_PASS,
     "no credentials: refused (" .. tostring(r.outcome) .. ")")
anon:close()

-- A refused client can connect again once the credentials are right: a new
-- client (credentials are set at mqtt.Client(), as on the firmware).
T.section("accepted credentials")
local good = mqtt.Client(T.uid("nm-login"), 60, user, pass)
r = outcome(good)
T.eq(r.outcome, "connected", "right username and password: connected")
local got
good:on("message", function(c, t, d) got = d end)
local topic = "/" .. T.uid("login")
local ready = false
good:subscribe(topic, 1, function() ready = true end)
shim.run(5000, function() return ready end)
good:publish(topic, "authorized", 1, 0)
shim.run(5000, function() return got ~= nil end)
T.eq(got, "authorized", "publish/subscribe with a login")
good:close()

T.done()
