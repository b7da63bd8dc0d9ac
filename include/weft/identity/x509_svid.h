// X509-SVID validation (https://github.com/spiffe/spiffe/blob/main/standards/X509-SVID.md).
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <string>

#include "weft/identity/spiffe_id.h"
#include "weft/identity/trust_bundle.h"

namespace weft::identity {

struct CertificateInfo {
  SpiffeId id;
  std::string serial;  // lowercase hex
  std::chrono::system_clock::time_point notBefore, notAfter;
};

// A peer's leaf against the rules: exactly one URI SAN, a SPIFFE ID of the
// bundle's trust domain; not a CA; digitalSignature and neither keyCertSign
// nor cRLSign; valid at `now`; the chain (leaf plus untrusted intermediates,
// may be null) verifies to the bundle at `now`. Errors name the rule.
[[nodiscard]] Result<CertificateInfo> validateX509Svid(X509* leaf, STACK_OF(X509)* untrusted,
                                                       const TrustBundle& bundle,
                                                       std::chrono::system_clock::time_point now);
// What a certificate says, unchecked (for listings).
[[nodiscard]] Result<CertificateInfo> describeCertificate(X509* certificate);

}  // namespace weft::identity
