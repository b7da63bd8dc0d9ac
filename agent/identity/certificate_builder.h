// Building X.509 certificates with OpenSSL: shared by the local CA for its
// own certificate and for the workload certificates it signs.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "weft/identity/openssl_handles.h"

namespace weft::identity {

struct CertificateTemplate {
  std::string commonName;
  std::chrono::system_clock::time_point notBefore, notAfter;
  // Extensions as OpenSSL's config syntax: {NID, "critical,CA:TRUE"}.
  std::vector<std::pair<int, std::string>> extensions;
};

// Signs `subjectKey`'s certificate with `issuerKey`; `issuer` null: self-signed.
[[nodiscard]] Result<X509Ptr> buildCertificate(const CertificateTemplate& spec, EVP_PKEY* subjectKey, X509* issuer,
                                               EVP_PKEY* issuerKey);

}  // namespace weft::identity
