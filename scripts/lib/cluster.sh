# shellcheck shell=bash
# weft test cluster: Kubernetes-like nodes and pods made of network namespaces and
# cgroup v2 directories on one machine (DESIGN.md section 7). End-to-end tests, the
# demo and the perf suite source this file and call the cluster_* functions;
# scripts/cluster is the command-line front end.
#
# Topology of cluster P with N nodes and M pods per node (i in 1..N, k in 1..M):
#   netns P-fab       bridge br0; one port n<i> per node
#   netns P-n<i>      fab0 198.18.0.<i>/24 on the bridge, ip_forward=1,
#                     198.19.<j>.0/24 via 198.18.0.<j> for every other node j,
#                     p<k> 198.19.<i>.1/32 (the pods' gateway) + route to the pod /32
#   netns P-n<i>-p<k> eth0 198.19.<i>.<10+k>/32, default via 198.19.<i>.1 (ptp style)
#   cgroup v2         <cgroup2>/P/n<i> (node root) with system/ (node processes) and p<k>/
#   bpffs             /sys/fs/bpf/P/n<i> (pin directory of node i's agent)
#   state             /run/weft-cluster/P: cluster.env, manifest, pids, logs/, run/,
#                     n<i>/node.env, n<i>/config/cluster.yaml
# Nothing is created in the root network namespace: every veth is created from
# inside one of the cluster's namespaces with its peer sent straight to another.
# Addresses come from the RFC 2544 benchmark range (198.18.0.0/15), so clusters
# never collide with real networks nor with each other (each lives in its own netns).
#
# Names: nodes are n<i>, pods n<i>-p<k>. Functions that act on "the cluster" use
# $WEFT_CLUSTER, which cluster_up sets (or cluster_use, or the only cluster there is).
#
# Public functions (each documented where it is defined):
#   lifecycle   cluster_up, cluster_down, cluster_abort_up, cluster_use,
#               cluster_new_name, cluster_list, cluster_status
#   names       cluster_node_ip, cluster_node_gw, cluster_pod_cidr, cluster_pod_ip,
#               cluster_pod_node, cluster_pod_namespace, cluster_nodes, cluster_pods,
#               cluster_netns, cluster_cgroup, cluster_bpffs_dir, cluster_state_dir,
#               cluster_config_dir, cluster_node_env
#   processes   cluster_pod_exec, cluster_node_exec, cluster_exec,
#               cluster_spawn_in_pod, cluster_spawn_on_node, cluster_spawn_nginx,
#               cluster_spawn_nginx_files,
#               cluster_wait_tcp
#
# Safe to source into scripts running with `set -euo pipefail`: the library sets no
# shell options and no traps in the caller. cluster_up runs its build steps in a
# child bash with errexit on, because errexit is silently disabled inside functions
# called from `if`/`||` contexts, which is exactly how callers check cluster_up.
#
# Processes run "in a pod" are put into the pod's cgroup before exec, so sockets they
# open belong to that cgroup (cgroup BPF hooks key on the socket's cgroup). We enter
# namespaces with `nsenter --net` rather than `ip netns exec`: the latter remounts
# /sys in a private mount namespace, which hides /sys/fs/bpf and a cgroup2 mount
# under /sys/fs/cgroup from the agent that needs both.

source "$(dirname "${BASH_SOURCE[0]}")/host.sh"

_CL_LIB=$(realpath "${BASH_SOURCE[0]}")
CLUSTER_STATE_ROOT=${WEFT_CLUSTER_STATE_ROOT:-/run/weft-cluster}
CLUSTER_BPFFS=/sys/fs/bpf
# Generated names: short so that netns names stay short. `down --all` matches these.
_CL_AUTO_RE='^wf[0-9a-f]{4}$'
# Names given with --name: no '-' (it separates the parts of netns names).
_CL_NAME_RE='^[a-z][a-z0-9]{1,11}$'
# The cluster_up in progress in this shell, for cluster_abort_up.
_CL_BUILDING=
_CL_BUILD_PID=

# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

_cl_err() { echo "cluster: $*" >&2; return 1; }
_cl_log() { [[ -z ${WEFT_CLUSTER_QUIET:-} ]] && echo "cluster: $*" >&2; return 0; }

_cl_need_root() {
  [[ $(id -u) -eq 0 ]] || _cl_err "must run as root"
}

_cl_need_tools() {
  command -v ip >/dev/null 2>&1 || _cl_err "ip not found: install iproute2 (scripts/setup)" || return 1
  command -v nsenter >/dev/null 2>&1 || _cl_err "nsenter not found: install util-linux (scripts/setup)" || return 1
  command -v sysctl >/dev/null 2>&1 || _cl_err "sysctl not found: install procps (scripts/setup)" || return 1
}

_cl_valid_name() { [[ $1 =~ $_CL_NAME_RE ]]; }

# True when anything named after cluster $1 exists (state, netns, cgroup, bpffs).
_cl_name_in_use() {
  local p=$1 m
  [[ -e $CLUSTER_STATE_ROOT/$p || -e $CLUSTER_BPFFS/$p ]] && return 0
  [[ -n $(_cl_netns_of "$p") ]] && return 0
  for m in $(_cl_cg2_mounts); do [[ -e $m/$p ]] && return 0; done
  return 1
}

