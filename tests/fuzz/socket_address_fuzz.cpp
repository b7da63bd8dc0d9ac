// Fuzz target: socket address parsing; whatever parses must print and re-parse
// to the same address.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "weft/common/socket_address.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto address = weft::parseSocketAddress(text);
  if (!address) return 0;
  auto again = weft::parseSocketAddress(address->toString());
  if (!again || again->toString() != address->toString()) std::abort();
  return 0;
}
