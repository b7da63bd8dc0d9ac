#!/usr/bin/env bash
# PeerAuthentication on a 2-node cluster, switched live by editing the
# config directories: PERMISSIVE (the default) takes plaintext from pods
# outside the mesh through n1's inbound listener; STRICT refuses it while mesh
# clients (through the tunnel) still get through, and so do connections the
# node itself makes (kubelet's probes) unless --strict-node-traffic drop;
# DISABLE lets plaintext straight to the pod; port-level modes; a malformed
# policy keeps the last good one in force.
source "$(dirname "$0")/lib/e2e.sh"

assert_cleanup cluster_down
# Per node: p1 enrolled, p2 outside the mesh.
cluster_up --nodes 2 --pods 2 --unenrolled 1 >/dev/null
target=n1-p1
target_ip=$(cluster_pod_ip "$target")
cluster_spawn_nginx "$target" >/dev/null
cluster_spawn_nginx "$target" 8081 >/dev/null
for node in n1 n2; do agent_start "$node" --proxy-addr "$(cluster_node_gw "$node")" >/dev/null; done
agent_wait_ready n1 && agent_wait_ready n2
cluster_wait_tcp n2-p1 "$target_ip" 8080

counter() { agent_admin n1 /stats | jq "$1"; }
strict_links() { # tcx links (bpftool 7.1 calls their type 11) running the STRICT program, on any node
  local id
  id=$(cluster_node_exec n1 bpftool -j prog show | jq '[.[] | select(.name == "weft_strict_egress") | .id]')
  cluster_node_exec n1 bpftool -j link show | jq --argjson ids "$id" '[.[] | select(.prog_id as $p | $ids | index($p))] | length'
}
fetch() { # POD [PORT]: the HTTP status, 000 when no connection was made within 2 s
  cluster_pod_exec "$1" curl -sS --max-time 2 -o /dev/null -w '%{http_code}' "http://$target_ip:${2:-8080}/" 2>/dev/null || true
}
fetch_from_node() { # NODE: as fetch, from the node's own network (where kubelet probes from)
  cluster_node_exec "$1" curl -sS --max-time 2 -o /dev/null -w '%{http_code}' "http://$target_ip:8080/" 2>/dev/null || true
}
strict_metric() { # OUTCOME: weft_agent_strict_syns_total{outcome=OUTCOME} at n1
  cluster_node_exec n1 curl -sS --max-time 5 http://127.0.0.1:15020/metrics |
    awk -v o="outcome=\"$1\"" '/^weft_agent_strict_syns_total/ && index($0, o) {print $2}'
}
policy() { # YAML: the same PeerAuthentication file on both nodes, then wait for the reload
  local node generation
  generation=$(counter .configGeneration)
  for node in n1 n2; do printf '%s\n' "$1" >"$(cluster_config_dir "$node")/peer-authentication.yaml"; done
  for _ in $(seq 50); do (($(counter .configGeneration) > generation)) && break; sleep 0.1; done
  sleep 0.3
}

echo "== PERMISSIVE (no policy)"
intercepted=$(counter .peerAuthentication.intercepted)
accepted=$(counter .proxy.inboundPlaintextAccepted)
assert_eq "a pod outside the mesh on another node reaches the enrolled pod" 200 "$(fetch n2-p2)"
assert_eq "through n1's inbound plaintext listener" 1 "$(($(counter .proxy.inboundPlaintextAccepted) - accepted))"
assert_eq "taken there by the TC program" 1 "$(($(counter .peerAuthentication.intercepted) - intercepted))"
assert_eq "a pod outside the mesh on the same node too" 200 "$(fetch n1-p2)"
workers=$(counter '.proxy.workers')
for _ in $(seq 20); do fetch n2-p2 >/dev/null; done
assert_eq "plaintext spreads over n1's $workers workers' listeners (one SO_REUSEPORT group)" true \
  "$(counter '.proxy.perWorker | length > 1 and all(.inboundPlaintextAccepted > 0)')"
assert_eq "a mesh client across nodes (through the tunnel)" 200 "$(fetch n2-p1)"
assert_eq "the pod's mode is listed as PERMISSIVE by default" '"PERMISSIVE default"' \
  "$(counter '.peerAuthentication.pods[] | select(.pod == "demo/n1-p1") | "\(.mode) \(.policy)"')"

