-- Counts the answers that shed load on purpose: 503 with Retry-After. Only in the cases that can
-- shed (a response() callback makes wrk parse every answer's headers, which costs wrk CPU).
shed = 0

response = function(status, headers, _)
   if status == 503 then
      for name, _ in pairs(headers) do
         if name:lower() == "retry-after" then
            shed = shed + 1
            return
         end
      end
   end
end
