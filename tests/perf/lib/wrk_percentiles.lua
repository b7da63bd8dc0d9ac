-- wrk's --latency table stops at p99; this prints the percentiles the perf
-- suite reports (microseconds, from wrk's own histogram) on one line that
-- wrk_run parses. Only done() is defined, so wrk keeps its fast path (no Lua
-- per request).
done = function(summary, latency, requests)
  io.write(string.format("weft-percentiles p50=%d p90=%d p99=%d p999=%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
