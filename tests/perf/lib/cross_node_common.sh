# shellcheck shell=bash
# What the cross-node benchmarks (cross_node.sh, l7_cross_node.sh) share: a
# 2-node cluster with the client pod n1-p1 and the origin pod n2-p1, the
# HAProxy mTLS pair of ../shared/peers (certificates, configs rendered for the
# cluster, processes pinned to CPU 0), wrk and its parser, proxy CPU time, and
# weft's agents. Sources perf_common.sh; call perf_setup first.
#
#   xn_cluster_up          the cluster, an EXIT trap that removes it (and
#                          $work), and: work client origin origin_ip a_addr
#                          (proxy A, where n1's pods reach it) b_addr (B)
#   xn_origin_file         $work/www/1k, the 1 KiB response, readable by nginx
#   xn_declare_origin_ports
#                          a Service on both nodes declaring the origin's 8080
#                          as http and 8082 as http2 (weft's L7 filters apply)
#   xn_expect_1k URL [CURL ARGS...]
#                          fails unless the client pod gets 200 and 1024 bytes
#   pair_certs             $work/certs (sets certs): a CA, a.pem and b.pem
#                          (ECDSA P-256, client and server auth)
#   pair_cfg NAME          path of shared/peers/haproxy-pair/NAME (checked)
#   render SRC DST [SED_EXPR...]
#                          a pair config for this cluster: CLIENT_SIDE_ADDR,
#                          B_ADDR, ORIGIN_ADDR, CERTS substituted, maxconn fitted
#                          to the descriptor limit; SED_EXPRs (sed -e) run after
#   pair_spawn NODE CFG    haproxy -db -f CFG on NODE, on CPU 0
#   pair_pids CFG...       pids of those haproxy processes (fails, with the
#                          nodes' logs, when none runs)
#   cpu_ticks PID...       user+system clock ticks of the processes so far
#   cpu_ticks_split PID... "USER SYSTEM": the same, apart
#   with_children PID...   the processes and their children (nginx: master
#                          and workers)
#   peak_rss_kib PID...    their peak RSS (VmHWM) summed, KiB (null for none)
#   wrk_run URL CONNS [WRK ARGS...]
#                          $seconds of wrk from the client on $load_cpu:
#                          {rps, requests, p50_us, p90_us, p99_us, p999_us (from wrk's
#                          histogram by wrk_percentiles.lua), error_lines, non_2xx,
#                          socket_errors (connect + read + write + timeout)}
#   h2load_run URL CONNECTIONS [STREAMS]
#                          $seconds of h2load (prior knowledge) from the client on
#                          $load_cpu, STREAMS per connection (default $h2_streams or 1):
#                          {rps, requests, p50_us, p90_us, p99_us, p999_us (nearest rank
#                          over its --log-file), errors (no response), non_2xx}
#   start_weft [FLAGS...]  agents on n1 and n2 (one worker, CPU 0), ready, and
#                          every port of origin_ports (default 8080) reachable
#   stop_weft, weft_pids
#   XN_JQ_MEDIAN           jq: `def median:` over a list of numbers (null if empty)

source "$(dirname "${BASH_SOURCE[0]}")/perf_common.sh"

origin_ports=(8080)

xn_cluster_up() {
  work=$(mktemp -d)
  WEFT_CLUSTER_QUIET=1 cluster_up --nodes 2 --pods 1 >/dev/null
  trap 'stop_weft >/dev/null 2>&1; cluster_down >/dev/null 2>&1; rm -rf "$work"' EXIT
  client=n1-p1
  origin=n2-p1
  origin_ip=$(cluster_pod_ip "$origin")
  a_addr=$(cluster_node_gw n1)
  b_addr=$(cluster_node_ip n2)
}

xn_origin_file() {
  mkdir -p "$work/www"
  head -c 1024 /dev/zero | tr '\0' 'x' >"$work/www/1k"
  # mktemp -d makes $work 0700, and nginx's worker runs as nobody: without
  # this every request gets a 403 page instead of the file.
  chmod 755 "$work" "$work/www"
  chmod 644 "$work/www/1k"
}

xn_declare_origin_ports() {
  local node
  for node in n1 n2; do
    cat >"$(cluster_config_dir "$node")/services.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: bench-origin, namespace: demo}
spec:
  selector: {app: $origin}
  ports:
  - {name: http, port: 8080, targetPort: 8080}
  - {name: http2, port: 8082, targetPort: 8082}
EOF
  done
}

