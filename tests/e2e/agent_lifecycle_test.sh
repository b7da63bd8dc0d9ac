#!/usr/bin/env bash
# The agent on a 2-node cluster: starts and becomes ready, dumps the config it
# loaded, counts connects from its own node's pods (and only those), survives a
# malformed manifest (error with file and line, rest still served), reloads
# without a restart, reports a port in use, and on SIGTERM detaches and unpins
# everything; with --keep-bpf a restarted agent adopts what it left.
source "$(dirname "$0")/lib/e2e.sh"
e2e_require node jq curl

assert_cleanup cluster_down
cluster_up --nodes 2 --pods 2 >/dev/null
cfg1=$(cluster_config_dir n1)
pins1=$(cluster_bpffs_dir n1)
cg1=$(cluster_cgroup n1)

echo "== start and ready"
agent_start n1 >/dev/null
agent_start n2 >/dev/null
assert_ok "agent n1 ready" agent_wait_ready n1
assert_ok "agent n2 ready" agent_wait_ready n2
assert_eq "kubelet's readiness probe port (15021) says ready" ready \
  "$(cluster_node_exec n1 curl -sS --max-time 3 "http://$(cluster_node_ip n1):15021/healthz/ready" || true)"

dump=$(agent_admin n1 /config_dump)
assert_eq "config dump lists every pod of the cluster" 4 "$(jq '.pods | length' <<<"$dump")"
assert_eq "config dump lists both namespaces" '["demo","outside"]' "$(jq -c '[.namespaces[].meta.name] | sort' <<<"$dump")"
assert_eq "nothing rejected in the cluster's own manifests" 0 "$(jq '.rejected | length' <<<"$dump")"
assert_ok "hooks pinned as links under the node's bpffs dir" test -e "$pins1/links/connect4" -a -e "$pins1/links/connect6"
assert_ok "hooks attached at the node's cgroup root" bash -c "bpftool cgroup show '$cg1' | grep -q connect4"

echo "== connects from pods are seen by their own node's hooks only"
cluster_spawn_nginx n2-p1 >/dev/null
cluster_wait_tcp n1-p1 "$(cluster_pod_ip n2-p1)" 8080
seen_before_1=$(agent_admin n1 /stats | jq .capture.connectSeen)
seen_before_2=$(agent_admin n2 /stats | jq .capture.connectSeen)
for i in 1 2 3 4 5; do cluster_pod_exec n1-p1 curl -s -o /dev/null "http://$(cluster_pod_ip n2-p1):8080/"; done
seen_after_1=$(agent_admin n1 /stats | jq .capture.connectSeen)
seen_after_2=$(agent_admin n2 /stats | jq .capture.connectSeen)
assert_eq "n1's hooks saw the 5 connects of n1-p1" 5 $((seen_after_1 - seen_before_1))
assert_eq "n2's hooks saw none of them" 0 $((seen_after_2 - seen_before_2))

echo "== a malformed manifest is reported with file and line; the rest still loads"
gen_before=$(agent_admin n1 /stats | jq .configGeneration)
cat >"$cfg1/zz-broken.yaml" <<'YAML'
apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata:
  name: strict
  namespace: demo
