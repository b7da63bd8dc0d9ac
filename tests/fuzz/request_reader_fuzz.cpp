// Fuzz target: the admin API's HTTP/1.1 request reader, fed in two pieces
// split at a position taken from the input, with small limits so that the
// limit paths are reached too.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "weft/http/request_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t split = data[0] % (input.size() + 1);
  weft::http::RequestReader reader({.maxHeaderBytes = 512, .maxBodyBytes = 1024});
  if (reader.feed(input.substr(0, split))) (void)reader.feed(input.substr(split));
  while (auto request = reader.next()) {
    (void)request->path();
    (void)request->query();
    (void)request->header("host");
  }
  return 0;
}
