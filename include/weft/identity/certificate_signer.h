// Who signs workload certificates. LocalCa (a CA key on this machine or in a
// mounted Secret) is the one built; a remote CA taking CSRs over mTLS can
// implement the same interface later without WorkloadCertificates changing.
#pragma once

#include <chrono>
#include <string>

#include "weft/common/error.h"
#include "weft/identity/spiffe_id.h"
#include "weft/identity/trust_bundle.h"

namespace weft::identity {

struct SigningRequest {
  std::string csrPem;  // PKCS#10; carries the public key, its subject and SANs are ignored
  SpiffeId identity;   // what the caller is entitled to: the CA writes this URI SAN
  std::chrono::seconds lifetime{};
};

class CertificateSigner {
 public:
  virtual ~CertificateSigner() = default;
  // PEM chain, leaf first (no root).
  virtual Result<std::string> sign(const SigningRequest& request) = 0;
  [[nodiscard]] virtual TrustBundle trustBundle() const = 0;
};

}  // namespace weft::identity
