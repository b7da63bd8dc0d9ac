// What telemetry costs per request, in memory: one keep-alive HTTP/1.1
// exchange through the real filter (llhttp both ways) without an observer,
// with metrics (FlowTelemetry: series per response code, three histograms),
// and with metrics plus an access-log line per request (JSON written to a
// file, buffered as the workers do); the same for HTTP/2 (the filter between
// two real nghttp2 peers, one stream per request). The end-to-end figure is
// tests/perf/telemetry_cost.sh; this one is free of the VM's noise.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "../unit/telemetry/flow_ends_fixture.h"
#include "../unit/http/h2_test_peer.h"
#include "weft/http/http1_filter.h"
#include "weft/http/http2_filter.h"
#include "weft/telemetry/flow_telemetry.h"

namespace {

using namespace weft;

constexpr std::string_view kRequest =
    "GET /api/v1/orders?page=2 HTTP/1.1\r\nHost: web.shop.svc.cluster.local\r\nUser-Agent: bench/1\r\n"
    "Accept: */*\r\nX-Request-Id: 6f1e2d3c\r\n\r\n";
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\n"
    "0123456789012345678901234567890123456789012345678901234567890123";

telemetry::FlowEnds ends() { return test::meshFlowEnds(false, true); }

// Mode 0: no observer; 1: metrics; 2: metrics and access logs (to a
// temporary file, removed at the end).
class Observer {
 public:
  explicit Observer(int mode) {
    telemetry::TelemetryOptions options;
    if (mode == 2) {
      char path[] = "/tmp/weft-telemetry-bench-XXXXXX";
      int fd = ::mkstemp(path);
      if (fd >= 0) ::close(fd);
      logPath_ = path;
      options.accessLog.path = logPath_;
    }
    telemetry_ = telemetry::Telemetry::create(options, 1).value();
    if (mode > 0) flow_ = std::make_unique<telemetry::FlowTelemetry>(telemetry_->worker(0), ends());
  }
  ~Observer() {
    flow_.reset();
    telemetry_->worker(0).flush();
    if (!logPath_.empty()) ::unlink(logPath_.c_str());
  }
  [[nodiscard]] http::RequestObserver* get() const { return flow_.get(); }

 private:
  std::string logPath_;
  std::unique_ptr<telemetry::Telemetry> telemetry_;
  std::unique_ptr<telemetry::FlowTelemetry> flow_;
};

// Arg: the Observer mode.
void exchange(benchmark::State& state) {
  Observer observer(static_cast<int>(state.range(0)));
  auto filter = http::makeHttp1Filter({}, {}, observer.get());
  http::FilterOutput out;
  for (auto _ : state) {
    filter->onDownstreamData(kRequest, out);
    benchmark::DoNotOptimize(out.toUpstream.data());
    out.clear();
    filter->onUpstreamData(kResponse, out);
    benchmark::DoNotOptimize(out.toDownstream.data());
    out.clear();
  }
  state.SetItemsProcessed(state.iterations());
  filter.reset();  // before the observer it reports to
}

BENCHMARK(exchange)->Arg(0)->Arg(1)->Arg(2)->ArgName("telemetry");

// One GET and its 1 KiB response per iteration, on one HTTP/2 connection.
void exchangeHttp2(benchmark::State& state) {
  Observer observer(static_cast<int>(state.range(0)));
  auto filter = http::makeHttp2Filter({}, {}, observer.get());
  test::H2Peer client{test::H2Peer::Role::kClient}, pod{test::H2Peer::Role::kServer};
  http::FilterOutput out;
  auto settle = [&] {
    for (bool moved = true; moved;) {
      moved = false;
      if (std::string c = client.send(); !c.empty()) filter->onDownstreamData(c, out), moved = true;
      if (!out.toUpstream.empty()) pod.receive(out.toUpstream), moved = true;
      if (!out.toDownstream.empty()) client.receive(out.toDownstream), moved = true;
      out.clear();
      if (std::string p = pod.send(); !p.empty()) filter->onUpstreamData(p, out), moved = true;
      if (!out.toUpstream.empty()) pod.receive(out.toUpstream), moved = true;
      if (!out.toDownstream.empty()) client.receive(out.toDownstream), moved = true;
      out.clear();
    }
  };
  const test::H2Fields request = {{":method", "GET"}, {":scheme", "http"},
                                  {":authority", "orders.shop.svc.cluster.local"}, {":path", "/api/v1/orders"},
                                  {"user-agent", "bench/1"}};
  const test::H2Fields response = {{":status", "200"}, {"content-type", "text/plain"}};
  const std::string body(1024, 'x');
  settle();
  for (auto _ : state) {
    client.request(request);
    settle();
    if (pod.arrived.empty()) {
      state.SkipWithError("the request did not reach the pod");
      break;
    }
    pod.respond(pod.arrived.back(), response, body);
    settle();
    // The peers' records of finished streams: kept, they would grow the
    // heap through the run and slow later iterations (and later modes).
    client.streams.clear();
    pod.streams.clear();
    pod.arrived.clear();
  }
  state.SetItemsProcessed(state.iterations());
  filter.reset();  // before the observer it reports to
}

BENCHMARK(exchangeHttp2)->Arg(0)->Arg(1)->Arg(2)->ArgName("telemetry");

}  // namespace

BENCHMARK_MAIN();
