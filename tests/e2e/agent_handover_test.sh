#!/usr/bin/env bash
# Agent hand-over (DESIGN.md: "listeners pass to the new process so that no
# new connection is refused"), on a 2-node cluster under load: a successor
# agent starts beside the running one (as a DaemonSet rollout with maxSurge
# does), adopts the node's pinned hooks and binds the same SO_REUSEPORT
# listeners; the old agent, on SIGTERM, closes its listeners, asks the other
# node to open new tunnels, lets its relays finish and exits without
# detaching what the successor now runs. Done on the client's node and then
# on the server's (there with the SIGTERM before the successor is ready,
# which the old agent must wait out), while wrk keeps new connections coming
# (same node and across nodes) and keep-alive connections open: no request
# may fail.
# The control: the successor killed outright (a crash) while it serves does
# cut connections, and the same wrk counts them, so the check can fail.
# Then a successor that fails after adopting the hooks: the running agent
# serves on and, stopped, leaves the hooks attached and pinned for the next.
source "$(dirname "$0")/lib/e2e.sh"
e2e_require wrk curl jq bpftool node

assert_cleanup cluster_down
cluster_up --nodes 2 --pods 2 >/dev/null
e2e_show_agent_logs_on_failure n1 n2
client=n1-p1
local_server=n1-p2
remote_server=n2-p1
for pod in "$local_server" "$remote_server"; do cluster_spawn_nginx "$pod" >/dev/null; done
local_url="http://$(cluster_pod_ip "$local_server"):8080/"
remote_url="http://$(cluster_pod_ip "$remote_server"):8080/"
pins1=$(cluster_bpffs_dir n1)
cg1=$(cluster_cgroup n1)

