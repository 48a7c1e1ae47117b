-- The smallest host stand-in for what NodeMCU scripts around `mqtt` use:
-- the firmware's event loop (node.task.post, tmr timers, the mqtt events
-- posted to the Lua task) and stubs for the hardware modules (wifi, gpio).
--
-- On the device the script runs to its end and the firmware then keeps
-- running posted tasks, timer callbacks and mqtt callbacks one at a time on
-- the Lua task. Here `shim.run()` is that loop: after the script, it runs
-- tasks, due timers and queued mqtt events, and waits (in C, on the mqtt
-- event queue) until the next timer is due. It returns when nothing is
-- left (no task, no armed timer, no mqtt client that wants a connection)
-- or after EMQ_LUA_MAX_MS (default 60000) milliseconds.
--
-- Loaded by bindings/lua/run.lua (`run.lua nodemcu script.lua`), which puts
-- mqtt, node, tmr, wifi and gpio in _G as the firmware does.

local mqtt = require("mqtt")
local redirect = require("emqlua_redirect")
local host = mqtt._host

local shim = {}
local unpack = table.unpack or unpack

local function now() return host.now() end

-- --- node ------------------------------------------------------------------
local tasks = { [0] = {}, [1] = {}, [2] = {} }
local ntasks = 0

local node = {
  task = { LOW_PRIORITY = 0, MEDIUM_PRIORITY = 1, HIGH_PRIORITY = 2 },
}

-- node.task.post([priority,] function)
function node.task.post(prio, fn)
  if fn == nil then prio, fn = 1, prio end
  if type(prio) ~= "number" or tasks[prio] == nil then
    error("bad argument #1 to 'post' (priority 0, 1 or 2 expected)", 2)
  end
  if type(fn) ~= "function" then
    error("bad argument #2 to 'post' (function expected)", 2)
  end
  table.insert(tasks[prio], fn)
  ntasks = ntasks + 1
end

function node.heap() return math.floor(collectgarbage("count") * 1024) end
function node.chipid() return 0x00e8f1c3 end
function node.restart() shim.stop("node.restart()") end
function node.egc() end
node.egc = setmetatable({ ALWAYS = 1, ON_ALLOC_FAILURE = 2, ON_MEM_LIMIT = 3 },
                        { __call = function() end })
node.egc.setmode = function() end

-- --- tmr ---------------------------------------------------------------------
local timers = {}   -- armed timers: timer -> true
local T_SINGLE, T_SEMI, T_AUTO = 0, 1, 2
local tmr = { ALARM_SINGLE = T_SINGLE, ALARM_SEMI = T_SEMI, ALARM_AUTO = T_AUTO }
local timer_mt = { __index = {} }
local tm = timer_mt.__index

local function check_timer(t)
  if getmetatable(t) ~= timer_mt then error("tmr: timer object expected", 3) end
end

function tmr.create() return setmetatable({ ms = 0, mode = T_SINGLE }, timer_mt) end

function tm:register(ms, mode, fn)
  check_timer(self)
  if type(ms) ~= "number" or ms < 1 then error("bad argument #1 to 'register' (interval in ms expected)", 2) end
  if mode ~= T_SINGLE and mode ~= T_SEMI and mode ~= T_AUTO then
    error("bad argument #2 to 'register' (tmr.ALARM_SINGLE, ALARM_SEMI or ALARM_AUTO expected)", 2)
  end
  if type(fn) ~= "function" then error("bad argument #3 to 'register' (function expected)", 2) end
  self.ms, self.mode, self.fn = ms, mode, fn
end

function tm:start()
  check_timer(self)
  if not self.fn then return false end
  self.due = now() + self.ms
  timers[self] = true
  return true
end

function tm:alarm(ms, mode, fn)
  self:register(ms, mode, fn)
  return self:start()
end

function tm:stop()
  check_timer(self)
  local was = timers[self] ~= nil
  timers[self] = nil
  return was
end

function tm:unregister()
  check_timer(self)
  timers[self] = nil
  self.fn = nil
end

function tm:interval(ms)
  check_timer(self)
  self.ms = ms
  if timers[self] then self.due = now() + ms end
end

function tm:state()
  check_timer(self)
  if not self.fn then return nil end
  return timers[self] ~= nil, self.mode
end

local started = now()
function tmr.now() return math.floor((now() - started) * 1000) % 0x80000000 end
function tmr.time() return math.floor((now() - started) / 1000) end
function tmr.delay(us)
  local until_ms = now() + us / 1000
  while now() < until_ms do end
end
function tmr.wdclr() end

-- --- wifi, gpio: nothing to drive on a host; the calls succeed -----------
local wifi = {
  STATION = 1, SOFTAP = 2, STATIONAP = 3, NULLMODE = 0,
  sta = {}, ap = {},
}
local wifi_handlers = {}
function wifi.mode() return wifi.STATION end
function wifi.start()
  -- The station "gets its IP" on the next turn of the loop.
  node.task.post(1, function()
    if wifi_handlers.got_ip then wifi_handlers.got_ip("got_ip", { ip = "127.0.0.1" }) end
  end)
