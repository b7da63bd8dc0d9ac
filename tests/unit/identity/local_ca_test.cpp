// The local mesh CA: created once in a directory that agents share, loaded
// and checked afterwards, and the leaves it signs.
#include "weft/identity/local_ca.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "../test_support.h"
#include "test_certificates.h"
#include "weft/identity/certificate_builder.h"
#include "weft/identity/x509_svid.h"

using namespace weft::identity;
using namespace weft::identity::testing;
using weft::testing::asUnprivilegedUser;
using weft::testing::QuietLogs;
using weft::testing::TempDir;
namespace fs = std::filesystem;

namespace {

const SpiffeId kWorkload{"cluster.local", "/ns/demo/sa/default"};

std::string readText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string csrFor(EVP_PKEY* key) {
  auto csr = makeCsrPem(key);
  REQUIRE(csr.has_value());
  return *csr;
}

std::unique_ptr<LocalCa> mustLoad(const fs::path& dir, const std::string& trustDomain = "cluster.local") {
  auto ca = LocalCa::loadOrCreate(dir, trustDomain);
  REQUIRE_MESSAGE(ca.has_value(), ca.error().describe());
  return std::move(*ca);
}

bool isCritical(X509* cert, int nid) {
  int index = X509_get_ext_by_NID(cert, nid, -1);
  return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, index)) == 1;
}

// A CA directory written from a test CA (as an operator's Secret would be).
void writeCa(const fs::path& dir, X509* cert, EVP_PKEY* key) {
  writeFile(dir / "ca.crt", toPem(cert));
  writeFile(dir / "ca.key", privateKeyToPem(key));
}

std::string loadError(const fs::path& dir, const std::string& trustDomain = "cluster.local") {
  QuietLogs quiet;
  auto ca = LocalCa::loadOrCreate(dir, trustDomain);
  REQUIRE_FALSE(ca.has_value());
  return ca.error().message;
}

}  // namespace

