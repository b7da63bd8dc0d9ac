// X509-SVID validation (https://github.com/spiffe/spiffe/blob/main/standards/X509-SVID.md).
// OpenSSL verifies chains but knows nothing of SPIFFE (it does not look at URI
// SANs): these are the checks it leaves to us, each failing with the rule's name.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <string>

#include "weft/common/error.h"
#include "weft/identity/spiffe_id.h"
#include "weft/identity/trust_bundle.h"

namespace weft::identity {

struct CertificateInfo {
  SpiffeId id;
  std::string serial;  // lowercase hex, no leading zeros
  std::chrono::system_clock::time_point notBefore, notAfter;
};

// Full validation of a peer's leaf: exactly one URI SAN, a SPIFFE ID of the
// bundle's trust domain; not a CA; keyUsage with digitalSignature and without
// keyCertSign or cRLSign; valid at `now`; the chain (leaf + `untrusted`
// intermediates, may be null) verifies to the bundle at `now`.
[[nodiscard]] Result<CertificateInfo> validateX509Svid(X509* leaf, STACK_OF(X509) * untrusted,
                                                       const TrustBundle& bundle,
                                                       std::chrono::system_clock::time_point now);

// Identity, serial and validity without validating anything (for listings);
// fails only when the certificate carries no SPIFFE ID.
[[nodiscard]] Result<CertificateInfo> describeCertificate(X509* cert);

// "2026-11-22T10:00:00Z" (RFC 3339, UTC, whole seconds).
[[nodiscard]] std::string formatUtc(std::chrono::system_clock::time_point time);

}  // namespace weft::identity
