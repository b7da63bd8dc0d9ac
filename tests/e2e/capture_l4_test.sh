#!/usr/bin/env bash
# Transparent capture into the io_uring L4 proxy, on a 2-node cluster:
# enrolled pods' connects go through their node's proxy (same node and across
# nodes) without the apps noticing (getpeername shows the real peer); pods not
# enrolled and excluded ports are left alone; failures reach the client fast
# (refused, connect timeout); a stopped agent fails closed and a restarted one
# adopts its state without re-enrolling. Run with the sockmap on and off; with
# it on, weft-trace shows the same-node relay joining the fast path.
source "$(dirname "$0")/lib/e2e.sh"
WEFT_TRACE_BIN=${WEFT_TRACE_BIN:-$WEFT_BUILD_DIR/tools/weft-trace/weft-trace}

assert_cleanup cluster_down
# Per node: p1 client, p2 server (enrolled), p3 outside the mesh.
cluster_up --nodes 2 --pods 3 --unenrolled 1 >/dev/null
client=n1-p1
local_server=n1-p2
remote_server=n2-p2
outsider=n1-p3
for pod in "$local_server" "$remote_server" "$outsider"; do cluster_spawn_nginx "$pod" >/dev/null; done
cluster_spawn_nginx "$local_server" 8081 >/dev/null  # an excluded port

start_agents() { # extra agent flags...
  for node in n1 n2; do
    agent_start "$node" --proxy-addr "$(cluster_node_gw "$node")" --exclude-ports 8081 \
      --connect-timeout-ms 500 "$@" >/dev/null
  done
  agent_wait_ready n1 && agent_wait_ready n2
}
stat1() { agent_admin n1 /stats | jq "$1"; }
fetch() { # POD URL: prints "http_code remote_ip" as curl saw them (getpeername)
  cluster_pod_exec "$1" curl -sS --max-time 5 -o /dev/null -w '%{http_code} %{remote_ip}' "$2"
}

for sockmap in on off; do
  echo "== sockmap $sockmap"
  start_agents --sockmap "$sockmap"
  assert_eq "[$sockmap] both enrolled pods of n1 are in the mesh" 2 "$(stat1 .enrollment.enrolled)"
  # A SIGTERM'd agent unpinned its maps, so this one enrolled both afresh.
  assert_eq "[$sockmap] this agent enrolled both itself" 2 "$(stat1 .enrollment.addedSinceStart)"

  redirected=$(stat1 .capture.redirected)
  accepted=$(stat1 .proxy.connections.accepted)
  trace=$(cluster_state_dir)/run/fastpath-$sockmap.json
  cluster_node_exec n1 "$WEFT_TRACE_BIN" --bpffs-dir "$(cluster_bpffs_dir n1)" -o json --type fastpath_paired \
    --duration 4 >"$trace" 2>"$trace.err" &
  trace_pid=$!
  for _ in $(seq 50); do grep -q "tracing the flows" "$trace.err" 2>/dev/null && break; sleep 0.1; done
  ip=$(cluster_pod_ip "$local_server")
  assert_eq "[$sockmap] same node: served, and the app sees the server as its peer" "200 $ip" "$(fetch "$client" "http://$ip:8080/")"
  rc=0
  wait "$trace_pid" || rc=$?
  # Without this, a weft-trace that never ran would pass the sockmap-off check.
  assert_eq "[$sockmap] weft-trace traced the whole time and ended by --duration" "0 yes" \
    "$rc $(grep -q 'tracing the flows' "$trace.err" && echo yes || echo no)"
  paired() { jq -s "[.[] | select(.type == \"fastpath_paired\" and .reason_code == \"$1\")] | length" "$trace"; }
  if [[ $sockmap == on ]]; then
    assert_eq "[$sockmap] weft-trace: the client's and server's sockets joined the sockhash" true \
      "$( (($(paired sockhash_joined) >= 2)) && echo true || echo false)"
    assert_eq "[$sockmap] weft-trace: the relay went direct" true "$( (($(paired relay_direct) >= 1)) && echo true || echo false)"
  else
    assert_eq "[$sockmap] weft-trace: no fast path" 0 "$(jq -s length "$trace")"
  fi
  ip=$(cluster_pod_ip "$remote_server")
  assert_eq "[$sockmap] cross node: served, and the app sees the server as its peer" "200 $ip" "$(fetch "$client" "http://$ip:8080/")"
  assert_eq "[$sockmap] both connects were redirected" 2 $(($(stat1 .capture.redirected) - redirected))
  assert_eq "[$sockmap] and accepted by n1's proxy" 2 $(($(stat1 .proxy.connections.accepted) - accepted))
  if [[ $sockmap == on ]]; then
    assert_eq "[$sockmap] the same-node relay was joined in the kernel" true "$(stat1 '.proxy.fastPath.relaysJoined > 0')"
  else
    assert_eq "[$sockmap] no socket joined the sockhash" 0 "$(stat1 .proxy.fastPath.relaysJoined)"
  fi

  echo "-- not captured: a pod outside the mesh, an excluded port, the pod's own loopback"
  redirected=$(stat1 .capture.redirected)
  ip=$(cluster_pod_ip "$local_server")
  assert_eq "[$sockmap] outsider reaches the server directly" "200 $ip" "$(fetch "$outsider" "http://$ip:8080/")"
  assert_eq "[$sockmap] excluded port reached directly" "200 $ip" "$(fetch "$client" "http://$ip:8081/")"
  assert_eq "[$sockmap] none of these was redirected" 0 $(($(stat1 .capture.redirected) - redirected))
  assert_eq "[$sockmap] the excluded port was counted" true "$(stat1 '.capture.excludedPort > 0')"
  local_before=$(stat1 .capture.localDestination)
  assert_fail "[$sockmap] the pod's own loopback is not captured (nothing listens there)" \
    cluster_pod_exec "$client" curl -sS --max-time 2 http://127.0.0.1:8080/
  assert_eq "[$sockmap] counted as a local destination" 1 $(($(stat1 .capture.localDestination) - local_before))

  echo "-- failures reach the client at once"
  refused=$(stat1 .proxy.connectFailures.refused)
  start=$(date +%s%N)
  assert_fail "[$sockmap] connect to a closed port fails" fetch "$client" "http://$(cluster_pod_ip "$local_server"):9/"
  elapsed_ms=$((($(date +%s%N) - start) / 1000000))
  assert_eq "[$sockmap] ... quickly (${elapsed_ms} ms), not a hang" true "$([[ $elapsed_ms -lt 2000 ]] && echo true || echo false)"
  assert_eq "[$sockmap] counted as refused upstream" 1 $(($(stat1 .proxy.connectFailures.refused) - refused))

  agent_stop n1
  agent_stop n2