TEST_CASE("local CA: created in an empty directory as a P-256 self-signed SPIFFE CA with a private key") {
  TempDir dir("weft-ca-test");
  fs::path caDir = dir.path() / "ca";  // created on demand
  QuietLogs quiet;
  Clock::time_point before = wholeSecondNow();
  auto ca = mustLoad(caDir);

  struct stat keyStat {};
  REQUIRE(::stat((caDir / "ca.key").c_str(), &keyStat) == 0);
  CHECK((keyStat.st_mode & 0777) == 0600);
  CHECK(fs::exists(caDir / "ca.crt"));
  for (const auto& entry : fs::directory_iterator(caDir)) {
    CHECK_MESSAGE(entry.path().filename().string().find(".tmp") == std::string::npos, entry.path());
  }

  X509* cert = ca->certificate();
  CHECK(X509_check_ca(cert) != 0);
  CHECK(isCritical(cert, NID_basic_constraints));
  CHECK(X509_get_key_usage(cert) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  CHECK(isP256Key(X509_get0_pubkey(cert)));
  CHECK((X509_get_extension_flags(cert) & EXFLAG_SS) != 0);
  auto info = describeCertificate(cert);
  REQUIRE(info.has_value());
  CHECK(info->id.uri() == "spiffe://cluster.local");
  CHECK(info->notAfter - before > std::chrono::days(3650));
  CHECK(ca->trustBundle().trustDomain() == "cluster.local");
  CHECK(ca->trustBundle().pem() == readText(caDir / "ca.crt"));
  auto key = parsePemPrivateKey(readText(caDir / "ca.key"));
  REQUIRE(key.has_value());
  CHECK(readText(caDir / "ca.key").starts_with("-----BEGIN PRIVATE KEY-----"));  // PKCS#8
  CHECK(X509_check_private_key(cert, key->get()) == 1);
}

TEST_CASE("local CA: a second start loads the same CA") {
  TempDir dir("weft-ca-test");
  QuietLogs quiet;
  std::string first = mustLoad(dir.path())->trustBundle().pem();
  std::string second = mustLoad(dir.path())->trustBundle().pem();
  CHECK(first == second);
}

TEST_CASE("local CA: two threads creating at once make one CA") {
  for (int round = 0; round < 5; ++round) {
    TempDir dir("weft-ca-test");
    QuietLogs quiet;
    std::string pems[2];
    std::thread threads[2];
    for (int i = 0; i < 2; ++i) {
      threads[i] = std::thread([&, i] {
        auto ca = LocalCa::loadOrCreate(dir.path(), "cluster.local");
        if (ca) pems[i] = (*ca)->trustBundle().pem();
      });
    }
    for (auto& t : threads) t.join();
    REQUIRE_FALSE(pems[0].empty());
    CHECK(pems[0] == pems[1]);
    CHECK(pems[0] == readText(dir.path() / "ca.crt"));
  }
}

TEST_CASE("local CA: two processes creating at once make one CA") {
  for (int round = 0; round < 3; ++round) {
    TempDir dir("weft-ca-test");
    fs::path caDir = dir.path() / "ca";
    pid_t children[2];
    for (int i = 0; i < 2; ++i) {
      children[i] = ::fork();
      REQUIRE(children[i] >= 0);
      if (children[i] == 0) {
        weft::log::setLevel(weft::log::Level::kOff);
        auto ca = LocalCa::loadOrCreate(caDir, "cluster.local");
        if (!ca) ::_exit(1);
        std::ofstream(dir.path() / ("seen-" + std::to_string(i))) << (*ca)->trustBundle().pem();
        ::_exit(0);
      }
    }
    for (pid_t child : children) {
      int status = 0;
      REQUIRE(::waitpid(child, &status, 0) == child);
      CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    std::string seen0 = readText(dir.path() / "seen-0");
    CHECK_FALSE(seen0.empty());
    CHECK(seen0 == readText(dir.path() / "seen-1"));
    CHECK(seen0 == readText(caDir / "ca.crt"));
  }
}

TEST_CASE("local CA: each bad directory is refused with its cause") {
  Clock::time_point now = wholeSecondNow();
  TestCa good = TestCa::make("cluster.local", now);

  SUBCASE("only ca.crt") {
    TempDir dir("weft-ca-test");
    writeFile(dir.path() / "ca.crt", toPem(good.ca.cert.get()));
    CHECK(loadError(dir.path()).find("has ca.crt but no ca.key") != std::string::npos);
  }
  SUBCASE("only ca.key") {
    TempDir dir("weft-ca-test");
    writeFile(dir.path() / "ca.key", privateKeyToPem(good.ca.key.get()));
    CHECK(loadError(dir.path()).find("has ca.key but no ca.crt") != std::string::npos);
  }
  SUBCASE("key of another certificate") {
    TempDir dir("weft-ca-test");
    TestCa other = TestCa::make("cluster.local", now);
    writeCa(dir.path(), good.ca.cert.get(), other.ca.key.get());
    CHECK(loadError(dir.path()).find("ca.key is not the key of") != std::string::npos);
  }
  SUBCASE("certificate not a CA") {
    TempDir dir("weft-ca-test");
    TestKeyAndCert leaf = issueTestCertificate(svidProfile(kWorkload.uri(), now), good.ca);
    writeCa(dir.path(), leaf.cert.get(), leaf.key.get());
    CHECK(loadError(dir.path()).find("is not a CA certificate") != std::string::npos);
  }
  SUBCASE("CA may not sign certificates") {
    TempDir dir("weft-ca-test");
    CertificateProfile profile = svidProfile("spiffe://cluster.local", now);
    profile.ca = true;
    profile.keyUsage = "critical,digitalSignature";
    TestKeyAndCert noSigning = issueTestCertificate(profile, good.ca);
    writeCa(dir.path(), noSigning.cert.get(), noSigning.key.get());
    CHECK(loadError(dir.path()).find("keyUsage lacks keyCertSign") != std::string::npos);
  }
  SUBCASE("expired CA") {
    TempDir dir("weft-ca-test");
    CertificateProfile profile = svidProfile("spiffe://cluster.local", now);
    profile.ca = true;
    profile.keyUsage = "critical,keyCertSign,cRLSign";
    profile.notBefore = now - std::chrono::days(20);
    profile.notAfter = now - std::chrono::days(10);
    TestKeyAndCert expired = issueTestCertificate(profile, good.ca);
    writeCa(dir.path(), expired.cert.get(), expired.key.get());
    CHECK(loadError(dir.path()).find("ca.crt expired at") != std::string::npos);
  }
  SUBCASE("CA of another trust domain") {
    TempDir dir("weft-ca-test");
    TestCa other = TestCa::make("other.domain", now);
    writeCa(dir.path(), other.ca.cert.get(), other.ca.key.get());
    CHECK(loadError(dir.path()).find("is the CA of trust domain other.domain, not cluster.local") != std::string::npos);
  }
  SUBCASE("not PEM") {
    TempDir dir("weft-ca-test");
    writeFile(dir.path() / "ca.crt", "hello\n");
    writeFile(dir.path() / "ca.key", privateKeyToPem(good.ca.key.get()));
    CHECK(loadError(dir.path()).find("ca.crt: no PEM certificate") != std::string::npos);
  }
  SUBCASE("invalid trust domain") {
    TempDir dir("weft-ca-test");
    CHECK(loadError(dir.path(), "Cluster.local").find("uppercase") != std::string::npos);
  }
  SUBCASE("a directory where a file is") {
    TempDir dir("weft-ca-test");
    writeFile(dir.path() / "file", "x");
    CHECK(loadError(dir.path() / "file").find("creating the CA directory") != std::string::npos);
  }
}

TEST_CASE("local CA: trust-bundle.crt adds the other CA of a rotation as a trust anchor - never as a signer") {
  Clock::time_point now = wholeSecondNow();
  TestCa current = TestCa::make("cluster.local", now);
  TestCa previous = TestCa::make("cluster.local", now);
  TempDir dir("weft-ca-test");
  writeCa(dir.path(), current.ca.cert.get(), current.ca.key.get());
  TestKeyAndCert oldLeaf = issueTestCertificate(svidProfile(kWorkload.uri(), now), previous.ca);
  {
    QuietLogs quiet;
    auto alone = mustLoad(dir.path());
    auto refused = validateX509Svid(oldLeaf.cert.get(), nullptr, alone->trustBundle(), now);
    CHECK_FALSE_MESSAGE(refused.has_value(), "without the bundle a leaf of the other CA is refused");
  }
  writeFile(dir.path() / "trust-bundle.crt", toPem(previous.ca.cert.get()));
  QuietLogs quiet;
  auto ca = mustLoad(dir.path());
  auto accepted = validateX509Svid(oldLeaf.cert.get(), nullptr, ca->trustBundle(), now);
  CHECK_MESSAGE(accepted.has_value(), (accepted ? "" : accepted.error().message));
  // Leaves are still signed by ca.crt's CA, and both CAs are in the bundle.
  auto signedLeaf = ca->sign({.csrPem = csrFor(oldLeaf.key.get()), .identity = kWorkload, .lifetime = std::chrono::hours(1)});
  REQUIRE(signedLeaf.has_value());
  auto leaf = parsePemCertificates(*signedLeaf);
  REQUIRE(leaf.has_value());
  CHECK(X509_check_issued(current.ca.cert.get(), leaf->front().get()) == X509_V_OK);
  CHECK(ca->trustBundle().pem() == toPem(current.ca.cert.get()) + toPem(previous.ca.cert.get()));
}

TEST_CASE("local CA: a bad trust-bundle.crt is refused naming the file") {
  Clock::time_point now = wholeSecondNow();
  TestCa good = TestCa::make("cluster.local", now);
  TempDir dir("weft-ca-test");
  writeCa(dir.path(), good.ca.cert.get(), good.ca.key.get());
  SUBCASE("not PEM") {
    writeFile(dir.path() / "trust-bundle.crt", "hello\n");
    std::string error = loadError(dir.path());
    CHECK_MESSAGE(error.find("trust-bundle.crt: no PEM certificate") != std::string::npos, error);
  }
  SUBCASE("a workload certificate instead of a CA") {
    TestKeyAndCert leaf = issueTestCertificate(svidProfile(kWorkload.uri(), now), good.ca);
    writeFile(dir.path() / "trust-bundle.crt", toPem(leaf.cert.get()));
    std::string error = loadError(dir.path());
    CHECK_MESSAGE(error.find("trust-bundle.crt") != std::string::npos, error);
    CHECK_MESSAGE(error.find("is not a CA") != std::string::npos, error);
  }
}

TEST_CASE("local CA: a read-only directory cannot get a new CA but a read-only CA (a Secret) loads") {
  TempDir dir("weft-ca-test");
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  fs::path empty = dir.path() / "empty";
  fs::path secret = dir.path() / "secret";
  fs::create_directory(empty);
  fs::create_directory(secret);
  {
    QuietLogs quiet;
    mustLoad(secret);
  }
  fs::remove(secret / ".ca.lock");
  // A Secret volume: files readable by the agent, nothing writable.
  fs::permissions(secret / "ca.key", fs::perms::owner_read | fs::perms::others_read);
  for (const fs::path& d : {empty, secret}) {
    fs::permissions(d, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read | fs::perms::others_exec);
  }
  CHECK(asUnprivilegedUser([&] {
    weft::log::setLevel(weft::log::Level::kOff);
    auto ca = LocalCa::loadOrCreate(empty, "cluster.local");
    return !ca && ca.error().message.find("cannot create a CA in " + empty.string() + " (is it read-only?)") !=
                      std::string::npos;
  }));
  CHECK(asUnprivilegedUser([&] {
    auto ca = LocalCa::loadOrCreate(secret, "cluster.local");
    return ca.has_value() && !fs::exists(secret / ".ca.lock");
  }));
}

TEST_CASE("local CA: leaves carry the requested identity and the X509-SVID profile") {
  TempDir dir("weft-ca-test");
  QuietLogs quiet;
  auto ca = mustLoad(dir.path());
  auto key = generateP256Key();
  REQUIRE(key.has_value());
  Clock::time_point before = wholeSecondNow();
  auto chain = ca->sign({.csrPem = csrFor(key->get()), .identity = kWorkload, .lifetime = std::chrono::hours(24)});
  REQUIRE_MESSAGE(chain.has_value(), chain.error().describe());
  auto certs = parsePemCertificates(*chain);
  REQUIRE(certs.has_value());
  REQUIRE(certs->size() == 1);  // a self-signed CA adds nothing to the chain
  X509* leaf = certs->front().get();

  auto info = validateX509Svid(leaf, nullptr, ca->trustBundle(), Clock::now());
  REQUIRE_MESSAGE(info.has_value(), info.error().describe());
  CHECK(info->id == kWorkload);
  CHECK(X509_check_private_key(leaf, key->get()) == 1);
  CHECK(isCritical(leaf, NID_basic_constraints));
  CHECK(isCritical(leaf, NID_key_usage));
  CHECK(X509_get_key_usage(leaf) == KU_DIGITAL_SIGNATURE);
  CHECK(X509_get_extended_key_usage(leaf) == (XKU_SSL_SERVER | XKU_SSL_CLIENT));
  CHECK(X509_get0_subject_key_id(leaf) != nullptr);
  CHECK(X509_get0_authority_key_id(leaf) != nullptr);
  CHECK(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf), X509_get0_subject_key_id(ca->certificate())) == 0);
  char org[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_organizationName, org, sizeof org);
  CHECK(std::string(org) == "weft");
  // Clock skew allowance before, the lifetime after.
  CHECK(info->notBefore >= before - std::chrono::seconds(61));
  CHECK(info->notBefore <= before - std::chrono::seconds(59));
  CHECK(info->notAfter - info->notBefore >= std::chrono::hours(24) + std::chrono::seconds(59));
  CHECK(info->notAfter - info->notBefore <= std::chrono::hours(24) + std::chrono::seconds(61));

  // Serials are random: two leaves for the same CSR differ.
  auto again = ca->sign({.csrPem = csrFor(key->get()), .identity = kWorkload, .lifetime = std::chrono::hours(24)});
  REQUIRE(again.has_value());
  auto againCerts = parsePemCertificates(*again);
  REQUIRE(againCerts.has_value());
  CHECK(describeCertificate(againCerts->front().get())->serial != info->serial);
}

