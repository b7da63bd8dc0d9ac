#!/usr/bin/env bash
# End-to-end test of the netns test cluster (scripts/lib/cluster.sh) that every
# other e2e test, the demo and the perf suite stand on: the topology routes pod to
# pod on one node and across nodes, processes land in their pod's cgroup and netns,
# the config each agent reads lists every pod, and down removes everything: after a
# normal run, after a failed up, after an up killed with -9, and from bare
# leftovers without state. Nothing may ever appear in the root netns.
# Needs root; fails (never skips) without it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${WEFT_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
CLUSTER=$ROOT/scripts/cluster
# shellcheck source=tests/e2e/lib/assert.sh
source "$HERE/lib/assert.sh"
# shellcheck source=scripts/lib/cluster.sh
source "$ROOT/scripts/lib/cluster.sh"

assert_require_root
for tool in ip nsenter nginx curl ping; do
  assert_ok "$tool is installed (scripts/setup)" command -v "$tool"
done

TMP=$(mktemp -d)
TEST_CLUSTERS=()
# shellcheck disable=SC2317 # run at exit by assert.sh
cleanup() {
  local p
  cluster_abort_up # if the test is stopped during an up
  for p in "${TEST_CLUSTERS[@]}"; do WEFT_CLUSTER_QUIET=1 cluster_down "$p" || true; done
  rm -rf "$TMP"
}
assert_cleanup cleanup

# What the root netns holds; must be the same before, during and after.
root_netns_snapshot() {
  ip -o link show | awk -F': ' '{ print $2 }' | sort
  ip -o -4 addr show | awk '{ print $2, $4 }' | sort
  ip -4 route show table all | sort
}

# A process is alive when it exists and is not a zombie (spawned processes are
# children of command substitutions, so nobody reaps them here).
alive() {
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)
  [[ -n $state && $state != Z && $state != X ]]
}

# Everything of cluster $1 still on the machine, one item per line; empty when clean.
remains_of() {
  local p=$1 m pid
  ip netns list | awk '{ print $1 }' | grep -E "^$p-" | sed 's/^/netns /' || true
  while read -r _ m fs _; do
    [[ $fs != cgroup2 || ! -e $m/$p ]] || echo "cgroup $m/$p"
  done </proc/mounts
  [[ ! -e /sys/fs/bpf/$p ]] || echo "bpffs /sys/fs/bpf/$p"
  [[ ! -e /run/weft-cluster/$p ]] || echo "state /run/weft-cluster/$p"
  grep -l "^0::/$p/" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3 | while read -r pid; do
    if alive "$pid"; then echo "process $pid"; fi
  done || true
}

# Every Pod document of a cluster.yaml as "name namespace podIP nodeName netns".
pods_in_yaml() {
  awk '
    function emit() { if (kind == "Pod") print name, ns, ip, node, netns; kind = name = ns = ip = node = netns = "" }
    /^---$/ { emit(); next }
    /^kind: / { kind = $2 }
    /^  name: / { name = $2 }
    /^  namespace: / { ns = $2 }
    /^  podIP: / { ip = $2 }
    /^  nodeName: / { node = $2 }
    /weft.dev\/netns: / { netns = $2 }
    END { emit() }' "$1"
}

ROOT_BEFORE=$(root_netns_snapshot)

# --- up ----------------------------------------------------------------------
echo "== up 2 nodes x 2 pods, last pod of each node unenrolled"
up_rc=0
cluster_up --nodes 2 --pods 2 --unenrolled 1 >"$TMP/up.out" 2>"$TMP/up.err" || up_rc=$?
assert_eq "cluster_up succeeds" 0 "$up_rc"
if ((up_rc != 0)); then
  cat "$TMP/up.err"
  assert_done
fi
P=$WEFT_CLUSTER
TEST_CLUSTERS+=("$P")
assert_eq "up prints the cluster name last" "cluster: $P" "$(tail -n1 "$TMP/up.out")"
if [[ $P =~ ^wf[0-9a-f]{4}$ ]]; then pass "generated name $P is wf<4 hex>"; else fail "generated name is wf<4 hex>" "$P"; fi

