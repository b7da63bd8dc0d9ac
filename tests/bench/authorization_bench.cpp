// Microbenchmark of AuthorizationPolicy decisions: 10, 100 and 1,000
// policies selecting one workload, a realistic mix (DENY on exact paths,
// path prefixes, methods on prefixes, header conditions with and without a
// path; one ALLOW on
// principal, method and path), requests that hit a DENY, pass to the ALLOW,
// or miss everything. Google Benchmark reports the mean per decision; the
// issue's goal is a p99, so each benchmark also times decisions one by one
// (steady_clock around blocks of 16, divided) and reports p50/p99 counters.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "weft/config/manifest_loader.h"
#include "weft/policy/authorization.h"

namespace {

std::string policies(int count) {
  std::string yaml =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\n"
      "status: {podIP: 10.0.0.1}\n---\n"
      "apiVersion: weft.dev/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: allow-frontend, namespace: shop}\n"
      "spec:\n  selector: {matchLabels: {app: web}}\n  action: ALLOW\n  rules:\n"
      "  - from: [{source: {principals: [cluster.local/ns/shop/sa/frontend]}}]\n"
      "    to: [{operation: {methods: [GET, POST], paths: [\"/api/*\", /health]}}]\n";
  for (int i = 1; i < count; ++i) {
    std::string n = std::to_string(i);
    std::string rule;
    switch (i % 5) {
      case 0: rule = "[{to: [{operation: {paths: [/admin/" + n + "]}}]}]"; break;
      case 1: rule = "[{to: [{operation: {paths: [\"/internal/" + n + "/*\"]}}]}]"; break;
      case 2: rule = "[{to: [{operation: {methods: [DELETE], paths: [\"/api/" + n + "/*\"]}}]}]"; break;
      case 3:
        rule = "[{to: [{operation: {paths: [\"/api/v" + n + "/*\"]}}], when: [{key: \"request.headers[x-block-" + n +
               "]\", values: [\"yes\"]}]}]";
        break;
      case 4: rule = "[{when: [{key: \"request.headers[x-deny-" + n + "]\", values: [\"1\", yes]}]}]"; break;
    }
    yaml += "---\napiVersion: weft.dev/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: deny-" + n +
            ", namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  action: DENY\n  rules: " + rule + "\n";
  }
  return yaml;
}

struct Fixture {
  weft::config::Snapshot snapshot;
  std::shared_ptr<const weft::policy::Authorization> authz;
  const weft::policy::CompiledPolicies* set = nullptr;
  explicit Fixture(int count) {
    weft::config::loadManifestText(policies(count), "bench.yaml", snapshot);
    authz = weft::policy::Authorization::compile(snapshot, "weft-system");
    set = authz->forPod("shop/web");
  }
};

void decide(benchmark::State& state, const char* path, const char* method, bool expectAllowed,
            const char* extraHeader = nullptr) {
  static std::map<int, std::unique_ptr<Fixture>> fixtures;
  auto& fixture = fixtures[static_cast<int>(state.range(0))];
  if (!fixture) fixture = std::make_unique<Fixture>(static_cast<int>(state.range(0)));
  if (!fixture->set || fixture->authz->policyCount() != static_cast<std::size_t>(state.range(0))) {
    state.SkipWithError("policies did not load");
    return;
  }
  std::vector<std::pair<std::string, std::string>> headers{{"x-request-id", "abc"}, {"x-block-3", "no"}, {"x-deny-4", "no"}};
  if (extraHeader) headers.emplace_back(extraHeader, "yes");
  weft::policy::RequestAttributes request;
  request.principal = "spiffe://cluster.local/ns/shop/sa/frontend";
  request.destinationPort = 8080;
  request.http = true;
  request.host = "web.shop";
  request.method = method;
  request.path = path;
  request.headers = &headers;
  if (weft::policy::decide(*fixture->set, request).allowed != expectAllowed) {
    state.SkipWithError("unexpected decision");
    return;
  }
  constexpr int kBlock = 16;
  std::vector<double> perDecisionNs;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kBlock; ++i) benchmark::DoNotOptimize(weft::policy::decide(*fixture->set, request));
    auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    if (perDecisionNs.size() < 200000) perDecisionNs.push_back(ns / kBlock);
  }
  state.SetItemsProcessed(state.iterations() * kBlock);
  std::sort(perDecisionNs.begin(), perDecisionNs.end());
  auto at = [&](double q) { return perDecisionNs.empty() ? 0.0 : perDecisionNs[static_cast<std::size_t>(q * (perDecisionNs.size() - 1))]; };
  state.counters["p50_ns"] = at(0.50);
  state.counters["p99_ns"] = at(0.99);
}

void allowedRequest(benchmark::State& state) { decide(state, "/api/v1/orders", "GET", true); }
void deniedByPrefix(benchmark::State& state) { decide(state, "/internal/6/secrets", "GET", false); }
void deniedByHeader(benchmark::State& state) { decide(state, "/api/v1/orders", "GET", false, "x-deny-9"); }
void deniedNoAllow(benchmark::State& state) { decide(state, "/nothing/here", "PUT", false); }

BENCHMARK(allowedRequest)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(deniedByPrefix)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(deniedByHeader)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(deniedNoAllow)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
