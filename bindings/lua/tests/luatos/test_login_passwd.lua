-- LuatOS mqtt: auth() with username and password; refused credentials.
-- Under scripts/with-broker.sh with EMQ_BROKER_PASSWD=user:password.
local T = require("t")
local host, port = T.host, assert(T.port, "EMQ_TEST_PORT")
local user, pass = T.env("EMQ_TEST_USERNAME"), T.env("EMQ_TEST_PASSWORD")

local function attempt(...)
  local got = {}
  local c = mqtt.create(nil, host, port)
  c:auth(...)
  c:on(function(cl, event, data, payload)
    got[#got + 1] = { event = event, data = data, payload = payload }
    sys.publish("ev")
  end)
  c:connect()
  local deadline = mqtt._host.now() + 5000
  while mqtt._host.now() < deadline do
    local last = got[#got]
    if last and (last.event == "conack" or last.event == "disconnect") then break end
    sys.waitUntil("ev", 200)
  end
  return c, got
end

sys.taskInit(function()
  T.section("refused credentials")
  local c, got = attempt(T.uid("lt-login"), user, "wrong-" .. pass)
  T.ok(got[1] and got[1].event == "error" and got[1].data == "conack",
       "wrong password: error event, data \"conack\"")
  T.eq(got[1] and got[1].payload, 5, "error payload: the CONNACK code (5, not authorized)")
  T.ok(got[2] and got[2].event == "disconnect", "then the disconnect event")
  T.eq(got[2] and got[2].data, 5, "disconnect data: the CONNACK code")
  T.eq(c:ready(), false, "ready() false")
  c:close()
  c, got = attempt(T.uid("lt-login"))
  T.ok(got[1] and got[1].event == "error" and got[1].data == "conack", "no credentials: refused")
  c:close()

  T.section("accepted credentials")
  c, got = attempt(T.uid("lt-login"), user, pass)
  T.eq(got[1] and got[1].event, "conack", "right username and password: conack")
  T.eq(c:ready(), true, "ready() true")
  c:close()
  T.done()
end)
sys.run()
