#!/usr/bin/env bash
# Observability (issue 7: metrics and access logs) on a 2-node cluster. The
# server pod n1-p1 runs an HTTP server that answers /status/N with N (8080,
# Service "web", http), a real gRPC server (50051, Service "echo", grpc) and
# a TCP echo (9090, no Service); the client pod n2-p1 sends a known sequence
# across nodes, through the mTLS tunnel. Proves:
#   1. the destination agent's /metrics (15020) counts exactly those requests
#      by response code, gRPC status and response flags, with Istio's labels
#      (workloads, principals, service, mutual_tls), and the TCP connections;
#      the source agent counts the same connections as reporter="source";
#      promtool (Debian's prometheus) accepts the text without complaint; the
#      agent's own metrics: BPF map entries, certificate expiry, tunnels,
#      config objects rejected (and the agent keeps serving after one);
#   2. a real Prometheus scrapes the agent and PromQL returns the count sent;
#   3. access logs: one JSON line per request at the destination (the denied
#      one with its policy, the gRPC one with its status) and per connection
#      on both nodes, a failed connect flagged UF on both;
#   4. --metrics-names istio: istio_requests_total and milliseconds;
#   5. bad flags (an access log that cannot be opened, a port in use) stop
#      the agent with the cause named, before it attaches any BPF hook.
source "$(dirname "$0")/lib/e2e.sh"
here=$(cd "$(dirname "$0")" && pwd)
e2e_require node curl jq prometheus promtool
e2e_require_grpc_js

assert_cleanup cluster_down
cluster_up --nodes 2 --pods 2 >/dev/null
e2e_show_agent_logs_on_failure n1 n2

server=n1-p1
server_ip=$(cluster_pod_ip "$server")
state=$(cluster_state_dir)
for node in n1 n2; do
  cat >"$(cluster_config_dir "$node")/services.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  selector: {app: $server}
  ports:
  - {name: http, port: 80, targetPort: 8080}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: demo}
spec:
  selector: {app: $server}
  ports:
  - {name: grpc, port: 50051, targetPort: 50051}
---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: demo}
spec:
  selector: {matchLabels: {app: $server}}
  action: DENY
  rules:
  - to: [{operation: {ports: ["8080"], paths: ["/admin"]}}]
EOF
done

cluster_spawn_in_pod "$server" node -e "
  require('http').createServer((req, res) => {
    const m = req.url.match(/^\/status\/(\d+)/);
    res.writeHead(m ? Number(m[1]) : 200, {'content-type': 'text/plain'});
    res.end('x'.repeat(100));
  }).listen(8080, '$server_ip')" >/dev/null
cluster_spawn_in_pod "$server" node "$here/grpc/server.js" 50051 >/dev/null
cluster_spawn_in_pod "$server" node -e "require('net').createServer((s) => s.pipe(s)).listen(9090)" >/dev/null
start_agents() { # [FLAGS for n1...]
  agent_start n1 --proxy-addr "$(cluster_node_gw n1)" --access-log "$state/run/access-n1.log" "$@" >/dev/null
  agent_start n2 --proxy-addr "$(cluster_node_gw n2)" --access-log "$state/run/access-n2.log" >/dev/null
  agent_wait_ready n1 && agent_wait_ready n2
}
start_agents
for port in 8080 50051 9090; do cluster_wait_tcp n2-p1 "$server_ip" "$port"; done

scrape() { cluster_node_exec "$1" curl -sS --max-time 5 "http://127.0.0.1:15020/metrics"; }
# The sum of the samples of NAME whose labels contain every LABEL="VALUE" given.
metric() { # TEXT NAME [LABEL=VALUE...]
  local text=$1 name=$2
  shift 2
  awk -v name="$name" -v want="$(printf '%s\n' "$@")" '
    BEGIN { n = split(want, w, "\n") }
    index($0, name "{") == 1 || $1 == name {
      for (i = 1; i <= n; i++) {
        if (w[i] == "") continue
        split(w[i], kv, "=")
        if (index($0, kv[1] "=\"" substr(w[i], length(kv[1]) + 2) "\"") == 0) next
      }
      sum += $NF; found = 1
    }
    END { if (found) printf "%.15g\n", sum; else print "absent" }' <<<"$text"
}
at_least() { awk -v v="$1" -v n="$2" 'BEGIN { print (v != "absent" && v + 0 >= n) ? "true" : "false" }'; }
get() { cluster_pod_exec n2-p1 curl -sS --max-time 3 -o /dev/null -w '%{http_code}' "http://$server_ip:8080$1" || true; }
grpc() { cluster_pod_exec n2-p1 node "$here/grpc/client.js" "$server_ip:50051" unary "$1"; }