NETNS=("$P-fab" "$P-n1" "$P-n2" "$P-n1-p1" "$P-n1-p2" "$P-n2-p1" "$P-n2-p2")
for ns in "${NETNS[@]}"; do assert_ok "netns $ns exists" test -e "/run/netns/$ns"; done
for t in n1 n2 n1-p1 n1-p2 n2-p1 n2-p2; do
  assert_ok "cgroup of $t exists" test -d "$(cluster_cgroup "$t")"
done
assert_ok "node cgroup n1/system exists" test -d "$(cluster_cgroup n1)/system"
assert_ok "bpffs mounted at /sys/fs/bpf" grep -q '^[^ ]* /sys/fs/bpf bpf ' /proc/mounts
assert_ok "bpffs dir of n2 exists" test -d "/sys/fs/bpf/$P/n2"
assert_eq "root netns untouched while the cluster is up" "$ROOT_BEFORE" "$(root_netns_snapshot)"

# --- addresses and config ----------------------------------------------------
echo "== node.env and cluster.yaml"
assert_eq "cluster_pod_ip n2-p1" 198.19.2.11 "$(cluster_pod_ip n2-p1)"
assert_eq "cluster_node_ip n2" 198.18.0.2 "$(cluster_node_ip n2)"
assert_eq "cluster_pods" "n1-p1 n1-p2 n2-p1 n2-p2" "$(cluster_pods | xargs)"
env_n2=$(cat "$(cluster_node_env n2)")
for kv in NODE_NAME=n2 NODE_IP=198.18.0.2 NODE_POD_GW=198.19.2.1 NETNS=$P-n2 \
  "CGROUP_ROOT=$(cluster_cgroup n2)" "BPFFS_DIR=/sys/fs/bpf/$P/n2"; do
  assert_contains "node.env of n2 has $kv" "$env_n2" $'\n'"$kv"$'\n'
done
expected_pods="n1-p1 demo 198.19.1.11 n1 /run/netns/$P-n1-p1
n1-p2 outside 198.19.1.12 n1 /run/netns/$P-n1-p2
n2-p1 demo 198.19.2.11 n2 /run/netns/$P-n2-p1
n2-p2 outside 198.19.2.12 n2 /run/netns/$P-n2-p2"
for node in n1 n2; do
  yaml=$(cluster_config_dir "$node")/cluster.yaml
  assert_eq "config of $node lists every pod of the cluster" "$expected_pods" "$(pods_in_yaml "$yaml")"
  assert_eq "config of $node has 2 Namespaces" 2 "$(grep -c '^kind: Namespace$' "$yaml")"
done
assert_ok "namespace demo is labelled weft.dev/mesh: enabled" \
  grep -Pzq 'kind: Namespace\nmetadata:\n  labels:\n    kubernetes.io/metadata.name: demo\n    weft.dev/mesh: enabled\n' "$yaml"

# --- connectivity ------------------------------------------------------------
echo "== connectivity"
assert_ok "ping pod -> pod, same node (n1-p1 -> n1-p2)" cluster_pod_exec n1-p1 ping -c1 -W2 198.19.1.12
assert_ok "ping pod -> pod, cross node (n1-p1 -> n2-p2)" cluster_pod_exec n1-p1 ping -c1 -W2 198.19.2.12
assert_ok "ping pod -> pod, cross node (n2-p1 -> n1-p2)" cluster_pod_exec n2-p1 ping -c1 -W2 198.19.1.12
assert_ok "ping pod -> its node's pod gateway" cluster_pod_exec n2-p2 ping -c1 -W2 198.19.2.1
assert_ok "ping node -> node" cluster_node_exec n1 ping -c1 -W2 198.18.0.2
assert_eq "ip_forward on in node netns" 1 "$(cluster_node_exec n2 cat /proc/sys/net/ipv4/ip_forward)"

