// TC programs through BPF_PROG_TEST_RUN: a crafted Ethernet/IPv4/TCP packet
// from 198.19.2.12:40000, and the peer-auth object's mode map, shared by the
// peer-auth and flow-event tests.
#pragma once

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>

#include <doctest/doctest.h>

#include <cstdint>
#include <sstream>
#include <string>

#include "weft/bpf_abi/capture.h"

namespace weft::testing {

// The built object whose path contains `name` (WEFT_BPF_OBJECTS), or "".
inline std::string builtObject(const char* name) {
  std::stringstream list(WEFT_BPF_OBJECTS);
  for (std::string path; std::getline(list, path, ':');)
    if (path.find(name) != std::string::npos) return path;
  return {};
}

// Runs `program` `repeat` times on one TCP packet to dst:port; its verdict.
inline int runTcpPacket(int program, const char* dst, std::uint16_t port, bool syn, bool ack, std::uint32_t mark,
                        int repeat = 1) {
  struct Packet {
    ethhdr eth{};
    iphdr ip{};
    tcphdr tcp{};
  } __attribute__((packed)) p{};
  p.eth.h_proto = htons(ETH_P_IP);
  p.ip.version = 4;
  p.ip.ihl = 5;
  p.ip.ttl = 64;
  p.ip.protocol = IPPROTO_TCP;
  p.ip.tot_len = htons(sizeof(iphdr) + sizeof(tcphdr));
  inet_pton(AF_INET, "198.19.2.12", &p.ip.saddr);
  inet_pton(AF_INET, dst, &p.ip.daddr);
  p.tcp.source = htons(40000);
  p.tcp.dest = htons(port);
  p.tcp.doff = 5;
  p.tcp.syn = syn;
  p.tcp.ack = ack;
  __sk_buff context{};
  context.mark = mark;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = &p, .data_size_in = sizeof p, .ctx_in = &context,
              .ctx_size_in = sizeof context, .repeat = repeat);
  REQUIRE(bpf_prog_test_run_opts(program, &opts) == 0);
  return static_cast<int>(opts.retval);
}

// The mode of ip:port (port 0: the pod's default) in weft_mtls_modes.
inline void setMtlsMode(int modesFd, const char* ip, std::uint16_t port, std::uint8_t mode) {
  weft_endpoint key{};
  key.addr[10] = key.addr[11] = 0xff;
  inet_pton(AF_INET, ip, &key.addr[12]);
  key.port = htons(port);
  REQUIRE(bpf_map_update_elem(modesFd, &key, &mode, BPF_ANY) == 0);
}

}  // namespace weft::testing
