-- The smallest host stand-in for what Lua RTOS scripts around `mqtt` use:
-- threads (thread.start, thread.sleep*), delays (tmr.delay*, tmr.sleep*)
-- and the callback threads the mqtt module runs its message callbacks in;
-- `net` is a stub (the host is on the network).
--
-- Lua RTOS is multi-threaded: a message callback runs in a thread of its
-- own while the script goes on. Here threads are coroutines, scheduled
-- when the running code waits: a delay or sleep (in the main script it
-- runs the scheduler until the time is up; in a thread it yields). Each
-- mqtt message callback is started as a new thread (mqtt._host.set_runner),
-- from the queue that embermq's network thread fills. After the script,
-- run.lua keeps serving threads and callbacks for EMQ_LUA_LINGER_MS
-- (default 0 ms) or until nothing is left to do.
--
-- Loaded by bindings/lua/run.lua (`run.lua luartos script.lua`), which puts
-- mqtt, thread, tmr and net in _G as the firmware does.

local mqtt = require("mqtt")
local redirect = require("emqlua_redirect")
local host = mqtt._host
local unpack = table.unpack or unpack

local shim = { errors = {} }
local function now() return host.now() end

-- --- threads ----------------------------------------------------------------
local threads = {}      -- id -> { co = coroutine, wake = ms or nil, name }
local by_co = {}        -- coroutine -> id
local next_id = 0

local function current()
  local co, main = coroutine.running()
  if co == nil or main then return nil end
  return by_co[co]
end

local function finish(id, ok, err)
  local t = threads[id]
  if not ok then
    local msg = debug.traceback(t.co, tostring(err))
    shim.errors[#shim.errors + 1] = msg
    io.stderr:write("thread ", tostring(t.name or id), ": ", msg, "\n")
  end
  if coroutine.status(t.co) == "dead" then
    threads[id] = nil
    by_co[t.co] = nil
  end
end

local function resume(id, ...)
  local t = threads[id]
  t.wake = nil
  local ok, wake = coroutine.resume(t.co, ...)
  if ok and coroutine.status(t.co) ~= "dead" then
    t.wake = type(wake) == "number" and wake or now()
  end
  finish(id, ok, wake)
end

local function spawn(name, fn, ...)
  next_id = next_id + 1
  local id = next_id
  local co = coroutine.create(fn)
  threads[id] = { co = co, name = name }
  by_co[co] = id
  resume(id, ...)
  return id
end

-- Runs threads whose sleep is over, and queued mqtt callbacks.
function shim.step(max_ms)
  local t = now()
  local due = {}
  for id, th in pairs(threads) do
    if th.wake and th.wake <= t then due[#due + 1] = id end
  end
  table.sort(due)
  for _, id in ipairs(due) do if threads[id] then resume(id) end end
  host.dispatch()
  local wait = max_ms or 50
  for _, th in pairs(threads) do
    if th.wake then wait = math.min(wait, math.max(0, th.wake - now())) end
  end
  if wait > 0 then host.wait(wait) end
  host.dispatch()
  return next(threads) ~= nil or (host.pending()) > 0
end

-- Waits ms: a thread yields; the main script runs the scheduler meanwhile.
local function sleep_ms(ms)
  if type(ms) ~= "number" or ms < 0 then error("bad argument #1 (time expected)", 3) end
  if current() then
    coroutine.yield(now() + ms)
    return
  end
  local deadline = now() + ms
  repeat
    shim.step(math.max(0, math.min(50, deadline - now())))
  until now() >= deadline
end
shim.sleep_ms = sleep_ms

local thread = {}
function thread.start(fn, ...)
  if type(fn) ~= "function" then error("bad argument #1 to 'start' (function expected)", 2) end
  return spawn(nil, fn)
end
function thread.sleep(s) sleep_ms(s * 1000) end
function thread.sleepms(ms) sleep_ms(ms) end
function thread.sleepus(us) sleep_ms(us / 1000) end
function thread.stop(id)
  local t = threads[id]
  if t then threads[id] = nil; by_co[t.co] = nil end
end
function thread.status(id)
  local t = threads[id]
  if not t then return nil end
  return t.wake and "suspended" or "running"
end
function thread.list()
  local l = {}
  for id in pairs(threads) do l[#l + 1] = id end
  table.sort(l)
  return l
end

-- mqtt callbacks: each in a callback thread of its own.
host.set_runner(function(fn, ...) spawn("mqtt callback", fn, ...) end)

local tmr = {}
function tmr.delay(s) sleep_ms(s * 1000) end
function tmr.delayms(ms) sleep_ms(ms) end
function tmr.delayus(us) sleep_ms(us / 1000) end
tmr.sleep, tmr.sleepms, tmr.sleepus = tmr.delay, tmr.delayms, tmr.delayus

-- The host is on the network already.
local net = { wf = {}, en = {} }
function net.wf.setup() end
function net.wf.start() end
function net.wf.stop() end
function net.connected() return true end
function net.stat() end

-- --- the broker the scripts' addresses stand for ---------------------------
-- shim.redirect(host, port[, tls_host, tls_port]) (or EMQ_LUA_REDIRECT /
-- EMQ_LUA_REDIRECT_TLS) maps the broker of every mqtt.client() ("xxxx.xx",
-- 1883) to the private broker, as the device's network would reach it.
-- mqtt.client(id, host, port, secure, ...): only secure == true is TLS.
redirect.install(shim, mqtt, "client", redirect.constructor(function(secure) return secure == true end))

-- Runs the scheduler until pred() or ms pass (tests).
function shim.run(ms, pred)
  local deadline = now() + (ms or 5000)
  while not (pred and pred()) do
    if now() >= deadline then return false end
    shim.step(math.max(1, math.min(50, deadline - now())))
  end
  return true
end

-- After the script: serve threads and callbacks a while (see the top).
function shim.after_script()
  local linger = tonumber(os.getenv("EMQ_LUA_LINGER_MS")) or 0
  local deadline = now() + linger
  while now() < deadline and shim.step(math.min(50, deadline - now())) do end
  return true
end

shim.now = now
shim.globals = { mqtt = mqtt, thread = thread, tmr = tmr, net = net }
return shim
