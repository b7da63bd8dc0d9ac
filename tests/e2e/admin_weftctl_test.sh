#!/usr/bin/env bash
# The admin API and weftctl (issue 7) on a 2-node cluster. The server pod
# n1-p1 runs an HTTP server on 8080 (Service "web", http) guarded by three
# AuthorizationPolicies; clients are n2-p1 and n2-p2 (other node, mTLS),
# n1-p2 (same node) and n2-p3 (namespace "outside", not in the mesh:
# plaintext). Proves:
#   1. `weftctl policy check` on a table of cases gives the verdict the
#      table expects, and the proxy does the same to the real request (403
#      or not) from that pod: the two agree, and both can fail;
#   2. status, workloads, policies, certs, tunnels, connections (a held
#      connection is listed with both workloads), config-dump and log-level
#      show the agent's state, in tables and with -o json;
#   3. GET /bpf lists the enrolled netns cookies that /workloads names;
#   4. GET /events streams one JSON line per request, the denied one with
#      its verdict and policy, whether or not access logs are on;
#   5. bad questions get a clear error and exit 2: an unknown pod, a missing
#      agent.
source "$(dirname "$0")/lib/e2e.sh"
e2e_require node curl jq

weftctl_bin=$WEFT_BUILD_DIR/tools/weftctl/weftctl
[[ -x $weftctl_bin ]] || { fail "weftctl is built" "$weftctl_bin missing"; assert_done; }

assert_cleanup cluster_down
cluster_up --nodes 2 --pods 3 --unenrolled 1 >/dev/null
e2e_show_agent_logs_on_failure n1 n2

server=n1-p1
server_ip=$(cluster_pod_ip "$server")
n2p2_ip=$(cluster_pod_ip n2-p2)
for node in n1 n2; do
  {
    e2e_web_service_yaml $server
    cat <<EOF
---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: demo}
spec:
  selector: {matchLabels: {app: $server}}
  action: DENY
  rules:
  - to: [{operation: {paths: ["/admin", "/admin/*"]}}]
  - from: [{source: {ipBlocks: ["$n2p2_ip/32"]}}]
---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: allow-api, namespace: demo}
spec:
  selector: {matchLabels: {app: $server}}
  action: ALLOW
  rules:
  - from: [{source: {namespaces: ["demo"]}}]
    to: [{operation: {methods: ["GET"], paths: ["/api/*", "/admin/*", "/hold"]}}]
---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: allow-team, namespace: demo}
spec:
  selector: {matchLabels: {app: $server}}
  action: ALLOW
  rules:
  - to: [{operation: {paths: ["/team"]}}]
    when: [{key: "request.headers[x-team]", values: ["blue"]}]
---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: broken, namespace: demo}
spec:
  action: ALLOW
  rules:
  - from: [{source: {ipBlocks: ["not-an-address"]}}]
EOF
  } >"$(cluster_config_dir "$node")/policies.yaml"
done

# /hold answers after 3 s, so that a connection is open while weftctl looks.
cluster_spawn_in_pod "$server" node -e "
  require('http').createServer((req, res) => {
    const answer = () => { res.writeHead(200, {'content-type': 'text/plain'}); res.end('ok'); };
    if (req.url === '/hold') setTimeout(answer, 3000); else answer();
  }).listen(8080, '$server_ip')" >/dev/null
for node in n1 n2; do
  agent_start "$node" --proxy-addr "$(cluster_node_gw "$node")" >/dev/null
done
agent_wait_ready n1 && agent_wait_ready n2
cluster_wait_tcp n2-p1 "$server_ip" 8080

weftctl() { cluster_node_exec "${WEFTCTL_NODE:-n1}" "$weftctl_bin" "$@"; }

