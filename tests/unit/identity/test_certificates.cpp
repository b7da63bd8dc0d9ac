#include "test_certificates.h"

#include <doctest/doctest.h>

#include <fstream>

#include "weft/identity/spiffe_id.h"

namespace weft::identity::testing {

namespace {

TestKeyAndCert issueOrFail(const CertificateProfile& profile, EVP_PKEY* issuerKey, X509* issuer, EvpPkeyPtr key) {
  auto cert = issueCertificate(profile, key.get(), issuer, issuer ? issuerKey : key.get());
  REQUIRE_MESSAGE(cert.has_value(), cert.error().describe());
  return {std::move(key), std::move(*cert)};
}

EvpPkeyPtr newKey() {
  auto key = generateP256Key();
  REQUIRE_MESSAGE(key.has_value(), key.error().describe());
  return std::move(*key);
}

CertificateProfile caProfile(const std::string& trustDomain, Clock::time_point now) {
  return CertificateProfile{
      .uriSans = {SpiffeId{trustDomain, ""}.uri()},
      .ca = true,
      .keyUsage = "critical,keyCertSign,cRLSign",
      .organization = "weft test CA",
      .notBefore = now - std::chrono::days(1),
      .notAfter = now + std::chrono::days(3650),
  };
}

}  // namespace

TestCa TestCa::make(std::string trustDomain, Clock::time_point now) {
  CertificateProfile profile = caProfile(trustDomain, now);
  return TestCa{std::move(trustDomain), issueOrFail(profile, nullptr, nullptr, newKey())};
}

TestKeyAndCert TestCa::intermediate(Clock::time_point now) const {
  return issueOrFail(caProfile(trustDomain, now), ca.key.get(), ca.cert.get(), newKey());
}

TrustBundle TestCa::bundle() const {
  auto bundle = TrustBundle::fromPem(trustDomain, toPem(ca.cert.get()));
  REQUIRE_MESSAGE(bundle.has_value(), bundle.error().describe());
  return std::move(*bundle);
}

CertificateProfile svidProfile(std::string uri, Clock::time_point now) {
  return CertificateProfile{
      .uriSans = {std::move(uri)},
      .ca = false,
      .keyUsage = "critical,digitalSignature",
      .extendedKeyUsage = "serverAuth,clientAuth",
      .notBefore = now - std::chrono::hours(1),
      .notAfter = now + std::chrono::hours(1),
  };
}

TestKeyAndCert issueTestCertificate(const CertificateProfile& profile, const TestKeyAndCert& issuer) {
  return issueOrFail(profile, issuer.key.get(), issuer.cert.get(), newKey());
}

void writeFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

Result<std::string> TestSigner::sign(const SigningRequest& request) {
  ++calls;
  if (failing) return fail(ErrorCode::kSystem, "test signer: failing on purpose");
  auto csr = parseVerifiedCsr(request.csrPem);
  if (!csr) return std::unexpected(csr.error());
  Clock::time_point now = clock_();
  CertificateProfile profile = svidProfile(request.identity.uri(), now);
  profile.notBefore = now;
  profile.notAfter = now + request.lifetime;
  auto cert = issueCertificate(profile, X509_REQ_get0_pubkey(csr->get()), ca_.ca.cert.get(), ca_.ca.key.get());
  if (!cert) return std::unexpected(cert.error());
  return toPem(cert->get());
}

}  // namespace weft::identity::testing
