#!/usr/bin/env bash
# weft-trace (issue 7) on a 2-node cluster. n1-p1 is the server (nginx on
# 8080, Service "web" http, an AuthorizationPolicy denying /admin, STRICT
# PeerAuthentication); n2-p1 is a mesh pod (nginx too), n2-p2 is outside the
# mesh. weft-trace runs on n1 while a known sequence happens:
#   1. n1-p1 connects to n2-p1 (captured on n1, through the tunnel): a
#      connect_captured event naming both pods, and TCP state events of
#      n1-p1's socket;
#   2. n2-p2 sends plaintext to n1-p1: dropped by STRICT, a strict_drop event
#      with the reason, as many as the agent's own drop counter says;
#   3. n2-p1 asks n1-p1 for / (allowed) and /admin (denied by the policy):
#      http events with verdicts and the policy (needs the agent's /events;
#      checked last).
# A second weft-trace reads beside the first (each has its own ring) and sees
# the drop too. Then the filters (--verdict drop with --count, --pod in the
# table), the switch going off at exit, and failures that name their cause.
source "$(dirname "$0")/lib/e2e.sh"
e2e_require curl jq bpftool
WEFT_TRACE_BIN=${WEFT_TRACE_BIN:-$WEFT_BUILD_DIR/tools/weft-trace/weft-trace}
[[ -x $WEFT_TRACE_BIN ]] || { fail "weft-trace is built" "no $WEFT_TRACE_BIN"; assert_done; }

assert_cleanup cluster_down
# Per node: p1 enrolled (namespace demo), p2 outside the mesh.
cluster_up --nodes 2 --pods 2 --unenrolled 1 >/dev/null
e2e_show_agent_logs_on_failure n1 n2

server=n1-p1
server_ip=$(cluster_pod_ip "$server")
peer_ip=$(cluster_pod_ip n2-p1)
pins=$(cluster_bpffs_dir n1)
for node in n1 n2; do
  {
    e2e_web_service_yaml "$server"
    echo ---
    e2e_deny_admin_yaml "$server"
    echo ---
    cat <<EOF
apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: {name: strict-server, namespace: demo}
spec:
  selector: {matchLabels: {app: $server}}
  mtls: {mode: STRICT}
EOF
  } >"$(cluster_config_dir "$node")/trace.yaml"
done
cluster_spawn_nginx "$server" >/dev/null
cluster_spawn_nginx n2-p1 >/dev/null
for node in n1 n2; do agent_start "$node" --proxy-addr "$(cluster_node_gw "$node")" >/dev/null; done
agent_wait_ready n1 && agent_wait_ready n2
cluster_wait_tcp n2-p1 "$server_ip" 8080
cluster_wait_tcp "$server" "$peer_ip" 8080
stats() { agent_admin n1 /stats | jq "$1"; }
for _ in $(seq 50); do
  [[ $(stats '.peerAuthentication.pods[] | select(.pod == "demo/n1-p1") | .mode') == '"STRICT"' ]] && break
  sleep 0.1
done
assert_eq "n1-p1 is STRICT" '"STRICT"' "$(stats '.peerAuthentication.pods[] | select(.pod == "demo/n1-p1") | .mode')"

fetch() { # FROM URL: the HTTP status, 000 when no connection was made within 2 s
  cluster_pod_exec "$1" curl -sS --max-time 2 -o /dev/null -w '%{http_code}' "$2" 2>/dev/null || true
}

# --- weft-trace on n1, in the background ------------------------------------
runs=$(cluster_state_dir)/run/trace
mkdir -p "$runs"
TRACE_SHELL=
# trace_start NAME ARGS...: output in $runs/NAME.out, stderr in NAME.err, the
# exit status in NAME.rc once it ended; returns when it traces.
trace_start() {
  local name=$1
  shift
  rm -f "$runs/$name".*
  (
    rc=0
    cluster_node_exec n1 "$WEFT_TRACE_BIN" --bpffs-dir "$pins" "$@" >"$runs/$name.out" 2>"$runs/$name.err" || rc=$?
    echo "$rc" >"$runs/$name.rc"
  ) &
  TRACE_SHELL=$!
  for _ in $(seq 100); do
    grep -q "tracing the flows" "$runs/$name.err" 2>/dev/null && return 0
    [[ -e $runs/$name.rc ]] && break
    sleep 0.1
  done
  echo "weft-trace $name did not start: $(cat "$runs/$name.err" 2>/dev/null)" >&2
  return 1
}
# The weft-trace process of the last trace_start (its shell's child: the
# node's nsenter exec'd into it).
trace_pid() { pgrep -P "$TRACE_SHELL" | head -n1; }
# trace_wait NAME SECS: the exit status once it ended, "running" if it did not.
trace_wait() {
  for _ in $(seq $(($2 * 10))); do
    [[ -s $runs/$1.rc ]] && { cat "$runs/$1.rc"; return 0; }
    sleep 0.1
  done
  echo running
}
# count NAME JQ_CONDITION: JSON lines of the run that satisfy the condition.
count() { jq -c "select($2)" "$runs/$1.out" 2>/dev/null | grep -c . || true; }
# some NAME JQ_CONDITION: "true" when at least one line satisfies it.
some() { if (($(count "$1" "$2") > 0)); then echo true; else echo false; fi; }
# wait_for NAME JQ_CONDITION SECS: until at least one line satisfies it.
wait_for() {
  for _ in $(seq $(($3 * 10))); do
    (($(count "$1" "$2") > 0)) && return 0
    sleep 0.1
  done
  return 1
}
switch_enabled() { # reader slots of the flow switch that are on (the map has BTF: bpftool prints fields)
  bpftool -j map dump pinned "$pins/weft_flow_switch" | jq '[.[].formatted.value.enabled] | add'
}

