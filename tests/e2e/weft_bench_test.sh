#!/usr/bin/env bash
# weft-bench against its own server on loopback: every client mode moves and
# verifies its data, the HTTP responder answers, and failures come out with
# the documented exit codes and JSON (refused 3, timeout 4, usage 2, accepted
# when a refusal was expected 1). Needs neither root nor a cluster.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/assert.sh"

build=${WEFT_BUILD_DIR:-/work/main/build}
bench=$build/tools/weft-bench/weft-bench
work=$(mktemp -d)
assert_cleanup rm -rf "$work"

if [[ ! -x $bench ]]; then
  fail "weft-bench is built" "$bench not found; run: ninja -C $build weft-bench"
  assert_done
fi
if ! command -v jq >/dev/null; then
  fail "jq is installed" "the checks read weft-bench's JSON with jq"
  assert_done
fi

# Runs weft-bench; its JSON goes to $out, its exit status to $rc.
run() {
  local name=$1
  shift
  rc=0
  "$bench" "$@" >"$work/$name.json" 2>"$work/$name.err" || rc=$?
  out=$(cat "$work/$name.json")
}
field() { jq -r "$1" <<<"$out"; }

# Starts a server on a free port; sets $addr and $server_pid.
start_server() {
  local log=$1
  "$bench" serve --listen 127.0.0.1:0 2>"$log" &
  server_pid=$!
  for _ in $(seq 50); do
    grep -q '^listening ' "$log" 2>/dev/null && break
    sleep 0.1
  done
  addr=$(sed -n 's/^listening //p' "$log")
}

