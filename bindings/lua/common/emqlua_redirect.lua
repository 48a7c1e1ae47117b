-- The broker the scripts' addresses stand for, shared by the shims:
-- shim.redirect(host, port[, tls_host, tls_port]) maps the broker of every
-- connection a script makes to the test's private broker, as the device's
-- network would reach the real one; EMQ_LUA_REDIRECT=host:port (and
-- EMQ_LUA_REDIRECT_TLS) do the same from the environment. Unset: no mapping.
--
-- Found by run.lua (bindings/lua/common on package.path).
local M = {}

-- "host:port" -> host, port (number); nil for nil or "".
function M.split_hostport(s)
  if not s or s == "" then return nil end
  local h, p = s:match("^(.*):(%d+)$")
  return h, tonumber(p)
end

-- M.install(shim, tbl, key, wrap): defines shim.redirect, which puts
-- wrap(real, target) in tbl[key] (the original when redirect's host is
-- nil); `target` holds host, port, tls_host, tls_port. Then applies
-- EMQ_LUA_REDIRECT / EMQ_LUA_REDIRECT_TLS if set.
function M.install(shim, tbl, key, wrap)
  local target = {}
  local real = tbl[key]
  local redirected = wrap(real, target)
  function shim.redirect(h, p, th, tp)
    target.host, target.port, target.tls_host, target.tls_port = h, p, th, tp
    tbl[key] = h and redirected or real
  end
  local h, p = M.split_hostport(os.getenv("EMQ_LUA_REDIRECT"))
  local th, tp = M.split_hostport(os.getenv("EMQ_LUA_REDIRECT_TLS"))
  if h then shim.redirect(h, p, th, tp) end
end

-- A wrap for constructors called as fn(first, host, port, secure, ...):
-- a string host is replaced by the target (the TLS one when
-- is_secure(secure) and there is one).
function M.constructor(is_secure)
  return function(real, target)
    return function(first, h, port, secure, ...)
      if target.host and type(h) == "string" then
        if is_secure(secure) and target.tls_host then
          h, port = target.tls_host, target.tls_port
        else
          h, port = target.host, target.port
        end
      end
      return real(first, h, port, secure, ...)
    end
  end
end

return M