nginx1=$(cluster_spawn_nginx n1-p1 8080)
nginx2=$(cluster_spawn_nginx n2-p2 8080)
assert_ok "nginx listens in n1-p1" cluster_wait_tcp n1-p2 198.19.1.11 8080 10
assert_ok "nginx listens in n2-p2" cluster_wait_tcp n1-p1 198.19.2.12 8080 10
assert_eq "HTTP pod -> pod, same node (n1-p2 -> n1-p1)" n1-p1 \
  "$(cluster_pod_exec n1-p2 curl -sS --max-time 5 http://198.19.1.11:8080/ 2>&1)"
assert_eq "HTTP pod -> pod, cross node (n2-p1 -> n1-p1)" n1-p1 \
  "$(cluster_pod_exec n2-p1 curl -sS --max-time 5 http://198.19.1.11:8080/ 2>&1)"
assert_eq "HTTP pod -> pod, cross node (n1-p1 -> n2-p2)" n2-p2 \
  "$(cluster_pod_exec n1-p1 curl -sS --max-time 5 http://198.19.2.12:8080/ 2>&1)"
assert_fail "nothing listens on the node's pod gateway" \
  cluster_pod_exec n1-p1 curl -sS --max-time 2 http://198.19.1.1:8080/

# --- where processes run -----------------------------------------------------
echo "== processes"
assert_eq "spawned nginx is in the pod cgroup" "0::/$P/n1/p1" "$(tail -n1 "/proc/$nginx1/cgroup")"
assert_eq "spawned nginx is in the pod netns" "$P-n1-p1" "$(ip netns identify "$nginx1")"
assert_eq "spawned pid is nginx itself" nginx "$(cat "/proc/$nginx1/comm")"
assert_contains "spawned pid recorded in pids" "$(cat "$(cluster_state_dir)/pids")" "$nginx1 n1-p1 nginx"
agent=$(cluster_spawn_on_node n1 sleep 600)
assert_eq "node process is in the node's system cgroup" "0::/$P/n1/system" "$(tail -n1 "/proc/$agent/cgroup")"
assert_eq "node process is in the node netns" "$P-n1" "$(ip netns identify "$agent")"
assert_ok "node process sees its bpffs dir" test -d "/proc/$agent/root/sys/fs/bpf/$P/n1"
assert_eq "pod exec runs in the pod cgroup" "0::/$P/n2/p1" "$(cluster_pod_exec n2-p1 cat /proc/self/cgroup | tail -n1)"
rc=0
cluster_pod_exec n1-p2 sh -c 'exit 7' || rc=$?
assert_eq "pod exec passes the exit status on" 7 "$rc"
assert_fail "pod exec of an unknown pod fails" cluster_pod_exec n3-p1 true

# --- CLI ---------------------------------------------------------------------
echo "== scripts/cluster"
status=$("$CLUSTER" status --name "$P" 2>&1)
assert_contains "status shows pod n2-p2 with its IP" "$status" "198.19.2.12"
assert_ok "status shows nginx running in n1-p1" grep -Eq "^n1-p1 +demo +198.19.1.11 +$P-n1-p1 +[1-9]" <<<"$status"
assert_contains "list shows the cluster" "$("$CLUSTER" list)" "$P  2 nodes x 2 pods"
assert_eq "exec in a pod" "0::/$P/n1/p2" "$("$CLUSTER" exec --name "$P" n1-p2 -- cat /proc/self/cgroup | tail -n1)"
assert_eq "exec in a node" "$P-n2" "$("$CLUSTER" exec --name "$P" n2 -- ip netns identify)"
assert_fail "up refuses a name in use" "$CLUSTER" up --name "$P"
assert_ok "...and leaves that cluster alone" test -e "/run/netns/$P-n2-p2"