# All cgroup2 mount points, one per line (usually one).
_cl_cg2_mounts() {
  awk '$3 == "cgroup2" { print $2 }' /proc/mounts | sort -u
}

# The cgroup2 mount the cluster uses, and bpffs: scripts/lib/host.sh (shared
# with scripts/test and the demo) mounts them when the machine has none.
_cl_cg2_ensure() { host_cgroup2_mount; }
_cl_bpffs_ensure() { host_ensure_bpffs; }

_cl_state() { echo "$CLUSTER_STATE_ROOT/$1"; }

# Value of KEY in cluster $1's cluster.env.
_cl_conf() {
  sed -n "s/^$2=//p" "$(_cl_state "$1")/cluster.env" 2>/dev/null || true
}

# The current cluster: $WEFT_CLUSTER, else the only cluster that has a state dir.
_cl_cur() {
  if [[ -n ${WEFT_CLUSTER:-} ]]; then echo "$WEFT_CLUSTER"; return 0; fi
  local all
  all=$(find "$CLUSTER_STATE_ROOT" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null || true)
  case $(printf '%s' "$all" | grep -c .) in
    1) echo "$all" ;;
    0) _cl_err "no cluster is up (scripts/cluster up)" ;;
    *) _cl_err "several clusters are up ($(echo "$all" | tr '\n' ' ')); set WEFT_CLUSTER or use --name" ;;
  esac
}

# Node index from n<i>; node and pod index from n<i>-p<k> (as "i k"). No leading
# zeros: n01 would name no netns (and bash would read 08 as bad octal).
_cl_node_idx() {
  [[ $1 =~ ^n([1-9][0-9]{0,2})$ ]] && ((BASH_REMATCH[1] <= 254)) ||
    _cl_err "not a node name: '$1' (want n<i>, 1 <= i <= 254)" || return 1
  echo "${BASH_REMATCH[1]}"
}
_cl_pod_idx() {
  [[ $1 =~ ^n([1-9][0-9]{0,2})-p([1-9][0-9]{0,2})$ ]] &&
    ((BASH_REMATCH[1] <= 254 && BASH_REMATCH[2] <= 240)) ||
    _cl_err "not a pod name: '$1' (want n<i>-p<k>, 1 <= i <= 254, 1 <= k <= 240)" || return 1
  echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
}
_cl_is_pod() { [[ $1 =~ ^n[0-9]+-p[0-9]+$ ]]; }

# Existing netns of cluster $1, pods first, then nodes, then the fabric.
_cl_netns_of() {
  local p=$1
  ip netns list 2>/dev/null | awk '{ print $1 }' |
    grep -E "^$p-(fab|n[0-9]+|n[0-9]+-p[0-9]+)\$" | awk -F- '{ print NF, $0 }' | sort -rn | cut -d' ' -f2- || true
}

# `sh -c "$_CL_ENTER" weft-cluster CGROUP NETNS CMD...` joins CGROUP (when not
# empty), then enters NETNS and execs CMD: one pid throughout, and every socket CMD
# opens belongs to CGROUP.
# shellcheck disable=SC2016 # expanded by that sh
_CL_ENTER='cg=$1 ns=$2; shift 2
if [ -n "$cg" ]; then echo $$ >"$cg/cgroup.procs" || exit 126; fi
exec nsenter --net="/run/netns/$ns" -- "$@"'

_cl_check_target() {
  local cg=$1 ns=$2
  [[ -e /run/netns/$ns ]] || _cl_err "no netns $ns (is the cluster up?)" || return 1
  [[ -z $cg || -d $cg ]] || _cl_err "no cgroup $cg (is the cluster up?)"
}

# Runs "$@" in netns $2, inside cgroup $1 when $1 is not empty, in the foreground.
_cl_run_in() {
  _cl_check_target "$1" "$2" || return 1
  sh -c "$_CL_ENTER" weft-cluster "$@"
}

# ---------------------------------------------------------------------------
# Names and addresses (pure: no cluster needed, except where noted)
# ---------------------------------------------------------------------------

# cluster_new_name: prints a fresh name wf<4 hex> that nothing on the machine uses.
cluster_new_name() {
  local n
  for _ in $(seq 1 50); do
    n=$(printf 'wf%04x' "$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')")
    _cl_name_in_use "$n" || { echo "$n"; return 0; }
  done
  _cl_err "could not pick an unused cluster name"
}

# cluster_node_ip NODE: fabric address of the node, e.g. 198.18.0.1.
cluster_node_ip() { local i; i=$(_cl_node_idx "$1") || return 1; echo "198.18.0.$i"; }

# cluster_node_gw NODE: the node's address on its pod veths (pods' gateway, the
# address a node-level proxy binds so that pods can reach it), e.g. 198.19.1.1.
cluster_node_gw() { local i; i=$(_cl_node_idx "$1") || return 1; echo "198.19.$i.1"; }

# cluster_pod_cidr NODE: the /24 routed to the node, e.g. 198.19.1.0/24.
cluster_pod_cidr() { local i; i=$(_cl_node_idx "$1") || return 1; echo "198.19.$i.0/24"; }