echo "== the known sequence from n2-p1 (each a new connection)"
for _ in 1 2 3 4 5; do get /status/200 >/dev/null; done
get /status/404 >/dev/null
get /status/404 >/dev/null
get /status/503 >/dev/null
assert_eq "/admin is denied by the policy (positive control of the denial)" 403 "$(get /admin)"
for _ in 1 2 3; do grpc hello >/dev/null; done
assert_eq "a gRPC call that fails with grpc-status 9" 9 "$(grpc fail | jq .code)"
assert_eq "1000 bytes through the TCP echo" 1000 "$(cluster_pod_exec n2-p1 node -e "
  const s = require('net').connect(9090, '$server_ip', () => s.end(Buffer.alloc(1000)));
  let n = 0; s.on('data', (d) => n += d.length); s.on('close', () => console.log(n));")"
connections=17 # 9 curl, 4 gRPC clients, 1 echo, and the 3 probes of cluster_wait_tcp before
sleep 1.5     # access-log buffers go out once a second

echo "== 1. /metrics at the destination node (n1) and the source node (n2)"
text=$(scrape n1)
http=(reporter=destination source_workload=n2-p1 source_workload_namespace=demo destination_workload=n1-p1
      destination_workload_namespace=demo request_protocol=http connection_security_policy=mutual_tls
      source_principal=spiffe://cluster.local/ns/demo/sa/default
      destination_principal=spiffe://cluster.local/ns/demo/sa/default
      destination_service=web.demo.svc.cluster.local destination_canonical_service=n1-p1)
assert_eq "5 requests answered 200" 5 "$(metric "$text" weft_requests_total "${http[@]}" response_code=200 response_flags=-)"
assert_eq "2 answered 404" 2 "$(metric "$text" weft_requests_total "${http[@]}" response_code=404)"
assert_eq "1 answered 503 by the server (no flag: the proxy did nothing wrong)" 1 \
  "$(metric "$text" weft_requests_total "${http[@]}" response_code=503 response_flags=-)"
assert_eq "1 denied: 403 with response_flags RBAC" 1 \
  "$(metric "$text" weft_requests_total "${http[@]}" response_code=403 response_flags=RBAC)"
assert_eq "every HTTP request has a duration observation" 9 \
  "$(metric "$text" weft_request_duration_seconds_count "${http[@]}")"
assert_eq "response sizes: 8 bodies of 100 bytes from the server, within le=100" 8 \
  "$(metric "$text" weft_response_bytes_bucket "${http[@]}" le=100 response_flags=-)"
grpc_labels=(reporter=destination source_workload=n2-p1 destination_workload=n1-p1 request_protocol=grpc
             destination_service=echo.demo.svc.cluster.local)
assert_eq "3 gRPC calls with grpc-status 0" 3 \
  "$(metric "$text" weft_requests_total "${grpc_labels[@]}" response_code=200 grpc_response_status=0)"
assert_eq "1 gRPC call with grpc-status 9" 1 \
  "$(metric "$text" weft_requests_total "${grpc_labels[@]}" grpc_response_status=9)"
tcp=(source_workload=n2-p1 destination_workload=n1-p1 request_protocol=tcp)
assert_eq "the destination counts every connection once" $connections \
  "$(metric "$text" weft_tcp_connections_opened_total reporter=destination "${tcp[@]}" connection_security_policy=mutual_tls)"
assert_eq "and all of them closed" $connections \
  "$(metric "$text" weft_tcp_connections_closed_total reporter=destination "${tcp[@]}")"
assert_eq "bytes from the client include the echo's 1000" true \
  "$(at_least "$(metric "$text" weft_tcp_received_bytes_total reporter=destination "${tcp[@]}")" 1000)"
