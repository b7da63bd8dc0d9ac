// weftctl's side of the agent's admin API (127.0.0.1:15000: the API never
// leaves the node): one request per call through the tools' shared client,
// and JSON answers turned into errors that name the status and the agent's words.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "weft/common/error.h"

namespace weft::ctl {

struct AdminReply {
  int status = 0;
  std::string body;
};

class AdminClient {
 public:
  explicit AdminClient(std::string address) : address_(std::move(address)) {}
  // Any status is a reply; only a failure to talk to the agent is an error.
  [[nodiscard]] Result<AdminReply> request(std::string_view method, std::string_view target) const;
  // A 200 with a JSON body, else an error naming the status and the agent's words.
  [[nodiscard]] Result<nlohmann::json> getJson(std::string_view target) const;
  [[nodiscard]] const std::string& address() const { return address_; }

 private:
  std::string address_;
};

// Query-string escaping for values (RFC 3986 unreserved characters pass).
[[nodiscard]] std::string urlEncode(std::string_view text);

}  // namespace weft::ctl