# --- down --------------------------------------------------------------------
echo "== down"
assert_ok "cluster_down succeeds" cluster_down "$P"
assert_empty "nothing of $P left" "$(remains_of "$P")"
for pid in "$nginx1" "$nginx2" "$agent"; do
  if alive "$pid"; then fail "spawned process $pid is gone"; else pass "spawned process $pid is gone"; fi
done
assert_ok "down again is a no-op" cluster_down "$P"
assert_ok "scripts/cluster down of a gone cluster is a no-op" "$CLUSTER" down --name "$P"
assert_eq "root netns untouched after down" "$ROOT_BEFORE" "$(root_netns_snapshot)"

# --- a failed up removes what it made ----------------------------------------
echo "== failed up"
P2=$(cluster_new_name)
TEST_CLUSTERS+=("$P2")
# sysctl runs after the fabric, a node and its veth exist: make it fail there.
mkdir -p "$TMP/shim"
printf '#!/bin/sh\necho "sysctl: injected failure" >&2\nexit 1\n' >"$TMP/shim/sysctl"
chmod +x "$TMP/shim/sysctl"
assert_fail "up fails when a step fails" env PATH="$TMP/shim:$PATH" "$CLUSTER" up --name "$P2"
assert_empty "a failed up leaves nothing behind" "$(remains_of "$P2")"

# --- an up killed with -9 midway ---------------------------------------------
echo "== up killed with -9"
P3=$(cluster_new_name)
TEST_CLUSTERS+=("$P3")
setsid "$CLUSTER" up --name "$P3" --nodes 3 --pods 6 >"$TMP/killed.out" 2>&1 &
up_pid=$!
for _ in $(seq 1 500); do
  [[ ! -e /run/netns/$P3-n1-p2 ]] || break
  sleep 0.01
done
kill -9 -- "-$up_pid" 2>/dev/null || true
wait "$up_pid" 2>/dev/null || true
sleep 0.2 # let the killed ip commands finish dying
if [[ -e /run/netns/$P3-n3-p6 ]]; then echo "note: up finished before the kill"; fi
left=$(remains_of "$P3")
echo "note: the killed up left $(grep -c '^netns' <<<"$left" || true) netns"
assert_ok "the killed up left something to clean" test -n "$left"
assert_ok "scripts/cluster down after a killed up" "$CLUSTER" down --name "$P3"
assert_empty "nothing of the killed up left" "$(remains_of "$P3")"

# --- bare leftovers, no state dir --------------------------------------------
echo "== leftovers without state"
P4=$(cluster_new_name)
TEST_CLUSTERS+=("$P4")
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
ip netns add "$P4-n1"
ip netns add "$P4-n1-p1"
ip -n "$P4-n1" link add p1 type veth peer name eth0 netns "$P4-n1-p1"
mkdir -p "$CG2/$P4/n1/p1" "/sys/fs/bpf/$P4/n1"
# One process in the pod's cgroup and netns, one only in the node netns.
sh -c 'echo $$ >"$1/cgroup.procs" && exec nsenter --net="/run/netns/$2" sleep 600' \
  x "$CG2/$P4/n1/p1" "$P4-n1-p1" </dev/null >/dev/null 2>&1 &
in_pod=$!
nsenter --net="/run/netns/$P4-n1" -- sleep 600 </dev/null >/dev/null 2>&1 &
in_node=$!
disown "$in_pod" "$in_node" # no "Killed" job notices from bash when down kills them
for _ in $(seq 1 500); do
  [[ $(ip netns identify "$in_pod")/$(ip netns identify "$in_node") != "$P4-n1-p1/$P4-n1" ]] || break
  sleep 0.01
done
assert_ok "scripts/cluster down --name on bare leftovers" "$CLUSTER" down --name "$P4"
assert_empty "nothing of the leftovers left" "$(remains_of "$P4")"
if alive "$in_pod" || alive "$in_node"; then fail "leftover processes killed"; else pass "leftover processes killed"; fi

assert_eq "root netns untouched at the end" "$ROOT_BEFORE" "$(root_netns_snapshot)"
assert_done
