#include "weft/identity/local_ca.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>

#include <openssl/err.h>

#include "weft/common/log.h"
#include "weft/common/unique_fd.h"
#include "weft/identity/certificate_builder.h"
#include "weft/identity/x509_svid.h"

namespace weft::identity {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

constexpr std::string_view kLockFile = ".ca.lock";
constexpr auto kCaLifetime = std::chrono::days(3653);  // 10 years
constexpr std::chrono::seconds kClockSkew{60};
// Creating a CA takes milliseconds; a lock held longer is a stuck agent.
constexpr auto kLockWait = std::chrono::seconds(30);

Result<std::string> readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return failErrno("reading " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return failErrno("reading " + path.string());
  return text.str();
}

// Readers never see half a file: write a private temporary, then rename.
Status writeFileAtomically(const fs::path& path, std::string_view content, mode_t mode) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return failErrno("creating " + tmp.string());
  std::size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto error = failErrno("writing " + tmp.string());
      ::unlink(tmp.c_str());
      return error;
    }
    written += static_cast<std::size_t>(n);
  }
  // The umask may have narrowed the mode; the key must be exactly 0600.
  if (::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    auto error = failErrno("writing " + path.string());
    ::unlink(tmp.c_str());
    return error;
  }
  return {};
}

// An exclusive flock on dir/.ca.lock, released when the descriptor closes.
Result<UniqueFd> lockDirectory(const fs::path& dir) {
  fs::path path = dir / kLockFile;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return failErrno("opening the lock file " + path.string());
  auto deadline = std::chrono::steady_clock::now() + kLockWait;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return failErrno("flock " + path.string());
    if (std::chrono::steady_clock::now() > deadline) {
      return fail(ErrorCode::kSystem, "another process has held " + path.string() + " for over 30 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fd;
}

bool isSelfSigned(X509* cert) { return (X509_get_extension_flags(cert) & EXFLAG_SS) != 0; }

}  // namespace

Result<std::unique_ptr<LocalCa>> LocalCa::loadOrCreate(const fs::path& dir, std::string trustDomain) {
  if (auto valid = validateTrustDomain(trustDomain); !valid) return std::unexpected(valid.error());
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(ErrorCode::kSystem, "creating the CA directory " + dir.string() + ": " + ec.message());

  auto lock = lockDirectory(dir);
  bool haveCert = fs::exists(dir / kCaCertFile, ec);
  bool haveKey = fs::exists(dir / kCaKeyFile, ec);
  if (haveCert != haveKey) {
    return fail(ErrorCode::kInvalidArgument,
                "CA directory " + dir.string() + " has " + std::string(haveCert ? kCaCertFile : kCaKeyFile) + " but no " +
                    std::string(haveCert ? kCaKeyFile : kCaCertFile) + "; restore it or remove both to make a new CA");
  }
  if (!lock) {
    // A read-only directory (a mounted Secret) cannot be written by anyone,
    // so loading it needs no lock; creating in it is impossible.
    if (haveCert) return load(dir, trustDomain);
    return fail(lock.error().code, "cannot create a CA in " + dir.string() +
                                       " (is it read-only?): " + lock.error().message);
  }
  if (!haveCert) {
    if (auto created = create(dir, trustDomain); !created) return std::unexpected(created.error());
    log::info("identity", "created a CA for trust domain {} in {}", trustDomain, dir.string());
  }
  return load(dir, trustDomain);
}

Status LocalCa::create(const fs::path& dir, const std::string& trustDomain) {
  auto key = generateP256Key();
  if (!key) return std::unexpected(key.error());
  Clock::time_point now = Clock::now();
  CertificateProfile profile{
      .uriSans = {SpiffeId{trustDomain, ""}.uri()},
      .ca = true,
      .keyUsage = "critical,keyCertSign,cRLSign",
      .notBefore = now - kClockSkew,
      .notAfter = now + kCaLifetime,
  };
  auto cert = issueCertificate(profile, key->get(), nullptr, key->get());
  if (!cert) return std::unexpected(cert.error());
  // The key first: a crash between the two renames leaves ca.key alone, which
  // the next start reports instead of trusting a certificate without its key.
  if (auto written = writeFileAtomically(dir / kCaKeyFile, privateKeyToPem(key->get()), 0600); !written) {
    return fail(written.error().code, "cannot create a CA in " + dir.string() + ": " + written.error().message);
  }
  if (auto written = writeFileAtomically(dir / kCaCertFile, toPem(cert->get()), 0644); !written) {
    return fail(written.error().code, "cannot create a CA in " + dir.string() + ": " + written.error().message);
  }
  return {};
}

namespace {

// ca.crt's certificates, then those of dir/trust-bundle.crt when it exists
// (a CA rotation: the other CA's root), each checked by TrustBundle.
Result<std::string> withExtraAnchors(const fs::path& dir, const std::string& caPem) {
  const fs::path path = dir / kTrustBundleFile;
  std::error_code ec;
  if (!fs::exists(path, ec)) return caPem;
  auto pem = readFile(path);
  if (!pem) return std::unexpected(pem.error());
  auto certs = parsePemCertificates(*pem);
  if (!certs) return fail(ErrorCode::kParse, path.string() + ": " + certs.error().message);
  log::info("identity", "trusting the {} CA certificate(s) of {} besides {}", certs->size(), path.string(),
            (dir / kCaCertFile).string());
  return caPem + (caPem.ends_with('\n') ? "" : "\n") + *pem;
}

}  // namespace

Result<std::unique_ptr<LocalCa>> LocalCa::load(const fs::path& dir, const std::string& trustDomain) {
  fs::path certPath = dir / kCaCertFile;
  fs::path keyPath = dir / kCaKeyFile;
  auto certPem = readFile(certPath);
  if (!certPem) return std::unexpected(certPem.error());
  auto keyPem = readFile(keyPath);
  if (!keyPem) return std::unexpected(keyPem.error());
  auto certs = parsePemCertificates(*certPem);
  if (!certs) return fail(ErrorCode::kParse, certPath.string() + ": " + certs.error().message);
  auto key = parsePemPrivateKey(*keyPem);
  if (!key) return fail(ErrorCode::kParse, keyPath.string() + ": " + key.error().message);

  X509* cert = certs->front().get();
  if (X509_check_private_key(cert, key->get()) != 1) {
    ERR_clear_error();
    return fail(ErrorCode::kInvalidArgument, keyPath.string() + " is not the key of " + certPath.string());
  }
  if (!(X509_get_extension_flags(cert) & EXFLAG_CA)) {
    return fail(ErrorCode::kInvalidArgument, certPath.string() + " is not a CA certificate (basicConstraints CA:TRUE)");
  }
  if ((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) && !(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN)) {
    return fail(ErrorCode::kInvalidArgument, certPath.string() + " may not sign certificates (keyUsage lacks keyCertSign)");
  }
  auto notBefore = toTimePoint(X509_get0_notBefore(cert));
  auto notAfter = toTimePoint(X509_get0_notAfter(cert));
  if (!notBefore || !notAfter) return fail(ErrorCode::kParse, certPath.string() + " has a malformed validity time");
  Clock::time_point now = Clock::now();
  if (*notAfter < now) {
    return fail(ErrorCode::kInvalidArgument, certPath.string() + " expired at " + formatUtc(*notAfter));
  }
  if (*notBefore > now) {
    return fail(ErrorCode::kInvalidArgument,
                certPath.string() + " is not valid before " + formatUtc(*notBefore) + " (clock skew?)");
  }
  // A CA with a SPIFFE ID names its trust domain: signing another domain's
  // identities with it would make SVIDs that no peer accepts.
  auto info = describeCertificate(cert);
  if (info && info->id.trustDomain != trustDomain) {
    return fail(ErrorCode::kInvalidArgument, certPath.string() + " is the CA of trust domain " + info->id.trustDomain +
                                                 ", not " + trustDomain + " (--trust-domain)");
  }
  auto anchors = withExtraAnchors(dir, *certPem);
  if (!anchors) return std::unexpected(anchors.error());
  auto bundle = TrustBundle::fromPem(trustDomain, *anchors);
  if (!bundle) return fail(bundle.error().code, certPath.string() + " or " + (dir / kTrustBundleFile).string() + ": " +
                                                    bundle.error().message);
  std::string chainPem;
  for (const X509Ptr& c : *certs) {
    if (!isSelfSigned(c.get())) chainPem += toPem(c.get());
  }
  return std::unique_ptr<LocalCa>(
      new LocalCa(std::move(certs->front()), std::move(*key), std::move(*bundle), std::move(chainPem), *notAfter));
}

Result<std::string> LocalCa::sign(const SigningRequest& request) {
  auto csr = parseVerifiedCsr(request.csrPem);
  if (!csr) return std::unexpected(csr.error());
  EVP_PKEY* subjectKey = X509_REQ_get0_pubkey(csr->get());
  if (!isP256Key(subjectKey)) return fail(ErrorCode::kInvalidArgument, "CSR key is not ECDSA P-256");
  auto id = parseSpiffeId(request.identity.uri());
  if (!id) return fail(ErrorCode::kInvalidArgument, id.error().message);
  if (id->trustDomain != bundle_.trustDomain() || id->path.empty()) {
    return fail(ErrorCode::kPermissionDenied,
                "this CA signs workload IDs of trust domain " + bundle_.trustDomain() + ", not " + id->uri());
  }
  if (request.lifetime <= std::chrono::seconds(0)) {
    return fail(ErrorCode::kInvalidArgument, "certificate lifetime must be positive");
  }
  Clock::time_point now = Clock::now();
  if (notAfter_ <= now) return fail(ErrorCode::kInvalidArgument, "the CA certificate has expired");
  CertificateProfile profile{
      .uriSans = {id->uri()},
      .ca = false,
      .keyUsage = "critical,digitalSignature",
      .extendedKeyUsage = "serverAuth,clientAuth",
      .notBefore = now - kClockSkew,
      .notAfter = std::min(now + request.lifetime, notAfter_),
  };
  auto leaf = issueCertificate(profile, subjectKey, cert_.get(), key_.get());
  if (!leaf) return std::unexpected(leaf.error());
  return toPem(leaf->get()) + chainPem_;
}

TrustBundle LocalCa::trustBundle() const { return bundle_; }

}  // namespace weft::identity