source_text=$(scrape n2)
assert_eq "the source node counts the same connections as reporter=source" $connections \
  "$(metric "$source_text" weft_tcp_connections_opened_total reporter=source "${tcp[@]}" connection_security_policy=unknown)"
assert_eq "the source node reports no HTTP series (L7 runs at the destination)" absent \
  "$(metric "$source_text" weft_requests_total)"
lint=$(promtool check metrics <<<"$text" 2>&1) && rc=0 || rc=$?
assert_eq "promtool check metrics accepts the text" 0 "$rc"
assert_empty "without a single complaint" "$lint"
assert_eq "self: two enrolled pods in the BPF map" 2 "$(metric "$text" weft_agent_bpf_map_entries map=weft_enrolled)"
expiry=$(metric "$text" weft_agent_certificate_expiry_timestamp_seconds \
  identity=spiffe://cluster.local/ns/demo/sa/default)
assert_eq "self: the workload certificate expires within its lifetime (24 h)" true \
  "$(jq -n --argjson e "${expiry/absent/0}" --argjson now "$(date +%s)" '$e > $now and $e <= $now + 86400 + 60')"
assert_eq "self: one inbound tunnel" true "$(at_least "$(metric "$text" weft_agent_tunnels_opened_total direction=inbound)" 1)"
assert_eq "self: no config object rejected" 0 "$(metric "$text" weft_agent_config_objects_rejected)"
assert_eq "self: access-log entries counted" true "$(at_least "$(metric "$text" weft_agent_access_log_entries_total)" 27)"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: broken\n' >"$(cluster_config_dir n1)/broken.yaml"
for _ in $(seq 50); do
  [[ $(metric "$(scrape n1)" weft_agent_config_objects_rejected) == 0 ]] || break
  sleep 0.1
done
assert_eq "self: a malformed manifest is counted as rejected" 1 "$(metric "$(scrape n1)" weft_agent_config_objects_rejected)"
assert_eq "and the agent keeps serving with its last good config" 200 "$(get /status/200)"

echo "== 2. a real Prometheus scrapes the agent"
prom_dir=$state/run/prometheus
mkdir -p "$prom_dir/data"
cat >"$prom_dir/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: weft
  static_configs: [{targets: ["127.0.0.1:15020"]}]
EOF
cluster_spawn_on_node --log "$prom_dir/prometheus.log" n1 prometheus --config.file="$prom_dir/prometheus.yml" \
  --storage.tsdb.path="$prom_dir/data" --web.listen-address=127.0.0.1:9099 >/dev/null
promql() {
  cluster_node_exec n1 curl -sS --max-time 5 http://127.0.0.1:9099/api/v1/query --data-urlencode "query=$1" 2>/dev/null |
    jq -r '.data.result[0].value[1] // "none"' 2>/dev/null || echo none
}
for _ in $(seq 100); do [[ $(promql 'up{job="weft"}') == 1 ]] && break; sleep 0.2; done
assert_eq "Prometheus sees the target up" 1 "$(promql 'up{job="weft"}')"
for _ in $(seq 50); do
  [[ $(promql 'sum(weft_requests_total{response_code="200",request_protocol="http"})') != none ]] && break
  sleep 0.2
done
assert_eq "PromQL: the 200s the test sent (5, and 1 after the bad manifest)" 6 \
  "$(promql 'sum(weft_requests_total{response_code="200",request_protocol="http",source_workload="n2-p1"})')"
assert_eq "PromQL: the denied request by its flag" 1 \
  "$(promql 'sum(weft_requests_total{response_flags="RBAC"})')"

echo "== 3. access logs"
get /status/200 >/dev/null # flushes a second later
assert_eq "a connection to a closed port fails" 000 \
  "$(cluster_pod_exec n2-p1 curl -sS --max-time 3 -o /dev/null -w '%{http_code}' "http://$server_ip:7777/" 2>/dev/null || true)"
sleep 1.5
dst_log=$state/run/access-n1.log
src_log=$state/run/access-n2.log
assert_eq "every line of both logs is a JSON object" true \
  "$(cat "$dst_log" "$src_log" | jq -s 'length > 0 and all(type == "object")' 2>/dev/null || echo false)"
assert_eq "7 requests for /status/200 answered 200 at the destination" 7 \
  "$(jq -s '[.[] | select(.kind == "http" and .path == "/status/200" and .status == 200)] | length' "$dst_log")"
assert_eq "the denied request: 403, verdict deny, the policy, the client's identity" \
  '{"status":403,"verdict":"deny","policy":"demo/deny-admin","flags":"RBAC","principal":"spiffe://cluster.local/ns/demo/sa/default","pod":"demo/n2-p1"}' \
  "$(jq -sc '[.[] | select(.kind == "http" and .path == "/admin")][0]
    | {status, verdict, policy, flags: .response_flags, principal: .source.principal, pod: .source.pod}' "$dst_log")"
assert_eq "the failed gRPC call: its method path and grpc-status 9" 1 \
  "$(jq -s '[.[] | select(.kind == "http" and .path == "/weft.test.Echo/Say" and .grpc_status == 9
             and .protocol == "HTTP/2")] | length' "$dst_log")"
