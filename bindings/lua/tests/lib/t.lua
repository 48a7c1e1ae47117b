-- A small test helper for the Lua binding tests (plain Lua 5.1/5.3/5.4):
-- checks print one line each, T.done() prints the pass/fail line
--   "<name>: N passed, M failed (Lua 5.x)"
-- and exits non-zero on any failure.
local T = { passed = 0, failed = 0, failures = {} }
local unpack = table.unpack or unpack

T.name = (arg and arg[0] or "test"):match("([^/]+)%.lua$") or "test"

local function report(ok, msg)
  if ok then
    T.passed = T.passed + 1
    print("ok   - " .. msg)
  else
    T.failed = T.failed + 1
    T.failures[#T.failures + 1] = msg
    print("FAIL - " .. msg)
  end
  return ok
end

function T.ok(cond, msg) return report(cond and true or false, msg) end

function T.eq(got, want, msg)
  local ok = got == want
  if not ok then msg = msg .. " (got " .. tostring(got) .. ", want " .. tostring(want) .. ")" end
  return report(ok, msg)
end

-- fn must raise an error whose message contains `pattern` (plain text).
function T.raises(fn, pattern, msg)
  local ok, err = pcall(fn)
  if ok then return report(false, msg .. " (no error raised)") end
  err = tostring(err)
  if pattern and not err:find(pattern, 1, true) then
    return report(false, msg .. " (error was: " .. err .. ")")
  end
  return report(true, msg .. " [" .. err .. "]")
end

local clock0 = os.time()
local function elapsed()
  local ok, shim = pcall(require, "shim")
  if ok and shim and shim.now then
    T.t0 = T.t0 or shim.now()
    return string.format("%.2f s", (shim.now() - T.t0) / 1000)
  end
  return string.format("%d s", os.time() - clock0)
end
T.elapsed = elapsed
elapsed()

function T.section(name) print("# " .. name .. " [" .. elapsed() .. "]") end

local brokers = {}

function T.cleanup()
  for b in pairs(brokers) do b:cleanup() end
end

function T.done()
  T.cleanup()
  print(string.format("%s: %d passed, %d failed (%s, %s)", T.name, T.passed, T.failed, _VERSION, elapsed()))
  for _, f in ipairs(T.failures) do print("  failed: " .. f) end
  io.stdout:flush()
  os.exit(T.failed == 0 and T.passed > 0 and 0 or 1)
end

-- --- environment -----------------------------------------------------------
function T.env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then
    if default ~= nil then return default end
    error("test needs " .. name .. " (run under scripts/with-broker.sh)", 2)
  end
  return v
end

T.host = os.getenv("EMQ_TEST_HOST") or "127.0.0.1"

-- Waits for slow operations (TLS handshakes) are multiplied by
-- EMQ_LUA_TIME_SCALE (scripts/test-lua.sh sets 5 under valgrind).
T.time_scale = tonumber(os.getenv("EMQ_LUA_TIME_SCALE") or "") or 1
function T.scale(ms) return ms * T.time_scale end
T.port = tonumber(os.getenv("EMQ_TEST_PORT") or "")

local counter = 0
math.randomseed(os.time() + math.floor((os.clock() * 1e6) % 1e6))
local run_id = string.format("%x%04x", os.time() % 0x100000, math.random(0, 0xffff))
-- A name unique to this run (client ids, topics).
function T.uid(prefix)
  counter = counter + 1
  return string.format("%s-%s-%d", prefix or "emq", run_id, counter)
end

-- os.execute's status on every version.
function T.sh(cmd)
  local a, _, c = os.execute(cmd)
  if type(a) == "number" then return a == 0 end
  return a == true and (c == nil or c == 0)
end

function T.capture(cmd)
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  return out
end

function T.readfile(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- A 127.0.0.1 port nobody listens on ("broker down").
function T.free_port()
  local out = T.capture([[python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()']])
  local port = tonumber(out)
  assert(port, "no free port")
  return port
end

function T.port_open(port)
  return T.sh(string.format([[python3 -c 'import socket, sys
s = socket.socket(); s.settimeout(0.2)
sys.exit(0 if s.connect_ex(("127.0.0.1", %d)) == 0 else 1)']], port))
end

-- Publishes with mosquitto_pub to the test broker (another client).
function T.pub(topic, message, qos, retain, port)
  local cmd = string.format("mosquitto_pub -h %s -p %d -q %d %s -t '%s' -m '%s'", T.host,
                            port or T.port, qos or 0, retain and "-r" or "", topic, message)
  local user, pass = os.getenv("EMQ_TEST_USERNAME"), os.getenv("EMQ_TEST_PASSWORD")
  if user then cmd = cmd .. string.format(" -u '%s' -P '%s'", user, pass) end
  return T.sh(cmd)
end

-- Clears a retained message.
function T.clear_retained(topic, port)
  return T.sh(string.format("mosquitto_pub -h %s -p %d -r -n -t '%s'", T.host, port or T.port, topic))
end

-- --- a second broker the test starts and stops (broker down / back up) ----
local Broker = {}
Broker.__index = Broker

local function mosquitto_bin()
  for _, c in ipairs({ "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto" }) do
    local f = io.open(c, "r")
    if f then f:close() return c end
  end
  return "mosquitto"
end

-- T.broker([port]): a mosquitto on 127.0.0.1 (a free port unless given),
-- not started yet. :start(), :stop() (by its PID), :port.
function T.broker(port)
  local dir = T.capture("mktemp -d \"${TMPDIR:-/tmp}/emq-lua-broker.XXXXXX\""):gsub("%s+$", "")
  local b = setmetatable({ port = port or T.free_port(), dir = dir }, Broker)
  brokers[b] = true
  local f = assert(io.open(dir .. "/mosquitto.conf", "w"))
  f:write(string.format("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", b.port))
  if T.sh("[ \"$(id -u)\" -eq 0 ]") then f:write("user root\n") end
  f:write("log_dest file " .. dir .. "/mosquitto.log\nlog_type all\n")
  f:close()
  return b
end

function Broker:start()
  local pid = T.capture(string.format("%s -c %s/mosquitto.conf </dev/null >/dev/null 2>&1 & echo $!",
                                      mosquitto_bin(), self.dir))
  self.pid = assert(tonumber(pid), "mosquitto did not start")
  for _ = 1, 100 do
    if T.port_open(self.port) then return self end
    T.sh("sleep 0.05")
  end
  error("mosquitto did not open port " .. self.port)
end

function Broker:stop()
  if self.pid then
    T.sh("kill " .. self.pid .. " 2>/dev/null")
    for _ = 1, 50 do
      if not T.sh("kill -0 " .. self.pid .. " 2>/dev/null") then break end
      T.sh("sleep 0.05")
    end
    T.sh("kill -9 " .. self.pid .. " 2>/dev/null")
    self.pid = nil
  end
end

-- Sends a signal (STOP, CONT, KILL...) to the broker.
function Broker:signal(sig)
  if self.pid then T.sh("kill -" .. sig .. " " .. self.pid .. " 2>/dev/null") end
  if sig == "KILL" then
    for _ = 1, 50 do
      if not T.sh("kill -0 " .. self.pid .. " 2>/dev/null") then break end
      T.sh("sleep 0.02")
    end
    self.pid = nil
  end
end

function Broker:cleanup()
  self:stop()
  if self.dir and self.dir:match("emq%-lua%-broker") then T.sh("rm -rf '" .. self.dir .. "'") end
  brokers[self] = nil
end

-- Runs a Lua file (an example, unmodified) with its globals in `env`
-- (whose misses fall back to _G) and print() recorded in env.printed.
-- Returns ok, err.
function T.run_file(path, env)
  env = env or {}
  env.printed = env.printed or {}
  env.print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
    local line = table.concat(parts, "\t")
    env.printed[#env.printed + 1] = line
    print("  | " .. line)
  end
  setmetatable(env, { __index = _G })
  local chunk, err
  if setfenv then
    chunk, err = loadfile(path)
    if chunk then setfenv(chunk, env) end
  else
    chunk, err = loadfile(path, "t", env)
  end
  if not chunk then return false, err end
  return pcall(chunk)
end

-- True if `line` was printed (in env.printed).
function T.printed(env, line)
  for _, l in ipairs(env.printed or {}) do if l == line then return true end end
  return false
end

T.unpack = unpack
return T
