// weft-trace's command line.
#include <doctest/doctest.h>

#include <initializer_list>
#include <vector>

#include "weft-trace/options.h"

using namespace weft::trace;

namespace {

ParsedCommandLine parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"weft-trace"};
  argv.insert(argv.end(), args);
  return parseCommandLine(static_cast<int>(argv.size()), argv.data(), "host1");
}

}  // namespace

TEST_CASE("trace: defaults follow the agent's: its pin directory for this host and 127.0.0.1:15000") {
  auto parsed = parse({});
  REQUIRE(parsed.options.has_value());
  CHECK(parsed.options->bpffsDir == "/sys/fs/bpf/weft/host1");
  CHECK(parsed.options->admin.toString() == "127.0.0.1:15000");
  CHECK(parsed.options->format == OutputFormat::kTable);
  CHECK_FALSE(parsed.options->count.has_value());
  CHECK_FALSE(parsed.options->durationSeconds.has_value());
  CHECK_FALSE(parsed.options->kernelOnly);
  CHECK(parse({"--node", "n7"}).options->bpffsDir == "/sys/fs/bpf/weft/n7");
  CHECK(parse({"--node", "n7", "--bpffs-dir", "/sys/fs/bpf/x"}).options->bpffsDir == "/sys/fs/bpf/x");
}

TEST_CASE("trace: filters - output and bounds parse into options") {
  auto parsed = parse({"--pod", "demo/n1-p1", "--namespace", "demo", "--verdict", "deny", "--protocol", "grpc",
                       "--type", "http,strict_drop", "-o", "json", "--count", "5", "--duration", "2.5", "--admin",
                       "127.0.0.1:16000"});
  REQUIRE_MESSAGE(parsed.options.has_value(), parsed.error);
  const TraceOptions& o = *parsed.options;
  CHECK(o.filter.pod == "demo/n1-p1");
  CHECK(o.filter.ns == "demo");
  CHECK(o.filter.verdict == Verdict::kDeny);
  CHECK(o.filter.protocol == Protocol::kGrpc);
  CHECK(o.filter.types == std::set<EventType>{EventType::kHttp, EventType::kStrictDrop});
  CHECK(o.format == OutputFormat::kJson);
  CHECK(o.count == 5u);
  CHECK(o.durationSeconds == doctest::Approx(2.5));
  CHECK(o.admin.port() == 16000);
}

TEST_CASE("trace: bad flags are usage errors that name the flag") {
  for (auto args : {std::vector<const char*>{"--verdict", "maybe"}, {"--protocol", "udp"}, {"-o", "yaml"},
                    {"--count", "0"}, {"--duration", "-1"}, {"--admin", "localhost:15000"}, {"--bogus"}}) {
    std::vector<const char*> argv{"weft-trace"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto parsed = parseCommandLine(static_cast<int>(argv.size()), argv.data(), "h");
    CAPTURE(args[0]);
    CHECK_FALSE(parsed.options.has_value());
    CHECK(parsed.exitCode == kExitUsage);
    CHECK_FALSE(parsed.error.empty());
  }
  auto type = parse({"--type", "http,udp"});
  CHECK(type.error.find("unknown event type 'udp'") != std::string::npos);
  auto kernelOnly = parse({"--kernel-only", "--pod", "x"});
  CHECK(kernelOnly.error.find("not with --kernel-only") != std::string::npos);
  auto help = parse({"--help"});
  CHECK_FALSE(help.options.has_value());
  CHECK(help.exitCode == 0);
  CHECK(help.helpText.find("--verdict") != std::string::npos);
}
