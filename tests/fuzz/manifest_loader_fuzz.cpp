// Fuzz target for the manifest loader: any bytes must load without a crash,
// a leak or an exception, and the resulting snapshot must dump to JSON (the
// admin API's /config_dump does exactly that with whatever was loaded).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "weft/common/log.h"
#include "weft/config/manifest_loader.h"
#include "weft/config/snapshot.h"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Every rejection logs a warning; at fuzzing speed that is only noise.
  weft::log::setLevel(weft::log::Level::kOff);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  weft::config::Snapshot snapshot;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  weft::config::loadManifestText(text, "fuzz.yaml", snapshot);
  // Loading the same text again turns every object into a duplicate, which
  // exercises the duplicate index and the rejection path for each kind.
  weft::config::loadManifestText(text, "fuzz-again.yaml", snapshot);
  nlohmann::json dumped = weft::config::toJson(snapshot);
  // Throws (and so aborts the fuzzer) if any string is not valid UTF-8.
  std::string out = dumped.dump();
  return 0;
}
