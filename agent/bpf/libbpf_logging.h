// Routes libbpf's own messages (verifier logs included) into weft's log, so
// that a program the verifier rejects is explained where operators look.
#pragma once

namespace weft::bpf {

// Idempotent; call before the first libbpf operation.
void installLibbpfLogging();

}  // namespace weft::bpf
