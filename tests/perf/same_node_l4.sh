#!/usr/bin/env bash
# Same-node L4 benchmark: direct (no mesh) against weft with the sockmap on and
# off, in one run, configurations alternated per round so that machine drift
# hits each alike. Numbers only: nothing here passes or fails on timing.
#
#   tests/perf/same_node_l4.sh [--out DIR] [--rounds N] [--seconds S] [--bulk-mib M] [--idle N]
#
# Writes DIR/same_node_l4.json and DIR/same_node_l4.md. Client pod n1-p1 runs
# on CPU 1; server pod n1-p2 and the agent (--workers 1) on CPU 0 (defaults:
# --load-cpus, --proxy-cpus and --workers change them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/perf_common.sh"

rounds=1
seconds=5
bulk_mib=2048
idle=10000
perf_setup same_node_l4 2,10p "$@"
cpus=$(nproc)

WEFT_CLUSTER_QUIET=1 cluster_up --nodes 1 --pods 2 >/dev/null
trap 'cluster_down >/dev/null 2>&1 || true' EXIT
client=n1-p1
server=n1-p2
server_addr="$(cluster_pod_ip "$server"):9000"
server_pid=$(cluster_spawn_in_pod "$server" taskset -c "$proxy_cpus" "$bench" serve --listen "$server_addr")
cluster_wait_tcp "$client" "$(cluster_pod_ip "$server")" 9000

