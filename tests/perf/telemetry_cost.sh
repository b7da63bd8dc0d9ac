#!/usr/bin/env bash
# The cost of telemetry (weft issue 7): HTTP/1.1 and HTTP/2 keep-alive
# through weft across nodes with metrics and access logs off and on, in one
# run, configurations alternated per round; requests/s and latency at 32
# connections.
#
#   tests/perf/telemetry_cost.sh [--out DIR] [--rounds N] [--seconds S]
#
# Defaults: 3 rounds of 5 s per configuration and protocol (about 2 minutes).
# Client pod n1-p1 on CPU 1; agents and the origin pod n2-p1 (nginx, one
# worker, 1 KiB; 8080 HTTP/1.1 and 8082 h2c, declared by a Service as `http`
# and `http2`, so the destination's L7 filter sees every request) on CPU 0.
# Configurations (both agents alike):
#   off        --metrics-addr off (no series kept), no access log
#   metrics    the default: metrics on (scraped once per round, as Prometheus would)
#   accesslog  metrics, and --access-log to a file with every entry written
# Writes DIR/telemetry_cost.json (runs, medians, ratios against "off": per
# round against the "off" measured next to it, median over rounds; the goal:
# metrics cost at most 5% of requests/s) and DIR/telemetry_cost.md.
# Numbers only: nothing passes or fails on timing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/cross_node_common.sh"

rounds=3
seconds=5
perf_setup telemetry_cost 2,19p "$@"
for tool in wrk h2load curl nginx; do
  command -v "$tool" >/dev/null || { echo "telemetry_cost: $tool not found (scripts/setup)" >&2; exit 1; }
done
xn_cluster_up
origin_ports=(8080 8082)
xn_origin_file
cluster_spawn_nginx_files "$origin" 8080 "$work/www" taskset -c "$proxy_cpus" >/dev/null
cluster_spawn_nginx_files --http2 "$origin" 8082 "$work/www" taskset -c "$proxy_cpus" >/dev/null
for port in "${origin_ports[@]}"; do cluster_wait_tcp "$client" "$origin_ip" "$port"; done
xn_declare_origin_ports

h2load_rps() { # URL: {rps, requests, errors}
  local text
  text=$(cluster_pod_exec "$client" taskset -c "$load_cpu" h2load -t1 -c32 -m1 -D "$seconds" "$1" 2>&1) || true
  jq -n --arg rps "$(awk '/^finished in/ {print $4}' <<<"$text")" \
    --arg req "$(awk '/^requests:/ {print $6}' <<<"$text")" \
    --arg err "$(awk '/^requests:/ {print $12 + $14}' <<<"$text")" \
    '{rps: ($rps | tonumber? // 0), requests: ($req | tonumber? // 0), errors: ($err | tonumber? // 0)}'
}
measure() { # CONFIG: one JSON object per protocol
  local config=$1 flags=() h1 h2 before after hz log=$work/access.log
  case $config in
    off) flags=(--metrics-addr off) ;;
    accesslog) rm -f "$log"; flags=(--access-log "$log") ;;
  esac
  start_weft "${flags[@]}"
  xn_expect_1k "http://$origin_ip:8080/1k"
  hz=$(getconf CLK_TCK)
  before=$(cpu_ticks $(weft_pids))
  h1=$(wrk_run "http://$origin_ip:8080/1k" 32)
  after=$(cpu_ticks $(weft_pids))
  jq -nc --arg c "$config" --argjson l "$h1" --argjson t $((after - before)) --argjson hz "$hz" \
    '{config: $c, protocol: "http1", rps: $l.rps, requests: $l.requests, p50_us: $l.p50_us, p90_us: $l.p90_us,
      p99_us: $l.p99_us, p999_us: $l.p999_us, errors: ($l.socket_errors + $l.non_2xx),
      agent_cpu_us_per_request: (if $l.requests > 0 then ($t / $hz) * 1000000 / $l.requests else null end)}'
  before=$(cpu_ticks $(weft_pids))
  h2=$(h2load_rps "http://$origin_ip:8082/1k")
  after=$(cpu_ticks $(weft_pids))
  jq -nc --arg c "$config" --argjson l "$h2" --argjson t $((after - before)) --argjson hz "$hz" \
    '{config: $c, protocol: "http2", rps: $l.rps, requests: $l.requests, errors: $l.errors,
      agent_cpu_us_per_request: (if $l.requests > 0 then ($t / $hz) * 1000000 / $l.requests else null end)}'
  # The series a scrape would see (and what it costs to render them once).
  if [[ $config != off ]]; then
    cluster_node_exec n2 curl -sS --max-time 5 -o "$work/metrics-$config.txt" http://127.0.0.1:15020/metrics || true
  fi
  stop_weft
}

