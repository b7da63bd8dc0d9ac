// Which Services select a pod: the Service's label selector on pods of its
// namespace, as kube-proxy's endpoints controller reads it.
#pragma once

#include "weft/config/objects.h"

namespace weft::runtime {

inline bool selectorMatches(const config::Labels& selector, const config::Labels& labels) {
  if (selector.empty()) return false;  // a Service without a selector has manual endpoints
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

inline bool serviceSelects(const config::Service& service, const config::Pod& pod) {
  return pod.meta.namespace_ == service.meta.namespace_ && selectorMatches(service.selector, pod.meta.labels);
}

}  // namespace weft::runtime
