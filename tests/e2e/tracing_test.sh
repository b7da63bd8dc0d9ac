#!/usr/bin/env bash
# Distributed tracing (issue 7) across two nodes. A client pod n1-p2 calls the
# frontend n2-p1 (node n2), which calls the backend n1-p1 (node n1) passing
# the trace headers on, as apps in a mesh do. Both agents send spans to the
# project's OTLP collector (tests/e2e/otlp/otlp_collector.js) on n1's node
# address. The backend answers with the request headers it received. Proves:
#   1. with no trace context from the client, the two hops' spans form one
#      trace: n2's span is the root and n1's is its child, each reported by
#      its node with the request's method, path, status and both workloads;
#   2. a W3C traceparent from the client is continued: same trace id, n2's
#      span is the client's span's child, tracestate reaches the backend
#      unchanged, and the backend sees n1's span as its parent;
#   3. B3 (x-b3-*) is continued the same way and answered in B3;
#   4. an unsampled trace (flags 00) is propagated but not exported;
#   5. a request denied by policy at n1 still has its span, with the verdict
#      and the deciding policy;
#   6. bad flags stop the agent with the cause named.
source "$(dirname "$0")/lib/e2e.sh"
here=$(cd "$(dirname "$0")" && pwd)
e2e_require node curl jq

assert_cleanup cluster_down
cluster_up --nodes 2 --pods 2 >/dev/null
e2e_show_agent_logs_on_failure n1 n2

backend=n1-p1 frontend=n2-p1 client=n1-p2
backend_ip=$(cluster_pod_ip $backend)
frontend_ip=$(cluster_pod_ip $frontend)
collector_ip=$(cluster_node_ip n1)
spans=$(cluster_state_dir)/run/spans.jsonl
mkdir -p "$(dirname "$spans")"
: >"$spans"
for node in n1 n2; do
  {
    e2e_web_service_yaml $backend backend
    echo ---
    e2e_web_service_yaml $frontend frontend
    echo ---
    e2e_deny_admin_yaml $backend
  } >"$(cluster_config_dir "$node")/services.yaml"
done

cluster_spawn_on_node n1 node "$here/otlp/otlp_collector.js" "$collector_ip" 4318 "$spans" >/dev/null
cluster_spawn_in_pod $backend node -e "
  require('http').createServer((req, res) => {
    res.writeHead(200, {'content-type': 'application/json'});
    res.end(JSON.stringify(req.headers));
  }).listen(8080, '$backend_ip')" >/dev/null
cluster_spawn_in_pod $frontend node "$here/otlp/trace_forwarder.js" "$frontend_ip" 8080 "$backend_ip" 8080 >/dev/null
for node in n1 n2; do
  agent_start "$node" --proxy-addr "$(cluster_node_gw "$node")" \
    --trace-collector "http://$collector_ip:4318/v1/traces" --trace-sample 1 >/dev/null
done
agent_wait_ready n1 && agent_wait_ready n2
cluster_wait_tcp $client "$frontend_ip" 8080
cluster_wait_tcp $frontend "$backend_ip" 8080

call() { # PATH [CURL ARGS...]: the backend's view of the request's headers
  local path=$1
  shift
  cluster_pod_exec $client curl -sS --max-time 5 "$@" "http://$frontend_ip:8080$path"
}
# The spans of TRACE_ID, once COUNT of them arrived (exports leave every second).
spans_of() { # TRACE_ID COUNT
  local i
  for ((i = 0; i < 50; i++)); do
    if (($(jq -c "select(.traceId == \"$1\")" "$spans" | wc -l) >= $2)); then break; fi
    sleep 0.2
  done
  jq -c "select(.traceId == \"$1\")" "$spans"
}
span_on() { jq -c "select(.node == \"$1\")" <<<"$2"; }

echo "== 1. no context from the client: one trace, two hops"
seen=$(call /one)
traceparent=$(jq -r .traceparent <<<"$seen")
assert_match "the backend got a traceparent" '^00-[0-9a-f]{32}-[0-9a-f]{16}-01$' "$traceparent"
trace=$(cut -d- -f2 <<<"$traceparent")
both=$(spans_of "$trace" 2)
assert_eq "two spans in the trace" 2 "$(grep -c . <<<"$both")"
at_n2=$(span_on n2 "$both") at_n1=$(span_on n1 "$both")
assert_eq "n2's span (frontend) is the root" "" "$(jq -r .parentSpanId <<<"$at_n2")"
assert_eq "n1's span (backend) is n2's child" "$(jq -r .spanId <<<"$at_n2")" "$(jq -r .parentSpanId <<<"$at_n1")"
assert_eq "the backend saw n1's span as its parent" "$(jq -r .spanId <<<"$at_n1")" "$(cut -d- -f3 <<<"$traceparent")"
assert_eq "n2's span: server, name, status, reported by the frontend's service" \
  "2 GET /one 200 n2-p1.demo" \
  "$(jq -r '"\(.kind) \(.name) \(.attributes["http.response.status_code"]) \(.service)"' <<<"$at_n2")"