TEST_CASE("local CA: a leaf never outlives its CA") {
  TempDir dir("weft-ca-test");
  Clock::time_point now = wholeSecondNow();
  CertificateProfile profile = svidProfile("spiffe://cluster.local", now);
  profile.ca = true;
  profile.keyUsage = "critical,keyCertSign,cRLSign";
  profile.notAfter = now + std::chrono::hours(2);
  TestCa root = TestCa::make("cluster.local", now);
  TestKeyAndCert shortCa = issueTestCertificate(profile, root.ca);
  writeCa(dir.path(), shortCa.cert.get(), shortCa.key.get());
  QuietLogs quiet;
  auto ca = mustLoad(dir.path());
  auto key = generateP256Key();
  REQUIRE(key.has_value());
  auto chain = ca->sign({.csrPem = csrFor(key->get()), .identity = kWorkload, .lifetime = std::chrono::hours(24)});
  REQUIRE_MESSAGE(chain.has_value(), chain.error().describe());
  auto certs = parsePemCertificates(*chain);
  REQUIRE(certs.has_value());
  // An intermediate CA (not self-signed) travels with every leaf.
  REQUIRE(certs->size() == 2);
  CHECK(X509_cmp(certs->at(1).get(), shortCa.cert.get()) == 0);
  CHECK(describeCertificate(certs->front().get())->notAfter == now + std::chrono::hours(2));
  // ca.crt without its root is still the bundle's anchor.
  X509StackPtr untrusted = toX509Stack({});
  CHECK(validateX509Svid(certs->front().get(), untrusted.get(), ca->trustBundle(), now).has_value());
}

