-- The smallest host stand-in for what LuatOS scripts around `mqtt` use:
-- the `sys` message bus and task scheduler (sys.taskInit, sys.wait,
-- sys.waitUntil, sys.publish, sys.subscribe, timers, sys.run), `log`,
-- io.readFile with the /luadb/ script area, and stubs for `socket`/`rtos`.
--
-- As on the device, tasks are coroutines; sys.run is the loop that resumes
-- them on their timers and messages, and calls the mqtt callbacks, which
-- embermq's network thread only queues (mqtt._host.dispatch runs them
-- here). Unlike the device's, sys.run returns once nothing is left to do:
-- no timer, no queued message, no mqtt client that wants a connection
-- (a task waiting without a timeout for a message nobody can send any
-- more is not "something to do"), or after EMQ_LUA_MAX_MS (then it raises).
--
-- Loaded by bindings/lua/run.lua (`run.lua luatos main.lua`), which puts
-- mqtt, sys, log, socket and rtos in _G as the firmware does.

local mqtt = require("mqtt")
local redirect = require("emqlua_redirect")
local host = mqtt._host
local unpack = table.unpack or unpack

local shim = {}
local function now() return host.now() end

-- --- log ---------------------------------------------------------------------
local log = { LOG_SILENT = 0, LOG_DEBUG = 1, LOG_INFO = 2, LOG_WARN = 3, LOG_ERROR = 4 }
local level = 1
local function logger(letter, lv)
  return function(tag, ...)
    if lv < level then return end
    local parts = { letter .. "/user." .. tostring(tag) }
    for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
    print(table.concat(parts, " "))
  end
end
log.debug = logger("D", 1)
log.info = logger("I", 2)
log.warn = logger("W", 3)
log.error = logger("E", 4)
log.trace = log.debug
function log.setLevel(l)
  if type(l) == "string" then l = ({ SILENT = 0, DEBUG = 1, INFO = 2, WARN = 3, ERROR = 4 })[l] end
  level = l or level
end
function log.getLevel() return level end

-- --- rtos, socket: what a host can say --------------------------------------
local rtos = {}
function rtos.bsp() return "PC" end
function rtos.version() return "V1000-embermq-host" end
function rtos.reboot() error("rtos.reboot()", 2) end
function rtos.meminfo() return math.floor(collectgarbage("count") * 1024), 0, 0 end

local socket = { ETH0 = 1, STA = 2, AP = 3, LWIP_ETH = 4, LWIP_STA = 5, LWIP_AP = 6, LWIP_GP = 7, USB = 8 }
function socket.adapter() return true, 0 end
function socket.localIP() return "127.0.0.1", "255.0.0.0", "127.0.0.1" end

-- --- io.readFile: /luadb/ is the script area ---------------------------------
-- shim.luadb(dir) (or EMQ_LUA_LUADB) says which host directory /luadb/ is.
local luadb = os.getenv("EMQ_LUA_LUADB")
function shim.luadb(dir) luadb = dir end
function io.readFile(path)
  if type(path) ~= "string" then error("bad argument #1 to 'readFile' (string expected)", 2) end
  local real = path
  local name = path:match("^/luadb/(.+)$")
  if name and luadb then real = luadb .. "/" .. name end
  local f = io.open(real, "rb")
  if not f then return nil end
  local data = f:read("*a")
  f:close()
  return data
end
function io.writeFile(path, data)
  local f = io.open(path, "wb")
  if not f then return false end
  f:write(data)
  f:close()
  return true
end
function io.exists(path) return io.readFile(path) ~= nil end

-- --- sys -----------------------------------------------------------------------
local sys = {}
local timers = {}       -- id -> { due, co | fn, args, loop_ms }
local next_task_timer, next_msg_timer = 0, 0x1FFFFF
local messages = {}     -- queued sys.publish calls
local subscribers = {}  -- id -> { [fn or coroutine] = true }

local function resume(co, ...)
  local ok, err = coroutine.resume(co, ...)
  if not ok then
    -- The firmware logs the traceback and restarts; a host run fails.
    error(debug.traceback(co, tostring(err)), 0)
  end
end
sys.coresume = resume

function sys.check_task()
  local co, ismain = coroutine.running()
  if co == nil or ismain then error("attempt to yield from outside a coroutine", 3) end
  return co
end

-- sys.wait(ms): only in a task. Returns nil when the time is up, or what
-- another task woke it with.
function sys.wait(ms)
  local co = sys.check_task()
  if type(ms) ~= "number" then error("bad argument #1 to 'wait' (number expected)", 2) end
  next_task_timer = next_task_timer + 1
  local id = next_task_timer
  timers[id] = { due = now() + ms, co = co }
  local message = { coroutine.yield() }
  if #message ~= 0 then
    timers[id] = nil
    return unpack(message)
  end
end

-- Task co waits for message id (or ms): {id, data...}, or {} if the time is up.
local function wait_message(co, id, ms)
  sys.subscribe(id, co)
  local message = ms and { sys.wait(ms) } or { coroutine.yield() }
  sys.unsubscribe(id, co)
  return message
end

