#include <doctest/doctest.h>

#include <initializer_list>
#include <vector>

#include "weft-bench/options.h"
#include "weft-bench/run_error.h"

using namespace weft::bench;

namespace {

ParsedCommandLine parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"weft-bench"};
  argv.insert(argv.end(), args);
  return parseCommandLine(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("bench: parseSize takes binary suffixes") {
  CHECK(parseSize("1000").value() == 1000);
  CHECK(parseSize("64K").value() == 64 * 1024);
  CHECK(parseSize("256MiB").value() == 256ULL << 20);
  CHECK(parseSize("1G").value() == 1ULL << 30);
  CHECK(parseSize("2gb").value() == 2ULL << 30);
  CHECK_FALSE(parseSize("").has_value());
  CHECK_FALSE(parseSize("M").has_value());
  CHECK_FALSE(parseSize("12X").has_value());
  CHECK_FALSE(parseSize("1Mx").has_value());
  CHECK_FALSE(parseSize("99999999999T").has_value());
}

TEST_CASE("bench: command line parses each subcommand into its options") {
  auto bulk = parse({"bulk", "--connect", "127.0.0.1:9000", "--bytes", "256M", "--streams", "4", "--direction",
                     "down", "--seed", "7"});
  REQUIRE(bulk.command.has_value());
  auto& b = std::get<BulkOptions>(*bulk.command);
  CHECK(b.bytes == 256ULL << 20);
  CHECK(b.streams == 4);
  CHECK(b.down);
  CHECK(b.client.address.port() == 9000);
  CHECK(b.client.seedGiven);
  CHECK(b.client.seed == 7);
  CHECK(b.client.connectTimeoutMs == 5000);

  auto rr = parse({"rr", "--connect", "[::1]:80", "--connections", "32", "--rate", "2000", "--request-size", "1K",
                   "--io-timeout-ms", "300"});
  REQUIRE(rr.command.has_value());
  auto& r = std::get<RrOptions>(*rr.command);
  CHECK(r.connections == 32);
  CHECK(r.rate == 2000);
  CHECK(r.requestSize == 1024);
  CHECK(r.responseSize == 64);
  CHECK(r.durationSeconds == 5);  // the default when neither bound is given
  CHECK(r.client.ioTimeoutMs == 300);
  CHECK_FALSE(r.client.seedGiven);

  auto counted = parse({"rr", "--connect", "127.0.0.1:80", "--requests", "1000"});
  REQUIRE(counted.command.has_value());
  CHECK(std::get<RrOptions>(*counted.command).durationSeconds == 0);

  auto refused = parse({"expect-refused", "--connect", "127.0.0.1:1", "--timeout-ms", "250"});
  REQUIRE(refused.command.has_value());
  auto& e = std::get<ExpectRefusedOptions>(*refused.command);
  CHECK(e.client.connectTimeoutMs == 250);
  CHECK(e.client.ioTimeoutMs == 250);

  auto serve = parse({"serve", "--listen", "0.0.0.0:0", "--threads", "3"});
  REQUIRE(serve.command.has_value());
  CHECK(std::get<ServeOptions>(*serve.command).threads == 3);
}

TEST_CASE("bench: command line errors are usage errors naming the problem") {
  auto noCommand = parse({});
  CHECK_FALSE(noCommand.command.has_value());
  CHECK(noCommand.exitCode == kExitUsage);

  auto badAddress = parse({"rr", "--connect", "localhost:80"});
  CHECK_FALSE(badAddress.command.has_value());
  CHECK(badAddress.exitCode == kExitUsage);
  CHECK(badAddress.subcommand == "rr");
  CHECK(badAddress.error.find("numeric") != std::string::npos);

  auto both = parse({"rr", "--connect", "127.0.0.1:1", "--duration", "1", "--requests", "5"});
  CHECK(both.exitCode == kExitUsage);

  auto badSize = parse({"rr", "--connect", "127.0.0.1:1", "--response-size", "0"});
  CHECK(badSize.exitCode == kExitUsage);
  CHECK(badSize.error.find("--response-size") != std::string::npos);

  auto missing = parse({"bulk", "--connect", "127.0.0.1:1"});
  CHECK(missing.exitCode == kExitUsage);
  CHECK(missing.error.find("--bytes") != std::string::npos);

  auto help = parse({"--help"});
  CHECK(help.exitCode == 0);
  CHECK(help.helpText.find("expect-refused") != std::string::npos);
}

TEST_CASE("bench: failures map to distinct exit codes") {
  CHECK(exitCodeFor(errnoFailure(ECONNREFUSED, "connect", "connect x").kind) == kExitRefused);
  CHECK(exitCodeFor(errnoFailure(ECONNRESET, "read", "read").kind) == kExitRefused);
  CHECK(exitCodeFor(errnoFailure(ETIMEDOUT, "connect", "connect").kind) == kExitTimeout);
  CHECK(exitCodeFor(errnoFailure(EHOSTUNREACH, "connect", "connect").kind) == kExitNetwork);
  auto reset = errnoFailure(ECONNRESET, "read", "read from 10.0.0.1:80");
  CHECK(reset.message == "read from 10.0.0.1:80: Connection reset by peer");
  CHECK(errnoName(reset.err) == "ECONNRESET");
  auto timedOut = errnoFailure(EAGAIN, "read", "read");
  CHECK(timedOut.kind == FailureKind::kTimeout);
  CHECK(errnoName(timedOut.err) == "ETIMEDOUT");
  Report report;
  addErrorFields(report, errnoFailure(ECONNREFUSED, "connect", "connect 198.19.2.11:9000"));
  CHECK(report["error"] == "connect 198.19.2.11:9000: Connection refused");
  CHECK(report["errno_name"] == "ECONNREFUSED");
  CHECK(report["kind"] == "refused");
}
