#include "weft/identity/x509_svid.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <vector>

#include "weft/identity/openssl_handles.h"

namespace weft::identity {

namespace {

using Clock = std::chrono::system_clock;

// The URI SANs of `cert`; an error when the extension is repeated or malformed.
Result<std::vector<std::string>> uriSans(X509* cert) {
  int critical = -1;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr));
  std::vector<std::string> uris;
  if (!names) {
    if (critical == -2) return fail(ErrorCode::kParse, "certificate has two subjectAltName extensions");
    if (critical != -1) return fail(ErrorCode::kParse, "certificate's subjectAltName is malformed: " + openSslErrors());
    return uris;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      static_cast<std::size_t>(ASN1_STRING_length(uri)));
  }
  GENERAL_NAMES_free(names);
  return uris;
}

std::string serialHex(X509* cert) {
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  char* hex = serial ? BN_bn2hex(serial.get()) : nullptr;
  if (hex == nullptr) return {};
  std::string text(hex);
  OPENSSL_free(hex);
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

Result<CertificateInfo> describe(X509* cert, const std::vector<std::string>& uris) {
  if (uris.empty()) return fail(ErrorCode::kParse, "certificate has no URI SAN, so no SPIFFE ID");
  // A listing takes the SPIFFE one among several; with none, the first says why.
  auto uri = std::ranges::find_if(uris, [](const std::string& u) { return u.starts_with("spiffe://"); });
  auto id = parseSpiffeId(uri != uris.end() ? *uri : uris.front());
  if (!id) return fail(ErrorCode::kParse, "certificate's URI SAN is not a valid SPIFFE ID: " + id.error().message);
  CertificateInfo info;
  info.id = std::move(*id);
  info.serial = serialHex(cert);
  auto notBefore = toTimePoint(X509_get0_notBefore(cert));
  if (!notBefore) return std::unexpected(notBefore.error());
  auto notAfter = toTimePoint(X509_get0_notAfter(cert));
  if (!notAfter) return std::unexpected(notAfter.error());
  info.notBefore = *notBefore;
  info.notAfter = *notAfter;
  return info;
}

Status checkLeafExtensions(X509* leaf) {
  uint32_t flags = X509_get_extension_flags(leaf);
  if (flags & EXFLAG_INVALID) return fail(ErrorCode::kParse, "certificate has malformed or repeated extensions");
  // The flag, not X509_check_ca(), which also wants keyCertSign: CA:TRUE
  // alone is what the rule forbids.
  if (flags & EXFLAG_CA) {
    return fail(ErrorCode::kInvalidArgument, "certificate is a CA (basicConstraints CA:TRUE); an X509-SVID leaf must not be");
  }
  if (!(flags & EXFLAG_KUSAGE)) {
    return fail(ErrorCode::kInvalidArgument,
                "certificate has no keyUsage extension; an X509-SVID leaf must have keyUsage digitalSignature");
  }
  uint32_t usage = X509_get_key_usage(leaf);
  if (usage & KU_KEY_CERT_SIGN) {
    return fail(ErrorCode::kInvalidArgument, "certificate's keyUsage has keyCertSign; an X509-SVID leaf must not");
  }
  if (usage & KU_CRL_SIGN) {
    return fail(ErrorCode::kInvalidArgument, "certificate's keyUsage has cRLSign; an X509-SVID leaf must not");
  }
  if (!(usage & KU_DIGITAL_SIGNATURE)) {
    return fail(ErrorCode::kInvalidArgument, "certificate's keyUsage lacks digitalSignature; an X509-SVID leaf must have it");
  }
  return {};
}

}  // namespace

std::string formatUtc(Clock::time_point time) {
  std::time_t seconds = Clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(text, n);
}

Result<CertificateInfo> describeCertificate(X509* cert) {
  if (cert == nullptr) return fail(ErrorCode::kInvalidArgument, "no certificate");
  auto uris = uriSans(cert);
  if (!uris) return std::unexpected(uris.error());
  return describe(cert, *uris);
}

Result<CertificateInfo> validateX509Svid(X509* leaf, STACK_OF(X509) * untrusted, const TrustBundle& bundle,
                                         Clock::time_point now) {
  if (leaf == nullptr) return fail(ErrorCode::kInvalidArgument, "no certificate");
  auto uris = uriSans(leaf);
  if (!uris) return std::unexpected(uris.error());
  if (uris->size() != 1) {
    return fail(ErrorCode::kInvalidArgument,
                "certificate has " + std::to_string(uris->size()) + " URI SANs; an X509-SVID has exactly one");
  }
  auto info = describe(leaf, *uris);
  if (!info) return std::unexpected(info.error());
  if (info->id.trustDomain != bundle.trustDomain()) {
    return fail(ErrorCode::kPermissionDenied, "certificate's SPIFFE ID " + info->id.uri() + " is not of trust domain " +
                                                  bundle.trustDomain());
  }
  if (info->id.path.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "certificate's SPIFFE ID " + info->id.uri() + " names a trust domain, not a workload (no path)");
  }
  if (auto extensions = checkLeafExtensions(leaf); !extensions) return std::unexpected(extensions.error());
  if (now < info->notBefore) {
    return fail(ErrorCode::kPermissionDenied, "certificate is not yet valid (notBefore " + formatUtc(info->notBefore) +
                                                  ", now " + formatUtc(now) + ")");
  }
  if (now > info->notAfter) {
    return fail(ErrorCode::kPermissionDenied,
                "certificate has expired (notAfter " + formatUtc(info->notAfter) + ", now " + formatUtc(now) + ")");
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), bundle.store(), leaf, untrusted) != 1) {
    return fail(ErrorCode::kInternal, "X509_STORE_CTX_init: " + openSslErrors());
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, Clock::to_time_t(now));
  if (X509_verify_cert(ctx.get()) != 1) {
    int error = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return fail(ErrorCode::kPermissionDenied, "certificate chain does not verify to the trust bundle of " +
                                                  bundle.trustDomain() + ": " + X509_verify_cert_error_string(error));
  }
  return info;
}

}  // namespace weft::identity
