#!/usr/bin/env bash
# Cross-node benchmark of weft issue 4, in one run: direct (no proxies), the
# peer baseline of ../shared/peers (a HAProxy node pair with mTLS: HTTP/1.1
# and HTTP/2 between the proxies, and an L4 variant for bulk), and weft
# (the mTLS tunnel; with the sockmap off, the default, and on).
#
#   tests/perf/cross_node.sh [--out DIR] [--rounds N] [--seconds S] [--bulk-mib M] [--rates "R..."]
#
# Client pod n1-p1 (wrk, weft-bench) on CPU 1; proxies and the origin pod
# n2-p1 (nginx, one worker, 1 KiB response; weft-bench serve for bulk) on
# CPU 0, as the peers README prescribes. Open loop: weft-bench rr at each of
# --rates requests/s (default 1000 and 10000) over 32 connections, latency
# from each request's intended send time (no coordinated omission), against
# weft-bench serve through direct, weft and the pair's L4 variant (the HTTP
# pair cannot carry its protocol). Writes DIR/cross_node.json and .md;
# numbers only: nothing here passes or fails on timing (goals are reported).
#
# At 32 connections the CPU per request is recorded apart for the proxies
# (user and system time) and nginx, which share CPU 0. When CPU 0 is the
# limit (cpu0_accounted near 1), req/s is the inverse of their CPU per
# request, and the rr32 goals' ratio_ceiling_without_user_space is what weft
# would reach if its agents spent no user-space time at all: the pair's
# proxy + origin CPU per request over weft's agents' system time + nginx's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/cross_node_common.sh"

rounds=1
seconds=5
bulk_mib=1024
rates="1000 10000"
perf_setup cross_node 2,24p "$@"
xn_cluster_up

# --- the origin: nginx (1 KiB, keep-alive, no logs) and weft-bench for bulk
xn_origin_file
origin_master=$(cluster_spawn_nginx_files "$origin" 8080 "$work/www" taskset -c "$proxy_cpus")
cluster_spawn_in_pod "$origin" taskset -c "$proxy_cpus" "$bench" serve --listen 0.0.0.0:9000 >/dev/null
cluster_wait_tcp "$client" "$origin_ip" 8080
cluster_wait_tcp "$client" "$origin_ip" 9000
xn_expect_1k "http://$origin_ip:8080/1k"
origin_pids=$(with_children "$origin_master") # nginx shares CPU 0 with the proxies

# --- the HAProxy pair: certificates and configs from shared/peers
pair_certs
render "$(pair_cfg a.cfg)" "$work/a.cfg"
render "$(pair_cfg b.cfg)" "$work/b.cfg"
render "$here/peers/haproxy-l4-a.cfg" "$work/l4-a.cfg"
render "$here/peers/haproxy-l4-b.cfg" "$work/l4-b.cfg"
for cfg in b l4-b; do pair_spawn n2 "$work/$cfg.cfg"; done
for cfg in a l4-a; do pair_spawn n1 "$work/$cfg.cfg"; done
pair_pids=$(pair_pids "$work/a.cfg" "$work/b.cfg")

