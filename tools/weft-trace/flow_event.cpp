#include "weft-trace/flow_event.h"

#include <array>
#include <utility>

namespace weft::trace {
namespace {

constexpr std::array<std::pair<EventType, std::string_view>, 7> kTypeNames{{
    {EventType::kConnectCaptured, "connect_captured"},
    {EventType::kFastpathPaired, "fastpath_paired"},
    {EventType::kStrictDrop, "strict_drop"},
    {EventType::kTcpState, "tcp_state"},
    {EventType::kTcpRetransmit, "tcp_retransmit"},
    {EventType::kHttp, "http"},
    {EventType::kConnection, "connection"},
}};
constexpr std::array<std::pair<Verdict, std::string_view>, 3> kVerdictNames{{
    {Verdict::kAllow, "allow"}, {Verdict::kDeny, "deny"}, {Verdict::kDrop, "drop"}}};
constexpr std::array<std::pair<Protocol, std::string_view>, 3> kProtocolNames{{
    {Protocol::kTcp, "tcp"}, {Protocol::kHttp, "http"}, {Protocol::kGrpc, "grpc"}}};

template <class E, std::size_t N>
std::string_view nameOf(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "?";
}

template <class E, std::size_t N>
std::optional<E> valueOf(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view name) {
  for (const auto& [v, n] : table)
    if (n == name) return v;
  return std::nullopt;
}

}  // namespace

std::string_view typeName(EventType type) { return nameOf(kTypeNames, type); }
std::optional<EventType> parseType(std::string_view name) { return valueOf(kTypeNames, name); }
std::string_view verdictName(Verdict verdict) { return nameOf(kVerdictNames, verdict); }
std::optional<Verdict> parseVerdict(std::string_view name) { return valueOf(kVerdictNames, name); }
std::string_view protocolName(Protocol protocol) { return nameOf(kProtocolNames, protocol); }
std::optional<Protocol> parseProtocol(std::string_view name) { return valueOf(kProtocolNames, name); }
std::string_view originName(Origin origin) { return origin == Origin::kKernel ? "kernel" : "agent"; }

}  // namespace weft::trace
