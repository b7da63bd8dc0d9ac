#!/usr/bin/env bash
# The mTLS tunnel between nodes (issue 4), on a 2-node cluster: n1-p1 (client) and
# n2-p1 (servers) are enrolled in namespace demo with service account default;
# n1-p2 is outside the mesh. Proves, each with a positive control:
#   1. a cross-node request goes through an outbound tunnel n1 -> 198.18.0.2:15008
#      that carries the pods' SPIFFE identities;
#   2. 1 GiB each way crosses it intact (hash checked at both ends);
#   3. on the wire between the nodes there is only TCP to or from 15008, and a
#      known plaintext marker sent both ways never appears (while the same capture
#      of an outsider's plaintext shows it);
#   4. peers are rejected for the right reason: a server agent with another CA; a
#      server (openssl s_server) with a mesh-CA cert naming the wrong SPIFFE ID; and
#      clients (openssl s_client) with an expired SVID or one from another CA;
#      and, as a CA rotation does, agents of two CAs that each trust both
#      (trust-bundle.crt) are accepted;
#   5. SVIDs living 20 s are renewed under a 25 s request/response load without
#      one error;
#   6. 1,000 concurrent cross-node connections share at most one tunnel per worker.
# Run order: 1, 2, 3, 6 on agents with default settings; then 4, which replaces n2's
# agent; then 5, which restarts both with short-lived SVIDs. The agent_start of
# scripts/lib/agents.sh passes --node-ip and --ca-dir <state>/ca (the shared mesh CA).
source "$(dirname "$0")/lib/e2e.sh"
source "$(dirname "$0")/lib/test_certs.sh"
bench=$WEFT_BUILD_DIR/tools/weft-bench/weft-bench
[[ -x $bench ]] || { fail "weft-bench is built" "$bench missing"; assert_done; }
for tool in openssl tcpdump jq curl nginx; do
  command -v "$tool" >/dev/null || { fail "$tool is installed" "this test drives it"; assert_done; }
done

assert_cleanup cluster_down
cluster_up --nodes 2 --pods 2 --unenrolled 1 >/dev/null
e2e_show_agent_logs_on_failure n1 n2
client=n1-p1 server=n2-p1 outsider=n1-p2
server_ip=$(cluster_pod_ip "$server")
n2_ip=$(cluster_node_ip n2)
id=spiffe://cluster.local/ns/demo/sa/default  # both enrolled pods' identity
sni=default.demo.cluster.local                # the SNI that names it
workers=2
mesh_ca=$(cluster_state_dir)/ca  # agent_start's default --ca-dir
work=$(cluster_state_dir)/tunnel-test
mkdir -p "$work/www"

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

