#include "admin_client.h"

#include <cctype>
#include <chrono>

#include <fmt/format.h>

#include "admin_api/admin_client.h"
#include "weft/common/socket_address.h"

namespace weft::ctl {
namespace {

constexpr std::chrono::milliseconds kTimeout = std::chrono::seconds(10);  // /connections waits up to 2 s per worker

}  // namespace

Result<AdminReply> AdminClient::request(std::string_view method, std::string_view target) const {
  auto address = parseSocketAddress(address_);
  if (!address) return fail(ErrorCode::kInvalidArgument, "--admin " + address_ + ": " + address.error().message);
  auto response = tools::adminExchange(*address, method, target, kTimeout);
  if (!response) return std::unexpected(response.error());
  return AdminReply{.status = response->status, .body = std::move(response->body)};
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
