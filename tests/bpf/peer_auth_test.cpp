// The STRICT program with crafted packets (BPF_PROG_TEST_RUN works for tc):
// a SYN to a STRICT pod passes only with the proxy's mark; everything else
// (ACKs, other pods, ports set to DISABLE) passes.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>

#include <doctest/doctest.h>

#include <cstring>
#include <sstream>
#include <string>

#include "bpf_test_support.h"
#include "tc_test_run.h"
#include "weft/bpf_abi/capture.h"
#include "weft/bpf_abi/peer_auth.h"

namespace {

constexpr int kPass = 0;  // TC_ACT_OK
constexpr int kDrop = 2;  // TC_ACT_SHOT

struct Loaded {
  bpf_object* object = nullptr;
  Loaded() {
    auto path = weft::testing::builtObject("peer_auth");
    REQUIRE_FALSE(path.empty());
    object = bpf_object__open_file(path.c_str(), nullptr);
    REQUIRE(object != nullptr);
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, object) bpf_map__set_pin_path(map, nullptr);  // nothing into the host's bpffs
    REQUIRE(bpf_object__load(object) == 0);
  }
  ~Loaded() { bpf_object__close(object); }
  int program(const char* name) { return bpf_program__fd(bpf_object__find_program_by_name(object, name)); }
  int map(const char* name) { return bpf_map__fd(bpf_object__find_map_by_name(object, name)); }

  void setMode(const char* ip, std::uint16_t port, std::uint8_t mode) {
    weft::testing::setMtlsMode(map("weft_mtls_modes"), ip, port, mode);
  }
};

int run(int program, const char* dst, std::uint16_t port, bool syn, bool ack, std::uint32_t mark) {
  return weft::testing::runTcpPacket(program, dst, port, syn, ack, mark);
}

}  // namespace

TEST_CASE("peer auth: STRICT drops plaintext SYNs and lets the proxy's through") {
  weft::testing::requireRoot();
  Loaded bpf;
  bpf.setMode("198.19.1.11", 0, WEFT_MTLS_STRICT);
  bpf.setMode("198.19.1.11", 8080, WEFT_MTLS_DISABLE);
  bpf.setMode("198.19.1.12", 0, WEFT_MTLS_PERMISSIVE);
  int strict = bpf.program("weft_strict_egress");
  CHECK(run(strict, "198.19.1.11", 9090, true, false, 0) == kDrop);
  CHECK(run(strict, "198.19.1.11", 9090, true, false, WEFT_MARK_FROM_PROXY) == kPass);
  CHECK(run(strict, "198.19.1.11", 9090, true, false, WEFT_MARK_INTERCEPT) == kDrop);
  CHECK(run(strict, "198.19.1.11", 9090, false, true, 0) == kPass);   // not a new connection
  CHECK(run(strict, "198.19.1.11", 8080, true, false, 0) == kPass);   // port-level DISABLE
  CHECK(run(strict, "198.19.1.12", 9090, true, false, 0) == kPass);   // a PERMISSIVE pod
  CHECK(run(strict, "198.19.1.13", 9090, true, false, 0) == kPass);   // no policy at all

  std::uint64_t perCpu[512] = {};
  std::uint32_t key = WEFT_PA_STRICT_DROPPED;
  REQUIRE(bpf_map_lookup_elem(bpf.map("weft_peer_auth_counters"), &key, perCpu) == 0);
  std::uint64_t dropped = 0;
  for (int i = 0; i < libbpf_num_possible_cpus(); ++i) dropped += perCpu[i];
  CHECK(dropped == 2);
}

TEST_CASE("peer auth: PERMISSIVE without a registered listener leaves plaintext alone and counts it") {
  weft::testing::requireRoot();
  Loaded bpf;
  bpf.setMode("198.19.1.12", 0, WEFT_MTLS_PERMISSIVE);
  int permissive = bpf.program("weft_permissive_ingress");
  CHECK(run(permissive, "198.19.1.12", 80, true, false, 0) == kPass);
  CHECK(run(permissive, "198.19.1.99", 80, true, false, 0) == kPass);
  std::uint64_t perCpu[512] = {};
  std::uint32_t key = WEFT_PA_NO_LISTENER;
  REQUIRE(bpf_map_lookup_elem(bpf.map("weft_peer_auth_counters"), &key, perCpu) == 0);
  std::uint64_t missing = 0;
  for (int i = 0; i < libbpf_num_possible_cpus(); ++i) missing += perCpu[i];
  CHECK(missing == 1);  // only the packet to the PERMISSIVE pod looked for the listener
}
