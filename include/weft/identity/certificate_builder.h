// Making keys, CSRs and certificates: one place for the OpenSSL steps that the
// local CA, WorkloadCertificates and the tests' certificate factory share.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/common/error.h"
#include "weft/identity/openssl_handles.h"

namespace weft::identity {

[[nodiscard]] Result<EvpPkeyPtr> generateP256Key();
// A PKCS#10 request for `key`, empty subject (SPIFFE does not use it).
[[nodiscard]] Result<std::string> makeCsrPem(EVP_PKEY* key);
// Parses `pem` and checks its self-signature.
[[nodiscard]] Result<X509ReqPtr> parseVerifiedCsr(std::string_view pem);
[[nodiscard]] bool isP256Key(EVP_PKEY* key);

struct CertificateProfile {
  std::vector<std::string> uriSans;
  std::optional<bool> ca;        // basicConstraints, critical; nullopt: no extension
  std::string keyUsage;          // OpenSSL config value ("critical,digitalSignature"); "": none
  std::string extendedKeyUsage;  // "serverAuth,clientAuth"; "": none
  std::string organization = "weft";
  std::chrono::system_clock::time_point notBefore, notAfter;
};

// A certificate for `subjectKey` with a random positive 128-bit serial and
// SKID/AKID, signed by `issuerKey`; `issuer` null makes it self-signed.
[[nodiscard]] Result<X509Ptr> issueCertificate(const CertificateProfile& profile, EVP_PKEY* subjectKey,
                                               X509* issuer, EVP_PKEY* issuerKey);

}  // namespace weft::identity
