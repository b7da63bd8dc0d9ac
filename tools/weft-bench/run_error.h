// How a client run fails, and the exit status and JSON fields that say so.
// Tests assert on the kind ("refused, not a hang"), so each kind that a test
// tells apart has its own exit status.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace weft::bench {

// Reports keep their keys in insertion order, "mode" first, for the humans reading them.
using Report = nlohmann::ordered_json;

inline constexpr int kExitOk = 0;
inline constexpr int kExitVerify = 1;   // data or protocol check failed; expect-refused: it was accepted
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRefused = 3;  // ECONNREFUSED, ECONNRESET, EPIPE
inline constexpr int kExitTimeout = 4;  // connect, I/O or overall deadline
inline constexpr int kExitNetwork = 5;  // any other socket or system error
inline constexpr int kExitEof = 6;      // the peer closed cleanly before the exchange was complete

enum class FailureKind { kVerify, kUsage, kRefused, kReset, kTimeout, kNetwork, kEof };

struct RunError {
  FailureKind kind = FailureKind::kNetwork;
  std::string message;
  int err = 0;             // errno, when a syscall said so
  std::string phase;       // connect, write, read, verify, setup, deadline
};

[[nodiscard]] int exitCodeFor(FailureKind kind);
[[nodiscard]] std::string_view kindName(FailureKind kind);
// "ECONNREFUSED" for ECONNREFUSED; "" for 0.
[[nodiscard]] std::string errnoName(int err);

// Classifies a failed syscall: "<what>: <strerror>".
[[nodiscard]] RunError errnoFailure(int err, std::string phase, std::string_view what);
[[nodiscard]] RunError timeoutFailure(std::string phase, std::string message);
[[nodiscard]] RunError verifyFailure(std::string message);
[[nodiscard]] RunError eofFailure(std::string phase, std::string message);

// Adds "error", "kind", "phase" and (if any) "errno_name" to a report.
void addErrorFields(Report& report, const RunError& error);

}  // namespace weft::bench
