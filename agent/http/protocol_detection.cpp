#include "weft/http/protocol_detection.h"

#include "header_rules.h"

#include <algorithm>
#include <array>
#include <string>

namespace weft::http {
namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// A prefix of "METHOD SP target SP HTTP/1.x CRLF": kNeedMore while it still
// could be one, kHttp1 once the line is complete, kOpaque at the first byte
// that cannot belong to one.
DetectedProtocol requestLine(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size() && isTokenChar(static_cast<unsigned char>(bytes[i]))) ++i;
  if (i == bytes.size()) return DetectedProtocol::kNeedMore;
  if (i == 0 || bytes[i] != ' ') return DetectedProtocol::kOpaque;
  std::size_t target = ++i;
  while (i < bytes.size() && bytes[i] != ' ') {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c <= 0x20 || c == 0x7f) return DetectedProtocol::kOpaque;
    ++i;
  }
  if (i == bytes.size()) return DetectedProtocol::kNeedMore;
  if (i == target) return DetectedProtocol::kOpaque;
  constexpr std::string_view kVersion = "HTTP/1.";
  std::string_view rest = bytes.substr(i + 1);
  std::size_t n = std::min(rest.size(), kVersion.size());
  if (rest.substr(0, n) != kVersion.substr(0, n)) return DetectedProtocol::kOpaque;
  if (rest.size() <= kVersion.size()) return DetectedProtocol::kNeedMore;
  if (rest[kVersion.size()] != '0' && rest[kVersion.size()] != '1') return DetectedProtocol::kOpaque;
  std::string_view end = rest.substr(kVersion.size() + 1);
  constexpr std::string_view kCrlf = "\r\n";
  std::size_t m = std::min(end.size(), kCrlf.size());
  if (end.substr(0, m) != kCrlf.substr(0, m)) return DetectedProtocol::kOpaque;
  return end.size() >= kCrlf.size() ? DetectedProtocol::kHttp1 : DetectedProtocol::kNeedMore;
}

PortProtocol byName(std::string_view name) {
  std::string n = lowerCase(name);
  if (n == "http2" || n == "grpc" || n == "grpc-web" || n == "h2c" || n == "kubernetes.io/h2c") return PortProtocol::kHttp2;
  if (n == "http" || n == "http/1.1") return PortProtocol::kHttp1;
  static constexpr std::array kOpaque{"tcp", "tls", "https", "mongo", "mysql", "redis", "udp"};
  if (std::find(kOpaque.begin(), kOpaque.end(), n) != kOpaque.end()) return PortProtocol::kTcp;
  return PortProtocol::kUndeclared;
}

}  // namespace

DetectedProtocol detectProtocol(std::string_view bytes) {
  if (bytes.empty()) return DetectedProtocol::kNeedMore;
  std::size_t n = std::min(bytes.size(), kPreface.size());
  if (bytes.substr(0, n) == kPreface.substr(0, n))
    return bytes.size() >= kPreface.size() ? DetectedProtocol::kHttp2 : DetectedProtocol::kNeedMore;
  DetectedProtocol found = requestLine(bytes.substr(0, kMaxDetectionBytes));
  if (found == DetectedProtocol::kNeedMore && bytes.size() >= kMaxDetectionBytes) return DetectedProtocol::kOpaque;
  return found;
}

PortProtocol portProtocol(std::string_view appProtocol, std::string_view portName) {
  if (!appProtocol.empty()) return byName(appProtocol);
  if (PortProtocol p = byName(portName); p != PortProtocol::kUndeclared) return p;
  // Istio's convention: "<protocol>[-<suffix>]".
  if (auto dash = portName.find('-'); dash != std::string_view::npos) {
    PortProtocol p = byName(portName.substr(0, dash));
    if (p != PortProtocol::kUndeclared) return p;
    if (equalsIgnoringCase(portName.substr(0, dash), "grpc")) return PortProtocol::kHttp2;
  }
  return PortProtocol::kUndeclared;
}

}  // namespace weft::http
