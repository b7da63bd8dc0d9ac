#include "weft/proxy/mesh_directory.h"

#include <cstring>

namespace weft::proxy {
namespace {

std::string keyOf(const SocketAddress& address) {
  in6_addr bytes{};
  if (address.family() == AF_INET) bytes = v4Mapped(reinterpret_cast<const sockaddr_in*>(&address.storage)->sin_addr);
  else if (address.family() == AF_INET6) bytes = reinterpret_cast<const sockaddr_in6*>(&address.storage)->sin6_addr;
  return std::string(reinterpret_cast<const char*>(&bytes), sizeof bytes);
}

}  // namespace

void MeshDirectory::add(const SocketAddress& address, MeshWorkload workload) {
  byAddress_.insert_or_assign(keyOf(address), std::move(workload));
}

const MeshWorkload* MeshDirectory::find(const SocketAddress& address) const {
  auto it = byAddress_.find(keyOf(address));
  return it == byAddress_.end() ? nullptr : &it->second;
}

}  // namespace weft::proxy