-- sys.waitUntil(id[, ms]) -> true, data... | false
function sys.waitUntil(id, ms)
  local message = wait_message(sys.check_task(), id, ms)
  return message[1] ~= nil, unpack(message, 2, #message)
end

-- sys.waitUntilExt(id[, ms]) -> id, data... | false
function sys.waitUntilExt(id, ms)
  local message = wait_message(sys.check_task(), id, ms)
  if message[1] ~= nil then return unpack(message) end
  return false
end

function sys.taskInit(fn, ...)
  if type(fn) ~= "function" then error("bad argument #1 to 'taskInit' (function expected)", 2) end
  local co = coroutine.create(fn)
  resume(co, ...)
  return co
end

function sys.subscribe(id, callback)
  if type(callback) ~= "function" and type(callback) ~= "thread" then
    error("bad argument #2 to 'subscribe' (function or task expected)", 2)
  end
  subscribers[id] = subscribers[id] or {}
  subscribers[id][callback] = true
end

function sys.unsubscribe(id, callback)
  if subscribers[id] then subscribers[id][callback] = nil end
  if subscribers[id] and next(subscribers[id]) == nil then subscribers[id] = nil end
end

function sys.publish(...)
  messages[#messages + 1] = { n = select("#", ...), ... }
end

local function timer_start(fn, ms, loop, ...)
  if type(fn) ~= "function" then error("bad argument #1 to 'timerStart' (function expected)", 3) end
  if type(ms) ~= "number" then error("bad argument #2 to 'timerStart' (number expected)", 3) end
  sys.timerStop(fn, ...)
  next_msg_timer = next_msg_timer + 1
  local id = next_msg_timer
  timers[id] = { due = now() + ms, fn = fn, args = { n = select("#", ...), ... },
                 loop_ms = loop and ms or nil }
  return id
end
function sys.timerStart(fn, ms, ...) return timer_start(fn, ms, false, ...) end
function sys.timerLoopStart(fn, ms, ...) return timer_start(fn, ms, true, ...) end

local function same_args(a, b)
  if a.n ~= b.n then return false end
  for i = 1, a.n do if a[i] ~= b[i] then return false end end
  return true
end

function sys.timerStop(val, ...)
  if type(val) == "number" then
    timers[val] = nil
    return
  end
  local args = { n = select("#", ...), ... }
  for id, t in pairs(timers) do
    if t.fn == val and (args.n == 0 or same_args(args, t.args)) then
      timers[id] = nil
      return
    end
  end
end

function sys.timerStopAll(fn)
  for id, t in pairs(timers) do if t.fn == fn then timers[id] = nil end end
end

function sys.timerIsActive(val, ...)
  if type(val) == "number" then return timers[val] ~= nil end
  for _, t in pairs(timers) do if t.fn == val then return true end end
  return false
end

local function deliver_messages()
  local batch = messages
  messages = {}
  for _, m in ipairs(batch) do
    local subs = subscribers[m[1]]
    if subs then
      local list = {}
      for s in pairs(subs) do list[#list + 1] = s end
      for _, s in ipairs(list) do
        if subs[s] then
          if type(s) == "function" then
            s(unpack(m, 2, m.n))
          elseif coroutine.status(s) == "suspended" then
            resume(s, unpack(m, 1, m.n))
          end
        end
      end
    end
  end
  return #batch
end

local function run_timers()
  local t = now()
  local due = {}
  for id, tm in pairs(timers) do
    if tm.due <= t then due[#due + 1] = id end
  end
  table.sort(due, function(a, b) return timers[a].due < timers[b].due end)
  for _, id in ipairs(due) do
    local tm = timers[id]
    if tm then
      if tm.loop_ms then
        tm.due = t + tm.loop_ms
      else
        timers[id] = nil
      end
      if tm.co then
        if coroutine.status(tm.co) == "suspended" then resume(tm.co) end
      else
        tm.fn(unpack(tm.args, 1, tm.args.n))
      end
    end
  end
  return #due
end

local function next_due()
  local d
  for _, tm in pairs(timers) do
    if not d or tm.due < d then d = tm.due end
  end
  return d
end

-- One turn of the loop, waiting at most max_ms. Returns false once idle.
function shim.step(max_ms)
  deliver_messages()
  run_timers()
  host.dispatch()
  if #messages > 0 then return true end
  local wait = max_ms or 50
  local d = next_due()
  if d then wait = math.min(wait, math.max(0, d - now())) end
  if wait > 0 then host.wait(wait) end
  host.dispatch()
  return #messages > 0 or next(timers) ~= nil or host.active() > 0 or (host.pending()) > 0
end

-- sys.run(): the loop, until idle (see the top) or EMQ_LUA_MAX_MS.
function sys.run()
  local max_ms = tonumber(os.getenv("EMQ_LUA_MAX_MS")) or 60000
  local deadline = now() + max_ms
  while shim.step(math.min(50, math.max(1, deadline - now()))) do
    if now() >= deadline then error("sys.run: EMQ_LUA_MAX_MS (" .. max_ms .. " ms) reached", 0) end
  end
end

-- --- the broker the scripts' addresses stand for ---------------------------
-- shim.redirect(host, port[, tls_host, tls_port]) (or EMQ_LUA_REDIRECT /
-- EMQ_LUA_REDIRECT_TLS = host:port) maps the broker of every mqtt.create()
-- ("120.55.137.106", 1884 or 8883) to the private broker, as the device's
-- network would reach the real one.
-- mqtt.create(adapter, host, port, ssl, ...): any true ssl is TLS.
redirect.install(shim, mqtt, "create", redirect.constructor(function(ssl) return ssl end))

-- What the firmware posts at boot: the network is up.
sys.timerStart(function() sys.publish("IP_READY", "127.0.0.1", socket.LWIP_ETH) end, 1)

shim.now = now
shim.sys = sys
-- sys.run() ends a LuatOS main.lua; scripts that do not call it still get
-- their loop from run.lua.
function shim.after_script() sys.run() return true end
shim.globals = { mqtt = mqtt, sys = sys, log = log, rtos = rtos, socket = socket }
return shim
