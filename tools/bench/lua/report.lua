-- Appended to every case script: prints one machine-readable line that tools.bench.wrk parses.
-- Latencies are in microseconds. `status` counts responses with a status >= 400 (wrk's own rule);
-- `shed` the 503s with Retry-After among them, counted by shed.lua where a case includes it.
local threads = {}
local next_thread_id = 0

setup = function(thread)
   thread:set("thread_id", next_thread_id)
   next_thread_id = next_thread_id + 1
   threads[#threads + 1] = thread
end

done = function(summary, latency, requests)
   local e = summary.errors
   local shed = 0
   for _, thread in ipairs(threads) do shed = shed + (thread:get("shed") or 0) end
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d,"shed":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.timeout, e.status, shed,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
