// The X509-SVIDs of the identities present on this node: one key and
// certificate per enrolled service account, issued when the identity appears,
// renewed at half-life, kept in use while renewal fails (retried with
// backoff), dropped when the identity leaves. Worker threads read it for every
// new TLS connection without taking a lock.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "weft/identity/certificate_signer.h"
#include "weft/identity/openssl_handles.h"
#include "weft/identity/spiffe_id.h"
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

inline constexpr std::chrono::seconds kFirstRetryDelay{1};
inline constexpr std::chrono::seconds kMaxRetryDelay{300};

class WorkloadCertificates {
 public:
  WorkloadCertificates(CertificateSigner& signer, WorkloadCertificatesOptions options);

  // The identities wanted now (enrolled pods of this node). New ones are
  // issued at once (key made here: EC P-256 + CSR -> signer); ones no longer
  // wanted are dropped.
  void setWanted(const std::set<SpiffeId>& ids);
  // Renews every certificate past half its lifetime and retries failed issues
  // whose backoff has passed (1 s doubling, capped at 5 min and never past the
  // cert's expiry); a failure keeps the valid cert in use. An expired cert is
  // withdrawn (peers would refuse it). Cheap when nothing is due.
  void refresh();
  // When refresh() next has work; an hour from now when nothing is wanted.
  [[nodiscard]] std::chrono::system_clock::time_point nextRefresh() const;

  // Thread-safe and lock-free: the current SVID or nullptr.
  [[nodiscard]] std::shared_ptr<const Svid> find(const SpiffeId& id) const;
  [[nodiscard]] TrustBundle trustBundle() const;

  // {"trustDomain":..., "certificates":[{"identity","serial","notBefore",
  // "notAfter","renewAt","lastError"}]}; serial/notBefore/notAfter are null
  // while an identity has no certificate; renewAt is the next attempt.
  [[nodiscard]] nlohmann::json toJson() const;

  // notAfter of each identity's current certificate (for the expiry metric).
  [[nodiscard]] std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> expiries() const;

 private:
  using SvidMap = std::map<SpiffeId, std::shared_ptr<const Svid>>;
  struct Entry {
    std::shared_ptr<const Svid> current;
    std::chrono::system_clock::time_point nextAttempt;
    int failures = 0;
    std::optional<std::string> lastError;
  };

  Result<std::shared_ptr<const Svid>> issue(const SpiffeId& id, std::chrono::system_clock::time_point now);
  void attempt(const SpiffeId& id, Entry& entry, std::chrono::system_clock::time_point now);
  void publishLocked();

  CertificateSigner& signer_;
  WorkloadCertificatesOptions options_;
  mutable std::mutex mutex_;  // entries_: the main loop changes them, the admin thread reads them
  std::map<SpiffeId, Entry> entries_;
  std::atomic<std::shared_ptr<const SvidMap>> published_;
};

}  // namespace weft::identity