start_agent() { # NODE [weft-agent flags...]
  local node=$1
  shift
  agent_start "$node" --proxy-addr "$(cluster_node_gw "$node")" --workers "$workers" "$@" >/dev/null
}
start_agents() { # [weft-agent flags...]: both nodes, waits until both are ready
  start_agent n1 "$@" && start_agent n2 "$@" && agent_wait_ready n1 && agent_wait_ready n2
}
# The admin API through jq; prints "unavailable" when the agent or the field is not there,
# so that a missing endpoint fails a check instead of aborting the test.
admin_jq() { # NODE PATH FILTER [jq args...]
  local out
  out=$(agent_admin "$1" "$2" 2>/dev/null | jq -r "${@:4}" "$3" 2>/dev/null) || out=
  echo "${out:-unavailable}"
}
counter() { admin_jq "$1" /stats ".proxy.$2 // \"missing\""; }
# Sum of counters NAME... of NODE, or "unavailable".
counters() { # NODE NAME...
  local total=0 v name
  for name in "${@:2}"; do
    v=$(counter "$1" "$name")
    [[ $v =~ ^[0-9]+$ ]] || { echo unavailable; return; }
    total=$((total + v))
  done
  echo "$total"
}
cert_field() { # NODE FIELD: a field of the node's certificate for $id ("missing": no such cert)
  admin_jq "$1" /certs "[.certificates[]? | select(.identity == \$id)][0] |
    if . == null then \"missing\" else .$2 end" --arg id "$id"
}
is() { if "$@" 2>/dev/null; then echo true; else echo false; fi; }
secs_until() { # TIME (ISO 8601): seconds from now, or "not-a-time"
  local t
  t=$(date -u -d "$1" +%s 2>/dev/null) || { echo not-a-time; return; }
  echo $((t - $(date +%s)))
}
# Counter NAME of NODE moved by at least 1 since BEFORE (assert_moved), or not at all.
assert_moved() { # WHAT NODE NAME BEFORE
  local now
  now=$(counter "$2" "$3")
  assert_eq "$1 ($2 $3 $4 -> $now)" true "$(is test "$now" -gt "$4")"
}
assert_unmoved() { # WHAT NODE NAME BEFORE
  assert_eq "$1 ($2 $3)" "$4" "$(counter "$2" "$3")"
}
# Outbound tunnels of n1 to n2's agent with the pods' identities: "count streams".
# shellcheck disable=SC2016 # jq variables
outbound_tunnels() {
  admin_jq n1 /tunnels '[.tunnels[]? | select(.direction == "outbound" and .peer == $peer
      and .localIdentity == $id and .peerIdentity == $id)] | "\(length) \(map(.streams) | add // 0)"' \
    --arg peer "$n2_ip:15008" --arg id "$id"
}
# shellcheck disable=SC2016 # jq variables
inbound_tunnels() { # on n2: "count streams"
  admin_jq n2 /tunnels '[.tunnels[]? | select(.direction == "inbound"
      and .localIdentity == $id and .peerIdentity == $id)] | "\(length) \(map(.streams) | add // 0)"' --arg id "$id"
}
# A connection from the client pod that must be cut by the proxy after the app's
# connect succeeded (the tunnel behind it failed): weft-bench sees a reset (exit 0,
# ECONNRESET or EPIPE; a fast reset can land while connect is still being checked)
# or EOF (exit 6); not a refusal (ECONNREFUSED: no proxy), an answer (1) or a hang (4).
assert_cut() { # WHAT IP:PORT [weft-bench flags...]
  local what=$1 addr=$2 out rc=0
  shift 2
  out=$(cluster_pod_exec "$client" "$bench" expect-refused --connect "$addr" "$@" 2>/dev/null) || rc=$?
  if { ((rc == 0)) && [[ $(jq -r .errno_name <<<"$out" 2>/dev/null) =~ ^(ECONNRESET|EPIPE)$ ]]; } || ((rc == 6)); then
    pass "$what (exit $rc, $(jq -c '{phase, kind, errno_name}' <<<"$out" 2>/dev/null))"
  else
    fail "$what" "weft-bench expect-refused exit $rc: $out"
  fi
}
fetch() { # POD URL: "body http_code" as curl saw them
  cluster_pod_exec "$1" curl -sS --max-time 5 -w ' %{http_code}' "$2" 2>&1 | tr -d '\n' || true
}
# The nginx of n2-p1 seen from the client, allowing 5 s for a restarted agent to be
# reachable again (a fresh tunnel after the peer's restart): "body http_code".
fetch_after_restart() {
  local out
  for _ in $(seq 25); do
    out=$(fetch "$client" "http://$server_ip:8080/")
    [[ $out == "n2-p1 200" ]] && break
    sleep 0.2
  done
  echo "$out"
}
# A process started by cluster_spawn_* is gone (or a zombie waiting for init).
wait_gone() { # PID
  local st
  for _ in $(seq 100); do
    st=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true)
    [[ -z $st || $st == Z ]] && return 0
    sleep 0.05
  done
  echo "process $1 did not exit" >&2
  return 1
}
wait_log() { # FILE PATTERN [SECONDS]: until a line of FILE matches (grep -E)
  local end=$((SECONDS + ${3:-10}))
  until grep -qE "$2" "$1" 2>/dev/null; do
    ((SECONDS < end)) || { echo "no '$2' in $1 after ${3:-10}s" >&2; return 1; }
    sleep 0.05
  done
}