# cluster_pod_ip POD: e.g. n1-p2 -> 198.19.1.12.
cluster_pod_ip() {
  local ik i k
  ik=$(_cl_pod_idx "$1") || return 1
  read -r i k <<<"$ik"
  echo "198.19.$i.$((10 + k))"
}

# cluster_pod_node POD: the node a pod runs on, e.g. n1-p2 -> n1.
cluster_pod_node() { _cl_pod_idx "$1" >/dev/null || return 1; echo "${1%%-*}"; }

# cluster_netns TARGET: netns name of a pod or node of the current cluster.
cluster_netns() {
  local p
  p=$(_cl_cur) || return 1
  if _cl_is_pod "$1"; then _cl_pod_idx "$1" >/dev/null || return 1; else _cl_node_idx "$1" >/dev/null || return 1; fi
  echo "$p-$1"
}

# cluster_cgroup TARGET: cgroup dir of a pod, or a node's cgroup root (where an agent
# attaches its cgroup hooks). Node processes live in "$(cluster_cgroup n1)/system".
cluster_cgroup() {
  local p cg2
  p=$(_cl_cur) || return 1
  cg2=$(_cl_conf "$p" CGROUP2)
  [[ -n $cg2 ]] || cg2=$(_cl_cg2_mounts | head -n1)
  if _cl_is_pod "$1"; then
    _cl_pod_idx "$1" >/dev/null || return 1
    echo "$cg2/$p/${1%%-*}/${1#*-}"
  else
    _cl_node_idx "$1" >/dev/null || return 1
    echo "$cg2/$p/$1"
  fi
}

# cluster_state_dir: state directory of the current cluster.
cluster_state_dir() { local p; p=$(_cl_cur) || return 1; _cl_state "$p"; }

# cluster_config_dir NODE: the node's manifest directory (config source of its agent).
cluster_config_dir() {
  local st
  _cl_node_idx "$1" >/dev/null || return 1
  st=$(cluster_state_dir) || return 1
  echo "$st/$1/config"
}

# cluster_node_env NODE: path of the node's node.env (NODE_NAME, NODE_IP, ...).
cluster_node_env() {
  local st
  _cl_node_idx "$1" >/dev/null || return 1
  st=$(cluster_state_dir) || return 1
  echo "$st/$1/node.env"
}

# cluster_bpffs_dir NODE: pin directory for the node's agent.
cluster_bpffs_dir() {
  local p
  p=$(_cl_cur) || return 1
  _cl_node_idx "$1" >/dev/null || return 1
  echo "$CLUSTER_BPFFS/$p/$1"
}

# cluster_nodes / cluster_pods: names in the current cluster, one per line.
cluster_nodes() {
  local p n i
  p=$(_cl_cur) || return 1
  n=$(_cl_conf "$p" NODES)
  [[ -n $n ]] || _cl_err "cluster $p has no state (cluster.env)" || return 1
  for ((i = 1; i <= n; i++)); do echo "n$i"; done
}
cluster_pods() {
  local p node m k
  p=$(_cl_cur) || return 1
  m=$(_cl_conf "$p" PODS)
  for node in $(cluster_nodes); do
    for ((k = 1; k <= m; k++)); do echo "$node-p$k"; done
  done
}

