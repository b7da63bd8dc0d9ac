// What issues workload certificates. The local CA implements it; a remote CA
// (CSR over mTLS) can later, without the callers changing.
#pragma once

#include <chrono>
#include <string>

#include "weft/identity/spiffe_id.h"
#include "weft/identity/trust_bundle.h"

namespace weft::identity {

struct SigningRequest {
  std::string csrPem;  // PKCS#10: carries the public key; its subject and SANs are ignored
  SpiffeId identity;   // what the caller is entitled to: the CA writes this URI SAN
  std::chrono::seconds lifetime;
};

class CertificateSigner {
 public:
  virtual ~CertificateSigner() = default;
  // The PEM chain, leaf first.
  [[nodiscard]] virtual Result<std::string> sign(const SigningRequest& request) = 0;
  [[nodiscard]] virtual TrustBundle trustBundle() const = 0;
};

}  // namespace weft::identity
