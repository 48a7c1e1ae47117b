-- The examples of the LuatOS mqtt document (bindings/lua/examples/luatos,
-- byte for byte the document's code blocks; examples/extract.py --check
-- proves it) run unmodified, in the order a script would use them, on one
-- client `mqttc`. The shim maps the document's broker ("120.55.137.106",
-- 1884 / 8883) to the private broker and /luadb/ to a directory holding the
-- test CA as ca.crt; log.info and print are recorded.
local T = require("t")
local shim = require("shim")
local host, port = T.host, assert(T.port, "EMQ_TEST_PORT")
local tls_port = tonumber(T.env("EMQ_TEST_TLS_PORT"))
local certs = T.env("EMQ_TEST_CERT_DIR")
local dir = arg[0]:match("^(.*)/tests/luatos/[^/]*$") .. "/examples/luatos/"

-- /luadb/ of the device: the CA and client certificate the examples read.
local luadb = T.capture("mktemp -d \"${TMPDIR:-/tmp}/emq-lua-luadb.XXXXXX\""):gsub("%s+$", "")
T.sh(string.format("cp '%s/ca.pem' '%s/ca.crt' && cp '%s/client.pem' '%s/client.pem'", certs, luadb, certs, luadb))
shim.luadb(luadb)
shim.redirect(host, port, host, tls_port)

-- What the examples log through log.info (example 7's callback does).
local logged = {}
local env = {
  log = setmetatable({ info = function(tag, ...)
    logged[#logged + 1] = { tag = tag, n = select("#", ...), ... }
    log.info(tag, ...)
    sys.publish("logged")
  end }, { __index = log }),
}

local function event_logged(event, from)
  for i = from or 1, #logged do
    local l = logged[i]
    if l[1] == "event" and l[2] == event then return l, i end
  end
end

local function wait_logged(event, from, ms)
  local deadline = mqtt._host.now() + (ms or 3000)
  while true do
    local l = event_logged(event, from)
    if l then return l end
    local left = deadline - mqtt._host.now()
    if left <= 0 or not sys.waitUntil("logged", left) then return nil end
  end
end

local function run(n)
  local ok, err = T.run_file(dir .. string.format("%02d.lua", n), env)
  T.ok(ok, string.format("example %d runs", n) .. (ok and "" or " (" .. tostring(err) .. ")"))
  return ok
end

sys.taskInit(function()
  T.section("example 1 (the module's notes: comments only)")
  run(1)

  T.section("example 4: mqtt.create(...) in its six forms")
  local made = {}
  env.mqtt = setmetatable({
    create = function(...)
      local c, why = mqtt.create(...)
      made[#made + 1] = { c = c, why = why }
      return c, why
    end,
  }, { __index = mqtt })
  run(4)
  env.mqtt = nil
  T.eq(#made, 6, "six mqtt.create calls")
  local labels = { "plain TCP", "rxSize 4096", "ssl=true", "server_cert", "server_cert, verify=1" }
  for i, label in ipairs(labels) do
    local c = made[i] and made[i].c
    T.eq(type(c), "userdata", "create #" .. i .. " (" .. label .. ") returns a client")
    if c then
      local up = false
      c:auth(T.uid("lt-ex4"))
      c:on(function(_, event) if event == "conack" then up = true; sys.publish("up") end end)
      c:connect()
      if not up then sys.waitUntil("up", T.scale(5000)) end
      T.ok(up, "create #" .. i .. " (" .. label .. "): connects (conack)")
      c:close()
    end
  end
  -- The document's last form passes client_key="123456" (a password where
  -- the PEM key goes): embermq reads the key at create() and refuses it.
  T.ok(made[6] and made[6].c == nil, "create #6 (client_key=\"123456\", not a key): nil ("
       .. tostring(made[6] and made[6].why) .. ")")

  T.section("examples 5, 6, 15, 7, 10, 8: auth, keepalive, will, on, autoreconn, connect")
  env.mqttc = made[1].c and mqtt.create(nil, "120.55.137.106", 1884) -- example 4's first form
  run(5)
  run(6)
  run(15)
  run(7)
  run(10)
  local mark = #logged + 1
  run(8)
  local l = wait_logged("conack", mark, 5000)
  T.ok(l ~= nil, "example 7's callback logged event conack")
  T.ok(l and l[3] == env.mqttc, "with the client as the mqtt_client argument")
  T.eq(env.mqttc:ready(), true, "connected")

  T.section("examples 2, 11, 3: subscribe, publish, unsubscribe")
  mark = #logged + 1
  run(2)
  local subacks = 0
  local deadline = mqtt._host.now() + 3000
  while subacks < 4 and mqtt._host.now() < deadline do
    subacks = 0
    for i = mark, #logged do if logged[i][1] == "event" and logged[i][2] == "suback" then subacks = subacks + 1 end end
    if subacks < 4 then sys.waitUntil("logged", 200) end
  end
  T.eq(subacks, 4, "example 2: four topics subscribed (suback logged for each)")
  mark = #logged + 1
  run(11)
  T.ok(wait_logged("sent", mark) ~= nil, "example 11: sent logged")
  local r = wait_logged("recv", mark)
  T.ok(r and r[4] == "/luatos/123456" and r[5] == "123", "example 11's message came back: recv /luatos/123456 123")
  mark = #logged + 1
  T.pub("/luatos/12345678", "from outside", 2)
  r = wait_logged("recv", mark)
  T.ok(r and r[5] == "from outside", "a message on /luatos/12345678 (subscribed twice) logged")
  mark = #logged + 1
  run(3)
  T.ok(wait_logged("unsuback", mark) ~= nil, "example 3: unsuback logged")
  mark = #logged + 1
  T.pub("/luatos/123456", "after unsubscribe", 0)
  T.pub("/luatos/1234567", "after unsubscribe", 0)
  T.pub("/luatos/12345678", "still subscribed? no", 0)
  sys.wait(300)
  T.eq(event_logged("recv", mark), nil, "after example 3 nothing arrives on the unsubscribed topics")

  T.section("examples 13, 14, 9, 12: ready, state, disconnect, close")
  run(13)
  run(14)
  T.eq(env.mqttc:state(), mqtt.STATE_READY, "state() is 3 (what example 14 reads)")
  mark = #logged + 1
  run(9)
  T.ok(wait_logged("disconnect", mark) ~= nil, "example 9: disconnect logged")
  sys.wait(1500)
  T.eq(event_logged("conack", mark), nil, "disconnect() stops autoreconn (example 10)")
  run(12)
  T.raises(function() env.mqttc:publish("/x", "y") end, "closed", "after example 12 the client is released")

  T.sh("rm -rf '" .. luadb .. "'")
  T.done()
end)

sys.run()