start() { # NODE [INSTANCE]: an agent (without --keep-bpf: a hand-over must not need it)
  WEFT_AGENT_INSTANCE=${2:-} agent_start "$1" --proxy-addr "$(cluster_node_gw "$1")" --drain-timeout-s 30 >/dev/null
  WEFT_AGENT_INSTANCE=${2:-} agent_wait_ready "$1"
}
pid_of() { cat "$(cluster_state_dir)/run/agent-$1${2:+.$2}.pid"; }
log_of() { WEFT_AGENT_INSTANCE=${2:-} agent_log "$1"; }
fetch() { cluster_pod_exec "$client" curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$1" || true; }

# wrk_bg NAME SECONDS URL [WRK ARGS...]: wrk from the client pod in the
# background; wrk_failures NAME then waits for it and sets `requests` and
# `failures` (socket errors: connect, read, write, timeout; and non-2xx).
wrk_bg() {
  local name=$1 secs=$2 url=$3
  shift 3
  cluster_pod_exec "$client" wrk -t1 -d"${secs}s" "$@" "$url" >"$(cluster_state_dir)/wrk-$name.txt" 2>&1 &
  eval "wrk_pid_$name=$!"
}
wrk_failures() { # in this shell, not in $(...): only the shell that started wrk can wait for it
  local pid_var="wrk_pid_$1" text
  wait "${!pid_var}" || true
  text=$(cat "$(cluster_state_dir)/wrk-$1.txt")
  grep -q "requests in" <<<"$text" || echo "wrk $1 did not report: $text" >&2
  read -r requests failures < <(awk '/requests in/ {req = $1} /Socket errors:/ {gsub(/,/, ""); err += $4 + $6 + $8 + $10}
       /Non-2xx/ {err += $NF} END {print req + 0, err + 0}' <<<"$text")
  ((failures == 0)) || echo "wrk $1: $text" >&2
}
exited_within() { # PID SECS
  local i
  for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}

start n1
start n2
assert_eq "through the mesh before: same node" 200 "$(fetch "$local_url")"
assert_eq "through the mesh before: across nodes" 200 "$(fetch "$remote_url")"

echo "== hand-over on both nodes under load"
# New connections all the time (Connection: close), and keep-alive ones that
# stay on the old agents until wrk ends them.
wrk_bg churn_remote 12 "$remote_url" -c4 -H "Connection: close"
wrk_bg churn_local 12 "$local_url" -c2 -H "Connection: close"
wrk_bg keepalive 12 "$remote_url" -c4
sleep 2
old1=$(pid_of n1)
assert_ok "n1: the successor starts beside the running agent and gets ready" start n1 next
kill -TERM "$old1"
sleep 1
# On n2 the SIGTERM comes before the successor is ready (kubelet acting early,
# an operator in a hurry): the old agent must wait for it. The successor is
# held in its start, hooks adopted but not ready, by the CA directory's lock.
old2=$(pid_of n2)
exec 9>"$(cluster_state_dir)/ca/.ca.lock"
flock 9
WEFT_AGENT_INSTANCE=next agent_start n2 --proxy-addr "$(cluster_node_gw n2)" --drain-timeout-s 30 >/dev/null
for _ in $(seq 100); do grep -q "capture hooks adopted" "$(log_of n2 next)" && break; sleep 0.05; done
kill -TERM "$old2"
sleep 1
assert_ok "n2: the old agent, stopped while its successor starts, waits for it" grep -q \
  "SIGTERM while a successor starts: waiting for it to be ready" "$(log_of n2)"
assert_ok "and keeps serving meanwhile" kill -0 "$old2"
flock -u 9
exec 9>&-
WEFT_AGENT_INSTANCE=next assert_ok "n2: the successor gets ready" agent_wait_ready n2
wrk_failures churn_remote
assert_eq "new connections across nodes: none failed ($requests requests)" 0 "$failures"
assert_eq "and there were many" true "$(((requests > 200)) && echo true || echo false)"
wrk_failures churn_local
assert_eq "new connections on the same node: none failed ($requests requests)" 0 "$failures"
wrk_failures keepalive
assert_eq "keep-alive connections through the old agents: none failed ($requests requests)" 0 "$failures"
assert_ok "the old n1 agent exits once its relays ended" exited_within "$old1" 10
assert_ok "the old n2 agent exits once its relays ended" exited_within "$old2" 10
for node in n1 n2; do
  assert_ok "$node: the old agent handed over" grep -q "a successor adopted this node's hooks: handing over" \
    "$(log_of "$node")"
  assert_ok "$node: and every relay finished (none reset)" grep -q "hand-over done: every relay finished" \
    "$(log_of "$node")"
  assert_fail "$node: and it detached nothing" grep -q "detached and unpinned" "$(log_of "$node")"
done
assert_ok "n1's hooks stay pinned" test -e "$pins1/links/connect4"
after1=$(agent_admin n1 /stats)
assert_eq "the n1 successor took new connections" true "$(jq '.proxy.connections.accepted > 0' <<<"$after1")"
assert_eq "the n2 successor took the new tunnels from n1" true \
  "$(agent_admin n2 /stats | jq '.proxy.tunnelsAccepted > 0')"
assert_eq "through the successors: same node" 200 "$(fetch "$local_url")"
assert_eq "through the successors: across nodes" 200 "$(fetch "$remote_url")"

echo "== control: a successor that crashes cuts its connections, and wrk counts them"
assert_ok "n1: a third agent starts beside the successor" start n1 third
wrk_bg crash 6 "$remote_url" -c16
sleep 2
kill -KILL "$(pid_of n1 next)"
wrk_failures crash
assert_eq "connections of the killed agent failed ($failures of $requests requests)" true \
  "$(((failures > 0)) && echo true || echo false)"
assert_eq "the third agent serves on" 200 "$(fetch "$remote_url")"

echo "== a successor that fails after adopting the hooks"
# Its outbound port is held by another program: it adopts the hooks, then
# cannot bind, and on its way out unpins what it adopted. The running agent
# must keep serving, stay the node's ready agent, and at its own stop leave
# the hooks (pinned again) rather than detach them.
holder=$(cluster_spawn_on_node n1 node -e \
  "require('net').createServer().listen(15099, '$(cluster_node_gw n1)')")
for _ in $(seq 50); do
  cluster_node_exec n1 bash -c "exec 3<>/dev/tcp/$(cluster_node_gw n1)/15099" 2>/dev/null && break
  sleep 0.1
done
failed=$(WEFT_AGENT_INSTANCE=failing agent_start n1 --proxy-addr "$(cluster_node_gw n1)" --outbound-port 15099)
assert_ok "the failing successor exits" exited_within "$failed" 10
kill "$holder" 2>/dev/null || true
assert_ok "after adopting the hooks" grep -q "capture hooks adopted" "$(log_of n1 failing)"
assert_eq "the running agent still serves" 200 "$(fetch "$remote_url")"
assert_eq "and is still the node's ready agent" ready "$(agent_admin n1 /healthz/ready || true)"
WEFT_AGENT_INSTANCE=third assert_ok "it stops" agent_stop n1
assert_ok "leaving the hooks another agent adopted attached" grep -q \
  "the hooks were adopted by an agent that is not running: leaving them attached" "$(log_of n1 third)"
assert_ok "pinned again" test -e "$pins1/links/connect4"
assert_ok "a new agent adopts them" start n1 last
assert_ok "it says so" grep -q "capture hooks adopted" "$(log_of n1 last)"
assert_eq "and serves" 200 "$(fetch "$remote_url")"

echo "== without a successor, SIGTERM stops at once and detaches"
WEFT_AGENT_INSTANCE=last assert_ok "the last n1 agent stops" agent_stop n1
assert_ok "it detached and unpinned" grep -q "detached and unpinned" "$(log_of n1 last)"
assert_fail "and handed nothing over" grep -q "handing over" "$(log_of n1 last)"
assert_empty "no program left at n1's cgroup" "$(bpftool cgroup show "$cg1" 2>/dev/null | grep -E 'connect[46]' || true)"
assert_done