assert_eq "a line per connection at the destination, with mutual_tls" true \
  "$(jq -s --argjson n "$connections" '[.[] | select(.kind == "tcp" and .reporter == "destination"
    and .security == "mutual_tls")] | length >= $n' "$dst_log")"
assert_eq "a line per connection at the source, with the destination's workload" true \
  "$(jq -s --argjson n "$connections" '[.[] | select(.kind == "tcp" and .reporter == "source"
    and .destination.workload == "n1-p1")] | length >= $n' "$src_log")"
assert_eq "the closed port: flagged UF at the destination" 1 \
  "$(jq -s '[.[] | select(.kind == "tcp" and .destination.address == "'"$server_ip"':7777" and .response_flags == "UF")]
    | length' "$dst_log")"
assert_eq "and at the source" 1 \
  "$(jq -s '[.[] | select(.kind == "tcp" and .destination.address == "'"$server_ip"':7777" and .response_flags == "UF")]
    | length' "$src_log")"

echo "== 4. Istio's metric names"
agent_stop n1
agent_start n1 --proxy-addr "$(cluster_node_gw n1)" --metrics-names istio >/dev/null
agent_wait_ready n1
cluster_wait_tcp n2-p1 "$server_ip" 8080
get /status/200 >/dev/null
text=$(scrape n1)
assert_eq "istio_requests_total counts the request" 1 \
  "$(metric "$text" istio_requests_total reporter=destination response_code=200 source_workload=n2-p1)"
assert_eq "istio_request_duration_milliseconds with Istio's first bucket" 1 \
  "$(metric "$text" istio_request_duration_milliseconds_count response_code=200)"
assert_contains "its buckets are in milliseconds" "$text" 'le="0.5"'
assert_eq "istio_tcp_connections_opened_total (the request and cluster_wait_tcp's probe)" 2 \
  "$(metric "$text" istio_tcp_connections_opened_total reporter=destination source_workload=n2-p1)"
assert_eq "no weft_ names for the traffic then" absent "$(metric "$text" weft_requests_total)"

echo "== 5. bad flags name their cause and leave nothing behind"
expect_refusal() { # WHAT NEEDLE FLAGS...
  local what=$1 needle=$2 pid
  shift 2
  agent_stop n2
  : >"$(agent_log n2)"
  pid=$(agent_start n2 --proxy-addr "$(cluster_node_gw n2)" "$@")
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    fail "$what: the agent stops" "it still runs"
    agent_stop n2
  else
    assert_contains "$what: the agent stops and names the cause" "$(cat "$(agent_log n2)")" "$needle"
    # A clean exit unpins whatever it attached, so only the log can tell
    # whether the kernel was touched before the refusal.
    assert_eq "$what: refused before any BPF hook was attached" "" \
      "$(grep 'capture hooks attached' "$(agent_log n2)" || true)"
  fi
}
expect_refusal "an access log in a missing directory" "/nonexistent-dir/access.log: No such file or directory" \
  --access-log /nonexistent-dir/access.log
expect_refusal "the metrics port taken by the admin API" "--metrics-addr 127.0.0.1:15000" \
  --metrics-addr 127.0.0.1:15000
agent_start n2 --proxy-addr "$(cluster_node_gw n2)" >/dev/null
agent_wait_ready n2
assert_eq "the agent starts again with good flags and traffic flows" 200 "$(get /status/200)"
assert_done
