// weft-trace's line splitter for the NDJSON body of the agent's /events.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "weft-trace/line_splitter.h"

using namespace weft::trace;

TEST_CASE("trace: lines split across reads - CRLF dropped - oversized lines skipped whole") {
  LineSplitter splitter(16);
  std::vector<std::string> lines;
  splitter.feed("{\"a\":", lines);
  CHECK(lines.empty());
  splitter.feed("1}\r\n\n{\"b\":2}\n{\"c\"", lines);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "{\"a\":1}");
  CHECK(lines[1] == "{\"b\":2}");
  splitter.feed(std::string(20, 'x'), lines);  // the partial {"c" grows past 16
  splitter.feed("yyy\nok\n", lines);
  REQUIRE(lines.size() == 3);
  CHECK(lines[2] == "ok");
  CHECK(splitter.oversized() == 1);
}