# openssl s_client from n1's netns to n2's tunnel port, as a mesh client presenting
# CERT.crt/.key: sends the HTTP/2 client preface and an empty SETTINGS frame, then
# reads for 2 s. $work/NAME.out gets the bytes received, NAME.err the diagnostics.
tls_client() { # NAME CERT [SNI]
  local name=$1 cert=$2 s=${3:-$sni}
  printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0' |
    cluster_node_exec n1 timeout 2 openssl s_client -connect "$n2_ip:15008" -tls1_3 -alpn h2 \
      -servername "$s" -cert "$cert.crt" -key "$cert.key" -CAfile "$mesh_ca/ca.crt" -verify_return_error \
      -quiet >"$work/$name.out" 2>"$work/$name.err" || true
}
# Type of the first HTTP/2 frame received by tls_client NAME (04: SETTINGS), or "none".
first_frame() {
  local t
  t=$(od -An -tx1 -j3 -N1 "$work/$1.out" 2>/dev/null | tr -d ' \n')
  echo "${t:-none}"
}
refusal_of() { # NAME: how tls_client NAME was refused: the TLS alert, or a bare reset
  local alert
  alert=$(grep -o 'alert [a-z ]*' "$work/$1.err" | head -n1)
  if [[ -n $alert ]]; then echo "$alert"; elif grep -q 'errno=104' "$work/$1.err"; then
    echo "connection reset, no TLS alert"; else echo "neither alert nor reset"; fi
}

# openssl s_server in n2's netns on its tunnel port, as a mesh server presenting
# CERT.crt/.key; prints its pid once it listens. Its log is $work/NAME.log.
# It logs every TLS message (-msg), from which client_hello_has reads the ClientHello
# (its own SNI check would switch to a second context that loses the ALPN setting).
s_server() { # NAME CERT: requires a client cert of the mesh CA, TLS 1.3, ALPN h2;
  # its stdin is a FIFO it holds open (EOF on stdin stops s_server).
  local pid
  [[ -p $work/stdin ]] || mkfifo "$work/stdin"
  # shellcheck disable=SC2016 # expanded by that sh
  pid=$(cluster_spawn_on_node --log "$work/$1.log" n2 sh -c 'exec openssl s_server "$@" <>"$0"' "$work/stdin" \
    -accept "$n2_ip:15008" -tls1_3 -alpn h2 -cert "$2.crt" -key "$2.key" \
    -CAfile "$mesh_ca/ca.crt" -Verify 2 -verify_return_error -msg) || return 1
  wait_log "$work/$1.log" '^ACCEPT' 5 || return 1
  echo "$pid"
}
# True when the first ClientHello in s_server log NAME contains the bytes of STRING.
client_hello_has() { # NAME STRING
  local hello want
  hello=$(awk '/ClientHello$/ { on = 1; next } on && /^    [0-9a-f]/ { printf "%s", $0; next } on { exit }' \
    "$work/$1.log" | tr -d ' ')
  want=$(printf '%s' "$2" | od -An -tx1 | tr -d ' \n')
  [[ -n $hello && $hello == *"$want"* ]]
}

# Packet capture on n1's link to the fabric (every packet between the nodes).
# --immediate-mode: without it packets wait in the kernel's ring for a block timeout,
# and those still there at SIGINT are counted "received by filter" but never written.
capture_start() { # NAME: prints tcpdump's pid once it is capturing
  local pid
  pid=$(cluster_spawn_on_node --log "$work/$1.tcpdump.log" n1 tcpdump -i fab0 -nn -s 0 -B 16384 \
    --immediate-mode -U -Z root -c 200000 -w "$work/$1.pcap" tcp) || return 1
  wait_log "$work/$1.tcpdump.log" '^tcpdump: listening on' 5 || return 1
  echo "$pid"
}
capture_stop() { # PID NAME: stops tcpdump (after a moment for the last packets)
  sleep 0.5
  kill -INT "$1" 2>/dev/null || true
  wait_log "$work/$2.tcpdump.log" 'dropped by kernel' 10 && wait_gone "$1"
}
# "captured received dropped" from tcpdump's final counts.
capture_counts() { # NAME
  awk '/packets captured/ { c = $1 } /received by filter/ { r = $1 } /dropped by kernel/ { d = $1 }
       END { print c + 0, r + 0, d + 0 }' "$work/$1.tcpdump.log"
}
pcap_lines() { tcpdump -nn -q -r "$work/$1.pcap" "$2" 2>/dev/null || true; }
# Sum of the TCP payload lengths of the packets matching FILTER.
pcap_payload() { pcap_lines "$1" "$2" | awk '{ s += $NF } END { print s + 0 }'; }
pcap_marker_count() { grep -a -o "$marker" "$work/$1.pcap" | wc -l; }

