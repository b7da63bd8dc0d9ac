// The two ends of a connection between mesh workloads, as the telemetry
// tests use them: client (namespace a) to echo (namespace b) over mTLS.
#pragma once

#include "weft/telemetry/peer.h"

namespace weft::test {

inline telemetry::FlowEnds meshFlowEnds(bool reportsSource, bool reportsDestination) {
  telemetry::FlowEnds e;
  e.source.workload = "client";
  e.source.namespace_ = "a";
  e.source.principal = "spiffe://cluster.local/ns/a/sa/client";
  e.source.pod = "a/client-1";
  e.destination.workload = "echo";
  e.destination.namespace_ = "b";
  e.destination.service = "echo.b.svc.cluster.local";
  e.destination.canonicalService = "echo-svc";
  e.destination.principal = "spiffe://cluster.local/ns/b/sa/echo";
  e.sourceAddress = parseSocketAddress("10.0.1.2:40000").value();
  e.destinationAddress = parseSocketAddress("10.0.2.3:8080").value();
  e.mutualTls = true;
  e.reportsSource = reportsSource;
  e.reportsDestination = reportsDestination;
  return e;
}

}  // namespace weft::test
