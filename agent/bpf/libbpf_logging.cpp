#include "libbpf_logging.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>

#include "weft/common/log.h"

namespace weft::bpf {
namespace {

int forwardLibbpfMessage(enum libbpf_print_level level, const char* format, va_list args) {
  char buffer[4096];
  int n = std::vsnprintf(buffer, sizeof buffer, format, args);
  if (n <= 0) return n;
  std::string text(buffer, std::min<size_t>(static_cast<size_t>(n), sizeof buffer - 1));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  log::Level weftLevel = level == LIBBPF_WARN ? log::Level::kWarn
                         : level == LIBBPF_INFO ? log::Level::kDebug
                                                : log::Level::kTrace;
  if (log::enabled(weftLevel)) log::write(weftLevel, "libbpf", text);
  return n;
}

}  // namespace

void installLibbpfLogging() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(forwardLibbpfMessage); });
}

}  // namespace weft::bpf
