-- Calls functions with random arguments of every type (nil, booleans,
-- integers, fractions, NaN, huge numbers, strings with NUL bytes or 70000
-- bytes, tables, functions, coroutines, userdata): each call must return
-- or raise a Lua error with a message, never crash the interpreter.
local F = {}

local long = string.rep("x", 70000)
F.pool = {
  nil, true, false, 0, 1, 2, 3, -1, 1.5, 1e30, 0 / 0, 65536, math.huge, -math.huge,
  "", "127.0.0.1", "+", "#", "a\0b", "1", "t/+/x", long,
  {}, { a = 1 }, { "x", "y" }, { [1] = 1 }, { ["t"] = 5 }, { ["t"] = "1" },
  function() end, print, coroutine.create(function() end), io.stdout,
}
F.npool = 32 -- entries above, nil included

local function pick() return F.pool[math.random(1, F.npool)] end

-- fuzz(T, name, fn, opts): `n` random calls of fn(self?, args...).
-- opts.selves: values to pass first (clients, closed clients...);
-- opts.fix(args): adjusts an argument list before the call (e.g. keeps
-- host names off DNS). Returns the number of calls that raised.
function F.fuzz(name, fn, opts)
  opts = opts or {}
  local raised, bad = 0, nil
  for _ = 1, opts.n or 150 do
    local args, n = {}, math.random(0, 6)
    for i = 1, n do args[i] = pick() end
    if opts.fix then opts.fix(args, n) end
    local ok, err
    if opts.selves then
      local self = opts.selves[math.random(1, #opts.selves)]
      ok, err = pcall(fn, self, (table.unpack or unpack)(args, 1, n))
    else
      ok, err = pcall(fn, (table.unpack or unpack)(args, 1, n))
    end
    if not ok then
      raised = raised + 1
      if type(err) ~= "string" or #err == 0 then bad = err end
    end
  end
  return raised, bad
end

return F