spec:
  mtls:
    mode: [STRICT
YAML
for _ in $(seq 50); do
  [[ $(agent_admin n1 /stats | jq .configGeneration) -gt $gen_before ]] && break
  sleep 0.1
done
dump=$(agent_admin n1 /config_dump)
assert_eq "reloaded without a restart" $((gen_before + 1)) "$(jq .generation <<<"$dump")"
assert_contains "rejection names the file and line" "$(jq -c '.rejected' <<<"$dump")" "zz-broken.yaml"
assert_ok "the log names file and line" grep -qE "zz-broken.yaml:[0-9]+" "$(agent_log n1)"
assert_eq "every pod still loaded" 4 "$(jq '.pods | length' <<<"$dump")"
assert_ok "agent still ready" agent_admin n1 /healthz/ready -f

echo "== a fixed manifest is taken up"
cat >"$cfg1/zz-broken.yaml" <<'YAML'
apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata:
  name: strict
  namespace: demo
spec:
  mtls:
    mode: STRICT
YAML
for _ in $(seq 50); do
  [[ $(agent_admin n1 /config_dump | jq '.peerAuthentications | length') -eq 1 ]] && break
  sleep 0.1
done
dump=$(agent_admin n1 /config_dump)
assert_eq "PeerAuthentication loaded" STRICT "$(jq -r '.peerAuthentications[0].mode' <<<"$dump")"
assert_eq "no rejection left" 0 "$(jq '.rejected | length' <<<"$dump")"

echo "== admin port in use"
# Another program on the port (a second weft-agent would share it: that is a
# hand-over, see agent_handover_test).
holder=$(cluster_spawn_on_node n1 node -e "require('net').createServer().listen(15099, '127.0.0.1')")
for _ in $(seq 50); do
  cluster_node_exec n1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/15099' 2>/dev/null && break
  sleep 0.1
done
out=$(cluster_node_exec n1 "$WEFT_AGENT_BIN" --node-name n1x --admin-addr 127.0.0.1:15099 --cgroup-root "$cg1" \
  --bpffs-dir "$pins1-x" 2>&1) && rc=0 || rc=$?
kill "$holder" 2>/dev/null || true
assert_eq "an agent whose admin port another program holds exits non-zero" 1 "$rc"
assert_contains "and names the address and the cause" "$out" "127.0.0.1:15099: Address already in use"
out=$(cluster_node_exec n1 "$WEFT_AGENT_BIN" --node-name n1x --metrics-addr 127.0.0.1:15000 --cgroup-root "$cg1" \
  --bpffs-dir "$pins1-x" 2>&1) && rc=0 || rc=$?
assert_eq "an agent whose own ports collide exits as for a bad flag" 2 "$rc"
assert_contains "naming both flags" "$out" \
  "--metrics-addr 127.0.0.1:15000: Address already in use (by --admin-addr 127.0.0.1:15000 of this agent)"

echo "== SIGTERM detaches and unpins"
assert_ok "agent n1 stops on SIGTERM" agent_stop n1 TERM
assert_ok "log says it detached" grep -q "detached and unpinned" "$(agent_log n1)"
assert_fail "no pinned link left" test -e "$pins1/links/connect4"
assert_fail "no pinned map left" test -e "$pins1/weft_enrolled"
assert_empty "no program attached at the node's cgroup" "$(bpftool cgroup show "$cg1" 2>/dev/null | grep -E 'connect[46]' || true)"

echo "== --keep-bpf leaves hooks for a restarted agent to adopt"
agent_start n1 --keep-bpf >/dev/null
assert_ok "agent n1 ready again" agent_wait_ready n1
assert_ok "agent n1 stops" agent_stop n1 TERM
assert_ok "hooks stay pinned after a --keep-bpf exit" test -e "$pins1/links/connect4"
before=$(bpftool cgroup show "$cg1" | grep -c connect4)
cluster_pod_exec n1-p1 curl -s -o /dev/null "http://$(cluster_pod_ip n2-p1):8080/"
agent_start n1 >/dev/null
assert_ok "restarted agent ready" agent_wait_ready n1
assert_ok "it adopted the pinned links" grep -q "capture hooks adopted" "$(agent_log n1)"
assert_eq "still exactly one connect4 program on the cgroup" "$before" "$(bpftool cgroup show "$cg1" | grep -c connect4)"
assert_eq "the counters survived the restart" true "$(agent_admin n1 /stats | jq '.capture.connectSeen > 0')"
assert_ok "agent n1 stops" agent_stop n1 TERM
assert_ok "weft-agent --cleanup removes leftovers" cluster_node_exec n1 "$WEFT_AGENT_BIN" --cleanup --node-name n1 --bpffs-dir "$pins1"
agent_stop n2 TERM
assert_done
