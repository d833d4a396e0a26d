-- POST /login as a different user on each request (data file: "username password" a line).
build_request = function(line, _)
   local username, password = line:match("^(%S+)%s+(%S+)$")
   local body = string.format('{"username":"%s","password":"%s"}', username, password)
   return wrk.format("POST", "/login", { ["Content-Type"] = "application/json" }, body)
end
