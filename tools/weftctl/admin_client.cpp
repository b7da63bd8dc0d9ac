#include "admin_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "weft/common/socket_address.h"
#include "weft/common/unique_fd.h"
#include "weft/http/response_decoder.h"

namespace weft::ctl {
namespace {

constexpr auto kTimeout = std::chrono::seconds(10);  // /connections waits up to 2 s per worker

}  // namespace

Result<AdminReply> AdminClient::request(std::string_view method, std::string_view target) const {
  auto address = parseSocketAddress(address_);
  if (!address) return fail(ErrorCode::kInvalidArgument, "--admin " + address_ + ": " + address.error().message);
  UniqueFd fd(::socket(address->family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return failErrno("socket");
  timeval timeout{.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(kTimeout).count(), .tv_usec = 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (::connect(fd.get(), address->get(), address->length) != 0)
    return fail(ErrorCode::kSystem, fmt::format("cannot reach the agent's admin API at {}: {} (is weft-agent "
                                                "running on this node, with --admin-addr {}?)",
                                                address_, std::strerror(errno), address_));
  std::string out = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", method, target, address_);
  for (std::size_t sent = 0; sent < out.size();) {
    ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return failErrno("send to the admin API");
    sent += static_cast<std::size_t>(n);
  }
  http::ResponseDecoder decoder;
  AdminReply reply;
  char buffer[16384];
  while (!decoder.complete()) {
    ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno("read from the admin API");
    auto ok = n == 0 ? decoder.finish() : decoder.feed({buffer, static_cast<std::size_t>(n)}, reply.body);
    if (!ok) return fail(ErrorCode::kParse, "the admin API at " + address_ + ": " + ok.error().message);
    if (n == 0) break;
  }
  reply.status = decoder.status();
  return reply;
}

Result<nlohmann::json> AdminClient::getJson(std::string_view target) const {
  auto reply = request("GET", target);
  if (!reply) return std::unexpected(reply.error());
  auto json = nlohmann::json::parse(reply->body, nullptr, false);
  if (reply->status != 200) {
    std::string words = json.is_object() && json.contains("error") ? json["error"].get<std::string>() : reply->body;
    while (!words.empty() && words.back() == '\n') words.pop_back();
    return fail(reply->status == 404 ? ErrorCode::kNotFound : ErrorCode::kInvalidArgument,
                fmt::format("{} {}: {}", std::string(target.substr(0, target.find('?'))), reply->status, words));
  }
  if (json.is_discarded()) return fail(ErrorCode::kParse, std::string(target) + ": the agent's answer is not JSON");
  return json;
}

std::string urlEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == ':')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace weft::ctl