echo "== STRICT for namespace demo"
policy 'apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: {name: strict, namespace: demo}
spec: {mtls: {mode: STRICT}}'
dropped=$(counter .peerAuthentication.strictDropped)
assert_eq "a pod outside the mesh on another node gets no connection" 000 "$(fetch n2-p2)"
assert_eq "nor one on the same node" 000 "$(fetch n1-p2)"
assert_eq "their SYNs were dropped on the pod's veth" 1 "$(($(counter .peerAuthentication.strictDropped) > dropped))"
assert_eq "a mesh client across nodes still gets through (the proxy's mark)" 200 "$(fetch n2-p1)"
assert_eq "the TC program let the proxy's connection in" true "$(counter '.peerAuthentication.strictAllowed > 0')"
node_allowed=$(counter .peerAuthentication.strictNodeAllowed)
assert_eq "the node itself gets through (kubelet's probes come from there)" 200 "$(fetch_from_node n1)"
assert_eq "counted as the node's" 1 "$(($(counter .peerAuthentication.strictNodeAllowed) - node_allowed))"
dropped=$(counter .peerAuthentication.strictDropped)
assert_eq "another node's own network does not: its SYN is forwarded, not the node's" 000 "$(fetch_from_node n2)"
assert_eq "its SYNs were dropped" 1 "$(($(counter .peerAuthentication.strictDropped) > dropped))"
assert_eq "/metrics counts the drops" "$(counter .peerAuthentication.strictDropped)" "$(strict_metric dropped)"
assert_eq "and the node's connection" "$(counter .peerAuthentication.strictNodeAllowed)" "$(strict_metric from_node)"
assert_eq "one tcx link: the STRICT program" 1 "$(counter .peerAuthentication.links)"
assert_eq "on the pod's veth" '"p1"' "$(counter '.peerAuthentication.pods[] | select(.pod == "demo/n1-p1") | .interface')"
assert_eq "the kernel has it attached (on each node's enrolled pod: n1-p1 and n2-p1)" 2 "$(strict_links)"

echo "== a malformed policy keeps the last good one"
policy 'apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: {name: strict, namespace: demo}
spec: {mtls: {mode: SOMETIMES}}'
assert_eq "the rejected policy is reported" true \
  "$(agent_admin n1 /config_dump | jq '[.rejected[] | select(.kind == "PeerAuthentication")] | length > 0')"
assert_eq "STRICT still holds" 000 "$(fetch n2-p2)"

echo "== port level: STRICT but port 8081 DISABLE"
policy 'apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: {name: strict, namespace: demo}
spec:
  selector: {matchLabels: {app: n1-p1}}
  mtls: {mode: STRICT}
  portLevelMtls: {"8081": {mode: DISABLE}}'
assert_eq "port 8080 stays closed to plaintext" 000 "$(fetch n2-p2 8080)"
intercepted=$(counter .peerAuthentication.intercepted)
assert_eq "port 8081 takes plaintext" 200 "$(fetch n2-p2 8081)"
assert_eq "straight to the pod, not through the listener" "$intercepted" "$(counter .peerAuthentication.intercepted)"

echo "== --strict-node-traffic drop: only the proxy's connections reach a STRICT pod"
policy 'apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: {name: strict, namespace: demo}
spec: {mtls: {mode: STRICT}}'
agent_stop n1
agent_start n1 --proxy-addr "$(cluster_node_gw n1)" --strict-node-traffic drop >/dev/null
agent_wait_ready n1
cluster_wait_tcp n2-p1 "$target_ip" 8080
assert_eq "the node's own connection is dropped" 000 "$(fetch_from_node n1)"
assert_eq "none counted as the node's" 0 "$(counter .peerAuthentication.strictNodeAllowed)"
assert_eq "a mesh client still gets through" 200 "$(fetch n2-p1)"
assert_eq "a pod outside the mesh still does not" 000 "$(fetch n2-p2)"

echo "== DISABLE"
policy 'apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: {name: off, namespace: demo}
spec: {mtls: {mode: DISABLE}}'
intercepted=$(counter .peerAuthentication.intercepted)
assert_eq "plaintext from outside the mesh reaches the pod" 200 "$(fetch n2-p2)"
assert_eq "without the inbound listener" "$intercepted" "$(counter .peerAuthentication.intercepted)"
assert_eq "no STRICT program left attached" 0 "$(strict_links)"

assert_done
