#!/usr/bin/env bash
# The perf suite keeps working (issue 6): `scripts/perf --smoke` runs every
# scenario and writes one JSON naming the machine, kernel, commit and
# settings, a Markdown summary and a latency plot; its numbers are reported,
# never judged here. Then its regression mode: the run compared with itself
# passes (positive control), and a run with an agent slowed on purpose
# (--test-slow-us) is caught by --compare.
source "$(dirname "$0")/lib/e2e.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d)
assert_cleanup rm -rf "$dir"

echo "== scripts/perf --smoke"
start=$(date +%s)
rc=0
"$root/scripts/perf" --smoke --out "$dir/base" >"$dir/base.log" 2>&1 || rc=$?
assert_eq "the smoke run succeeds" 0 "$rc"
((rc == 0)) || tail -n 30 "$dir/base.log"
echo "    took $(($(date +%s) - start)) s (the issue allows 2 minutes)"
json=$dir/base/perf.json
assert_eq "the JSON names machine, kernel, commit and settings" true \
  "$(jq '(.machine.kernel | length > 0) and (.machine.cpus > 0) and (.commit | length > 0)
         and (.settings.rounds == 1) and (.settings.smoke == true)' "$json" 2>/dev/null || echo false)"
assert_eq "every scenario ran (none missing)" '["cross_node","l7_cross_node","same_node_l4","telemetry_cost"]' \
  "$(jq -c '[.scenarios | to_entries[] | select(.value.missing | not) | .key] | sort' "$json" 2>/dev/null)"
assert_eq "ratios weft / baseline from each scenario" true \
  "$(jq '[.ratios | keys[] | split("_")[0]] | unique == ["cross", "l7", "same", "telemetry"]' "$json" 2>/dev/null || echo false)"
assert_eq "closed-loop rr at 32 connections has p50 <= p90 <= p99 <= p99.9 for every target" true \
  "$(jq '[(.scenarios.cross_node.medians, .scenarios.same_node_l4.summary) | .[]
          | [.rr32_p50_us, .rr32_p90_us, .rr32_p99_us, .rr32_p999_us]]
         + [.scenarios.l7_cross_node.medians[][] | [.p50_us, .p90_us, .p99_us, .p999_us]]
         | length > 0 and all(all(. != null and . > 0) and . == sort)' "$json" 2>/dev/null || echo false)"
assert_contains "the summary has the ratio table" "$(cat "$dir/base/perf.md" 2>/dev/null)" "## Ratios weft / baseline"
assert_contains "the latency plot is an SVG" "$(head -c 400 "$dir/base/latency.svg" 2>/dev/null)" "<svg"

echo "== --compare"
rc=0
"$root/scripts/perf" --judge "$json" --compare "$json" >"$dir/self.log" 2>&1 || rc=$?
assert_eq "a run compared with itself passes" 0 "$rc"
rc=0
"$root/scripts/perf" --smoke --only cross_node --agent-flags "--test-slow-us 2000" --compare "$json" \
  --out "$dir/slow" >"$dir/slow.log" 2>&1 || rc=$?
assert_eq "a run with slowed agents fails the comparison" 1 "$rc"
assert_contains "and names the ratios that got worse" "$(cat "$dir/slow.log")" "WORSE cross_node_rr32_vs_haproxy_h2"
assert_eq "the slowed run itself measured (not a failed scenario)" null \
  "$(jq '.scenarios.cross_node.missing' "$dir/slow/perf.json" 2>/dev/null || echo missing)"

assert_done