xn_expect_1k() { # URL [CURL ARGS...]: fail unless the client gets 200 and the 1 KiB file from URL
  local got
  got=$(cluster_pod_exec "$client" curl -sS --max-time 3 -o /dev/null -w '%{http_code} %{size_download}' "${@:2}" "$1" \
    2>/dev/null || true)
  [[ $got == "200 1024" ]] || { echo "perf: $1 answers '$got', not '200 1024' (status, bytes)" >&2; return 1; }
}

pair_certs() {
  local side
  certs=$work/certs
  mkdir -p "$certs"
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 2 -subj "/CN=pair CA" \
    -keyout "$certs/ca.key" -out "$certs/ca.crt" 2>/dev/null
  for side in a b; do
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=$side.mesh.test" \
      -keyout "$certs/$side.key" -out "$certs/$side.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s.mesh.test\nextendedKeyUsage=serverAuth,clientAuth\n' "$side" >"$certs/$side.ext"
    openssl x509 -req -in "$certs/$side.csr" -CA "$certs/ca.crt" -CAkey "$certs/ca.key" -CAcreateserial -days 2 \
      -extfile "$certs/$side.ext" -out "$certs/$side.crt" 2>/dev/null
    cat "$certs/$side.crt" "$certs/$side.key" >"$certs/$side.pem"
  done
}

pair_cfg() {
  local file=$root/../shared/peers/haproxy-pair/$1
  [ -f "$file" ] || { echo "perf: $file not found (shared/ beside the repository)" >&2; return 1; }
  echo "$file"
}

# maxconn 20000 needs 40,014 descriptors; where the hard limit is lower (20,000
# here, and root cannot raise it), the pair gets what fits: the benchmarks
# open at most a few hundred connections.
_xn_maxconn() {
  local fd_limit
  fd_limit=$(ulimit -Hn)
  if [[ $fd_limit != unlimited ]] && ((fd_limit < 40100)); then echo $(((fd_limit - 100) / 2)); else echo 20000; fi
}

render() { # SRC DST [SED_EXPR...]
  local src=$1 dst=$2 expr args=()
  shift 2
  for expr in "$@"; do args+=(-e "$expr"); done
  sed -e "s|CLIENT_SIDE_ADDR|$a_addr|g; s|B_ADDR|$b_addr|g; s|ORIGIN_ADDR|$origin_ip|g; s|CERTS|$certs|g" \
    -e "s|maxconn 20000|maxconn $(_xn_maxconn)|" "${args[@]}" "$src" >"$dst"
}

pair_spawn() { cluster_spawn_on_node "$1" taskset -c "$proxy_cpus" haproxy -db -f "$2" >/dev/null; }

