#include "weft/identity/local_ca.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "certificate_builder.h"
#include "weft/common/log.h"
#include "weft/common/unique_fd.h"
#include "weft/identity/x509_svid.h"

namespace weft::identity {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

constexpr auto kCaLifetime = std::chrono::hours(24 * 3650);
constexpr auto kClockSkew = std::chrono::seconds(60);

Result<std::string> readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return failErrno("read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Written whole or not at all: a reader never sees half a key.
Status writeAtomically(const fs::path& path, const std::string& text, mode_t mode) {
  fs::path tmp = path;
  tmp += ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return failErrno("create " + tmp.string());
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) || ::fsync(fd.get()) != 0)
    return failErrno("write " + tmp.string());
  if (::rename(tmp.c_str(), path.c_str()) != 0) return failErrno("rename to " + path.string());
  return {};
}

Result<std::pair<X509Ptr, EvpPkeyPtr>> createCa(const fs::path& dir, const std::string& trustDomain) {
  auto key = makeP256Key();
  if (!key) return std::unexpected(key.error());
  auto now = Clock::now();
  auto cert = buildCertificate({.commonName = "weft mesh CA " + trustDomain,
                                .notBefore = now - kClockSkew,
                                .notAfter = now + kCaLifetime,
                                .extensions = {{NID_basic_constraints, "critical,CA:TRUE"},
                                               {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                               {NID_subject_key_identifier, "hash"},
                                               {NID_subject_alt_name, "URI:spiffe://" + trustDomain}}},
                               key->get(), nullptr, key->get());
  if (!cert) return std::unexpected(cert.error());
  if (auto ok = writeAtomically(dir / "ca.key", toPem(key->get()), 0600); !ok) return std::unexpected(ok.error());
  if (auto ok = writeAtomically(dir / "ca.crt", toPem(cert->get()), 0644); !ok) return std::unexpected(ok.error());
  log::info("identity", "created the mesh CA for {} in {}", trustDomain, dir.string());
  return std::pair{std::move(*cert), std::move(*key)};
}

Result<std::pair<X509Ptr, EvpPkeyPtr>> loadCa(const fs::path& dir, const std::string& trustDomain) {
  auto certText = readFile(dir / "ca.crt");
  if (!certText) return std::unexpected(certText.error());
  auto keyText = readFile(dir / "ca.key");
  if (!keyText) return std::unexpected(keyText.error());
  auto certs = parsePemCertificates(*certText);
  if (!certs) return fail(ErrorCode::kParse, "ca.crt: " + certs.error().message);
  auto key = parsePemPrivateKey(*keyText);
  if (!key) return fail(ErrorCode::kParse, "ca.key: " + key.error().message);
  X509Ptr cert = std::move(certs->front());
  if (X509_check_private_key(cert.get(), key->get()) != 1)
    return fail(ErrorCode::kInvalidArgument, "ca.key does not match ca.crt");
  if (!(X509_get_extension_flags(cert.get()) & EXFLAG_CA))
    return fail(ErrorCode::kInvalidArgument, "ca.crt is not a CA certificate (no basicConstraints CA:TRUE)");
  auto info = describeCertificate(cert.get());
  if (info && Clock::now() > info->notAfter) return fail(ErrorCode::kInvalidArgument, "ca.crt has expired");
  if (info && !info->id.trustDomain.empty() && info->id.trustDomain != trustDomain)
    return fail(ErrorCode::kInvalidArgument,
                "ca.crt is the CA of trust domain " + info->id.trustDomain + ", not " + trustDomain);
  return std::pair{std::move(cert), std::move(*key)};
}

}  // namespace

Result<std::unique_ptr<LocalCa>> LocalCa::loadOrCreate(const fs::path& dir, std::string trustDomain) {
  if (auto ok = validateTrustDomain(trustDomain); !ok) return std::unexpected(ok.error());
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return fail(ErrorCode::kSystem, "create " + dir.string() + ": " + error.message());
  // Agents sharing the directory: one creates, the others wait and load.
  UniqueFd lock(::open((dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid()) return failErrno("lock " + (dir / ".lock").string());
  if (::flock(lock.get(), LOCK_EX) != 0) return failErrno("flock " + (dir / ".lock").string());
  const bool hasCert = fs::exists(dir / "ca.crt"), hasKey = fs::exists(dir / "ca.key");
  if (hasCert != hasKey)
    return fail(ErrorCode::kInvalidArgument, std::string("only ") + (hasCert ? "ca.crt" : "ca.key") + " is in " +
                                                 dir.string() + ": both or neither");
  auto pair = hasCert ? loadCa(dir, trustDomain) : createCa(dir, trustDomain);
  if (!pair) return std::unexpected(pair.error());
  auto bundle = TrustBundle::fromPem(trustDomain, toPem(pair->first.get()));
  if (!bundle) return std::unexpected(bundle.error());
  return std::unique_ptr<LocalCa>(new LocalCa(std::move(pair->first), std::move(pair->second), std::move(*bundle)));
}

Result<std::string> LocalCa::sign(const SigningRequest& request) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(request.csrPem.data(), static_cast<int>(request.csrPem.size())), BIO_free);
  X509ReqPtr csr(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!csr) return fail(ErrorCode::kParse, "CSR: " + openSslErrors());
  EVP_PKEY* publicKey = X509_REQ_get0_pubkey(csr.get());
  if (!publicKey || X509_REQ_verify(csr.get(), publicKey) != 1)
    return fail(ErrorCode::kPermissionDenied, "CSR signature does not verify");
  char group[64] = {};
  if (!EVP_PKEY_is_a(publicKey, "EC") || EVP_PKEY_get_group_name(publicKey, group, sizeof group, nullptr) != 1 ||
      std::string_view(group) != "prime256v1")
    return fail(ErrorCode::kInvalidArgument, "CSR key is not ECDSA P-256");
  auto now = Clock::now();
  auto caInfo = describeCertificate(certificate_.get());
  auto notAfter = now + request.lifetime;
  if (caInfo && notAfter > caInfo->notAfter) notAfter = caInfo->notAfter;
  // The subject means nothing to SPIFFE (the URI SAN is the identity), and a
  // URI can outgrow the 64 characters a commonName may hold.
  auto leaf = buildCertificate({.commonName = "weft workload",
                                .notBefore = now - kClockSkew,
                                .notAfter = notAfter,
                                .extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                                               {NID_key_usage, "critical,digitalSignature"},
                                               {NID_ext_key_usage, "serverAuth,clientAuth"},
                                               {NID_subject_key_identifier, "hash"},
                                               {NID_authority_key_identifier, "keyid:always"},
                                               {NID_subject_alt_name, "URI:" + request.identity.uri()}}},
                               publicKey, certificate_.get(), key_.get());
  if (!leaf) return std::unexpected(leaf.error());
  return toPem(leaf->get());
}

}  // namespace weft::identity
