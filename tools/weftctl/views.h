// How weftctl shows what the admin API answers: one function per command,
// from the agent's JSON to a table. Kept apart from I/O so that tests feed
// them the agent's real answers.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace weft::ctl {

// `status`: /stats plus readiness, as "key: value" lines.
[[nodiscard]] std::string statusView(const nlohmann::json& stats, bool ready);
[[nodiscard]] std::string workloadsView(const nlohmann::json& workloads, bool onlyThisNode);
[[nodiscard]] std::string policiesView(const nlohmann::json& policies);
[[nodiscard]] std::string certsView(const nlohmann::json& certs);
[[nodiscard]] std::string connectionsView(const nlohmann::json& connections);
[[nodiscard]] std::string tunnelsView(const nlohmann::json& tunnels);
// `policy check`: the verdict first ("ALLOW" / "DENY"), then why.
[[nodiscard]] std::string policyCheckView(const nlohmann::json& answer);

}  // namespace weft::ctl
