// weft-bench: wiring only. The protocol is in server_session/wire, the load
// engines in load_worker and the *_command files.
#include <signal.h>

#include <cstdio>
#include <variant>

#include "weft-bench/commands.h"
#include "weft-bench/options.h"
#include "weft-bench/report.h"
#include "weft-bench/server.h"
#include "weft/common/log.h"

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace weft::bench;
  ::signal(SIGPIPE, SIG_IGN);  // a peer's reset must be an errno, never a signal
  ParsedCommandLine parsed = parseCommandLine(argc, argv);
  if (!parsed.command) {
    if (parsed.exitCode == 0) {
      std::fputs(parsed.helpText.c_str(), stdout);
      return 0;
    }
    if (parsed.subcommand == "serve") {
      std::fprintf(stderr, "weft-bench serve: %s\n", parsed.error.c_str());
      return parsed.exitCode;
    }
    return emitFailure(parsed.subcommand.empty() ? "weft-bench" : parsed.subcommand,
                       RunError{FailureKind::kUsage, parsed.error, 0, "usage"});
  }
  auto level = weft::log::parseLevel(parsed.logLevel);
  if (!level) {
    std::fprintf(stderr, "weft-bench: unknown --log-level '%s'\n", parsed.logLevel.c_str());
    return kExitUsage;
  }
  weft::log::setLevel(*level);
  return std::visit(Overloaded{
                        [](const ServeOptions& o) { return runServe(o); },
                        [](const BulkOptions& o) { return runBulk(o); },
                        [](const RrOptions& o) { return runRr(o); },
                        [](const ChurnOptions& o) { return runChurn(o); },
                        [](const IdleOptions& o) { return runIdle(o); },
                        [](const ExpectRefusedOptions& o) { return runExpectRefused(o); },
                    },
                    *parsed.command);
}
