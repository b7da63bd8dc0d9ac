#include "weft-bench/http_responder.h"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>
#include <optional>
#include <string_view>

namespace weft::bench {
namespace {

bool equalsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

bool containsTokenNoCase(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (equalsNoCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

void appendText(std::vector<std::uint8_t>& out, std::string_view text) { out.insert(out.end(), text.begin(), text.end()); }

void appendError(std::vector<std::uint8_t>& out, int status, std::string_view reason) {
  std::string body = fmt::format("{}\n", reason);
  appendText(out, fmt::format("HTTP/1.1 {} {}\r\nServer: weft-bench\r\nContent-Type: text/plain\r\n"
                              "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                              status, reason, body.size(), body));
}

// `size=N` in the query string of the target, if any.
std::optional<std::uint64_t> sizeFromTarget(std::string_view target) {
  auto query = target.find('?');
  if (query == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(query + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto param = rest.substr(0, amp);
    if (param.starts_with("size=")) {
      std::uint64_t value = 0;
      auto digits = param.substr(5);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec == std::errc{} && end == digits.data() + digits.size()) return value;
      return UINT64_MAX;  // malformed: reported as too large
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace

HttpResponder::Verdict HttpResponder::consume(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out) {
  std::string_view data(reinterpret_cast<const char*>(in.data()), in.size());
  while (!closed_ && !data.empty()) {
    if (bodyToSkip_ > 0) {
      auto skip = std::min<std::uint64_t>(bodyToSkip_, data.size());
      bodyToSkip_ -= skip;
      data.remove_prefix(skip);
      continue;
    }
    // Search only the new bytes (and the 3 before them) for the end of the head.
    std::size_t searchFrom = head_.size() >= 3 ? head_.size() - 3 : 0;
    std::size_t take = std::min(data.size(), kMaxHead + 4 - head_.size());
    head_.append(data.substr(0, take));
    auto end = head_.find("\r\n\r\n", searchFrom);
    if (end == std::string::npos) {
      if (head_.size() > kMaxHead) {
        appendError(out, 431, "Request Header Fields Too Large");
        closed_ = true;
        break;
      }
      data.remove_prefix(take);
      continue;
    }
    std::size_t headLength = end + 4;
    // Bytes of this chunk after the head belong to the body or the next request.
    std::size_t usedFromData = take - (head_.size() - headLength);
    data.remove_prefix(usedFromData);
    head_.resize(headLength);
    if (answer(head_, out) == Verdict::kClose) closed_ = true;
    head_.clear();
  }
  return closed_ ? Verdict::kClose : Verdict::kContinue;
}

HttpResponder::Verdict HttpResponder::answer(std::string_view head, std::vector<std::uint8_t>& out) {
  auto lineEnd = head.find("\r\n");
  std::string_view requestLine = head.substr(0, lineEnd);
  auto sp1 = requestLine.find(' ');
  auto sp2 = requestLine.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    appendError(out, 400, "Bad Request");
    return Verdict::kClose;
  }
  std::string_view method = requestLine.substr(0, sp1);
  std::string_view target = requestLine.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = requestLine.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    appendError(out, 505, "HTTP Version Not Supported");
    return Verdict::kClose;
  }
  bool keepAlive = version == "HTTP/1.1";
  std::uint64_t contentLength = 0;
  std::string_view headers = head.substr(lineEnd + 2);
  while (!headers.empty()) {
    auto eol = headers.find("\r\n");
    std::string_view line = headers.substr(0, eol);
    headers.remove_prefix(eol == std::string_view::npos ? headers.size() : eol + 2);
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      appendError(out, 400, "Bad Request");
      return Verdict::kClose;
    }
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (equalsNoCase(name, "content-length")) {
      auto [endp, ec] = std::from_chars(value.data(), value.data() + value.size(), contentLength);
      if (ec != std::errc{} || endp != value.data() + value.size()) {
        appendError(out, 400, "Bad Request");
        return Verdict::kClose;
      }
    } else if (equalsNoCase(name, "transfer-encoding")) {
      appendError(out, 501, "Not Implemented");
      return Verdict::kClose;
    } else if (equalsNoCase(name, "connection")) {
      if (containsTokenNoCase(value, "close")) keepAlive = false;
      if (containsTokenNoCase(value, "keep-alive")) keepAlive = true;
    }
  }
  std::uint64_t bodySize = sizeFromTarget(target).value_or(bodySize_);
  if (bodySize > kMaxBody) {
    appendError(out, 400, "Bad Request");
    return Verdict::kClose;
  }
  ++requests_;
  bodyToSkip_ = contentLength;
  appendText(out, fmt::format("HTTP/1.1 200 OK\r\nServer: weft-bench\r\nContent-Type: application/octet-stream\r\n"
                              "Content-Length: {}\r\n{}\r\n",
                              bodySize, keepAlive ? "" : "Connection: close\r\n"));
  if (method != "HEAD") out.resize(out.size() + bodySize, 'x');
  return keepAlive ? Verdict::kContinue : Verdict::kClose;
}

}  // namespace weft::bench
