// Fuzz target: SPIFFE ID parsing; whatever parses must print and re-parse to
// the same ID, and never exceed the specification's length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "weft/identity/spiffe_id.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto id = weft::identity::parseSpiffeId(text);
  if (!id) return 0;
  std::string uri = id->uri();
  if (uri != text || uri.size() > weft::identity::kMaxSpiffeIdLength) std::abort();
  auto again = weft::identity::parseSpiffeId(uri);
  if (!again || *again != *id) std::abort();
  if (!weft::identity::validateTrustDomain(id->trustDomain)) std::abort();
  return 0;
}
