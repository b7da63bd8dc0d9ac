#!/usr/bin/env bash
# The mTLS tunnel between nodes, on a 2-node cluster: cross-node connections
# between enrolled pods travel only inside TLS 1.3 on port 15008 (a capture
# on the link between the nodes sees nothing else and none of the payload);
# 1 GiB each way arrives intact; peers from another CA, with an expired
# certificate or with another SPIFFE ID are refused (each against a positive
# control that gets further); certificates rotate under a running load
# without an error; 1,000 concurrent connections share the pooled tunnels.
source "$(dirname "$0")/lib/e2e.sh"
source "$(dirname "$0")/lib/test_certs.sh"

BENCH=$WEFT_BUILD_DIR/tools/weft-bench/weft-bench
work=$(mktemp -d)
assert_cleanup cluster_down
assert_cleanup rm -rf "$work"
cluster_up --nodes 2 --pods 1 >/dev/null
client=n1-p1
server=n2-p1
server_ip=$(cluster_pod_ip "$server")
n2_ip=$(cluster_node_ip n2)
cluster_ca=$(cluster_state_dir)/ca
default_id=spiffe://cluster.local/ns/demo/sa/default
cluster_spawn_in_pod "$server" "$BENCH" serve --listen 0.0.0.0:9000 >/dev/null
mkdir -p "$work/www" && for i in $(seq 200); do echo "MARKER-PLAINTEXT-$i"; done >"$work/www/index.html"
cluster_spawn_in_pod "$server" python3 -m http.server 8080 --bind 0.0.0.0 --directory "$work/www" >/dev/null

start_agent() { # NODE [flags...]
  local node=$1
  shift
  agent_start "$node" --proxy-addr "$(cluster_node_gw "$node")" --connect-timeout-ms 1000 "$@" >/dev/null
  agent_wait_ready "$node"
}
counter() { agent_admin "$1" /stats | jq "$2"; }
fetch() { cluster_pod_exec "$client" curl -sS --max-time 3 -o /dev/null -w '%{http_code}' "http://$server_ip:8080/" 2>/dev/null; }
bench() { cluster_pod_exec "$client" "$BENCH" "$@" 2>/dev/null; }

start_agent n1
start_agent n2
cluster_wait_tcp "$client" "$server_ip" 9000

echo "== cross-node traffic goes through the tunnel"
assert_eq "curl across nodes is served" 200 "$(fetch)"
tunnels=$(agent_admin n1 /tunnels)
assert_eq "n1 lists an outbound tunnel to n2's 15008" true \
  "$(jq --arg p "$n2_ip:15008" '[.tunnels[] | select(.direction == "outbound" and .peer == $p)] | length > 0' <<<"$tunnels")"
assert_eq "presenting the client pod's identity and proving the server pod's" "$default_id $default_id" \
  "$(jq -r '[.tunnels[] | select(.direction == "outbound")][0] | "\(.localIdentity) \(.peerIdentity)"' <<<"$tunnels")"
assert_eq "n2 accepted it as an inbound tunnel" true "$(counter n2 '.proxy.tunnelsAccepted > 0 and .proxy.streamsAccepted > 0')"
certs=$(agent_admin n2 /certs)
assert_eq "n2 lists the SVID of its pod's identity" "$default_id" "$(jq -r '.certificates[0].identity' <<<"$certs")"
assert_eq "with serial and validity" true "$(jq '.certificates[0] | (.serial | length > 0) and (.notBefore < .notAfter)' <<<"$certs")"

echo "== 1 GiB each way, verified at both ends"
for direction in up down; do
  out=$(bench bulk --connect "$server_ip:9000" --bytes 1G --direction "$direction") || true
  assert_eq "1 GiB $direction: verified" true "$(jq '.verified' <<<"$out")"
  echo "   ($(jq -r '.gbps * 100 | round / 100' <<<"$out") Gbit/s)"
done

echo "== the link between the nodes carries only TLS on 15008"
pcap=$work/link.pcap
cluster_spawn_on_node n1 timeout 8 tcpdump -i fab0 -n -U -s 0 -w "$pcap" tcp >/dev/null
sleep 1
for _ in 1 2 3; do fetch >/dev/null; done
bench rr --connect "$server_ip:9000" --connections 4 --requests 2000 >/dev/null || true
sleep 1
pkill -f "tcpdump -i fab0 -n -U -s 0 -w $pcap" || true
sleep 0.5
ports=$(tcpdump -r "$pcap" -n 2>/dev/null | awk '{print $3" "$5}' | grep -vE "\.15008( |:|$)|\.15008:$" | grep -cv '^$' || true)
packets=$(tcpdump -r "$pcap" -n 2>/dev/null | wc -l)
assert_eq "packets were captured" 1 "$((packets > 20))"
assert_eq "every TCP packet between the nodes is to or from port 15008" 0 "$ports"
assert_eq "the payload never appears in the clear" 0 "$(tcpdump -r "$pcap" -A 2>/dev/null | grep -c MARKER-PLAINTEXT || true)"

echo "== a refused destination port resets the app's connection"
assert_ok "connect to a closed port on the remote pod ends in a refusal or reset" \
  bench expect-refused --connect "$server_ip:9999" --timeout-ms 3000

