// A small certificate factory for the identity tests: real OpenSSL CAs and
// leaves, each with exactly the defect a test wants, and a signer over a test
// CA that follows the test's clock and fails on demand.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "weft/identity/certificate_builder.h"
#include "weft/identity/certificate_signer.h"
#include "weft/identity/openssl_handles.h"
#include "weft/identity/trust_bundle.h"

namespace weft::identity::testing {

using Clock = std::chrono::system_clock;

// Certificates hold whole seconds: tests start their clocks on one.
inline Clock::time_point wholeSecondNow() { return std::chrono::floor<std::chrono::seconds>(Clock::now()); }

struct TestKeyAndCert {
  EvpPkeyPtr key;
  X509Ptr cert;
};

struct TestCa {
  std::string trustDomain;
  TestKeyAndCert ca;

  // Self-signed P-256 root of `trustDomain`, valid from now - 1 day for 10 years.
  static TestCa make(std::string trustDomain, Clock::time_point now = Clock::now());
  // An intermediate CA signed by this one.
  [[nodiscard]] TestKeyAndCert intermediate(Clock::time_point now = Clock::now()) const;
  [[nodiscard]] TrustBundle bundle() const;
};

// A profile that makes a valid X509-SVID for `uri` at `now` (valid one hour
// either side); tests change one field to get one defect.
CertificateProfile svidProfile(std::string uri, Clock::time_point now);
// A fresh P-256 key and its certificate from `profile`, signed by `issuer`.
TestKeyAndCert issueTestCertificate(const CertificateProfile& profile, const TestKeyAndCert& issuer);

void writeFile(const std::filesystem::path& path, const std::string& text);

// Signs CSRs with a TestCa at the test's clock: notBefore = clock(),
// notAfter = clock() + lifetime, so that tests know the half-life exactly.
class TestSigner final : public CertificateSigner {
 public:
  TestSigner(const TestCa& ca, std::function<Clock::time_point()> clock) : ca_(ca), clock_(std::move(clock)) {}

  Result<std::string> sign(const SigningRequest& request) override;
  [[nodiscard]] TrustBundle trustBundle() const override { return ca_.bundle(); }

  std::atomic<bool> failing{false};
  std::atomic<int> calls{0};

 private:
  const TestCa& ca_;
  std::function<Clock::time_point()> clock_;
};

}  // namespace weft::identity::testing