# The servers in n2-p1: weft-bench (9000; HTTP too), nginx (8080, says "n2-p1"),
# and nginx serving the marker file (8090).
cluster_spawn_in_pod "$server" "$bench" serve --listen "$server_ip:9000" >/dev/null
cluster_spawn_nginx "$server" 8080 >/dev/null
marker=weft-plaintext-marker-$(openssl rand -hex 8)
yes "$marker" | head -c $((1024 * 1024)) >"$work/www/marker.txt" || true
cluster_spawn_nginx_files "$server" 8090 "$work/www" >/dev/null
for port in 9000 8080 8090; do cluster_wait_tcp "$outsider" "$server_ip" "$port"; done

# ---------------------------------------------------------------------------
echo "== 1. cross-node request through the tunnel"
start_agents
assert_ok "the agents made the mesh CA in $mesh_ca" test -s "$mesh_ca/ca.crt" -a -s "$mesh_ca/ca.key"
assert_eq "n1 -> n2-p1: served through the proxy" "n2-p1 200" "$(fetch "$client" "http://$server_ip:8080/")"
read -r count streams <<<"$(outbound_tunnels)"
assert_eq "n1 has an outbound tunnel to $n2_ip:15008 from $id to $id" true "$(is test "$count" -ge 1)"
read -r count streams <<<"$(inbound_tunnels)"
assert_eq "n2 has the matching inbound tunnel" true "$(is test "$count" -ge 1)"
assert_eq "n1 opened a tunnel and a stream" true \
  "$(is test "$(counter n1 tunnelsOpened)" -ge 1 -a "$(counter n1 streamsOpened)" -ge 1)"
assert_eq "n2 accepted a tunnel and a stream" true \
  "$(is test "$(counter n2 tunnelsAccepted)" -ge 1 -a "$(counter n2 streamsAccepted)" -ge 1)"
assert_cut "a refused port on the remote pod resets the app's connection" "$server_ip:9999"
assert_eq "/certs names the trust domain" cluster.local "$(admin_jq n1 /certs .trustDomain)"
for node in n1 n2; do
  assert_eq "$node has an SVID for $id without error" null "$(cert_field "$node" lastError)"
  left=$(secs_until "$(cert_field "$node" notAfter)")
  assert_eq "$node's SVID lives about a day (default lifetime; ${left}s left)" true \
    "$(is test "$left" -gt 86000 -a "$left" -le 86405)"
done

# ---------------------------------------------------------------------------
echo "== 2. 1 GiB each way, hash checked at both ends"
gib=$((1024 * 1024 * 1024))
for direction in up down; do
  before=$(counter n1 streamsOpened)
  out=$(cluster_pod_exec "$client" "$bench" bulk --connect "$server_ip:9000" --bytes "$gib" \
    --direction "$direction" 2>/dev/null) || true
  assert_eq "1 GiB $direction across the tunnel: verified" true "$(jq .verified <<<"$out" 2>/dev/null)"
  assert_moved "... as a tunnel stream" n1 streamsOpened "$before"
  echo "   ($(jq -r '"\(.gbps * 100 | round / 100) Gbit/s"' <<<"$out" 2>/dev/null))"
done
assert_eq "pooled: n1 opened at most one tunnel per worker so far" true \
  "$(is test "$(counter n1 tunnelsOpened)" -le "$workers")"

# ---------------------------------------------------------------------------
echo "== 3. on the wire between the nodes: only TLS on 15008, no plaintext"
pid=$(capture_start tunnel)
assert_eq "download of the marker file through the tunnel" "200 $((1024 * 1024))" \
  "$(cluster_pod_exec "$client" curl -sS --max-time 10 -o "$work/got.txt" -w '%{http_code} %{size_download}' \
    "http://$server_ip:8090/marker.txt" 2>&1 || true)"
assert_ok "... and it arrived intact" cmp "$work/www/marker.txt" "$work/got.txt"
assert_eq "upload of the marker file through the tunnel" "200 $((1024 * 1024))" \
  "$(cluster_pod_exec "$client" curl -sS --max-time 10 -H 'Expect:' --data-binary "@$work/www/marker.txt" \
    -o /dev/null -w '%{http_code} %{size_upload}' "http://$server_ip:9000/" 2>&1 || true)"
capture_stop "$pid" tunnel
read -r captured received dropped <<<"$(capture_counts tunnel)"
assert_eq "the capture is complete: every packet the filter took was written, none dropped" \
  "$received 0" "$captured $dropped"
