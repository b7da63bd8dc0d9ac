// Fixtures for BPF tests: a scratch cgroup v2 directory, a scratch bpffs pin
// directory, and a way to make a connect() from inside a given cgroup.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "weft/bpf/kernel_paths.h"

namespace weft::testing {

// BPF tests need root; they fail loudly without it instead of skipping.
inline void requireRoot() {
  REQUIRE_MESSAGE(::geteuid() == 0, "BPF tests need root (CAP_BPF, CAP_NET_ADMIN): run them with sudo");
}

inline std::filesystem::path bpffsRoot() {
  std::filesystem::path root = "/sys/fs/bpf";
  if (!weft::bpf::ensureBpffsDir(root / "weft-test")) {
    // scripts/test mounts bpffs; a test run by hand may have to do it.
    REQUIRE_MESSAGE(::mount("bpf", root.c_str(), "bpf", 0, nullptr) == 0, "cannot mount bpffs at /sys/fs/bpf");
  }
  return root;
}

class ScratchCgroup {
 public:
  ScratchCgroup() {
    auto mount = weft::bpf::findCgroup2Mount();
    REQUIRE_MESSAGE(mount.has_value(), "no cgroup2 mount: " << mount.error().describe());
    path_ = *mount / ("weft-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchCgroup() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);  // rmdir; children have exited by now
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class ScratchPinDir {
 public:
  ScratchPinDir() : path_(bpffsRoot() / "weft-test" / std::to_string(::getpid())) {}
  ~ScratchPinDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    std::filesystem::remove(path_.parent_path(), ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A listening TCP socket on 127.0.0.1 with a kernel-chosen port.
class LoopbackListener {
 public:
  LoopbackListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}};
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~LoopbackListener() { ::close(fd_); }
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// Forks a child that joins `cgroup` (before it opens any socket: cgroup hooks
// follow the cgroup a socket was created in) and connects to 127.0.0.1:port.
// Returns true when the child's connect succeeded.
inline bool connectFromCgroup(const std::filesystem::path& cgroup, std::uint16_t port) {
  pid_t child = ::fork();
  if (child == 0) {
    std::ofstream(cgroup / "cgroup.procs") << ::getpid() << std::flush;
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {htonl(INADDR_LOOPBACK)}};
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::_exit(rc == 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

inline std::uint64_t currentNetnsCookie() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  std::uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  REQUIRE(::getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) == 0);
  ::close(fd);
  return cookie;
}

}  // namespace weft::testing