pair_pids() {
  local cfg pids=''
  sleep 0.5
  for cfg in "$@"; do pids+=" $(pgrep -f -x "haproxy -db -f $cfg" | tr '\n' ' ' || true)"; done
  if [[ -z ${pids// /} ]]; then
    echo "perf: HAProxy did not start; its logs:" >&2
    tail -n 5 "$(cluster_state_dir)"/logs/n*.log >&2
    return 1
  fi
  echo $pids
}

cpu_ticks() { local t=0 pid; for pid in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo $t; }
cpu_ticks_split() {
  local u=0 s=0 pid a b
  for pid in "$@"; do
    read -r a b < <(awk '{print $14, $15}' "/proc/$pid/stat")
    u=$((u + a)) s=$((s + b))
  done
  echo "$u $s"
}
with_children() { local pid; for pid in "$@"; do echo "$pid" $(pgrep -P "$pid" || true); done | tr '\n' ' '; }
# Peak RSS (VmHWM) of the processes so far, summed, in KiB; null without any.
peak_rss_kib() {
  (($# > 0)) || { echo null; return; }
  local t=0 pid
  for pid in "$@"; do t=$((t + $(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status"))); done
  echo $t
}
# wrk's Lua hook that prints p50/p90/p99/p99.9 (its --latency table stops at p99).
XN_WRK_PERCENTILES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/wrk_percentiles.lua

wrk_run() { # URL CONNECTIONS [extra wrk args...]
  local url=$1 c=$2 text
  shift 2
  text=$(cluster_pod_exec "$client" taskset -c "$load_cpu" wrk -t1 -c"$c" -d"${seconds}s" \
    -s "$XN_WRK_PERCENTILES" "$@" "$url" 2>&1) || true
  local rps req pct errors non2xx socket
  rps=$(awk '/Requests\/sec:/ {print $2}' <<<"$text")
  req=$(awk '/requests in/ {print $1}' <<<"$text")
  pct=$(awk '$1 == "weft-percentiles" {for (i = 2; i <= NF; i++) {split($i, kv, "="); printf "%s%s", sep, kv[2]; sep = " "}}' <<<"$text")
  errors=$(awk '/Non-2xx|Socket errors/ {n++} END {print n + 0}' <<<"$text")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$text")
  socket=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' <<<"$text")
  jq -n --arg rps "${rps:-0}" --arg req "${req:-0}" --arg pct "${pct:-0 0 0 0}" \
    --arg e "$errors" --arg n "${non2xx:-0}" --arg s "${socket:-0}" \
    '($pct | split(" ") | map(tonumber)) as $p
     | {rps: ($rps|tonumber), requests: ($req|tonumber),
        p50_us: $p[0], p90_us: $p[1], p99_us: $p[2], p999_us: $p[3],
        error_lines: ($e|tonumber), non_2xx: ($n|tonumber), socket_errors: ($s|tonumber)}'
}

h2load_run() { # URL CONNECTIONS [STREAMS]: {rps, requests, p50_us, p90_us, p99_us, p999_us, errors (no response), non_2xx}
  local url=$1 c=$2 m=${3:-${h2_streams:-1}} log=$work/h2load.log text
  rm -f "$log"
  text=$(cluster_pod_exec "$client" taskset -c "$load_cpu" h2load -t1 -c"$c" -m"$m" -D "$seconds" \
    --log-file="$log" "$url" 2>&1) || true
  touch "$log"
  local rps req failed non2xx pct
  rps=$(awk '/^finished in/ {print $4}' <<<"$text")
  req=$(awk '/^requests:/ {print $6}' <<<"$text")                   # done (any status, as wrk counts)
  failed=$(awk '/^requests:/ {print $12 + $14}' <<<"$text")        # errored + timeout: no response
  non2xx=$(awk '/^status codes:/ {print $5 + $7 + $9}' <<<"$text") # 3xx + 4xx + 5xx
  # h2load prints no percentiles: nearest rank over its per-request log
  pct=$(awk -F'\t' '$2 != -1 {print $3}' "$log" | sort -n |
    awk 'function rank(q, r) {r = int(NR * q); if (r < NR * q) r++; return v[r < 1 ? 1 : r]}
         {v[NR] = $1}
         END {if (NR == 0) {print "0 0 0 0"; exit}; print rank(0.5), rank(0.9), rank(0.99), rank(0.999)}')
  jq -n --arg rps "${rps:-0}" --arg req "${req:-0}" --arg f "${failed:-0}" --arg n "${non2xx:-0}" --arg pct "$pct" \
    '($pct | split(" ") | map(tonumber)) as $p
     | {rps: ($rps|tonumber), requests: ($req|tonumber), p50_us: $p[0], p90_us: $p[1], p99_us: $p[2], p999_us: $p[3],
        errors: ($f|tonumber), non_2xx: ($n|tonumber)}'
}
start_weft() { # extra agent flags
  local node port
  for node in n1 n2; do agent_start "$node" --proxy-addr "$(cluster_node_gw "$node")" --workers "$workers" "$@" >/dev/null; done
  agent_wait_ready n1 && agent_wait_ready n2
  for node in n1 n2; do taskset -acp "$proxy_cpus" "$(cat "$(cluster_state_dir)/run/agent-$node.pid")" >/dev/null; done
  for port in "${origin_ports[@]}"; do cluster_wait_tcp "$client" "$origin_ip" "$port"; done
}
stop_weft() { agent_stop n1; agent_stop n2; }
weft_pids() { echo "$(cat "$(cluster_state_dir)/run/agent-n1.pid") $(cat "$(cluster_state_dir)/run/agent-n2.pid")"; }

# shellcheck disable=SC2016 # jq text
XN_JQ_MEDIAN='def median: map(select(. != null)) | sort
  | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;'
