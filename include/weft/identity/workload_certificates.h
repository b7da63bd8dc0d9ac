// The SVIDs of the identities present on this node: issued when a pod of a
// new identity is enrolled, renewed at half-life, dropped when the last pod
// of an identity leaves. A failed issue or renewal keeps the valid
// certificate in use and retries with backoff.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>

#include <nlohmann/json.hpp>

#include "weft/identity/certificate_signer.h"
#include "weft/identity/openssl_handles.h"
#include "weft/identity/x509_svid.h"

namespace weft::identity {

struct Svid {  // immutable once made; shared with worker threads
  SpiffeId id;
  EvpPkeyPtr key;
  X509Ptr leaf;
  std::vector<X509Ptr> intermediates;  // empty for the local CA
  CertificateInfo info;
};

struct WorkloadCertificatesOptions {
  std::chrono::seconds lifetime{24 * 3600};
  std::function<std::chrono::system_clock::time_point()> clock = [] { return std::chrono::system_clock::now(); };
};

class WorkloadCertificates {
 public:
  WorkloadCertificates(CertificateSigner& signer, WorkloadCertificatesOptions options);

  // The identities wanted now; new ones are issued at once, others dropped.
  void setWanted(const std::set<SpiffeId>& ids);
  // Renews what is due and retries what failed; cheap when nothing is due.
  void refresh();
  [[nodiscard]] std::chrono::system_clock::time_point nextRefresh() const;
  // Any thread: the current SVID, or nullptr.
  [[nodiscard]] std::shared_ptr<const Svid> find(const SpiffeId& id) const;
  [[nodiscard]] TrustBundle trustBundle() const { return signer_.trustBundle(); }
  [[nodiscard]] nlohmann::json toJson() const;

 private:
  struct Entry {
    std::shared_ptr<const Svid> current;
    std::chrono::system_clock::time_point dueAt;  // renewal, or the next retry
    std::chrono::seconds backoff{0};
    std::optional<std::string> lastError;
  };
  Result<std::shared_ptr<const Svid>> issue(const SpiffeId& id);
  void issueInto(const SpiffeId& id, Entry& entry, std::chrono::system_clock::time_point now);

  CertificateSigner& signer_;
  WorkloadCertificatesOptions options_;
  mutable std::shared_mutex mutex_;  // guards entries_ (readers: workers; writer: the main loop)
  std::map<SpiffeId, Entry> entries_;
};

}  // namespace weft::identity