end
function wifi.stop() end
function wifi.sta.config() return true end
function wifi.sta.connect() wifi.start() end
function wifi.sta.on(event, fn) wifi_handlers[event] = fn end
function wifi.sta.getip() return "127.0.0.1", "255.0.0.0", "127.0.0.1" end

local gpio = { OUT = 1, IN = 0, IN_OUT = 2, levels = {} }
function gpio.config() end
function gpio.write(pin, level) gpio.levels[pin] = level end
function gpio.read(pin) return gpio.levels[pin] or 0 end

-- --- the broker the scripts' addresses stand for ---------------------------
-- On a host the broker of an example ("192.168.11.118", port 1883 or a
-- secure port) is the test's private broker: shim.redirect(host, port
-- [, tls_host, tls_port]) maps every connect() there, as the device's
-- network would reach the real broker; EMQ_LUA_REDIRECT=host:port (and
-- EMQ_LUA_REDIRECT_TLS) do the same from the environment. Unset: no mapping.
-- client:connect(host[, port][, secure], ...): the port may be left out;
-- secure is true, a non-zero number or a TLS table.
redirect.install(shim, host.methods, "connect", function(real_connect, target)
  return function(self, h, ...)
    if not target.host or type(h) ~= "string" then return real_connect(self, h, ...) end
    local args = { n = select("#", ...), ... }
    local first = args[1]
    local sec = args[type(first) == "number" and 2 or 1]
    local secure = type(sec) == "table" or sec == true or (type(sec) == "number" and sec ~= 0)
    local rh, rp = target.host, target.port
    if secure and target.tls_host then rh, rp = target.tls_host, target.tls_port end
    if type(first) == "number" then
      args[1] = rp
      return real_connect(self, rh, unpack(args, 1, args.n))
    end
    return real_connect(self, rh, rp, unpack(args, 1, args.n))
  end
end)

-- --- the loop --------------------------------------------------------------
local stop_reason

function shim.stop(reason) stop_reason = reason or "stopped" end

local function run_tasks()
  local ran = 0
  for prio = 2, 0, -1 do
    local q = tasks[prio]
    while #q > 0 do
      local fn = table.remove(q, 1)
      ntasks = ntasks - 1
      fn()
      ran = ran + 1
      if ran >= 100 then return ran end -- let timers and events in
    end
  end
  return ran
end

local function run_timers()
  local t = now()
  local due = {}
  for timer in pairs(timers) do
    if timer.due <= t then due[#due + 1] = timer end
  end
  table.sort(due, function(a, b) return a.due < b.due end)
  for _, timer in ipairs(due) do
    if timers[timer] then
      local fn = timer.fn
      if timer.mode == T_AUTO then
        timer.due = timer.due + timer.ms
        if timer.due < t then timer.due = t + timer.ms end
      else
        timers[timer] = nil
        -- A single alarm unregisters itself; a semi one stays registered.
        if timer.mode == T_SINGLE then timer.fn = nil end
      end
      fn(timer)
    end
  end
end

local function next_due()
  local d
  for timer in pairs(timers) do
    if not d or timer.due < d then d = timer.due end
  end
  return d
end

-- One turn: tasks, due timers, queued mqtt events, then wait for the next
-- of them at most max_ms. Returns false once idle.
function shim.step(max_ms)
  max_ms = max_ms or 50
  run_tasks()
  run_timers()
  host.dispatch()
  if ntasks > 0 then return true end
  local wait = max_ms
  local d = next_due()
  if d then wait = math.min(wait, math.max(0, d - now())) end
  if wait > 0 then host.wait(wait) end
  host.dispatch()
  return ntasks > 0 or next(timers) ~= nil or host.active() > 0 or (host.pending()) > 0
end

-- Runs the loop until idle, until pred() is true, or until max_ms.
-- Returns true unless the time ran out.
function shim.run(max_ms, pred)
  max_ms = max_ms or tonumber(os.getenv("EMQ_LUA_MAX_MS")) or 60000
  local deadline = now() + max_ms
  stop_reason = nil
  while true do
    if pred and pred() then return true end
    if stop_reason then return true, stop_reason end
    local busy = shim.step(math.min(50, math.max(1, deadline - now())))
    if not pred and not busy then return true end
    if now() >= deadline then return false end
  end
end

shim.now = now
-- Armed timers: timer -> true (for tests).
function shim.timers() return timers end
-- run.lua: after the script, the firmware's loop.
function shim.after_script() return shim.run() end
shim.globals = { mqtt = mqtt, node = node, tmr = tmr, wifi = wifi, gpio = gpio }

return shim
