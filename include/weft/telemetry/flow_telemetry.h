// One proxied connection's telemetry: it opens when the proxy takes the
// connection and closes with it (the destructor), counting the connection
// and its bytes into the worker's metrics and writing its access-log line;
// as the connection's RequestObserver it does the same per HTTP request.
//
// TCP series are reported from each side this proxy stands for (FlowEnds);
// HTTP series from the destination's side, where the L7 filter runs. The
// destination is named by the Service of the port it was dialled on.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "weft/http/request_observer.h"
#include "weft/telemetry/json_line.h"
#include "weft/telemetry/peer.h"
#include "weft/telemetry/telemetry.h"

namespace weft::telemetry {

class FlowTelemetry final : public http::RequestObserver {
 public:
  FlowTelemetry(WorkerTelemetry& worker, FlowEnds ends);
  ~FlowTelemetry() override;
  FlowTelemetry(const FlowTelemetry&) = delete;
  FlowTelemetry& operator=(const FlowTelemetry&) = delete;

  void fromClient(std::uint64_t bytes);
  void fromServer(std::uint64_t bytes);
  // Why the connection did not end normally (UF connect failed, UT connect
  // timed out, RBAC denied by policy, SI idle timeout, NT no tunnel).
  void flag(std::string_view code);
  void onRequest(http::RequestRecord& record) override;
  // Tracing on: this hop's span ids into the record, and its trace context
  // in place of the caller's in the forwarded headers.
  bool onRequestHead(http::RequestRecord& record, http::RequestHead& head) override;
  [[nodiscard]] const FlowEnds& ends() const { return ends_; }
  // Both ends and the counts so far, into a /connections entry.
  void describe(nlohmann::json& out) const;

 private:
  struct HttpKey {
    bool grpc;
    int status;
    int grpcStatus;
    std::string flags;
    HttpSeries* series;
  };
  HttpSeries& httpSeries(const http::RequestRecord& record);
  void logConnection();

  WorkerTelemetry& worker_;
  FlowEnds ends_;
  std::chrono::steady_clock::time_point start_;
  TcpSeries* series_[2] = {nullptr, nullptr};  // source's and destination's view
  std::uint64_t fromClient_ = 0;
  std::uint64_t fromServer_ = 0;
  std::uint64_t requests_ = 0;
  std::string flags_;
  std::vector<HttpKey> httpSeries_;  // per status seen on this connection: few
  // The ends' addresses as text, made at the first log line of the connection.
  std::string sourceAddressText_, destinationAddressText_;
  void writeEnds(JsonLine& j);
};

// The label pairs of a flow as Istio names them (reporter, source_*,
// destination_*, request_protocol, connection_security_policy), rendered.
[[nodiscard]] std::string flowLabels(Reporter reporter, const FlowEnds& ends, std::string_view protocol,
                                     std::string_view clusterId);

}  // namespace weft::telemetry