tunnel_bytes=$(pcap_payload tunnel 'tcp port 15008')
assert_eq "the capture holds both transfers on port 15008 (${tunnel_bytes} bytes)" true \
  "$(is test "$tunnel_bytes" -ge $((2 * 1024 * 1024)))"
others=$(pcap_lines tunnel 'tcp and not port 15008')
assert_empty "no TCP packet between the nodes is off port 15008" "$others"
assert_eq "the marker never appears on the wire" 0 "$(pcap_marker_count tunnel)"
# Positive control: the same capture and search find the marker in plaintext.
pid=$(capture_start plain)
assert_eq "control: the outsider downloads the marker file in plaintext" "200 $((1024 * 1024))" \
  "$(cluster_pod_exec "$outsider" curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{size_download}' \
    "http://$server_ip:8090/marker.txt" 2>&1 || true)"
capture_stop "$pid" plain
assert_eq "control: the capture sees that traffic off port 15008" true \
  "$(is test "$(pcap_lines plain 'tcp port 8090' | wc -l)" -gt 0)"
assert_eq "control: and the marker in it" true "$(is test "$(pcap_marker_count plain)" -gt 1000)"

# ---------------------------------------------------------------------------
echo "== 6. 1,000 concurrent cross-node connections over pooled tunnels"
cluster_pod_exec "$client" "$bench" idle --connect "$server_ip:9000" --connections 1000 --hold 6 \
  >"$work/idle.json" 2>"$work/idle.err" &
idle_pid=$!
if wait_log "$work/idle.err" '^ready 1000' 30; then
  read -r count streams <<<"$(outbound_tunnels)"
  assert_eq "while held: n1's streams to n2 ($streams) are on 1..$workers tunnels ($count)" true \
    "$(is test "$count" -ge 1 -a "$count" -le "$workers")"
  assert_eq "... and carry all 1,000 connections" true "$(is test "$streams" -ge 1000)"
  read -r count streams <<<"$(inbound_tunnels)"
  assert_eq "n2 sees the same: $streams streams on $count tunnels" true \
    "$(is test "$count" -ge 1 -a "$count" -le "$workers" -a "$streams" -ge 1000)"
else
  fail "1,000 connections established" "$(tail -n 3 "$work/idle.err" | tr '\n' '|')"
fi
wait "$idle_pid" || true
out=$(cat "$work/idle.json")
assert_eq "all 1,000 established and verified at the end" "1000 1000 0" \
  "$(jq -r '"\(.established) \(.verified_at_end) \(.errors)"' <<<"$out" 2>/dev/null ||
    echo "$out $(tail -n 2 "$work/idle.err")")"
for _ in $(seq 50); do [[ $(outbound_tunnels) == *" 0" ]] && break; sleep 0.1; done
assert_eq "their streams are gone once closed" 0 "$(outbound_tunnels | awk '{ print $2 }')"

# ---------------------------------------------------------------------------
echo "== 4a. clients at n2's agent (openssl s_client): only a valid SVID of the mesh CA"
certs_make_svid "$work/tester" spiffe://cluster.local/ns/demo/sa/tester "$mesh_ca"
certs_make_svid "$work/expired" spiffe://cluster.local/ns/demo/sa/tester "$mesh_ca" \
  "$(certs_time -172800)" "$(certs_time -86400)"
certs_make_ca "$work/foreign-ca" "a foreign CA"
certs_make_svid "$work/foreign" spiffe://cluster.local/ns/demo/sa/tester "$work/foreign-ca"
assert_ok "control: the valid test SVID verifies against the mesh CA" \
  openssl verify -CAfile "$mesh_ca/ca.crt" "$work/tester.crt"
assert_contains "the expired one fails for its date" \
  "$(openssl verify -CAfile "$mesh_ca/ca.crt" "$work/expired.crt" 2>&1 || true)" "certificate has expired"
assert_contains "the foreign one fails for its issuer" \
  "$(openssl verify -CAfile "$mesh_ca/ca.crt" "$work/foreign.crt" 2>&1 || true)" "unable to get local issuer"

