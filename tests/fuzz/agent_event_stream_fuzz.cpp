// Fuzz target: weft-trace's reading of the agent's /events response: the
// HTTP/1.1 response decoder (fed in two pieces split where the input's first
// byte says), the line splitter, and each line's parse. Invariants: the
// decoder's body never holds more than it was fed, the splitter's lines are
// whole (no '\n' inside), and a line either parses or says why, never both.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "weft-trace/agent_events.h"
#include "weft-trace/line_splitter.h"
#include "weft/http/response_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t split = data[0] % size;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  split = std::min(split, input.size());

  weft::http::ResponseDecoder decoder;
  std::string body;
  bool ok = decoder.feed(input.substr(0, split), body).has_value();
  if (ok) ok = decoder.feed(input.substr(split), body).has_value();
  if (ok) (void)decoder.finish();
  if (body.size() > input.size()) std::abort();
  if (decoder.complete() && !decoder.headComplete()) std::abort();

  weft::trace::LineSplitter splitter(4096);
  std::vector<std::string> lines;
  splitter.feed(body, lines);
  splitter.feed(input, lines);  // the raw bytes as a body too: any line shape
  for (const auto& line : lines) {
    if (line.empty() || line.find('\n') != std::string::npos || line.size() > 4096) std::abort();
    auto parsed = weft::trace::parseAgentLine(line);
    if (auto* error = std::get_if<weft::trace::AgentLineError>(&parsed); error && error->message.empty()) std::abort();
  }
  return 0;
}
