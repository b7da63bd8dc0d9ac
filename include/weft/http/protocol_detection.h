// Which protocol a destination port speaks: declared by its Service, or
// detected from the first bytes of a connection.
#pragma once

#include <cstddef>
#include <string_view>

namespace weft::http {

enum class DetectedProtocol { kNeedMore, kHttp1, kHttp2, kOpaque };

// From the first client bytes: the exact HTTP/2 prior-knowledge preface, an
// HTTP/1.x request line (METHOD SP target SP HTTP/1.x CRLF, a token method),
// or neither. Decides within at most kMaxDetectionBytes: a request line
// longer than that is treated as opaque (the HTTP/1.1 filter would refuse
// it anyway). The time bound belongs to the caller (detecting_filter.h).
inline constexpr std::size_t kMaxDetectionBytes = 8 * 1024;
[[nodiscard]] DetectedProtocol detectProtocol(std::string_view firstBytes);

enum class PortProtocol { kUndeclared, kTcp, kHttp1, kHttp2 };

// A Service port's protocol, as Istio selects it: appProtocol if set, else
// the port name or its prefix before '-' ("http-web", "grpc-api"). http2,
// grpc, grpc-web and kubernetes.io/h2c are HTTP/2; http is HTTP/1.1; tcp,
// tls, mongo, mysql, redis and the like are opaque TCP. Anything else is
// undeclared (detected when something is enforced).
[[nodiscard]] PortProtocol portProtocol(std::string_view appProtocol, std::string_view portName);

}  // namespace weft::http