echo "== 1. policy check agrees with the proxy, case by case"
# FROM METHOD PATH HEADER EXPECTED(allow|deny) POLICY(that decides, - for none)
cases=(
  "n2-p1 GET /api/items - allow demo/allow-api"
  "n1-p2 GET /api/items - allow demo/allow-api"
  "n2-p1 POST /api/items - deny -"
  "n2-p1 GET /other - deny -"
  "n2-p1 GET /admin/users - deny demo/deny-admin"
  "n2-p1 GET /api/%2e%2e/admin - deny demo/deny-admin"
  "n2-p2 GET /api/items - deny demo/deny-admin"
  "n2-p1 GET /team x-team:blue allow demo/allow-team"
  "n2-p1 GET /team x-team:red deny -"
  "n2-p3 GET /api/items - deny -"
  "n2-p3 GET /team x-team:blue allow demo/allow-team"
)
for c in "${cases[@]}"; do
  read -r from method path header expected policy <<<"$c"
  args=(--from "demo/$from" --to "demo/$server" --port 8080 --method "$method" --path "$path")
  [[ $from == n2-p3 ]] && args[1]="outside/$from"
  curl_header=()
  [[ $header == - ]] || { args+=(--header "$header"); curl_header=(-H "$header"); }
  rc=0
  answer=$(weftctl -o json policy check "${args[@]}") || rc=$?
  verdict=$(jq -r .verdict <<<"$answer")
  assert_eq "policy check $c: verdict" "$expected" "$verdict"
  assert_eq "policy check $c: exit code (0 allow, 1 deny)" "$([[ $expected == allow ]] && echo 0 || echo 1)" "$rc"
  assert_eq "policy check $c: deciding policy" "$policy" "$(jq -r 'if .policy == "" then "-" else .policy end' <<<"$answer")"
  status=$(cluster_pod_exec "$from" curl -sS --path-as-is --max-time 5 -o /dev/null -w '%{http_code}' \
    -X "$method" "${curl_header[@]}" "http://$server_ip:8080$path" || true)
  proxied=$([[ $status == 403 ]] && echo deny || echo allow)
  assert_eq "the proxy does what policy check said to $c (HTTP $status)" "$verdict" "$proxied"
done
text=$(weftctl policy check --from demo/n2-p1 --to demo/$server --port 8080 --path /admin/x || true)
assert_match "the table form names the verdict, the policy and why" \
  'DENY by demo/deny-admin.*why: +DENY policy demo/deny-admin matches' "$(tr '\n' ' ' <<<"$text")"
tcp=$(weftctl -o json policy check --from demo/n2-p2 --to demo/$server --port 8080 --tcp || true)
assert_eq "a TCP question is decided at L4: the DENY on n2-p2's address applies" "deny tcp" \
  "$(jq -r '.verdict + " " + .layer' <<<"$tcp")"

echo "== 2. the agent's state through weftctl"
status_text=$(weftctl status)
assert_match "status says ready and counts the enrolled pods" 'ready: +yes.*pods enrolled: +2' "$(tr '\n' ' ' <<<"$status_text")"
workloads=$(weftctl -o json workloads)
assert_eq "workloads: every pod of the cluster is listed" 6 "$(jq length <<<"$workloads")"
assert_eq "workloads: n1-p1 is in the mesh, enrolled here, with its identity" \
  "true true spiffe://cluster.local/ns/demo/sa/default" \
  "$(jq -r '.[] | select(.pod == "demo/n1-p1") | "\(.inMesh) \(.enrolled) \(.identity)"' <<<"$workloads")"
assert_eq "workloads: the pod outside the mesh is not enrolled" "false false" \
  "$(jq -r '.[] | select(.pod == "outside/n1-p3") | "\(.inMesh) \(.enrolled)"' <<<"$workloads")"
assert_eq "workloads: the policies that select n1-p1" "demo/allow-api,demo/allow-team,demo/deny-admin" \
  "$(jq -r '.[] | select(.pod == "demo/n1-p1") | .policies | sort | join(",")' <<<"$workloads")"
table=$(weftctl workloads)
assert_match "workloads table: headers and this node's pods only" '^POD +NODE +IP' "$table"
assert_eq "workloads table: three rows on n1" 3 "$(tail -n +2 <<<"$table" | grep -c .)"
policies=$(weftctl -o json policies)
assert_eq "policies: three are enforced" "true true true" \
  "$(jq -r '[.authorizationPolicies[].enforced | tostring] | join(" ")' <<<"$policies")"
assert_match "policies: the broken one is rejected, with the reason and where" \
  'policies.yaml:[0-9]+ .*not-an-address' \
  "$(jq -r '.rejected[] | select(.name == "demo/broken") | "\(.source) \(.reason)"' <<<"$policies")"
assert_match "policies table: the rejected object's row" '^demo/broken +AuthorizationPolicy' "$(weftctl policies)"
assert_eq "policies: deny-admin selects n1-p1 on this node" "demo/n1-p1" \
  "$(jq -r '.authorizationPolicies[] | select(.name == "demo/deny-admin") | .selectsOnThisNode | join(",")' <<<"$policies")"
assert_match "policies table" 'demo/deny-admin +DENY +app=n1-p1 +2 +yes +demo/n1-p1' "$(weftctl policies)"
certs=$(weftctl -o json certs)
assert_eq "certs: the node's one identity has a certificate" "spiffe://cluster.local/ns/demo/sa/default" \
  "$(jq -r '.certificates[] | select(.serial != null) | .identity' <<<"$certs")"
