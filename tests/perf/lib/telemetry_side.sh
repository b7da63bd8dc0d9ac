#!/usr/bin/env bash
# One side of tests/perf/telemetry_cost.sh: its own 2-node cluster (client
# n1-p1, origin n2-p1 with nginx on 8080 and h2c on 8082, declared http and
# http2), whose agents run, round after round, the telemetry configuration
# this side has that round. The sides measure at the same moments (barrier
# files in SYNC_DIR), so that whatever the machine does meanwhile hits every
# configuration alike.
#
#   telemetry_side.sh SIDE SIDES ROUNDS SYNC_DIR RESULTS [perf_setup flags...]
#
# Round r gives side s the configuration CONFIGS[(s + r) % SIDES] (a Latin
# square: over SIDES rounds each side runs each configuration once). Appends
# one JSON line per round and protocol to RESULTS.
set -Eeuo pipefail
side=$1 sides=$2 side_rounds=$3 sync=$4 results=$5
shift 5
source "$(dirname "${BASH_SOURCE[0]}")/cross_node_common.sh"
seconds=5
perf_setup telemetry_side 2,13p "$@"
configs=(off metrics accesslog)

# barrier NAME [SECS]: until every side reached NAME; fails after SECS (a side died).
barrier() {
  touch "$sync/$1.$side"
  local i s all
  for ((i = 0; i < ${2:-60} * 20; i++)); do
    all=1
    for ((s = 0; s < sides; s++)); do [[ -e $sync/$1.$s ]] || { all=0; break; }; done
    ((all)) && return 0
    [[ -e $sync/failed ]] && exit 1
    sleep 0.05
  done
  echo "telemetry_side $side: the other sides did not reach $1" >&2
  touch "$sync/failed"
  exit 1
}
trap 'touch "$sync/failed"' ERR  # the other sides stop waiting for this one

xn_cluster_up
origin_ports=(8080 8082)
xn_origin_file
cluster_spawn_nginx_files "$origin" 8080 "$work/www" taskset -c "$proxy_cpus" >/dev/null
cluster_spawn_nginx_files --http2 "$origin" 8082 "$work/www" taskset -c "$proxy_cpus" >/dev/null
for port in "${origin_ports[@]}"; do cluster_wait_tcp "$client" "$origin_ip" "$port"; done
xn_declare_origin_ports
barrier up 180

record() { # CONFIG PROTOCOL LOAD_JSON TICKS: one result line
  jq -nc --arg c "$1" --arg p "$2" --argjson l "$3" --argjson t "$4" --argjson hz "$(getconf CLK_TCK)" \
    --argjson side "$side" --argjson round "$round" \
    '{round: $round, side: $side, config: $c, protocol: $p, rps: $l.rps, requests: $l.requests,
      p50_us: $l.p50_us, p90_us: $l.p90_us, p99_us: $l.p99_us, p999_us: $l.p999_us,
      errors: (($l.socket_errors // 0) + ($l.non_2xx // 0) + ($l.errors // 0)),
      agent_cpu_us_per_request: (if $l.requests > 0 then ($t / $hz) * 1000000 / $l.requests else null end)}' \
    >>"$results"
}

for ((round = 1; round <= side_rounds; round++)); do
  config=${configs[$(((side + round) % sides))]}
  flags=()
  case $config in
    off) flags=(--metrics-addr off) ;;
    accesslog) rm -f "$work/access.log"; flags=(--access-log "$work/access.log") ;;
  esac
  start_weft "${flags[@]}"
  xn_expect_1k "http://$origin_ip:8080/1k"
  barrier "h1-$round"
  before=$(cpu_ticks $(weft_pids))
  load=$(wrk_run "http://$origin_ip:8080/1k" 32)
  record "$config" http1 "$load" $(($(cpu_ticks $(weft_pids)) - before))
  barrier "h2-$round"
  before=$(cpu_ticks $(weft_pids))
  load=$(h2load_run "http://$origin_ip:8082/1k" 32)
  record "$config" http2 "$load" $(($(cpu_ticks $(weft_pids)) - before))
  # The series a scrape would see (and what it costs to render them once).
  if [[ $config == metrics ]]; then
    cluster_node_exec n2 curl -sS --max-time 5 -o "$sync/metrics.$side.txt" http://127.0.0.1:15020/metrics || true
  fi
  stop_weft
done
