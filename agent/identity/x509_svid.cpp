#include "weft/identity/x509_svid.h"

#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <vector>

#include "weft/identity/openssl_handles.h"

namespace weft::identity {
namespace {

using Clock = std::chrono::system_clock;

std::vector<std::string> uriSans(X509* cert) {
  std::vector<std::string> uris;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return uris;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* text = name->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                      static_cast<std::size_t>(ASN1_STRING_length(text)));
  }
  GENERAL_NAMES_free(names);
  return uris;
}

Clock::time_point toTimePoint(const ASN1_TIME* time) {
  std::tm tm{};
  ASN1_TIME_to_tm(time, &tm);
  return Clock::from_time_t(timegm(&tm));
}

std::string serialHex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string text(hex);
  OPENSSL_free(hex);
  BN_free(bn);
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::unexpected<Error> rejected(std::string rule) { return fail(ErrorCode::kPermissionDenied, std::move(rule)); }

}  // namespace

Result<CertificateInfo> describeCertificate(X509* certificate) {
  CertificateInfo info;
  auto uris = uriSans(certificate);
  if (uris.size() == 1) {
    auto id = parseSpiffeId(uris[0]);
    if (!id) return std::unexpected(id.error());
    info.id = *id;
  }
  info.serial = serialHex(certificate);
  info.notBefore = toTimePoint(X509_get0_notBefore(certificate));
  info.notAfter = toTimePoint(X509_get0_notAfter(certificate));
  return info;
}

Result<CertificateInfo> validateX509Svid(X509* leaf, STACK_OF(X509)* untrusted, const TrustBundle& bundle,
                                         Clock::time_point now) {
  if (!leaf) return rejected("no certificate");
  auto uris = uriSans(leaf);
  if (uris.size() != 1)
    return rejected("certificate has " + std::to_string(uris.size()) + " URI SANs; an X509-SVID has exactly one");
  auto id = parseSpiffeId(uris[0]);
  if (!id) return rejected(id.error().message);
  if (id->trustDomain != bundle.trustDomain())
    return rejected(id->uri() + " is not of trust domain " + bundle.trustDomain());
  if (id->path.empty()) return rejected(id->uri() + " names a trust domain, not a workload");
  // X509_get_extension_flags computes the cached extension data first.
  const std::uint32_t flags = X509_get_extension_flags(leaf);
  if (flags & EXFLAG_CA) return rejected("the leaf is a CA certificate (basicConstraints CA:TRUE)");
  const std::uint32_t usage = X509_get_key_usage(leaf);
  if (!(flags & EXFLAG_KUSAGE) || !(usage & KU_DIGITAL_SIGNATURE))
    return rejected("the leaf lacks keyUsage digitalSignature");
  if (usage & KU_KEY_CERT_SIGN) return rejected("the leaf has keyUsage keyCertSign");
  if (usage & KU_CRL_SIGN) return rejected("the leaf has keyUsage cRLSign");
  auto info = describeCertificate(leaf);
  if (!info) return rejected(info.error().message);
  if (now < info->notBefore) return rejected("the certificate is not valid yet");
  if (now > info->notAfter) return rejected("the certificate has expired");

  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  if (!ctx || X509_STORE_CTX_init(ctx.get(), bundle.store(), leaf, untrusted) != 1)
    return fail(ErrorCode::kInternal, "chain verification: " + openSslErrors());
  X509_STORE_CTX_set_time(ctx.get(), 0, Clock::to_time_t(now));
  if (X509_verify_cert(ctx.get()) != 1) {
    int error = X509_STORE_CTX_get_error(ctx.get());
    return rejected(std::string("the chain does not reach the trust bundle of ") + bundle.trustDomain() + ": " +
                    X509_verify_cert_error_string(error));
  }
  return info;
}

}  // namespace weft::identity
