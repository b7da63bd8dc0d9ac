// Protocol detection from first bytes, and protocol selection by Service port.
#include <doctest/doctest.h>

#include <string>

#include "weft/http/protocol_detection.h"

using weft::http::DetectedProtocol;
using weft::http::detectProtocol;
using weft::http::PortProtocol;
using weft::http::portProtocol;

TEST_CASE("protocol detection table") {
  struct Row {
    std::string_view bytes;
    DetectedProtocol want;
  };
  const Row rows[] = {
      {"", DetectedProtocol::kNeedMore},
      {"P", DetectedProtocol::kNeedMore},
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n", DetectedProtocol::kNeedMore},
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", DetectedProtocol::kHttp2},
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04", DetectedProtocol::kHttp2},
      {"PRI * HTTP/1.1\r\n", DetectedProtocol::kHttp1},  // a request line with method PRI
      {"GET", DetectedProtocol::kNeedMore},
      {"GET / HTTP/1.", DetectedProtocol::kNeedMore},
      {"GET / HTTP/1.1\r", DetectedProtocol::kNeedMore},
      {"GET / HTTP/1.1\r\n", DetectedProtocol::kHttp1},
      {"POST /a?b HTTP/1.0\r\nHost: x\r\n", DetectedProtocol::kHttp1},
      {"M-SEARCH * HTTP/1.1\r\n", DetectedProtocol::kHttp1},
      {"GET / HTTP/2.0\r\n", DetectedProtocol::kOpaque},
      {"GET / HTTP/1.1\n", DetectedProtocol::kOpaque},
      {"GET  / HTTP/1.1\r\n", DetectedProtocol::kOpaque},
      {"GET /\x01 HTTP/1.1\r\n", DetectedProtocol::kOpaque},
      {"\x16\x03\x01\x02\x00\x01", DetectedProtocol::kOpaque},  // TLS
      {"SSH-2.0-OpenSSH\r\n", DetectedProtocol::kOpaque},
      {"*3\r\n$3\r\nSET\r\n", DetectedProtocol::kOpaque},        // redis
      {" GET / HTTP/1.1\r\n", DetectedProtocol::kOpaque},
  };
  for (const Row& row : rows) {
    CAPTURE(std::string(row.bytes));
    CHECK(detectProtocol(row.bytes) == row.want);
  }
  std::string longLine = "GET /" + std::string(weft::http::kMaxDetectionBytes, 'a');
  CHECK(detectProtocol(longLine) == DetectedProtocol::kOpaque);  // bounded
}

TEST_CASE("port protocol selection by appProtocol and name") {
  CHECK(portProtocol("", "http") == PortProtocol::kHttp1);
  CHECK(portProtocol("", "http-web") == PortProtocol::kHttp1);
  CHECK(portProtocol("", "HTTP") == PortProtocol::kHttp1);
  CHECK(portProtocol("", "http2") == PortProtocol::kHttp2);
  CHECK(portProtocol("", "grpc") == PortProtocol::kHttp2);
  CHECK(portProtocol("", "grpc-api") == PortProtocol::kHttp2);
  CHECK(portProtocol("", "grpc-web") == PortProtocol::kHttp2);
  CHECK(portProtocol("kubernetes.io/h2c", "web") == PortProtocol::kHttp2);
  CHECK(portProtocol("", "tcp") == PortProtocol::kTcp);
  CHECK(portProtocol("", "tcp-db") == PortProtocol::kTcp);
  CHECK(portProtocol("", "mysql") == PortProtocol::kTcp);
  CHECK(portProtocol("tcp", "http") == PortProtocol::kTcp);  // appProtocol wins over the name
  CHECK(portProtocol("", "web") == PortProtocol::kUndeclared);
  CHECK(portProtocol("", "") == PortProtocol::kUndeclared);
  CHECK(portProtocol("", "httpx") == PortProtocol::kUndeclared);
}