# --- measuring
bulk_run() { # ADDR: Gbit/s of one stream of bulk-mib up
  cluster_pod_exec "$client" taskset -c "$load_cpu" "$bench" bulk --connect "$1" --bytes "${bulk_mib}M" 2>/dev/null |
    jq '.gbps // 0' || echo 0
}
open_loop_run() { # ADDR: {"<rate>": {rps, p50_us, p90_us, p99_us, p999_us, unsent, errors}, ...}
  local rate report all='{}'
  for rate in $rates; do
    report=$(cluster_pod_exec "$client" taskset -c "$load_cpu" "$bench" rr --connect "$1" --connections 32 \
      --rate "$rate" --duration "$seconds" 2>/dev/null) || true
    [[ -n $report ]] || report='{}'
    all=$(jq -c --arg rate "$rate" --argjson r "$report" '. + {($rate): {rps: $r.rps, p50_us: $r.latency_us.p50,
      p90_us: $r.latency_us.p90, p99_us: $r.latency_us.p99, p999_us: $r.latency_us.p999, unsent: $r.unsent,
      errors: $r.errors}}' <<<"$all")
  done
  echo "$all"
}
measure() { # NAME HTTP_URL BULK_ADDR PIDS...: one JSON object
  local name=$1 url=$2 bulk=$3
  shift 3
  local one many churn gbps before after cpu open='{}'
  one=$(wrk_run "$url" 1)
  # shellcheck disable=SC2086 # a pid list
  before="$(cpu_ticks_split "$@") $(cpu_ticks $origin_pids)"
  many=$(wrk_run "$url" 32)
  # shellcheck disable=SC2086 # a pid list
  after="$(cpu_ticks_split "$@") $(cpu_ticks $origin_pids)"
  churn=$(wrk_run "$url" 8 -H "Connection: close")
  gbps=0
  [ -n "$bulk" ] && gbps=$(bulk_run "$bulk")
  [ -n "$bulk" ] && open=$(open_loop_run "$bulk")
  local hz
  hz=$(getconf CLK_TCK)
  # rr32's CPU per request: the proxies' (user, system) and the origin's
  cpu=$(jq -n --arg a "$after" --arg b "$before" --argjson hz "$hz" --argjson m "$many" --argjson proxies $# \
    '([$a, $b] | map(split(" ") | map(tonumber))) as [$a, $b]
     | (if $m.requests > 0 then 1000000 / $hz / $m.requests else null end) as $us
     | def per_request(i): if $us then ($a[i] - $b[i]) * $us else null end;
     {proxy: (if $proxies > 0 and $us then per_request(0) + per_request(1) else null end),
      user: (if $proxies > 0 then per_request(0) else null end),
      system: (if $proxies > 0 then per_request(1) else null end), origin: per_request(2)}')
  jq -n --arg name "$name" --argjson one "$one" --argjson many "$many" --argjson churn "$churn" \
    --argjson gbps "$gbps" --argjson cpu "$cpu" --argjson open "$open" --argjson rss "$(peak_rss_kib "$@")" \
    '{target: $name, rr1: $one, rr32: $many, new_connections_per_s: $churn.rps, bulk_gbps: $gbps,
      proxy_cpu_us_per_request: $cpu.proxy, proxy_user_us_per_request: $cpu.user,
      proxy_system_us_per_request: $cpu.system, origin_cpu_us_per_request: $cpu.origin,
      cpu0_accounted: (if $many.rps > 0 and $cpu.origin
                       then $many.rps * (($cpu.proxy // 0) + $cpu.origin) / 1000000 else null end),
      proxy_peak_rss_kib: $rss, open_loop: $open}'
}

results=$work/results.jsonl
: >"$results"
for ((r = 1; r <= rounds; r++)); do
  echo "cross_node: round $r/$rounds" >&2
  # shellcheck disable=SC2086
  {
    measure direct "http://$origin_ip:8080/1k" "$origin_ip:9000"
    measure haproxy-h1 "http://$a_addr:8084/1k" "$a_addr:8085" $pair_pids
    measure haproxy-h2 "http://$a_addr:8086/1k" "" $pair_pids
    start_weft
    measure weft "http://$origin_ip:8080/1k" "$origin_ip:9000" $(weft_pids)
    stop_weft
    start_weft --sockmap on
    measure weft-sockmap "http://$origin_ip:8080/1k" "$origin_ip:9000" $(weft_pids)
    stop_weft
  } | jq -c --argjson round "$r" '. + {round: $round}' >>"$results"
done

# --- medians and the goals of the issue
stamp=$(date -u +%Y%m%dT%H%M%SZ)
jq -s --arg stamp "$stamp" --argjson seconds "$seconds" --argjson bulk "$bulk_mib" "$XN_JQ_MEDIAN"'
  (group_by(.target) | map({key: .[0].target, value: {
      rr1_rps: (map(.rr1.rps) | median), rr1_p50_us: (map(.rr1.p50_us) | median), rr1_p99_us: (map(.rr1.p99_us) | median),
      rr32_rps: (map(.rr32.rps) | median), rr32_p50_us: (map(.rr32.p50_us) | median), rr32_p99_us: (map(.rr32.p99_us) | median),
      rr1_p90_us: (map(.rr1.p90_us) | median), rr32_p90_us: (map(.rr32.p90_us) | median),
      rr1_p999_us: (map(.rr1.p999_us) | median), rr32_p999_us: (map(.rr32.p999_us) | median),
      proxy_peak_rss_kib: (map(.proxy_peak_rss_kib) | max),
      new_connections_per_s: (map(.new_connections_per_s) | median), bulk_gbps: (map(.bulk_gbps) | median),
      proxy_cpu_us_per_request: (map(.proxy_cpu_us_per_request) | median),
      proxy_user_us_per_request: (map(.proxy_user_us_per_request) | median),
      proxy_system_us_per_request: (map(.proxy_system_us_per_request) | median),
      origin_cpu_us_per_request: (map(.origin_cpu_us_per_request) | median),
      cpu0_accounted: (map(.cpu0_accounted) | median),
      open_loop: (map(.open_loop // {} | to_entries) | add // [] | group_by(.key)
        | map({key: .[0].key, value: (map(.value) as $v | {rps: ($v | map(.rps) | median),
            p50_us: ($v | map(.p50_us) | median), p90_us: ($v | map(.p90_us) | median),
            p99_us: ($v | map(.p99_us) | median), p999_us: ($v | map(.p999_us) | median),
            unsent: ($v | map(.unsent) | add), errors: ($v | map(.errors) | add)})}) | from_entries)}})
    | from_entries) as $m
  | def added(t): $m[t].rr1_p50_us - $m.direct.rr1_p50_us;
  # rr32 with no user-space time in the agents: see the header
  def ceiling(pair): if $m.weft.proxy_system_us_per_request and $m.weft.origin_cpu_us_per_request
      and $m[pair].proxy_cpu_us_per_request and $m[pair].origin_cpu_us_per_request
    then ($m[pair].proxy_cpu_us_per_request + $m[pair].origin_cpu_us_per_request)
         / ($m.weft.proxy_system_us_per_request + $m.weft.origin_cpu_us_per_request) else null end;
  {timestamp: $stamp, seconds: $seconds, bulk_mib: $bulk, rounds: (map(.round) | max), runs: ., medians: $m,
   goals: {
     rr1_vs_haproxy_h2: {ratio: ($m.weft.rr1_rps / $m["haproxy-h2"].rr1_rps), goal: ">= 1.5"},
     rr32_vs_haproxy_h2: {ratio: ($m.weft.rr32_rps / $m["haproxy-h2"].rr32_rps), goal: ">= 1.5",
                          ratio_ceiling_without_user_space: ceiling("haproxy-h2")},
     rr32_vs_haproxy_h1: {ratio: ($m.weft.rr32_rps / $m["haproxy-h1"].rr32_rps), goal: ">= 1.5",
                          ratio_ceiling_without_user_space: ceiling("haproxy-h1")},
     added_p50_vs_haproxy_h1: {weft_us: added("weft"), pair_us: added("haproxy-h1"),
                               ratio: (added("weft") / added("haproxy-h1")), goal: "<= 0.5"},
     bulk_vs_haproxy_l4: {ratio: ($m.weft.bulk_gbps / $m["haproxy-h1"].bulk_gbps), goal: ">= 1.5"},
     bulk_sockmap_vs_haproxy_l4: {ratio: ($m["weft-sockmap"].bulk_gbps / $m["haproxy-h1"].bulk_gbps), goal: ">= 1.5"}}
   | map_values(. + {met: (if .goal | startswith(">=") then .ratio >= 1.5 else .ratio <= 0.5 end)})}' \
  "$results" >"$out/cross_node.json"

{
  echo "| target | rr 1 conn req/s | p50 us | p90 us | p99 us | p99.9 us | rr 32 conn req/s | p50 us | p90 us | p99 us | p99.9 us | new conn/s | bulk Gbit/s | proxy CPU us/req (user + system) | origin CPU us/req | CPU 0 accounted | proxies' peak RSS KiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  jq -r 'def r1: if . then (. * 10 | round) / 10 else "-" end;
    .medians | to_entries[] | .value as $v | "| \(.key) | \($v.rr1_rps|floor) | \($v.rr1_p50_us) | \($v.rr1_p90_us) | \($v.rr1_p99_us) | \($v.rr1_p999_us) | \($v.rr32_rps|floor) | \($v.rr32_p50_us) | \($v.rr32_p90_us) | \($v.rr32_p99_us) | \($v.rr32_p999_us) | \($v.new_connections_per_s|floor) | \(($v.bulk_gbps*100|round)/100) | \(if $v.proxy_cpu_us_per_request then "\($v.proxy_cpu_us_per_request | r1) (\($v.proxy_user_us_per_request | r1) + \($v.proxy_system_us_per_request | r1))" else "-" end) | \($v.origin_cpu_us_per_request | r1) | \(if $v.cpu0_accounted then "\($v.cpu0_accounted * 100 | round)%" else "-" end) | \($v.proxy_peak_rss_kib // "-") |"' "$out/cross_node.json"
  echo
  echo "| goal | ratio | wanted | ceiling without user space | met |"
  echo "|---|---|---|---|---|"
  jq -r '.goals | to_entries[] | "| \(.key) | \((.value.ratio*100|round)/100) | \(.value.goal) | \(.value.ratio_ceiling_without_user_space // null | if . then (. * 100 | round) / 100 else "-" end) | \(.value.met) |"' "$out/cross_node.json"
  echo
  echo "Open loop (weft-bench rr, 32 connections, latency from the intended send time; the pair: its L4 variant):"
  echo
  echo "| target | rate req/s | achieved | p50 us | p90 us | p99 us | p99.9 us | unsent | errors |"
  echo "|---|---|---|---|---|---|---|---|---|"
  jq -r '.medians | to_entries[] | .key as $t | (.value.open_loop // {}) | to_entries[] | .value as $v
    | "| \($t) | \(.key) | \($v.rps // 0 | floor) | \($v.p50_us) | \($v.p90_us) | \($v.p99_us) | \($v.p999_us) | \($v.unsent) | \($v.errors) |"' \
    "$out/cross_node.json"
} >"$out/cross_node.md"
cat "$out/cross_node.md"
