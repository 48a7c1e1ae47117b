-- Lua RTOS mqtt: connect(username, password); refused credentials raise.
-- Under scripts/with-broker.sh with EMQ_BROKER_PASSWD=user:password.
local T = require("t")
local host, port = T.host, assert(T.port, "EMQ_TEST_PORT")
local user, pass = T.env("EMQ_TEST_USERNAME"), T.env("EMQ_TEST_PASSWORD")
local CANT = tostring(mqtt.error.CannotConnect)

T.section("refused credentials")
local c = mqtt.client(T.uid("rt-login"), host, port, false)
T.raises(function() c:connect(user, "wrong") end,
         CANT .. ":can't connect (connection refused, not authorized)",
         "wrong password: the exception names the refusal (mosquitto answers not authorized)")
T.raises(function() c:connect("", "") end, CANT .. ":can't connect (connection refused",
         "no credentials: refused")
T.eq(c:connected(), false, "not connected")

T.section("accepted credentials")
T.eq(c:connect(user, pass), nil, "right username and password: connect() returns")
T.eq(c:connected(), true, "connected")
local got
c:subscribe("/login", 1, function(len, payload) got = payload end)
tmr.delayms(100)
c:publish("/login", "authorized", 1)
require("shim").run(3000, function() return got ~= nil end)
T.eq(got, "authorized", "publish/subscribe with a login")
c:disconnect()
T.done()
