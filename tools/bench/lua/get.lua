-- A plain GET of the URL's path, with optional extra headers given as script arguments
-- ("Name: value"), e.g. the header that bypasses nginx's micro-cache.
local prepared

init = function(args)
   local headers = {}
   for name, value in pairs(wrk.headers) do headers[name] = value end
   for _, arg in ipairs(args) do
      local name, value = arg:match("^([^:]+):%s*(.*)$")
      if name then headers[name] = value end
   end
   prepared = wrk.format(nil, nil, headers)
end

request = function()
   return prepared
end
