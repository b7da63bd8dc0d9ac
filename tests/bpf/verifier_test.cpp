// Every BPF object the build produces must pass the kernel's verifier.
#include <bpf/libbpf.h>

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "bpf_test_support.h"

namespace {

std::vector<std::string> builtObjects() {
  std::vector<std::string> objects;
  std::stringstream list(WEFT_BPF_OBJECTS);
  for (std::string path; std::getline(list, path, ':');)
    if (!path.empty()) objects.push_back(path);
  return objects;
}

}  // namespace

TEST_CASE("every BPF object loads through the verifier") {
  weft::testing::requireRoot();
  auto objects = builtObjects();
  REQUIRE_FALSE(objects.empty());
  for (const auto& path : objects) {
    CAPTURE(path);
    bpf_object* object = bpf_object__open_file(path.c_str(), nullptr);
    REQUIRE_MESSAGE(object != nullptr, "cannot open " << path);
    // Load only: no pinning into the host's bpffs from a verifier check.
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, object) bpf_map__set_pin_path(map, nullptr);
    int err = bpf_object__load(object);
    CHECK_MESSAGE(err == 0, "verifier rejected " << path << " (error " << err << ")");
    bpf_object__close(object);
  }
}