agent_pid=
start_weft() { # on|off
  agent_pid=$(agent_start n1 --proxy-addr "$(cluster_node_gw n1)" --workers "$workers" --sockmap "$1" --log-level warn)
  agent_wait_ready n1
  taskset -pc "$proxy_cpus" "$agent_pid" >/dev/null
}
stop_weft() { [ -n "$agent_pid" ] && agent_stop n1; agent_pid=; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# A failed run still prints its JSON (with "error"); the figure is then null.
client_run() { cluster_pod_exec "$client" taskset -c "$load_cpu" "$bench" "$@" 2>/dev/null || true; }

measure() { # config -> one JSON object on stdout
  local config=$1 bulk rr1 rr32 ticks_before ticks_after rss_idle rss_loaded cpu_per_1000=null idle_pid
  local rss_idle_json=null rss_loaded_json=null
  [ "$config" = direct ] || start_weft "${config#weft-sockmap-}"
  [ -n "$agent_pid" ] && rss_idle=$(rss_kib "$agent_pid") && rss_idle_json=$rss_idle
  bulk=$(client_run bulk --connect "$server_addr" --bytes $((bulk_mib * 1024 * 1024)))
  rr1=$(client_run rr --connect "$server_addr" --connections 1 --duration "$seconds" --warmup 1)
  [ -n "$agent_pid" ] && ticks_before=$(cpu_ticks "$agent_pid")
  rr32=$(client_run rr --connect "$server_addr" --connections 32 --duration "$seconds" --warmup 1)
  if [ -n "$agent_pid" ]; then
    ticks_after=$(cpu_ticks "$agent_pid")
    cpu_per_1000=$(jq -n --argjson t $((ticks_after - ticks_before)) --argjson hz "$(getconf CLK_TCK)" \
      --argjson r "$(jq .requests <<<"$rr32")" 'if $r > 0 then ($t / $hz) / ($r / 1000) else null end')
    # Idle connections held open through the proxy, then the agent's RSS.
    local idle_log
    idle_log=$(cluster_state_dir)/logs/idle-$config-$round.log
    idle_pid=$(cluster_spawn_in_pod --log "$idle_log" "$client" "$bench" idle --connect "$server_addr" \
      --connections "$idle" --hold 600)
    for _ in $(seq 600); do
      grep -q "^ready" "$idle_log" 2>/dev/null && break
      sleep 0.1
    done
    grep -q "^ready" "$idle_log" || { echo "same_node_l4: idle connections not up:" >&2; tail -3 "$idle_log" >&2; }
    rss_loaded=$(rss_kib "$agent_pid")
    rss_loaded_json=$rss_loaded
    kill "$idle_pid" 2>/dev/null || true
    sleep 1
  fi
  stop_weft
  jq -n --arg config "$config" --argjson bulk "$bulk" --argjson rr1 "$rr1" --argjson rr32 "$rr32" \
    --argjson cpu "$cpu_per_1000" --argjson rss_idle "$rss_idle_json" --argjson rss_loaded "$rss_loaded_json" \
    --argjson idle "$idle" '{
      config: $config,
      bulk_gbps: (if $bulk.verified == true then $bulk.gbps else null end),
      bulk_error: $bulk.error,
      rr1: ({errors: $rr1.errors, rps: $rr1.rps} + ($rr1.latency_us // {} | {p50_us: .p50, p90_us: .p90, p99_us: .p99, p999_us: .p999})),
      rr32: ({errors: $rr32.errors, rps: $rr32.rps} + ($rr32.latency_us // {} | {p50_us: .p50, p90_us: .p90, p99_us: .p99, p999_us: .p999})),
      agent_cpu_s_per_1000_requests: $cpu,
      agent_rss_idle_kib: $rss_idle,
      agent_rss_with_idle_connections_kib: $rss_loaded,
      idle_connections: (if $rss_loaded == null then null else $idle end),
      agent_bytes_per_idle_connection: (if $rss_loaded == null then null else (($rss_loaded - $rss_idle) * 1024 / $idle | floor) end)
    }'
}

results=()
for ((round = 1; round <= rounds; round++)); do
  for config in direct weft-sockmap-on weft-sockmap-off; do
    echo "same_node_l4: round $round: $config" >&2
    results+=("$(measure "$config")")
  done
done

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
printf '%s\n' "${results[@]}" | jq -s --arg kernel "$(uname -r)" --arg commit "$commit" --argjson cpus "$cpus" \
  --arg host "$(hostname)" --argjson rounds "$rounds" --argjson seconds "$seconds" --argjson bulk "$bulk_mib" '
  def median: sort | if length == 0 then null else .[(length / 2 | floor)] end;
  def med(f): [.[] | f | select(. != null)] | median;
  (group_by(.config) | map({key: .[0].config, value: {
     bulk_gbps: med(.bulk_gbps), bulk_failures: [.[] | select(.bulk_error != null)] | length,
     rr1_rps: med(.rr1.rps), rr1_p50_us: med(.rr1.p50_us), rr1_p90_us: med(.rr1.p90_us),
     rr1_p99_us: med(.rr1.p99_us), rr1_p999_us: med(.rr1.p999_us),
     rr32_rps: med(.rr32.rps), rr32_p50_us: med(.rr32.p50_us), rr32_p90_us: med(.rr32.p90_us),
     rr32_p99_us: med(.rr32.p99_us), rr32_p999_us: med(.rr32.p999_us),
     agent_cpu_s_per_1000_requests: med(.agent_cpu_s_per_1000_requests),
     agent_rss_idle_kib: med(.agent_rss_idle_kib),
     agent_rss_with_idle_connections_kib: med(.agent_rss_with_idle_connections_kib),
     agent_bytes_per_idle_connection: med(.agent_bytes_per_idle_connection)}}) | from_entries) as $m
  | {machine: {host: $host, kernel: $kernel, cpus: $cpus}, commit: $commit,
     settings: {rounds: $rounds, seconds: $seconds, bulk_mib: $bulk, pinning: "client CPU 1; server and agent (1 worker) CPU 0"},
     runs: ., summary: $m,
     ratios: {
       bulk_sockmap_on_vs_direct: ($m["weft-sockmap-on"].bulk_gbps / $m.direct.bulk_gbps),
       bulk_sockmap_off_vs_direct: ($m["weft-sockmap-off"].bulk_gbps / $m.direct.bulk_gbps),
       added_p50_us_rr1_sockmap_on: ($m["weft-sockmap-on"].rr1_p50_us - $m.direct.rr1_p50_us),
       added_p50_us_rr1_sockmap_off: ($m["weft-sockmap-off"].rr1_p50_us - $m.direct.rr1_p50_us)}}' \
  >"$out/same_node_l4.json"

jq -r '
  def f: if . == null then "-" elif (. | type) == "number" then (. * 100 | round / 100 | tostring) else tostring end;
  "| configuration | bulk Gbit/s (failed runs) | rr 1 conn req/s | p50 us | p90 us | p99 us | p99.9 us | rr 32 conn req/s | p50 us | p90 us | p99 us | p99.9 us | agent CPU s / 1k req | agent RSS idle KiB | bytes / idle conn |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  (.summary | to_entries[] | "| \(.key) | \(.value.bulk_gbps|f) (\(.value.bulk_failures)) | \(.value.rr1_rps|f) | \(.value.rr1_p50_us|f) | \(.value.rr1_p90_us|f) | \(.value.rr1_p99_us|f) | \(.value.rr1_p999_us|f) | \(.value.rr32_rps|f) | \(.value.rr32_p50_us|f) | \(.value.rr32_p90_us|f) | \(.value.rr32_p99_us|f) | \(.value.rr32_p999_us|f) | \(.value.agent_cpu_s_per_1000_requests|f) | \(.value.agent_rss_idle_kib|f) | \(.value.agent_bytes_per_idle_connection|f) |"),
  "",
  "Ratios: bulk sockmap on / direct \(.ratios.bulk_sockmap_on_vs_direct|f), off / direct \(.ratios.bulk_sockmap_off_vs_direct|f); added p50 at 1 connection: sockmap on \(.ratios.added_p50_us_rr1_sockmap_on|f) us, off \(.ratios.added_p50_us_rr1_sockmap_off|f) us.",
  "Machine: \(.machine.kernel), \(.machine.cpus) CPUs; commit \(.commit); \(.settings.rounds) round(s) of \(.settings.seconds) s; \(.settings.pinning)."
' "$out/same_node_l4.json" >"$out/same_node_l4.md"
cat "$out/same_node_l4.md"