echo "== rejected peers"
# n2 with a CA of its own: n1 cannot verify it.
agent_stop n2
start_agent n2 --ca-dir "$work/other-ca"
failures=$(counter n1 .proxy.tunnelHandshakeFailures)
assert_eq "a peer whose certificate comes from another CA: the connection fails" 000 "$(fetch)"
assert_eq "and n1 counts a failed handshake" 1 "$(($(counter n1 .proxy.tunnelHandshakeFailures) > failures))"
agent_stop n2

# A fake n2 (openssl) with certificates of the right CA.
fake_server() { # CERT_PREFIX: openssl s_server on n2's 15008 until killed
  cluster_spawn_on_node n2 openssl s_server -accept "$n2_ip:15008" -tls1_3 -alpn h2 \
    -cert "$1.crt" -key "$1.key" -CAfile "$cluster_ca/ca.crt" -Verify 1 -quiet >/dev/null
  sleep 0.5
}
stop_fake() { pkill -f "s_server -accept $n2_ip:15008" || true; sleep 0.3; }
certs_make_svid "$work/other" spiffe://cluster.local/ns/demo/sa/other "$cluster_ca"
certs_make_svid "$work/right" "$default_id" "$cluster_ca"
rejected=$(counter n1 .proxy.tunnelPeerRejected)
fake_server "$work/right"
fetch >/dev/null || true
stop_fake
assert_eq "control: a server proving the expected identity passes n1's identity check" "$rejected" "$(counter n1 .proxy.tunnelPeerRejected)"
fake_server "$work/other"
assert_eq "a server proving another SPIFFE ID: the connection fails" 000 "$(fetch)"
stop_fake
assert_eq "and n1 rejects the peer for its identity" 1 "$(($(counter n1 .proxy.tunnelPeerRejected) > rejected))"
grep -q "expected $default_id" "$(agent_log n1)" && pass "n1's log names the expected identity" || fail "n1's log names the expected identity"

# Clients presenting certificates to the real n2.
start_agent n2
certs_make_svid "$work/expired" "$default_id" "$cluster_ca" 20200101000000Z 20200102000000Z
certs_make_ca "$work/rogue-ca"
certs_make_svid "$work/rogue" "$default_id" "$work/rogue-ca"
handshake() { # CERT_PREFIX: a TLS 1.3 client to n2's tunnel port
  cluster_node_exec n1 timeout 5 openssl s_client -connect "$n2_ip:15008" -servername default.demo.cluster.local \
    -alpn h2 -tls1_3 -cert "$1.crt" -key "$1.key" -CAfile "$cluster_ca/ca.crt" </dev/null >/dev/null 2>&1 || true
  sleep 0.3
}
failures=$(counter n2 .proxy.tunnelHandshakeFailures)
handshake "$work/right"
assert_eq "control: a valid client certificate is accepted by n2" "$failures" "$(counter n2 .proxy.tunnelHandshakeFailures)"
handshake "$work/expired"
assert_eq "an expired client certificate is refused by n2" $((failures + 1)) "$(counter n2 .proxy.tunnelHandshakeFailures)"
handshake "$work/rogue"
assert_eq "a client certificate from another CA is refused by n2" $((failures + 2)) "$(counter n2 .proxy.tunnelHandshakeFailures)"
assert_eq "and the mesh still works" 200 "$(fetch)"

echo "== rotation under load"
agent_stop n1
agent_stop n2
start_agent n1 --svid-lifetime-s 16
start_agent n2 --svid-lifetime-s 16
serial=$(agent_admin n1 /certs | jq -r '.certificates[0].serial')
out=$(bench rr --connect "$server_ip:9000" --connections 4 --duration 20 --rate 1000) || true
assert_eq "20 s of requests across two renewals: no error" 0 "$(jq '.errors' <<<"$out")"
assert_eq "all of them answered" true "$(jq '.requests > 15000' <<<"$out")"
assert_eq "n1's certificate was renewed meanwhile" true \
  "$(agent_admin n1 /certs | jq --arg s "$serial" '.certificates[0].serial != $s')"
fetch >/dev/null
serial=$(agent_admin n1 /certs | jq -r '.certificates[0].serial')
assert_eq "a connection opened after the renewal rides a tunnel made with the new certificate" true \
  "$(agent_admin n1 /tunnels | jq --arg s "$serial" '[.tunnels[] | select(.direction == "outbound" and .svidSerial == $s)] | length > 0')"

echo "== 1,000 concurrent cross-node connections over pooled tunnels"
workers=$(counter n1 .proxy.workers)
log=$work/idle.log
cluster_pod_exec "$client" "$BENCH" idle --connect "$server_ip:9000" --connections 1000 --hold 10 >"$work/idle.json" 2>"$log" &
idle=$!
# The connections are up and verified once idle says "ready"; it then holds
# them 10 s, while the tunnels are listed.
for _ in $(seq 600); do grep -q '^ready' "$log" 2>/dev/null && break; sleep 0.1; done
assert_contains "the 1,000 connections were all up within 60 s" "$(cat "$log")" "ready 1000"
tunnels=$(agent_admin n1 /tunnels)
wait "$idle" || true
assert_eq "all 1,000 established and verified" 1000 "$(jq '.established' <"$work/idle.json")"
assert_eq "carried as streams of the tunnels to n2 (while held)" 1000 \
  "$(jq '[.tunnels[] | select(.direction == "outbound") | .streams] | add' <<<"$tunnels")"
assert_eq "over at most one live tunnel per worker" true \
  "$(jq --argjson w "$workers" '[.tunnels[] | select(.direction == "outbound" and (.draining | not))] | length <= $w' <<<"$tunnels")"

assert_done