echo "== the known sequence, traced as JSON lines"
assert_eq "nobody traces yet: the switch is off" 0 "$(switch_enabled)"
dropped=$(stats .peerAuthentication.strictDropped)
trace_start seq -o json --duration 60
seq_shell=$TRACE_SHELL
assert_eq "tracing: the switch is on" 1 "$(switch_enabled)"
trace_start beside -o json --verdict drop --count 1 --duration 30
TRACE_SHELL=$seq_shell
assert_eq "a second weft-trace reads beside it, in its own reader slot" 2 "$(switch_enabled)"

assert_eq "1. n1-p1 reaches n2-p1 through the mesh" 200 "$(fetch "$server" "http://$peer_ip:8080/")"
assert_eq "2. n2-p2 (outside the mesh) gets no connection to the STRICT pod" 000 \
  "$(fetch n2-p2 "http://$server_ip:8080/")"
assert_eq "3. n2-p1 gets / from n1-p1" 200 "$(fetch n2-p1 "http://$server_ip:8080/")"
assert_eq "   and /admin is denied by the policy" 403 "$(fetch n2-p1 "http://$server_ip:8080/admin")"

connect='.type == "connect_captured" and .src.pod == "demo/n1-p1" and .dst.pod == "demo/n2-p1"
  and .dst.address == "'"$peer_ip"'" and .dst.port == 8080 and .comm == "curl" and .verdict == "allow"'
drop='.type == "strict_drop" and .verdict == "drop" and .src.pod == "outside/n2-p2" and .dst.pod == "demo/n1-p1"
  and .dst.port == 8080 and .reason_code == "strict_not_from_proxy"
  and .reason == "plaintext not from the proxy (STRICT)"'
client_state='.type == "tcp_state" and .src.pod == "demo/n1-p1" and .old_state == "SYN_SENT"
  and .new_state == "ESTABLISHED"'
server_state='.type == "tcp_state" and .src.pod == "demo/n1-p1" and .src.port == 8080
  and .new_state == "ESTABLISHED"'
denied='.type == "http" and .verdict == "deny" and .path == "/admin" and .status == 403
  and .policy == "demo/deny-admin" and .src.pod == "demo/n2-p1" and .dst.pod == "demo/n1-p1"'
wait_for seq "$connect" 10 && wait_for seq "$drop" 10 && wait_for seq "$server_state" 10 || true
wait_for seq "$denied" 5 || true # the L7 stream (checked at the end)
drops_counted=$(($(stats .peerAuthentication.strictDropped) - dropped))
assert_eq "the second session got the drop too, and ended after it (--count 1)" 0 "$(trace_wait beside 10)"
assert_eq "   that drop" 1 "$(count beside "$drop")"
assert_eq "   its slot is off again" 1 "$(switch_enabled)"
kill -INT "$(trace_pid)"
assert_eq "SIGINT stops weft-trace cleanly" 0 "$(trace_wait seq 10)"
assert_eq "and it switched the events off" 0 "$(switch_enabled)"

assert_eq "every output line is a JSON object" true \
  "$(jq -s 'length > 0 and all(type == "object" and has("time") and has("type") and has("verdict"))' \
    "$runs/seq.out" 2>/dev/null || echo false)"
assert_eq "1. connect_captured: n1-p1 to n2-p1:8080 by curl" 1 "$(count seq "$connect")"
assert_eq "   with the pod's netns and socket cookies" 1 \
  "$(count seq "$connect"' and .netns_cookie > 0 and .socket_cookie > 0')"
assert_eq "   n1-p1's client socket went SYN_SENT -> ESTABLISHED" true "$(some seq "$client_state")"
assert_eq "   and its server sockets (the proxy's connections to nginx) ESTABLISHED" true "$(some seq "$server_state")"
assert_eq "   ... and closed" true "$(some seq '.type == "tcp_state" and .src.pod == "demo/n1-p1" and .new_state == "CLOSE"')"
assert_eq "2. strict_drop events: one per SYN the agent counted as dropped, with the reason" "$drops_counted" \
  "$(count seq "$drop")"
