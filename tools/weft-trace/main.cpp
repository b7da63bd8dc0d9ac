// weft-trace: wiring only (options.cpp parses, tracer.cpp runs).
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "weft-trace/options.h"
#include "weft-trace/tracer.h"

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a closed stdout or admin socket is an errno, not a signal
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  auto parsed = weft::trace::parseCommandLine(argc, argv, host);
  if (!parsed.options) {
    if (parsed.exitCode == 0) {
      std::fputs(parsed.helpText.c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "weft-trace: %s\n", parsed.error.c_str());
    return parsed.exitCode;
  }
  return weft::trace::runTrace(*parsed.options);
}
