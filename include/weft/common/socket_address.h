// An IPv4 or IPv6 socket address parsed from "host:port" or "[v6]:port".
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "weft/common/error.h"

namespace weft {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  [[nodiscard]] int family() const { return storage.ss_family; }
  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  [[nodiscard]] std::string toString() const;  // "1.2.3.4:80" or "[::1]:80"
};

// IPv4 as a v4-mapped IPv6 address (::ffff:a.b.c.d): the one form the BPF
// maps keep addresses in, so that one code path serves both families.
[[nodiscard]] in6_addr v4Mapped(in_addr address);
// The IPv4 address inside a v4-mapped one; nullopt for any other IPv6 address.
[[nodiscard]] std::optional<in_addr> v4Unmapped(const in6_addr& address);

// Numeric hosts only: a config that needs DNS to know where to listen is a bug.
[[nodiscard]] Result<SocketAddress> parseSocketAddress(std::string_view text);

}  // namespace weft
