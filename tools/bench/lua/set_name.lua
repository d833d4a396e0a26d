-- POST /setName with a different session token on each request; every token has two names it
-- alternates between, so each request really changes the row (and writes an outbox event).
variants = 2
build_request = function(token, i, variant)
   local body = string.format('{"name":"Bench User %d%s"}', i, variant == 1 and "" or " b")
   return wrk.format("POST", "/setName", {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
   }, body)
end
