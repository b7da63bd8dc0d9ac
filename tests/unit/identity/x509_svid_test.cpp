// X509-SVID validation: one real certificate per rule of the X509-SVID
// specification, made by the test factory with exactly that defect.
#include "weft/identity/x509_svid.h"

#include <doctest/doctest.h>

#include <functional>
#include <string>

#include "test_certificates.h"
#include "weft/identity/trust_bundle.h"

using namespace weft::identity;
using namespace weft::identity::testing;

namespace {

constexpr const char* kWorkload = "spiffe://cluster.local/ns/demo/sa/default";

enum class Issuer { kBundleCa, kIntermediate, kOtherCa };

}  // namespace

TEST_CASE("X509-SVID rules: each defect is rejected with its rule named and the good ones pass") {
  Clock::time_point now = wholeSecondNow();
  TestCa ca = TestCa::make("cluster.local", now);
  TestCa other = TestCa::make("cluster.local", now);  // same trust domain, another key
  TestKeyAndCert intermediate = ca.intermediate(now);
  TrustBundle bundle = ca.bundle();

  struct Case {
    const char* name;
    std::function<void(CertificateProfile&)> defect;
    Issuer issuer = Issuer::kBundleCa;
    bool sendIntermediate = false;
    const char* error = nullptr;  // nullptr: valid
  };
  const Case cases[] = {
      {"good", [](CertificateProfile&) {}},
      {"good through an intermediate", [](CertificateProfile&) {}, Issuer::kIntermediate, true},
      {"no basicConstraints (not a CA by default)", [](CertificateProfile& p) { p.ca.reset(); }},
      {"CA leaf", [](CertificateProfile& p) { p.ca = true; }, Issuer::kBundleCa, false, "is a CA (basicConstraints CA:TRUE)"},
      {"zero URI SANs", [](CertificateProfile& p) { p.uriSans.clear(); }, Issuer::kBundleCa, false,
       "certificate has 0 URI SANs; an X509-SVID has exactly one"},
      {"two URI SANs", [](CertificateProfile& p) { p.uriSans.push_back("spiffe://cluster.local/ns/demo/sa/other"); },
       Issuer::kBundleCa, false, "certificate has 2 URI SANs; an X509-SVID has exactly one"},
      {"URI SAN not SPIFFE", [](CertificateProfile& p) { p.uriSans = {"https://cluster.local/ns/demo"}; },
       Issuer::kBundleCa, false, "scheme must be 'spiffe://'"},
      {"URI SAN with a bad path", [](CertificateProfile& p) { p.uriSans = {"spiffe://cluster.local/ns/../sa"}; },
       Issuer::kBundleCa, false, "dot segment"},
      {"trust-domain ID on a leaf", [](CertificateProfile& p) { p.uriSans = {"spiffe://cluster.local"}; },
       Issuer::kBundleCa, false, "names a trust domain, not a workload"},
      {"wrong trust domain", [](CertificateProfile& p) { p.uriSans = {"spiffe://other.domain/ns/demo/sa/default"}; },
       Issuer::kBundleCa, false, "is not of trust domain cluster.local"},
      {"keyCertSign", [](CertificateProfile& p) { p.keyUsage = "critical,digitalSignature,keyCertSign"; },
       Issuer::kBundleCa, false, "keyUsage has keyCertSign"},
      {"cRLSign", [](CertificateProfile& p) { p.keyUsage = "critical,digitalSignature,cRLSign"; }, Issuer::kBundleCa,
       false, "keyUsage has cRLSign"},
      {"no digitalSignature", [](CertificateProfile& p) { p.keyUsage = "critical,keyAgreement"; }, Issuer::kBundleCa,
       false, "keyUsage lacks digitalSignature"},
      {"no keyUsage", [](CertificateProfile& p) { p.keyUsage.clear(); }, Issuer::kBundleCa, false,
       "no keyUsage extension"},
      {"expired",
       [now](CertificateProfile& p) {
         p.notBefore = now - std::chrono::hours(48);
         p.notAfter = now - std::chrono::seconds(1);
       },
       Issuer::kBundleCa, false, "certificate has expired"},
      {"not yet valid",
       [now](CertificateProfile& p) {
         p.notBefore = now + std::chrono::seconds(1);
         p.notAfter = now + std::chrono::hours(48);
       },
       Issuer::kBundleCa, false, "certificate is not yet valid"},
      {"other CA", [](CertificateProfile&) {}, Issuer::kOtherCa, false,
       "does not verify to the trust bundle of cluster.local: unable to get local issuer certificate"},
      {"intermediate not sent", [](CertificateProfile&) {}, Issuer::kIntermediate, false,
       "does not verify to the trust bundle"},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.name));
    CertificateProfile profile = svidProfile(kWorkload, now);
    c.defect(profile);
    const TestKeyAndCert& issuer = c.issuer == Issuer::kBundleCa ? ca.ca : c.issuer == Issuer::kOtherCa ? other.ca : intermediate;
    TestKeyAndCert leaf = issueTestCertificate(profile, issuer);
    std::vector<X509Ptr> chain;
    if (c.sendIntermediate) {
      X509_up_ref(intermediate.cert.get());
      chain.emplace_back(intermediate.cert.get());
    }
    X509StackPtr untrusted = toX509Stack(chain);
    auto info = validateX509Svid(leaf.cert.get(), c.sendIntermediate ? untrusted.get() : nullptr, bundle, now);
    if (c.error == nullptr) {
      REQUIRE_MESSAGE(info.has_value(), info.error().describe());
      CHECK(info->id.uri() == kWorkload);
      CHECK(info->notBefore == profile.notBefore);
      CHECK(info->notAfter == profile.notAfter);
      CHECK_FALSE(info->serial.empty());
    } else {
      REQUIRE_FALSE(info.has_value());
      CHECK_MESSAGE(info.error().message.find(c.error) != std::string::npos, info.error().message);
    }
  }
}