# tunnelsAccepted counts TCP accepts; a refused handshake shows in these two.
failures=$(counters n2 tunnelHandshakeFailures tunnelPeerRejected)
tls_client valid "$work/tester"
assert_eq "control: a valid SVID completes the handshake and gets the server's SETTINGS" 04 "$(first_frame valid)"
assert_eq "... and n2 counts no failure" "$failures" "$(counters n2 tunnelHandshakeFailures tunnelPeerRejected)"
cluster_node_exec n1 timeout 3 openssl s_client -connect "$n2_ip:15008" -tls1_3 -alpn h2 -servername "$sni" \
  -cert "$work/tester.crt" -key "$work/tester.key" -CAfile "$mesh_ca/ca.crt" -verify_return_error \
  </dev/null 2>/dev/null | sed -n '/BEGIN CERT/,/END CERT/p' >"$work/n2-server.crt" || true
assert_eq "n2 presents the SVID of $id for SNI $sni" "$id" "$(certs_uri "$work/n2-server.crt")"
assert_eq "... the one listed in its /certs" "$(cert_field n2 serial | tr -d ':' | tr 'A-F' 'a-f' | sed 's/^0*//')" \
  "$(certs_serial "$work/n2-server.crt")"
tls_client unknown_sni "$work/tester" nobody.demo.cluster.local
assert_eq "an SNI naming no identity on n2 aborts the handshake" "none" "$(first_frame unknown_sni)"

for bad in expired foreign; do
  failures=$(counters n2 tunnelHandshakeFailures tunnelPeerRejected)
  tls_client "$bad" "$work/$bad"
  assert_eq "client SVID $bad: no HTTP/2 from n2" none "$(first_frame "$bad")"
  assert_eq "... it is refused on the first read with the TLS alert that says why" true \
    "$(is grep -q 'alert' "$work/$bad.err")"
  echo "   (${bad}: $(refusal_of "$bad"))"
  now=$(counters n2 tunnelHandshakeFailures tunnelPeerRejected)
  assert_eq "... n2 counted the rejection ($failures -> $now)" true "$(is test "$now" -gt "$failures")"
done

# ---------------------------------------------------------------------------
echo "== 4b. n2's agent with another CA: n1 refuses it"
agent_stop n2
start_agent n2 --ca-dir "$work/other-ca"
agent_wait_ready n2
assert_ok "n2 made its own CA" test -s "$work/other-ca/ca.crt"
assert_fail "... a different one" cmp -s "$mesh_ca/ca.crt" "$work/other-ca/ca.crt"
failures=$(counter n1 tunnelHandshakeFailures)
assert_cut "n1 -> n2-p1 is cut" "$server_ip:9000"
assert_moved "... because n1's handshake with n2 failed" n1 tunnelHandshakeFailures "$failures"

echo "== 4b'. a CA rotation: n1 and n2 sign with different CAs but each trusts both (trust-bundle.crt)"
cp "$work/other-ca/ca.crt" "$mesh_ca/trust-bundle.crt"
cp "$mesh_ca/ca.crt" "$work/other-ca/trust-bundle.crt"
agent_stop n1
agent_stop n2
start_agent n1
start_agent n2 --ca-dir "$work/other-ca"
agent_wait_ready n1 && agent_wait_ready n2
assert_eq "n1 -> n2-p1 works across the two CAs" "n2-p1 200" "$(fetch_after_restart)"
assert_ok "n1's log names the extra trust anchors" grep -q "trust-bundle.crt besides" "$(agent_log n1)"
rm -f "$mesh_ca/trust-bundle.crt" "$work/other-ca/trust-bundle.crt"
agent_stop n1
agent_stop n2
start_agent n1
start_agent n2
agent_wait_ready n1 && agent_wait_ready n2
assert_eq "control: with the mesh CA again, n1 -> n2-p1 works" "n2-p1 200" "$(fetch_after_restart)"