assert_eq "   (at least one)" true "$(some seq "$drop")"
assert_eq "   nothing else was dropped" "$drops_counted" "$(count seq '.verdict == "drop"')"
assert_eq "no TCP event from a pod outside the mesh (not enrolled)" 0 \
  "$(count seq '(.type == "tcp_state" or .type == "tcp_retransmit") and .src.pod == "outside/n2-p2"')"
assert_contains "the summary on exit" "$(cat "$runs/seq.err")" "events shown"
assert_contains "with no kernel event lost" "$(cat "$runs/seq.err")" "lost: 0 kernel"

echo "== --verdict drop --count 1: only the drop, then it stops by itself"
trace_start drop -o json --verdict drop --count 1 --duration 30
assert_eq "an allowed connection meanwhile" 200 "$(fetch "$server" "http://$peer_ip:8080/")"
assert_eq "and a dropped one" 000 "$(fetch n2-p2 "http://$server_ip:8080/")"
assert_eq "weft-trace ends after one event, long before --duration" 0 "$(trace_wait drop 10)"
assert_eq "exactly one line" 1 "$(grep -c . "$runs/drop.out")"
assert_eq "the drop" 1 "$(count drop "$drop")"
assert_contains "the summary: one event shown" "$(cat "$runs/drop.err")" "1 events shown"

echo "== --pod outside/n2-p2 as a table"
trace_start pod --pod outside/n2-p2 --duration 30
assert_eq "an allowed connection between other pods" 200 "$(fetch "$server" "http://$peer_ip:8080/")"
assert_eq "a dropped one from n2-p2" 000 "$(fetch n2-p2 "http://$server_ip:8080/")"
for _ in $(seq 100); do grep -q strict_drop "$runs/pod.out" && break; sleep 0.1; done
kill -TERM "$(trace_pid)"
assert_eq "SIGTERM stops it cleanly" 0 "$(trace_wait pod 10)"
assert_eq "a header first" "TIME TYPE SOURCE DESTINATION PROTO VERDICT DETAILS" "$(head -n1 "$runs/pod.out" | tr -s ' ')"
assert_contains "the drop, in words" "$(cat "$runs/pod.out")" "STRICT drop: plaintext not from the proxy (STRICT)"
assert_eq "every event line names n2-p2" "" "$(tail -n +2 "$runs/pod.out" | grep -v 'outside/n2-p2' || true)"
assert_eq "the connection between other pods was filtered out" "" "$(grep connect_captured "$runs/pod.out" || true)"

echo "== failures name their cause"
out=$(cluster_node_exec n1 "$WEFT_TRACE_BIN" --bpffs-dir /sys/fs/bpf/weft-no-such-node 2>&1) && rc=0 || rc=$?
assert_eq "no pinned ring buffer: exit 1" 1 "$rc"
assert_contains "asking whether the agent runs" "$out" \
  "is the agent running on this node? expected its pin directory /sys/fs/bpf/weft-no-such-node"
out=$(cluster_node_exec n1 "$WEFT_TRACE_BIN" --bpffs-dir "$pins" --admin 127.0.0.1:1 2>&1) && rc=0 || rc=$?
assert_eq "admin API unreachable: exit 1" 1 "$rc"
assert_contains "naming the address and the error" "$out" "admin API at 127.0.0.1:1: Connection refused"
out=$("$WEFT_TRACE_BIN" --verdict maybe 2>&1) && rc=0 || rc=$?
assert_eq "a bad flag: exit 2" 2 "$rc"
assert_contains "naming it" "$out" "--verdict"
assert_eq "none of them left the switch on" 0 "$(switch_enabled)"

echo "== L7 events from the agent's /events (the first run)"
assert_eq "the agent has an event stream" "" "$(grep 'no L7 event stream' "$runs/seq.err" || true)"
assert_eq "3. the allowed request: http, allow, 200, n2-p1 to n1-p1" 1 \
  "$(count seq '.type == "http" and .verdict == "allow" and .path == "/" and .status == 200
    and .src.pod == "demo/n2-p1" and .dst.pod == "demo/n1-p1" and .protocol == "http"')"
assert_eq "   the denied one: verdict deny, 403, the policy" 1 "$(count seq "$denied")"
assert_eq "   shown as denied in the table's words too" "GET /admin -> 403" \
  "$(jq -r "select($denied) | \"\(.method) \(.path) -> \(.status)\"" "$runs/seq.out")"
assert_eq "   the proxied connections (kind tcp) as connection events" true \
  "$(some seq '.type == "connection" and .source == "agent"')"
assert_contains "no agent event lost" "$(cat "$runs/seq.err")" ", 0 agent"

assert_done