assert_eq "n1's span: the workloads at both ends, over mTLS" "n2-p1 n1-p1 mutual_tls allow" \
  "$(jq -r '"\(.attributes["source.workload"]) \(.attributes["destination.workload"]) \(.attributes["weft.security"]) \(.attributes["weft.verdict"])"' <<<"$at_n1")"
assert_eq "spans nest in time: the backend's lies within the frontend's" true \
  "$(jq -rs '(.[0] | select(.node == "n2")) as $a | (.[] | select(.node == "n1")) as $b |
    (($b.startTimeUnixNano | tonumber) >= ($a.startTimeUnixNano | tonumber) - 1000000) and
    (($b.endTimeUnixNano | tonumber) <= ($a.endTimeUnixNano | tonumber) + 1000000)' <<<"$(jq -c . <<<"$at_n2"; jq -c . <<<"$at_n1")")"

echo "== 2. the client's W3C context is continued"
client_trace=4bf92f3577b34da6a3ce929d0e0e4736 client_span=00f067aa0ba902b7
seen=$(call /two -H "traceparent: 00-$client_trace-$client_span-01" -H "tracestate: vendor=opaque,other=1")
both=$(spans_of $client_trace 2)
assert_eq "both hops' spans are in the client's trace" 2 "$(grep -c . <<<"$both")"
assert_eq "n2's span is the client's span's child" $client_span "$(jq -r .parentSpanId <<<"$(span_on n2 "$both")")"
assert_eq "n1's span is n2's child" "$(jq -r .spanId <<<"$(span_on n2 "$both")")" \
  "$(jq -r .parentSpanId <<<"$(span_on n1 "$both")")"
assert_eq "tracestate reaches the backend unchanged" "vendor=opaque,other=1" "$(jq -r .tracestate <<<"$seen")"
assert_eq "the backend's traceparent: same trace, n1's span, sampled" \
  "00-$client_trace-$(jq -r .spanId <<<"$(span_on n1 "$both")")-01" "$(jq -r .traceparent <<<"$seen")"

echo "== 3. B3 is continued and answered in B3"
b3_trace=80f198ee56343ba864fe8b2a57d3eff7 b3_span=e457b5a2e4d86bd1
seen=$(call /three -H "x-b3-traceid: $b3_trace" -H "x-b3-spanid: $b3_span" -H "x-b3-sampled: 1")
both=$(spans_of $b3_trace 2)
assert_eq "both hops' spans are in the B3 trace" 2 "$(grep -c . <<<"$both")"
assert_eq "n2's span is the B3 caller's child" $b3_span "$(jq -r .parentSpanId <<<"$(span_on n2 "$both")")"
assert_eq "the backend got B3: the trace, n1's span, n2's span as parent, sampled" \
  "$b3_trace $(jq -r .spanId <<<"$(span_on n1 "$both")") $(jq -r .spanId <<<"$(span_on n2 "$both")") 1" \
  "$(jq -r '"\(.["x-b3-traceid"]) \(.["x-b3-spanid"]) \(.["x-b3-parentspanid"]) \(.["x-b3-sampled"])"' <<<"$seen")"

echo "== 4. an unsampled trace is propagated, not exported"
quiet_trace=0af7651916cd43dd8448eb211c80319c
seen=$(call /four -H "traceparent: 00-$quiet_trace-b7ad6b7169203331-00")
assert_match "the backend got the trace, unsampled" "^00-$quiet_trace-[0-9a-f]{16}-00\$" "$(jq -r .traceparent <<<"$seen")"
call /five >/dev/null # a sampled request after it: once its spans are in, the quiet one's would be too
for ((i = 0; i < 50; i++)); do
  marker=$(jq -r 'select(.name == "GET /five" and .node == "n1") | .traceId' "$spans" | head -1)
  [[ -n $marker ]] && break
  sleep 0.2
done
assert_match "the sampled request after it was exported" '^[0-9a-f]{32}$' "$marker"
assert_eq "no span of the unsampled trace" 0 "$(jq -c "select(.traceId == \"$quiet_trace\")" "$spans" | wc -l)"

echo "== 5. a denied request has its span"
status=$(cluster_pod_exec $frontend curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
  -H "traceparent: 00-11111111111111111111111111111111-2222222222222222-01" "http://$backend_ip:8080/admin" || true)
assert_eq "the request is denied" 403 "$status"
denied=$(spans_of 11111111111111111111111111111111 1)
assert_eq "its span at n1: 403, denied, by the policy" "403 deny demo/deny-admin" \
  "$(jq -r '"\(.attributes["http.response.status_code"]) \(.attributes["weft.verdict"]) \(.attributes["weft.policy"])"' <<<"$denied")"
stats=$(agent_admin n1 /stats)
assert_eq "n1 counts its exported spans and lost none" "true 0" \
  "$(jq -r '"\(.tracing.exportedSpans >= 5) \(.tracing.failedSpans + .tracing.droppedSpans)"' <<<"$stats")"

echo "== 6. bad flags name the cause"
agent_stop n2
rc=0
out=$(cluster_node_exec n2 "$WEFT_AGENT_BIN" --node-name n2 --trace-collector https://collector:4318 2>&1) || rc=$?
assert_eq "an https collector: exit 2" 2 "$rc"
assert_match "an https collector: the reason" "trace-collector.*https" "$out"

assert_done
