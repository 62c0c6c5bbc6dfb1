-- wrk script for scripts/bench-wrk.sh: each request a different licensed user
-- of licet-bench's seeding (organization 1, users 1..USERS), in turn.
local n = 0
local users = tonumber(os.getenv("USERS") or "100000")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n % users + 1
  local body = string.format('{"version":"6.1.0.0","edition":"Resco","deviceId":"45d780e4f18354949676f743b0h11633951652bc","deviceInfo":"iPad 2 Wi-Fi only (iPad2,1) iPhone OS 6.0","organizationId":"00000001-0000-4000-8000-0A0000000001","organizationUrl":"https://crm.example.net","organizationName":"bench","userId":"%08X-0000-4000-8000-0B%010X"}', n, n)
  return wrk.format(nil, "/v1/license/check", nil, body)
end
