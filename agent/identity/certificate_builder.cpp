#include "certificate_builder.h"

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace weft::identity {
namespace {

// 128 random bits, positive (RFC 5280 4.1.2.2 allows up to 20 octets).
bool setRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01;  // never zero, never negative
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
  return ok;
}

}  // namespace

Result<X509Ptr> buildCertificate(const CertificateTemplate& spec, EVP_PKEY* subjectKey, X509* issuer,
                                 EVP_PKEY* issuerKey) {
  X509Ptr cert(X509_new());
  if (!cert) return fail(ErrorCode::kInternal, "X509_new: " + openSslErrors());
  X509_set_version(cert.get(), 2);
  if (!setRandomSerial(cert.get())) return fail(ErrorCode::kInternal, "certificate serial: " + openSslErrors());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("weft"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.commonName.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  time_t notBefore = std::chrono::system_clock::to_time_t(spec.notBefore);
  time_t notAfter = std::chrono::system_clock::to_time_t(spec.notAfter);
  X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, 0, &notBefore);
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), 0, 0, &notAfter);
  X509_set_pubkey(cert.get(), subjectKey);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : spec.extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) return fail(ErrorCode::kInternal, "certificate extension " + value + ": " + openSslErrors());
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), issuerKey, EVP_sha256()) <= 0)
    return fail(ErrorCode::kInternal, "certificate signature: " + openSslErrors());
  return cert;
}

}  // namespace weft::identity
