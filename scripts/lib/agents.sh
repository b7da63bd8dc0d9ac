# shellcheck shell=bash
# Running weft agents on the nodes of a test cluster (scripts/lib/cluster.sh):
# shared by the end-to-end tests, the demo and the perf suite.
#
#   agent_start NODE [weft-agent flags...]   start the node's agent, print its pid
#                                            (with --node-ip and a cluster-wide --ca-dir)
#   agent_wait_ready NODE [SECS]              wait for /healthz/ready
#   agent_admin NODE PATH [curl args...]      query the node's admin API
#   agent_stop NODE [SIGNAL]                  stop it and wait (default TERM)
#   agent_log NODE                            path of the agent's log
#
# WEFT_AGENT_INSTANCE (default empty) names a second agent of a node, with its
# own log and pid file: a successor started while the first still runs, as a
# DaemonSet rollout with maxSurge does (the hand-over test).
#
# Each node is its own network namespace, so every agent binds its admin API to
# 127.0.0.1:15000 of its own node, as on a real host.

WEFT_BUILD_DIR=${WEFT_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
WEFT_AGENT_BIN=${WEFT_AGENT_BIN:-$WEFT_BUILD_DIR/agent/weft-agent}

_agent_env() { # NODE KEY: a value from the node's node.env
  local file
  file=$(cluster_node_env "$1") || return 1
  sed -n "s/^$2=//p" "$file"
}

_agent_instance() { echo "${WEFT_AGENT_INSTANCE:+.$WEFT_AGENT_INSTANCE}"; }
agent_log() { echo "$(cluster_state_dir)/logs/agent-$1$(_agent_instance).log"; }
_agent_pidfile() { echo "$(cluster_state_dir)/run/agent-$1$(_agent_instance).pid"; }

agent_start() {
  local node=$1 pid log
  shift
  [[ -x $WEFT_AGENT_BIN ]] || { echo "agents: $WEFT_AGENT_BIN not built" >&2; return 1; }
  log=$(agent_log "$node")
  mkdir -p "$(dirname "$log")" "$(cluster_state_dir)/run"
  # The mesh defaults of the test cluster: tunnels on the node's IP, one CA
  # shared by all its agents (as a Secret is in a real cluster). A caller's
  # own --node-ip or --ca-dir wins.
  local mesh=()
  [[ " $* " == *" --node-ip "* ]] || mesh+=(--node-ip "$(_agent_env "$node" NODE_IP)")
  [[ " $* " == *" --ca-dir "* ]] || { mkdir -p "$(cluster_state_dir)/ca" && mesh+=(--ca-dir "$(cluster_state_dir)/ca"); }
  # WEFT_AGENT_EXTRA_FLAGS: flags every agent of a run gets (scripts/perf --agent-flags).
  local extra=()
  read -r -a extra <<<"${WEFT_AGENT_EXTRA_FLAGS:-}"
  pid=$(cluster_spawn_on_node --log "$log" "$node" "$WEFT_AGENT_BIN" \
    --node-name "$node" \
    --config-dir "$(_agent_env "$node" CONFIG_DIR)" \
    --cgroup-root "$(_agent_env "$node" CGROUP_ROOT)" \
    --bpffs-dir "$(_agent_env "$node" BPFFS_DIR)" \
    "${mesh[@]}" "${extra[@]}" "$@") || return 1
  echo "$pid" >"$(_agent_pidfile "$node")"
  echo "$pid"
}

agent_admin() {
  local node=$1 path=$2
  shift 2
  cluster_node_exec "$node" curl -sS --max-time 5 "$@" "http://127.0.0.1:15000$path"
}

agent_wait_ready() {
  local node=$1 secs=${2:-10} i pid
  pid=$(cat "$(_agent_pidfile "$node")" 2>/dev/null)
  for ((i = 0; i < secs * 10; i++)); do
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      echo "agents: agent on $node exited; its log:" >&2
      tail -n 20 "$(agent_log "$node")" >&2
      return 1
    fi
    agent_admin "$node" /healthz/ready -f >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "agents: agent on $node not ready after ${secs}s; its log:" >&2
  tail -n 20 "$(agent_log "$node")" >&2
  return 1
}

agent_stop() {
  local node=$1 signal=${2:-TERM} pid i
  pid=$(cat "$(_agent_pidfile "$node")" 2>/dev/null) || return 0
  kill "-$signal" "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$(_agent_pidfile "$node")"; return 0; }
    sleep 0.1
  done
  echo "agents: agent on $node (pid $pid) did not exit after SIG$signal" >&2
  return 1
}