done

echo "== connect timeout: a destination that never answers"
start_agents
cluster_pod_exec n2-p3 ip link set eth0 down  # its node still routes to it; nothing answers
start=$(date +%s%N)
assert_fail "connect to a silent destination fails" fetch "$client" "http://$(cluster_pod_ip n2-p3):8080/"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
assert_eq "after about the 500 ms connect timeout (${elapsed_ms} ms)" true "$([[ $elapsed_ms -ge 400 && $elapsed_ms -lt 3000 ]] && echo true || echo false)"
assert_eq "counted as a connect timeout" 1 "$(stat1 .proxy.connectFailures.timeout)"

echo "== agent stopped with --keep-bpf: enrolled pods fail closed"
agent_stop n1
agent_start n1 --proxy-addr "$(cluster_node_gw n1)" --keep-bpf >/dev/null
agent_wait_ready n1
agent_stop n1
ip=$(cluster_pod_ip "$remote_server")
start=$(date +%s%N)
assert_fail "an enrolled pod cannot connect while the agent is down" fetch "$client" "http://$ip:8080/"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
assert_eq "it is refused at once (${elapsed_ms} ms), not let through" true "$([[ $elapsed_ms -lt 1000 ]] && echo true || echo false)"
assert_eq "a pod outside the mesh is unaffected" "200 $ip" "$(fetch "$outsider" "http://$ip:8080/")"

echo "== agent killed (-9): still fail closed; a restart adopts everything"
agent_start n1 --proxy-addr "$(cluster_node_gw n1)" --keep-bpf >/dev/null
agent_wait_ready n1
agent_stop n1 KILL
assert_fail "no bypass after a crash either" fetch "$client" "http://$ip:8080/"
agent_start n1 --proxy-addr "$(cluster_node_gw n1)" >/dev/null
agent_wait_ready n1
assert_eq "traffic flows again" "200 $ip" "$(fetch "$client" "http://$ip:8080/")"
assert_ok "the restarted agent adopted the pinned hooks" grep -q "capture hooks adopted" "$(agent_log n1)"
assert_eq "with both pods enrolled" 2 "$(stat1 .enrollment.enrolled)"
assert_eq "without re-enrolling any (the pinned map already had them)" 0 "$(stat1 .enrollment.addedSinceStart)"
agent_stop n1
agent_stop n2
assert_done