TEST_CASE("local CA: bad signing requests are refused with the cause") {
  TempDir dir("weft-ca-test");
  QuietLogs quiet;
  auto ca = mustLoad(dir.path());
  auto p256 = generateP256Key();
  REQUIRE(p256.has_value());
  std::string goodCsr = csrFor(p256->get());

  EvpPkeyPtr p384(EVP_EC_gen("P-384"));
  REQUIRE(p384);
  EvpPkeyPtr rsa(EVP_RSA_gen(2048));
  REQUIRE(rsa);
  // A CSR whose signature is not made by the key it carries.
  X509ReqPtr forged(X509_REQ_new());
  REQUIRE(X509_REQ_set_pubkey(forged.get(), p256->get()) == 1);
  REQUIRE(X509_REQ_sign(forged.get(), p384.get(), EVP_sha256()) > 0);
  BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_X509_REQ(bio.get(), forged.get()) == 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  std::string forgedPem(data, static_cast<std::size_t>(size));

  struct Case {
    const char* name;
    SigningRequest request;
    const char* error;
  };
  const Case cases[] = {
      {"P-384 key", {csrFor(p384.get()), kWorkload, std::chrono::hours(1)}, "CSR key is not ECDSA P-256"},
      {"RSA key", {csrFor(rsa.get()), kWorkload, std::chrono::hours(1)}, "CSR key is not ECDSA P-256"},
      {"forged CSR", {forgedPem, kWorkload, std::chrono::hours(1)}, "CSR signature does not verify"},
      {"not a CSR", {"hello", kWorkload, std::chrono::hours(1)}, "CSR is not a PEM PKCS#10 request"},
      {"another trust domain", {goodCsr, {"other.domain", "/ns/a/sa/b"}, std::chrono::hours(1)},
       "signs workload IDs of trust domain cluster.local, not spiffe://other.domain/ns/a/sa/b"},
      {"trust-domain ID", {goodCsr, {"cluster.local", ""}, std::chrono::hours(1)}, "not spiffe://cluster.local"},
      {"invalid ID", {goodCsr, {"cluster.local", "/a/../b"}, std::chrono::hours(1)}, "dot segment"},
      {"zero lifetime", {goodCsr, kWorkload, std::chrono::seconds(0)}, "lifetime must be positive"},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.name));
    auto chain = ca->sign(c.request);
    REQUIRE_FALSE(chain.has_value());
    CHECK_MESSAGE(chain.error().message.find(c.error) != std::string::npos, chain.error().message);
  }
}