results=$work/results.jsonl
: >"$results"
for ((r = 1; r <= rounds; r++)); do
  echo "telemetry_cost: round $r/$rounds" >&2
  # Alternated per round, so that drift of the machine hits each alike.
  order=(off metrics accesslog)
  ((r % 2 == 0)) && order=(accesslog metrics off)
  for config in "${order[@]}"; do measure "$config"; done | jq -c --argjson round "$r" '. + {round: $round}' >>"$results"
done
requests_series=$(grep -c '^weft_requests_total{' "$work/metrics-metrics.txt" 2>/dev/null || echo 0)

stamp=$(date -u +%Y%m%dT%H%M%SZ)
jq -s --arg stamp "$stamp" --argjson seconds "$seconds" --argjson series "$requests_series" "$XN_JQ_MEDIAN"'
  (group_by([.protocol, .config]) | map({protocol: .[0].protocol, config: .[0].config,
     rps: (map(.rps) | median), p50_us: (map(.p50_us) | median), p90_us: (map(.p90_us) | median),
     p99_us: (map(.p99_us) | median),
     p999_us: (map(.p999_us) | median), agent_cpu_us_per_request: (map(.agent_cpu_us_per_request) | median),
     errors: (map(.errors) | add)})) as $rows
  | ($rows | group_by(.protocol) | map({key: .[0].protocol,
      value: (map({key: .config, value: del(.protocol, .config)}) | from_entries)}) | from_entries) as $m
  | {timestamp: $stamp, seconds: $seconds, rounds: (map(.round) | max), connections: 32,
     requests_series_scraped: $series, runs: ., medians: $m,
     # Per round, each configuration against "off" of the same round (measured
     # next to it), then the median over rounds: drift between rounds cancels.
     ratios: (. as $runs | [["http1", "http2"][] as $p | ["metrics", "accesslog"][] as $c
       | {key: "\($p)_\($c)_vs_off",
          value: ([$runs[] | select(.protocol == $p) | .round] | unique
                  | map(. as $r | ($runs | map(select(.round == $r and .protocol == $p))) as $in
                        | ($in | map(select(.config == $c))[0].rps) / ($in | map(select(.config == "off"))[0].rps))
                  | median)}] | from_entries),
     goal: {metrics_rps_lost_at_most: 0.05}}
  | .goal.met = ([.ratios.http1_metrics_vs_off, .ratios.http2_metrics_vs_off] | all(. >= 0.95))' \
  "$results" >"$out/telemetry_cost.json"

{
  echo "| protocol | telemetry | req/s (32 conn) | vs off, per round | p50 us | p99 us | p99.9 us | agent CPU us/req | errors |"
  echo "|---|---|---|---|---|---|---|---|---|"
  jq -r '.ratios as $r | .medians | to_entries[] | .key as $p | .value | to_entries[] | .value as $v
    | ($r["\($p)_\(.key)_vs_off"] // 1) as $ratio
    | "| \($p) | \(.key) | \($v.rps | floor) | \(($ratio * 1000 | round) / 1000) | \($v.p50_us // "-") | \($v.p99_us // "-") | \($v.p999_us // "-") | \(if $v.agent_cpu_us_per_request then ($v.agent_cpu_us_per_request * 10 | round) / 10 else "-" end) | \($v.errors) |"' \
    "$out/telemetry_cost.json"
  echo
  jq -r '"Goal: metrics on costs at most 5% of requests/s: \(if .goal.met then "met" else "not met" end) (HTTP/1.1 \(.ratios.http1_metrics_vs_off * 1000 | round / 1000), HTTP/2 \(.ratios.http2_metrics_vs_off * 1000 | round / 1000) of off). Series of weft_requests_total at the destination: \(.requests_series_scraped)."' \
    "$out/telemetry_cost.json"
} >"$out/telemetry_cost.md"
cat "$out/telemetry_cost.md"