TEST_CASE("X509-SVID validity is judged at the given time and not the wall clock") {
  Clock::time_point now = wholeSecondNow();
  TestCa ca = TestCa::make("cluster.local", now);
  TestKeyAndCert leaf = issueTestCertificate(svidProfile(kWorkload, now), ca.ca);  // now +- 1 h
  CHECK(validateX509Svid(leaf.cert.get(), nullptr, ca.bundle(), now + std::chrono::minutes(59)).has_value());
  auto late = validateX509Svid(leaf.cert.get(), nullptr, ca.bundle(), now + std::chrono::minutes(61));
  REQUIRE_FALSE(late.has_value());
  CHECK(late.error().message.find("expired") != std::string::npos);
  auto early = validateX509Svid(leaf.cert.get(), nullptr, ca.bundle(), now - std::chrono::minutes(61));
  REQUIRE_FALSE(early.has_value());
  CHECK(early.error().message.find("not yet valid") != std::string::npos);
}

TEST_CASE("describeCertificate lists identity / serial / validity without validating") {
  Clock::time_point now = wholeSecondNow();
  TestCa ca = TestCa::make("cluster.local", now);
  CertificateProfile profile = svidProfile(kWorkload, now);
  profile.ca = true;  // invalid as an SVID, still describable
  TestKeyAndCert cert = issueTestCertificate(profile, ca.ca);
  auto info = describeCertificate(cert.cert.get());
  REQUIRE_MESSAGE(info.has_value(), info.error().describe());
  CHECK(info->id.uri() == kWorkload);
  CHECK(info->notAfter == profile.notAfter);
  // 128 random bits with the top one clear: lowercase hex, at most 32 digits.
  CHECK(info->serial.size() <= 32);
  CHECK(info->serial.size() >= 16);
  CHECK(info->serial.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(formatUtc(Clock::from_time_t(1795341600)) == "2026-11-22T10:00:00Z");

  profile.uriSans.clear();
  TestKeyAndCert anonymous = issueTestCertificate(profile, ca.ca);
  auto none = describeCertificate(anonymous.cert.get());
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().message.find("no URI SAN") != std::string::npos);
}

TEST_CASE("trust bundles take CA certificates only and keep their PEM") {
  Clock::time_point now = wholeSecondNow();
  TestCa ca = TestCa::make("cluster.local", now);
  TestCa second = TestCa::make("cluster.local", now);
  std::string pem = toPem(ca.ca.cert.get()) + toPem(second.ca.cert.get());
  auto bundle = TrustBundle::fromPem("cluster.local", pem);
  REQUIRE_MESSAGE(bundle.has_value(), bundle.error().describe());
  CHECK(bundle->pem() == pem);
  CHECK(bundle->trustDomain() == "cluster.local");
  TrustBundle copy = *bundle;
  CHECK(copy.store() == bundle->store());
  // Either CA of the bundle anchors a chain.
  TestKeyAndCert leaf = issueTestCertificate(svidProfile(kWorkload, now), second.ca);
  CHECK(validateX509Svid(leaf.cert.get(), nullptr, copy, now).has_value());

  auto withLeaf = TrustBundle::fromPem("cluster.local", pem + toPem(leaf.cert.get()));
  REQUIRE_FALSE(withLeaf.has_value());
  CHECK(withLeaf.error().message.find("certificate 3 is not a CA") != std::string::npos);
  auto empty = TrustBundle::fromPem("cluster.local", "");
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error().message.find("no PEM certificate") != std::string::npos);
  auto garbage = TrustBundle::fromPem("cluster.local", "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n");
  REQUIRE_FALSE(garbage.has_value());
  CHECK(garbage.error().message.find("malformed") != std::string::npos);
  auto badDomain = TrustBundle::fromPem("Cluster.local", pem);
  REQUIRE_FALSE(badDomain.has_value());
  CHECK(badDomain.error().message.find("uppercase") != std::string::npos);
}