# ---------------------------------------------------------------------------
echo "== 4c. a server (openssl s_server) on $n2_ip:15008 with a mesh-CA cert for the wrong SPIFFE ID"
agent_stop n2
certs_make_svid "$work/other-id" spiffe://cluster.local/ns/demo/sa/other "$mesh_ca"
certs_make_svid "$work/right-id" "$id" "$mesh_ca"
rejected=$(counter n1 tunnelPeerRejected)
pid=$(s_server wrong-id-server "$work/other-id")
assert_cut "n1 -> n2-p1 is cut" "$server_ip:9000" --io-timeout-ms 3000
assert_moved "... because n1 rejected the server's SPIFFE ID" n1 tunnelPeerRejected "$rejected"
assert_fail "... before any HTTP/2 reached the server" grep -q 'PRI \* HTTP/2.0' "$work/wrong-id-server.log"
assert_ok "... and n1's log names the identity it expected" grep -q "expected $id" "$(agent_log n1)"
kill "$pid" 2>/dev/null || true
wait_gone "$pid"
# Positive control: the same server with the right ID is accepted by n1.
rejected=$(counter n1 tunnelPeerRejected)
pid=$(s_server right-id-server "$work/right-id")
cluster_pod_exec "$client" "$bench" expect-refused --connect "$server_ip:9000" --io-timeout-ms 2000 \
  >/dev/null 2>&1 || true
wait_log "$work/right-id-server.log" 'PRI \* HTTP/2.0' 3 || true
assert_ok "control: with the right ID, n1 completes the handshake and starts HTTP/2" \
  grep -q 'PRI \* HTTP/2.0' "$work/right-id-server.log"
assert_unmoved "... without a rejection" n1 tunnelPeerRejected "$rejected"
assert_ok "n1 sent SNI $sni" client_hello_has right-id-server "$sni"
assert_ok "... offered ALPN h2" grep -q 'ALPN protocols advertised by the client: h2' "$work/right-id-server.log"
assert_ok "... negotiated TLS 1.3" grep -qE 'CIPHER is TLS_AES_(128|256)_GCM_SHA(256|384)' "$work/right-id-server.log"
sed -n '/^Client certificate/,/END CERTIFICATE/p' "$work/right-id-server.log" | sed 1d >"$work/n1-client.crt"
assert_eq "... and presented the source pod's SVID (verified by s_server against the mesh CA)" "$id" \
  "$(certs_uri "$work/n1-client.crt")"
kill "$pid" 2>/dev/null || true
wait_gone "$pid"

# ---------------------------------------------------------------------------
echo "== 5. rotation: SVIDs living 20 s renewed under load"
agent_stop n1
start_agents --svid-lifetime-s 20
assert_eq "control: cross-node works again" "n2-p1 200" "$(fetch_after_restart)"
declare -A serial
for node in n1 n2; do
  serial[$node]=$(cert_field "$node" serial)
  left=$(secs_until "$(cert_field "$node" notAfter)")
  renew=$(secs_until "$(cert_field "$node" renewAt)")
  assert_eq "$node's SVID lives 20 s (${left}s left) and renews before it ends (in ${renew}s)" true \
    "$(is test "$left" -gt 0 -a "$left" -le 21 -a "$renew" -lt "$left")"
done
out=$(cluster_pod_exec "$client" "$bench" rr --connect "$server_ip:9000" --connections 4 --rate 200 \
  --duration 25 2>/dev/null) || true
assert_eq "25 s of requests across the renewals: no error" 0 "$(jq .errors <<<"$out" 2>/dev/null)"
assert_eq "... and the load ran throughout (>= 4,900 of 5,000 requests answered)" true \
  "$(jq '.requests >= 4900' <<<"$out" 2>/dev/null)"
echo "   ($(jq -c '{requests, unsent, p99_us: .latency_us.p99}' <<<"$out" 2>/dev/null))"
for node in n1 n2; do
  now=$(cert_field "$node" serial)
  assert_eq "$node renewed its SVID (serial ${serial[$node]} -> $now)" true \
    "$(is test "$now" != "${serial[$node]}" -a "$now" != unavailable -a "$now" != missing)"
  assert_eq "... without error" null "$(cert_field "$node" lastError)"
done
# A new connection rides a tunnel made with the SVID current when it opened (tried
# again if a renewal fell in between).
for _ in 1 2 3; do
  current=$(cert_field n1 serial)
  out=$(fetch "$client" "http://$server_ip:8080/")
  [[ $(cert_field n1 serial) == "$current" ]] && break
done
assert_eq "a new connection after the renewals works" "n2-p1 200" "$out"
# shellcheck disable=SC2016 # jq variables
assert_eq "... on a tunnel made with n1's current SVID" true \
  "$(admin_jq n1 /tunnels '[.tunnels[]? | select(.direction == "outbound" and .svidSerial == $s)] | length > 0' \
    --arg s "$current")"

agent_stop n1
agent_stop n2
assert_done
