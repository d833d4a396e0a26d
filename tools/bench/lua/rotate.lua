-- Shared by the cases that rotate over seeded data (tokens or users): each wrk thread gets an
-- id in setup() (report.lua), reads the data file named by the first script argument in init(), builds every
-- request once, and request() hands them out round-robin from a per-thread offset.
local prepared = {}
local cursor = 0

local function read_lines(path)
   local lines = {}
   for line in io.lines(path) do
      if line ~= "" then lines[#lines + 1] = line end
   end
   if #lines == 0 then error("no data in " .. path) end
   return lines
end

init = function(args)
   local lines = read_lines(args[1])
   for variant = 1, (variants or 1) do
      for i, line in ipairs(lines) do
         prepared[#prepared + 1] = build_request(line, i, variant)
      end
   end
   -- Threads start at different places so they do not walk the same users in step.
   cursor = ((thread_id or 0) * 7919) % #prepared
end

request = function()
   cursor = cursor % #prepared + 1
   return prepared[cursor]
end