# cluster_pod_namespace POD: Kubernetes namespace of the pod: "demo" (labelled
# weft.dev/mesh=enabled), or "outside" for the last UNENROLLED pods of each node.
cluster_pod_namespace() {
  local p ik m u
  p=$(_cl_cur) || return 1
  ik=$(_cl_pod_idx "$1") || return 1
  m=$(_cl_conf "$p" PODS) u=$(_cl_conf "$p" UNENROLLED)
  if ((${ik#* } > m - ${u:-0})); then echo outside; else echo demo; fi
}

# cluster_use NAME: make NAME the current cluster of this shell.
cluster_use() {
  [[ -d $(_cl_state "$1") ]] || _cl_err "no cluster $1" || return 1
  WEFT_CLUSTER=$1
  export WEFT_CLUSTER
}

# ---------------------------------------------------------------------------
# Running things in pods and nodes
# ---------------------------------------------------------------------------

# cluster_pod_exec POD CMD...: run CMD in the pod (cgroup + netns), in the foreground.
cluster_pod_exec() {
  local pod=${1:-} ns cg
  shift
  _cl_is_pod "$pod" || _cl_err "not a pod name: '$pod' (want n<i>-p<k>)" || return 1
  ns=$(cluster_netns "$pod") && cg=$(cluster_cgroup "$pod") || return 1
  _cl_run_in "$cg" "$ns" "$@"
}

# cluster_node_exec NODE CMD...: run CMD in the node's netns, in the foreground.
cluster_node_exec() {
  local node=${1:-} ns
  shift
  _cl_node_idx "$node" >/dev/null && ns=$(cluster_netns "$node") || return 1
  _cl_run_in "" "$ns" "$@"
}

# cluster_exec TARGET CMD...: cluster_pod_exec or cluster_node_exec by name.
cluster_exec() {
  if _cl_is_pod "$1"; then cluster_pod_exec "$@"; else cluster_node_exec "$@"; fi
}

# cluster_spawn_in_pod [--log FILE] POD CMD...: start CMD in the background in the
# pod (cgroup + netns); prints its pid (the pid of CMD itself: nothing forks in
# between). Output goes to FILE, default <state>/logs/<pod>.<n>.log. Recorded in
# <state>/pids; cluster_down kills it.
cluster_spawn_in_pod() {
  local log='' cg
  if [[ ${1:-} == --log ]]; then log=$2; shift 2; fi
  _cl_is_pod "${1:-}" || _cl_err "cluster_spawn_in_pod: not a pod name: '${1:-}'" || return 1
  cg=$(cluster_cgroup "$1") || return 1
  _cl_spawn "$log" "$1" "$cg" "${@:2}"
}

# cluster_spawn_on_node [--log FILE] NODE CMD...: like cluster_spawn_in_pod, in the
# node's netns and its cgroup <node root>/system (for agents and node services).
cluster_spawn_on_node() {
  local log='' cg
  if [[ ${1:-} == --log ]]; then log=$2; shift 2; fi
  _cl_node_idx "${1:-}" >/dev/null || return 1
  cg=$(cluster_cgroup "$1") || return 1
  _cl_spawn "$log" "$1" "$cg/system" "${@:2}"
}

_cl_spawn() {
  local log=$1 target=$2 cg=$3 st ns pid n
  shift 3
  (($# > 0)) || _cl_err "spawn: no command given" || return 1
  st=$(cluster_state_dir) && ns=$(cluster_netns "$target") || return 1
  _cl_check_target "$cg" "$ns" || return 1
  if [[ -z $log ]]; then
    mkdir -p "$st/logs" || return 1
    n=$(grep -c . "$st/pids" 2>/dev/null || true)
    log=$st/logs/$target.$((${n:-0} + 1)).log
  fi
  # A simple command, so the forked child execs sh right away and $! is the pid
  # that ends up running CMD. Output goes to the log, not to our stdout, so that
  # `pid=$(cluster_spawn_in_pod ...)` returns at once.
  sh -c "$_CL_ENTER" weft-cluster "$cg" "$ns" "$@" </dev/null >>"$log" 2>&1 &
  pid=$!
  # Not a job of the caller's shell: cluster_down kills it, and bash would
  # otherwise report each kill ("Killed ...") to whoever spawned it.
  disown "$pid" 2>/dev/null || true
  echo "$pid $target $*" >>"$st/pids"
  _cl_wait_entered "$pid" "$ns"
  echo "$pid"
}

# Waits (up to 5 s) until process $1 has entered netns $2, hence also its cgroup,
# so that callers can rely on both as soon as spawn returns. Stops early if the
# process is gone: a command that fails at once is the caller's to find out (log).
_cl_wait_entered() {
  local pid=$1 want
  want=$(stat -Lc %d:%i "/run/netns/$2")
  for _ in $(seq 1 500); do
    [[ $(stat -Lc %d:%i "/proc/$pid/ns/net" 2>/dev/null || true) != "$want" ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.01
  done
  return 0
}

# cluster_spawn_nginx POD [PORT]: start nginx in the pod on <pod ip>:PORT (default
# 8080), answering every request with "<pod>\n"; prints the nginx master pid. Its
# config, pid file and logs live in <state>/run/<pod>-nginx-<port>/.
cluster_spawn_nginx() {
  local pod=$1 port=${2:-8080}
  _cl_spawn_nginx "$pod" "$port" "location / { return 200 \"$pod\\n\"; }" "access_log @DIR@/access.log;"
}

# cluster_spawn_nginx_files [--http2] POD PORT DIR [PREFIX...]: nginx in the
# pod on <pod ip>:PORT serving the files of DIR, as a benchmark origin wants it
# (one worker, no access log, keep-alive without a request limit); PREFIX runs
# it (e.g. taskset -c 0, which its worker inherits). With --http2 the port
# speaks cleartext HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1.
# Prints the master pid.
cluster_spawn_nginx_files() {
  local listen=''
  if [[ ${1:-} == --http2 ]]; then listen=' http2'; shift; fi
  local pod=$1 port=$2 root=$3
  shift 3
  _cl_spawn_nginx "$pod" "$port$listen" "root $root;" \
    "access_log off; keepalive_requests 1000000; keepalive_timeout 120s;" "$@"
}

# POD "PORT[ LISTEN_PARAMS]" SERVER_DIRECTIVES HTTP_DIRECTIVES [PREFIX...];
# @DIR@ in the directives is the server's own directory.
_cl_spawn_nginx() {
  local pod=$1 port=${2%% *} listen=$2 server=$3 settings=$4 st dir ip
  shift 4
  command -v nginx >/dev/null 2>&1 || _cl_err "nginx not found: install nginx-light (scripts/setup)" || return 1
  ip=$(cluster_pod_ip "$pod") && st=$(cluster_state_dir) || return 1
  dir=$st/run/$pod-nginx-$port
  mkdir -p "$dir/tmp" || return 1
  _cl_nginx_conf "$dir" "$ip" "$listen" "$pod" "$server" "${settings//@DIR@/$dir}" >"$dir/nginx.conf" || return 1
  cluster_spawn_in_pod --log "$dir/stderr.log" "$pod" \
    "$@" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;'
}

_cl_nginx_conf() {
  local dir=$1 ip=$2 port=$3 pod=$4 server=$5 settings=$6
  cat <<EOF
# Generated by scripts/lib/cluster.sh: test server of pod $pod.
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  $settings
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  default_type text/plain;
  server {
    listen $ip:$port;
    $server
  }
}
EOF
}

# cluster_wait_tcp TARGET IP PORT [SECONDS]: wait until a TCP connect from TARGET
# (pod or node) to IP:PORT succeeds (default 10 s); fails on timeout.
cluster_wait_tcp() {
  local target=$1 ip=$2 port=$3 secs=${4:-10} end
  end=$((SECONDS + secs))
  while ((SECONDS <= end)); do
    # shellcheck disable=SC2016 # expanded by the inner bash
    cluster_exec "$target" timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$ip" "$port" 2>/dev/null && return 0
    sleep 0.1
  done
  _cl_err "timed out waiting for $ip:$port from $target"
}

# ---------------------------------------------------------------------------
# Up
# ---------------------------------------------------------------------------

# cluster_up [--name P] [--nodes N] [--pods M] [--unenrolled K]: build a cluster
# (default 2 nodes x 2 pods, name from $WEFT_CLUSTER_PREFIX or random wf<4 hex>),
# make it current ($WEFT_CLUSTER) and print "cluster: P" as the last line. On
# failure removes whatever it made and returns 1. Call it directly, not in $(...),
# or $WEFT_CLUSTER will not be set in your shell.
cluster_up() {
  local name=${WEFT_CLUSTER_PREFIX:-} nodes=2 pods=2 unenrolled=0
  while (($# > 0)); do
    case $1 in
      --name | --nodes | --pods | --unenrolled)
        (($# >= 2)) || _cl_err "up: $1 needs a value" || return 1
        case $1 in
          --name) name=$2 ;; --nodes) nodes=$2 ;; --pods) pods=$2 ;; --unenrolled) unenrolled=$2 ;;
        esac
        shift 2 ;;
      *) _cl_err "up: unknown option '$1'" || return 1 ;;
    esac
  done
  _cl_need_root && _cl_need_tools || return 1
  _cl_check_sizes "$nodes" "$pods" "$unenrolled" || return 1
  if [[ -z $name ]]; then
    name=$(cluster_new_name) || return 1
  fi
  _cl_valid_name "$name" || _cl_err "bad cluster name '$name' (want [a-z][a-z0-9]{1,11})" || return 1
  _cl_claim "$name" || return 1
  _cl_log "up $name: $nodes nodes x $pods pods"
  # In the background so that a signal trap of the caller runs at once and can call
  # cluster_abort_up, instead of after the whole build. A simple command, so that
  # $! is the build's bash itself.
  _CL_BUILDING=$name
  bash -c "$_CL_STRICT" "$_CL_LIB" _cl_build "$name" "$nodes" "$pods" "$unenrolled" &
  _CL_BUILD_PID=$!
  if ! wait "$_CL_BUILD_PID"; then
    _CL_BUILD_PID=
    cluster_abort_up
    return 1
  fi
  _CL_BUILD_PID='' _CL_BUILDING=''
  WEFT_CLUSTER=$name
  export WEFT_CLUSTER
  echo "cluster: $name"
}

# cluster_abort_up: stop a cluster_up in progress in this shell and remove what it
# made; for INT/TERM traps of scripts that call cluster_up. No-op when none runs.
cluster_abort_up() {
  local name=${_CL_BUILDING:-} pid=${_CL_BUILD_PID:-}
  [[ -n $name ]] || return 0
  if [[ -n $pid ]]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  _CL_BUILDING='' _CL_BUILD_PID=''
  _cl_err "up $name failed; removing what it made" || true
  WEFT_CLUSTER_QUIET=1 cluster_down "$name" >&2 || true
}

_cl_check_sizes() {
  local n=$1 m=$2 u=$3
  [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 254)) || _cl_err "--nodes must be 1..254, got '$n'" || return 1
  [[ $m =~ ^[0-9]+$ ]] && ((m >= 1 && m <= 240)) || _cl_err "--pods must be 1..240, got '$m'" || return 1
  [[ $u =~ ^[0-9]+$ ]] && ((u <= m)) || _cl_err "--unenrolled must be 0..$m, got '$u'" || return 1
}

# Claims name $1 atomically (the state dir is the lock) after checking that nothing
# else carries it; a cleanup of a failed up may then remove everything with the name.
_cl_claim() {
  local p=$1
  ! _cl_name_in_use "$p" || _cl_err "cluster $p already exists (scripts/cluster down --name $p)" || return 1
  mkdir -p "$CLUSTER_STATE_ROOT" || return 1
  mkdir "$(_cl_state "$p")" 2>/dev/null || _cl_err "cluster $p already exists (scripts/cluster down --name $p)"
}

# `bash -c "$_CL_STRICT" "$_CL_LIB" FUNCTION ARGS...` runs a library function with
# errexit really on (see the header) and names the command that failed. TERM takes
# effect only between two commands (bash runs a trap once the running command is
# done), so cluster_abort_up never races a half-finished `ip` command.
# shellcheck disable=SC2016 # expanded by that bash
_CL_STRICT='set -Eeuo pipefail
source "$0"
trap '\''echo "cluster: failed: $BASH_COMMAND (${BASH_SOURCE[0]##*/}:$LINENO)" >&2'\'' ERR
trap "exit 143" TERM
"$@"'

# The build itself; runs under _CL_STRICT. Every resource is written to the manifest
# before it is made, so that a killed up can still be told apart and cleaned.
_cl_build() {
  local p=$1 n=$2 m=$3 u=$4 st cg2 i k
  st=$(_cl_state "$p")
  cg2=$(_cl_cg2_ensure)
  _cl_bpffs_ensure
  printf 'PREFIX=%s\nNODES=%s\nPODS=%s\nUNENROLLED=%s\nCGROUP2=%s\nCREATED=%s\n' \
    "$p" "$n" "$m" "$u" "$cg2" "$(date -Iseconds)" >"$st/cluster.env"
  : >"$st/pids"
  _cl_make_fabric "$p"
  for ((i = 1; i <= n; i++)); do
    _cl_make_node "$p" "$i" "$n"
    for ((k = 1; k <= m; k++)); do _cl_make_pod "$p" "$i" "$k"; done
  done
  _cl_make_cgroups "$p" "$cg2" "$n" "$m"
  _cl_make_bpffs "$p" "$n"
  _cl_write_configs "$p" "$n" "$m" "$u" "$cg2"
}

# Appends "kind args..." to the manifest; called before the resource is made.
_cl_record() { local p=$1; shift; echo "$*" >>"$(_cl_state "$p")/manifest"; }

_cl_make_netns() {
  local p=$1 ns=$2
  _cl_record "$p" netns "$ns"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
}

# Veth $3 in netns $2 with its peer $5 in netns $4, created from inside $2 so that
# it never exists in the root netns, not even for a moment.
_cl_make_veth() {
  _cl_record "$1" link "$2" "$3" "$4" "$5"
  ip -n "$2" link add "$3" type veth peer name "$5" netns "$4"
}

_cl_make_fabric() {
  local p=$1 fab=$1-fab
  _cl_make_netns "$p" "$fab"
  _cl_record "$p" link "$fab" br0
  ip -n "$fab" link add br0 type bridge
  ip -n "$fab" link set br0 up
}

_cl_make_node() {
  local p=$1 i=$2 n=$3 ns=$1-n$2 fab=$1-fab j
  _cl_make_netns "$p" "$ns"
  _cl_make_veth "$p" "$ns" fab0 "$fab" "n$i"
  ip -n "$fab" link set "n$i" master br0 up
  ip -n "$ns" addr add "198.18.0.$i/24" dev fab0
  ip -n "$ns" link set fab0 up
  nsenter --net="/run/netns/$ns" -- sysctl -qw net.ipv4.ip_forward=1
  for ((j = 1; j <= n; j++)); do
    ((j == i)) || ip -n "$ns" route add "198.19.$j.0/24" via "198.18.0.$j" dev fab0
  done
}

_cl_make_pod() {
  local p=$1 i=$2 k=$3 node=$1-n$2 ns=$1-n$2-p$3 gw=198.19.$2.1 ip=198.19.$2.$((10 + $3))
  _cl_make_netns "$p" "$ns"
  _cl_make_veth "$p" "$node" "p$k" "$ns" eth0
  # Node side: the gateway address on every pod veth, and a /32 route per pod.
  ip -n "$node" addr add "$gw/32" dev "p$k"
  ip -n "$node" link set "p$k" up
  ip -n "$node" route add "$ip/32" dev "p$k"
  # Pod side: ptp, the gateway is on-link through eth0.
  ip -n "$ns" addr add "$ip/32" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add "$gw" dev eth0 scope link
  ip -n "$ns" route add default via "$gw" dev eth0
}

_cl_make_cgroups() {
  local p=$1 cg2=$2 n=$3 m=$4 i k d
  for d in "$cg2/$p" $(for ((i = 1; i <= n; i++)); do
    echo "$cg2/$p/n$i" "$cg2/$p/n$i/system"
    for ((k = 1; k <= m; k++)); do echo "$cg2/$p/n$i/p$k"; done
  done); do
    _cl_record "$p" cgroup "$d"
    mkdir "$d"
  done
}

_cl_make_bpffs() {
  local p=$1 n=$2 i
  _cl_record "$p" bpffs "$CLUSTER_BPFFS/$p"
  for ((i = 1; i <= n; i++)); do mkdir -p "$CLUSTER_BPFFS/$p/n$i"; done
}

_cl_write_configs() {
  local p=$1 n=$2 m=$3 u=$4 cg2=$5 st i yaml
  st=$(_cl_state "$p")
  yaml=$st/cluster.yaml
  _cl_cluster_yaml "$p" "$n" "$m" "$u" >"$yaml"
  for ((i = 1; i <= n; i++)); do
    mkdir -p "$st/n$i/config"
    cp "$yaml" "$st/n$i/config/cluster.yaml"
    _cl_node_env "$p" "$i" "$cg2" >"$st/n$i/node.env"
  done
}

_cl_node_env() {
  local p=$1 i=$2 cg2=$3
  cat <<EOF
# weft test cluster $p, node n$i (generated by scripts/lib/cluster.sh)
CLUSTER=$p
NODE_NAME=n$i
NODE_IP=198.18.0.$i
NODE_POD_GW=198.19.$i.1
POD_CIDR=198.19.$i.0/24
NETNS=$p-n$i
CGROUP_ROOT=$cg2/$p/n$i
CGROUP_SYSTEM=$cg2/$p/n$i/system
BPFFS_DIR=$CLUSTER_BPFFS/$p/n$i
CONFIG_DIR=$(_cl_state "$p")/n$i/config
EOF
}

# All Namespace and Pod objects of the cluster, as `kubectl get -o yaml` writes them
# (keys sorted), in one multi-document file that `kubectl apply -f` takes.
_cl_cluster_yaml() {
  local p=$1 n=$2 m=$3 u=$4 i k
  echo "# weft test cluster $p: every namespace and pod (generated by scripts/lib/cluster.sh)"
  _cl_namespace_yaml demo 'weft.dev/mesh: enabled'
  _cl_namespace_yaml outside ''
  for ((i = 1; i <= n; i++)); do
    for ((k = 1; k <= m; k++)); do
      if ((k > m - u)); then _cl_pod_yaml "$p" "$i" "$k" outside; else _cl_pod_yaml "$p" "$i" "$k" demo; fi
    done
  done
}

_cl_namespace_yaml() {
  local name=$1 extra_label=$2
  cat <<EOF
---
apiVersion: v1
kind: Namespace
metadata:
  labels:
    kubernetes.io/metadata.name: $name
EOF
  [[ -z $extra_label ]] || echo "    $extra_label"
  cat <<EOF
  name: $name
spec:
  finalizers:
  - kubernetes
status:
  phase: Active
EOF
}

_cl_pod_yaml() {
  local p=$1 i=$2 k=$3 ns=$4 name=n$2-p$3
  cat <<EOF
---
apiVersion: v1
kind: Pod
metadata:
  annotations:
    weft.dev/netns: /run/netns/$p-$name
  labels:
    app: $name
  name: $name
  namespace: $ns
  uid: $(cat /proc/sys/kernel/random/uuid)
spec:
  containers:
  - image: nginx
    name: app
  nodeName: n$i
  serviceAccountName: default
status:
  hostIP: 198.18.0.$i
  hostIPs:
  - ip: 198.18.0.$i
  phase: Running
  podIP: 198.19.$i.$((10 + k))
  podIPs:
  - ip: 198.19.$i.$((10 + k))
EOF
}

# ---------------------------------------------------------------------------
# Down
# ---------------------------------------------------------------------------

# cluster_down [NAME | --all]: remove a cluster (default: the current one), or with
# --all every cluster found (generated names wf<4 hex> by netns, cgroup, bpffs;
# any name by state dir). Works from whatever is left after a failed or killed up,
# state dir or not. Idempotent; fails only when something could not be removed.
cluster_down() {
  local p rc=0
  _cl_need_root || return 1
  command -v ip >/dev/null 2>&1 || _cl_err "ip not found: install iproute2 (scripts/setup)" || return 1
  if [[ ${1:-} == --all ]]; then
    for p in $(_cl_find_all); do _cl_down_one "$p" || rc=1; done
    return "$rc"
  fi
  p=${1:-${WEFT_CLUSTER:-}}
  [[ -n $p ]] || _cl_err "down: which cluster? give a name or --all" || return 1
  _cl_valid_name "$p" || _cl_err "bad cluster name '$p'" || return 1
  _cl_down_one "$p"
}

# Names of every cluster with anything left on the machine.
_cl_find_all() {
  local m
  {
    ip netns list 2>/dev/null | awk '{ print $1 }' | sed -n 's/^\(wf[0-9a-f]\{4\}\)-.*/\1/p'
    for m in $(_cl_cg2_mounts); do _cl_entries "$m" "$_CL_AUTO_RE"; done
    _cl_entries "$CLUSTER_BPFFS" "$_CL_AUTO_RE"
    _cl_entries "$CLUSTER_STATE_ROOT" "$_CL_NAME_RE"
  } | sort -u
}

# Names of the directories in $1 that match regex $2.
_cl_entries() {
  local d
  for d in "$1"/*/; do
    d=${d%/}
    d=${d##*/}
    if [[ $d =~ $2 ]]; then echo "$d"; fi
  done
}

_cl_down_one() {
  local p=$1 cgs
  mapfile -t cgs < <(_cl_cgroups_of "$p")
  # Processes first: a netns or cgroup with live members cannot really go away.
  _cl_kill_cgroups "${cgs[@]}"
  _cl_kill_netns_pids "$p"
  _cl_del_netns "$p"
  _cl_del_cgroups "${cgs[@]}"
  rm -rf -- "${CLUSTER_BPFFS:?}/$p" "${CLUSTER_STATE_ROOT:?}/$p" 2>/dev/null || true
  _cl_leftovers "$p" || return 1
  if [[ ${WEFT_CLUSTER:-} == "$p" ]]; then unset WEFT_CLUSTER; fi
  _cl_log "down $p"
}

# Cgroup dirs of cluster $1: <mount>/$1 on every cgroup2 mount, plus what the
# manifest recorded (in case the cluster used a mount we would not look in).
_cl_cgroups_of() {
  local p=$1 m
  for m in $(
    _cl_cg2_mounts | sed "s|\$|/$p|"
    awk -v p="$p" '$1 == "cgroup" && $2 ~ ("/" p "$") { print $2 }' "$(_cl_state "$p")/manifest" 2>/dev/null || true
  ); do
    if [[ -d $m ]]; then echo "$m"; fi
  done | sort -u
}

# Kills every process in the given cgroup trees; waits until they are empty.
_cl_kill_cgroups() {
  local d pids self=$BASHPID
  for d in "$@"; do
    for _ in $(seq 1 50); do
      mapfile -t pids < <(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | grep -vx -e "$$" -e "$self")
      ((${#pids[@]} > 0)) || break
      if [[ -e $d/cgroup.kill ]]; then
        echo 1 >"$d/cgroup.kill" 2>/dev/null || true
      else
        kill -9 "${pids[@]}" 2>/dev/null || true
      fi
      sleep 0.1
    done
  done
  return 0
}

# Kills every process inside the cluster's netns (also those outside its cgroups).
_cl_kill_netns_pids() {
  local p=$1 ns pids self=$BASHPID
  for _ in $(seq 1 50); do
    mapfile -t pids < <(for ns in $(_cl_netns_of "$p"); do ip netns pids "$ns" 2>/dev/null; done |
      grep -vx -e "$$" -e "$self")
    ((${#pids[@]} > 0)) || return 0
    kill -9 "${pids[@]}" 2>/dev/null || true
    sleep 0.1
  done
  return 0
}

_cl_del_netns() {
  local ns
  for ns in $(_cl_netns_of "$1"); do ip netns del "$ns" 2>/dev/null || true; done
  return 0
}

# Removes cgroup trees bottom-up; retries briefly while dying tasks still count.
_cl_del_cgroups() {
  local d
  for d in "$@"; do
    for _ in $(seq 1 30); do
      find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
      [[ -d $d ]] || break
      sleep 0.1
    done
  done
  return 0
}

# Reports (and fails on) anything of cluster $1 still present.
_cl_leftovers() {
  local p=$1 left
  left=$(
    _cl_netns_of "$p" | sed 's/^/netns /'
    _cl_cgroups_of "$p" | sed 's/^/cgroup /'
    [[ ! -e $CLUSTER_BPFFS/$p ]] || echo "bpffs $CLUSTER_BPFFS/$p"
    [[ ! -e $CLUSTER_STATE_ROOT/$p ]] || echo "state $CLUSTER_STATE_ROOT/$p"
  )
  [[ -z $left ]] || _cl_err "down $p: could not remove: $(echo "$left" | tr '\n' ';')"
}

# ---------------------------------------------------------------------------
# Status and list
# ---------------------------------------------------------------------------

# cluster_list: one line per cluster found: name, size, and how complete it is.
cluster_list() {
  local p nodes pods netns
  for p in $(_cl_find_all); do
    nodes=$(_cl_conf "$p" NODES) pods=$(_cl_conf "$p" PODS)
    netns=$(_cl_netns_of "$p" | grep -c . || true)
    if [[ -n $nodes ]]; then
      printf '%s  %s nodes x %s pods  %s netns  %s\n' "$p" "$nodes" "$pods" "$netns" "$(_cl_state "$p")"
    else
      printf '%s  leftovers (no state)  %s netns\n' "$p" "$netns"
    fi
  done
}

# cluster_status [NAME]: nodes and pods with addresses, netns, cgroups and how many
# processes run in each netns.
cluster_status() {
  local p=${1:-} node pod
  [[ -n $p ]] || p=$(_cl_cur) || return 1
  [[ -f $(_cl_state "$p")/cluster.env ]] ||
    _cl_err "cluster $p has no state; 'scripts/cluster down --name $p' removes its leftovers" || return 1
  (
    WEFT_CLUSTER=$p
    echo "cluster $p  state $(_cl_state "$p")  cgroup2 $(_cl_conf "$p" CGROUP2)"
    printf '%-8s %-11s %-12s %-16s %-6s %s\n' NODE IP POD-GW NETNS PROCS CGROUP
    for node in $(cluster_nodes); do
      printf '%-8s %-11s %-12s %-16s %-6s %s\n' "$node" "$(cluster_node_ip "$node")" \
        "$(cluster_node_gw "$node")" "$(_cl_netns_state "$p-$node")" \
        "$(_cl_procs "$p-$node")" "$(cluster_cgroup "$node")"
    done
    printf '%-8s %-9s %-12s %-16s %-6s %s\n' POD NAMESPACE IP NETNS PROCS CGROUP
    for pod in $(cluster_pods); do
      printf '%-8s %-9s %-12s %-16s %-6s %s\n' "$pod" "$(cluster_pod_namespace "$pod")" \
        "$(cluster_pod_ip "$pod")" "$(_cl_netns_state "$p-$pod")" \
        "$(_cl_procs "$p-$pod")" "$(cluster_cgroup "$pod")"
    done
  )
}

_cl_netns_state() { if [[ -e /run/netns/$1 ]]; then echo "$1"; else echo "MISSING:$1"; fi; }
_cl_procs() { ip netns pids "$1" 2>/dev/null | grep -c . || true; }