echo "== serve"
start_server "$work/serve.err"
main_pid=$server_pid
assert_cleanup kill -CONT "$main_pid"
assert_cleanup kill "$main_pid"
[[ -n $addr ]] || { fail "server reports its address" "$(cat "$work/serve.err")"; assert_done; }
pass "server listening on $addr"
addr_main=$addr
port=${addr##*:}

echo "== bulk"
run bulk_up bulk --connect "$addr" --bytes 256M
assert_eq "bulk up exits 0" 0 "$rc"
assert_eq "bulk up verified (count and XXH64 from the sink after half-close)" true "$(field .verified)"
assert_eq "bulk up moved 256 MiB" 268435456 "$(field .bytes)"
assert_eq "bulk up reports a throughput" true "$(field '.gbps > 0')"
echo "   bulk up: $(field .gbps) Gbit/s"

run bulk_down bulk --connect "$addr" --bytes 256M --direction down --streams 4
assert_eq "bulk down (4 streams) exits 0" 0 "$rc"
assert_eq "bulk down verified byte by byte" true "$(field .verified)"
assert_eq "bulk down used 4 streams" 4 "$(field .streams)"
echo "   bulk down: $(field .gbps) Gbit/s"

run bulk_odd bulk --connect "$addr" --bytes 1000001 --chunk-size 777 --streams 3
assert_eq "bulk with ragged sizes verified" true "$(field .verified)"

echo "== rr"
run rr_closed rr --connect "$addr" --connections 8 --duration 2
assert_eq "rr closed loop exits 0" 0 "$rc"
assert_eq "rr closed loop: no errors" 0 "$(field .errors)"
assert_eq "rr closed loop: all 8 connections established" 8 "$(field .established)"
assert_eq "rr closed loop: requests completed" true "$(field '.requests > 1000')"
assert_eq "rr closed loop: percentiles ordered" true \
  "$(field '.latency_us | .p50 > 0 and .p50 <= .p90 and .p90 <= .p99 and .p99 <= .p999 and .p999 <= .max')"
echo "   rr closed, 8 connections: $(field .rps) requests/s, p50 $(field .latency_us.p50) us"

run rr_open rr --connect "$addr" --connections 4 --duration 2 --rate 2000
assert_eq "rr open loop exits 0" 0 "$rc"
assert_eq "rr open loop: no errors" 0 "$(field .errors)"
assert_eq "rr open loop: reported as open" open "$(field .loop)"
assert_eq "rr open loop: 2000/s for 2 s is 4000 requests (+-2%)" true "$(field '.requests >= 3920 and .requests <= 4080')"

run rr_count rr --connect "$addr" --connections 3 --requests 1000 --request-size 1000 --response-size 100K
assert_eq "rr --requests 1000 with large responses exits 0" 0 "$rc"
assert_eq "rr --requests does exactly that many" 1000 "$(field .requests)"

echo "== churn"
run churn churn --connect "$addr" --connections 4 --duration 1
assert_eq "churn exits 0" 0 "$rc"
assert_eq "churn: no errors" 0 "$(field .errors)"
assert_eq "churn: connections completed" true "$(field '.connections > 100 and .cps > 0')"
assert_eq "churn: connect latency reported" true "$(field '.connect_us.p50 > 0')"
echo "   churn, 4 in flight: $(field .cps) connections/s"

echo "== idle"
run idle idle --connect "$addr" --connections 200 --hold 1
assert_eq "idle exits 0" 0 "$rc"
assert_eq "idle: 200 established" 200 "$(field .established)"
assert_eq "idle: 200 verified after the hold" 200 "$(field .verified_at_end)"
assert_contains "idle: says ready on stderr" "$(cat "$work/idle.err")" "ready 200"

"$bench" idle --connect "$addr" --connections 50 --hold 60 >"$work/idle_term.json" 2>"$work/idle_term.err" &
idle_pid=$!
for _ in $(seq 50); do
  grep -q '^ready 50' "$work/idle_term.err" && break
  sleep 0.1
done
kill -TERM "$idle_pid"
rc=0
wait "$idle_pid" || rc=$?
out=$(cat "$work/idle_term.json")
assert_eq "idle ended by SIGTERM exits 0" 0 "$rc"
assert_eq "idle ended by SIGTERM says so" true "$(field '.interrupted and .held_seconds < 30')"
assert_eq "idle ended by SIGTERM still verifies its connections" 50 "$(field .verified_at_end)"

echo "== http"
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /?size=5 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
http=$(cat <&3 | tr -d '\r')
exec 3<&-
assert_contains "http: keep-alive response with ?size body" "$http" $'Content-Length: 5\n\nxxxxx'
assert_contains "http: second request on the same connection (default body 64)" "$http" "Content-Length: 64"

echo "== failures"
start_server "$work/closed.err"
closed_addr=$addr
kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
run refused rr --connect "$closed_addr" --duration 1
assert_eq "connect to a closed port exits 3" 3 "$rc"
assert_eq "refusal named in JSON" ECONNREFUSED "$(field .errno_name)"
assert_eq "refusal is a connect failure" "connect refused" "$(field '.phase + " " + .kind')"
assert_eq "refusal message names the address" "connect $closed_addr: Connection refused" "$(field .error)"

run expect_refused expect-refused --connect "$closed_addr"
assert_eq "expect-refused on a closed port exits 0" 0 "$rc"
assert_eq "expect-refused reports the refusal" "true ECONNREFUSED" "$(field '"\(.refused) \(.errno_name)"')"

run expect_refused_open expect-refused --connect "127.0.0.1:$port"
assert_eq "expect-refused on an open port exits 1" 1 "$rc"
assert_eq "expect-refused on an open port says it was accepted" false "$(field .refused)"

# A stopped server still completes handshakes (the kernel does), then never answers.
kill -STOP "$main_pid"
run timeout rr --connect "$addr_main" --duration 1 --io-timeout-ms 300
assert_eq "a server that never answers: rr exits 4, not a hang" 4 "$rc"
assert_eq "the timeout is named in JSON" "timeout ETIMEDOUT" "$(field '.kind + " " + .errno_name')"
run timeout_refused expect-refused --connect "$addr_main" --timeout-ms 300
assert_eq "expect-refused on a silent server exits 4" 4 "$rc"
kill -CONT "$main_pid"

run usage bulk --connect "$addr_main"
assert_eq "a missing flag exits 2" 2 "$rc"
assert_eq "a usage error is reported in JSON" usage "$(field .kind)"

# Garbage instead of a header: the server resets that connection and goes on.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'hello, server\r\n' >&3
cat <&3 >/dev/null 2>&1 || true
exec 3<&-

echo "== the server survived all of it"
run after rr --connect "$addr_main" --requests 100
assert_eq "server still answers" "0 100" "$rc $(field .requests)"
assert_ok "server process still running" kill -0 "$main_pid"
assert_contains "server logged the reset for the garbage" "$(cat "$work/serve.err")" "resetting a connection"
assert_done