assert_match "certs table" 'IDENTITY +SERIAL' "$(weftctl certs)"
assert_match "tunnels: n1 holds the tunnel from n2" 'inbound +198\.18\.0\.2' "$(weftctl tunnels)"
dump=$(weftctl config-dump)
assert_eq "config-dump: the snapshot, with the three policies that loaded" 3 "$(jq '.authorizationPolicies | length' <<<"$dump")"

# A request held open for 3 s is a connection the proxy lists on both nodes.
cluster_pod_exec n2-p1 curl -sS --max-time 10 -o /dev/null "http://$server_ip:8080/hold" &
held=$!
listed=""
for _ in $(seq 1 20); do
  listed=$(weftctl -o json connections | jq -r '.connections[] | select(.kind == "tunnel-stream" and
    .direction == "inbound" and .destination == "'"$server_ip"':8080") |
    "\(.source.pod) \(.destinationWorkload.pod) \(.security)"' | head -1)
  [[ -n $listed ]] && break
  sleep 0.2
done
assert_eq "connections at n1: the held request's stream with both workloads and mTLS" \
  "demo/n2-p1 demo/n1-p1 mutual_tls" "$listed"
assert_match "connections at n2: the source side of it" 'tunnel-stream/outbound' \
  "$(WEFTCTL_NODE=n2 weftctl connections)"
wait "$held" || true

assert_eq "log-level: the agent takes debug" "log level debug" "$(weftctl log-level debug)"
rc=0
weftctl log-level loud >/dev/null 2>&1 || rc=$?
assert_eq "log-level: an unknown level is refused (exit 2)" 2 "$rc"
weftctl log-level info >/dev/null

echo "== 3. BPF map contents"
bpf=$(agent_admin n1 /bpf)
cookies=$(jq -c '.enrolledNetnsCookies | sort' <<<"$bpf")
named=$(jq -c '[.[] | select(.enrolled) | .netnsCookie] | sort' <<<"$workloads")
assert_eq "/bpf: the enrolled netns cookies are the ones /workloads names" "$named" "$cookies"
assert_eq "/bpf: two cookies (n1's two mesh pods)" 2 "$(jq 'length' <<<"$cookies")"
assert_match "/bpf: map fill and capacity" '"capacity"' "$bpf"

echo "== 4. the live event stream"
events=$(mktemp)
cluster_node_exec n1 curl -sS -N --max-time 4 http://127.0.0.1:15000/events >"$events" 2>/dev/null &
streamer=$!
readers=0
for _ in $(seq 50); do
  readers=$(agent_admin n1 /stats | jq .eventReaders)
  ((readers == 1)) && break
  sleep 0.1
done
assert_eq "/stats counts the stream's reader" 1 "$readers"
cluster_pod_exec n2-p1 curl -sS --max-time 3 -o /dev/null "http://$server_ip:8080/api/one" || true
cluster_pod_exec n2-p1 curl -sS --max-time 3 -o /dev/null "http://$server_ip:8080/admin/two" || true
wait "$streamer" || true
assert_eq "/events: the allowed request, by allow-api" "200 allow demo/allow-api" \
  "$(jq -r 'select(.kind == "http" and .path == "/api/one") | "\(.status) \(.verdict) \(.policy)"' "$events")"
assert_eq "/events: the denied request, by deny-admin" "403 deny demo/deny-admin" \
  "$(jq -r 'select(.kind == "http" and .path == "/admin/two") | "\(.status) \(.verdict) \(.policy)"' "$events")"
assert_eq "/events: each connection's line too" 2 \
  "$(jq -r 'select(.kind == "tcp" and .source.pod == "demo/n2-p1")' "$events" | jq -s length)"
rm -f "$events"

echo "== 5. bad questions"
rc=0
out=$(weftctl policy check --from demo/nobody --to demo/$server --port 8080 2>&1) || rc=$?
assert_eq "an unknown pod: exit 2" 2 "$rc"
assert_match "an unknown pod: named in the error" "no pod 'demo/nobody'" "$out"
rc=0
out=$(weftctl --admin 127.0.0.1:1 status 2>&1) || rc=$?
assert_eq "no agent at the address: exit 2" 2 "$rc"
assert_match "no agent at the address: said so" "cannot reach the agent's admin API at 127.0.0.1:1" "$out"
assert_eq "the agent still serves after the bad questions" ready "$(agent_admin n1 /healthz/ready)"

assert_done
