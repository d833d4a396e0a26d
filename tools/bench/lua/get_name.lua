-- GET /getName with a different session token on each request (data file: one token a line).
build_request = function(token, _)
   return wrk.format("GET", "/getName", { ["Authorization"] = "Bearer " .. token })
end
