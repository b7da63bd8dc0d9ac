#include "weft/identity/certificate_builder.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

namespace weft::identity {

namespace {

using Clock = std::chrono::system_clock;

Status addExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (extension == nullptr) {
    return fail(ErrorCode::kInternal, std::string("extension ") + OBJ_nid2sn(nid) + "=" + value + ": " + openSslErrors());
  }
  int added = X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  if (added != 1) return fail(ErrorCode::kInternal, "X509_add_ext: " + openSslErrors());
  return {};
}

// Built by hand, not through the config syntax ("URI:a,URI:b"), so that a
// URI is never split or reinterpreted.
Status addUriSans(X509* cert, const std::vector<std::string>& uris) {
  if (uris.empty()) return {};
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  bool ok = names != nullptr;
  for (const std::string& uri : uris) {
    if (!ok) break;
    GENERAL_NAME* name = GENERAL_NAME_new();
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    ok = name != nullptr && text != nullptr && ASN1_STRING_set(text, uri.data(), static_cast<int>(uri.size())) == 1;
    if (!ok) {
      GENERAL_NAME_free(name);
      ASN1_IA5STRING_free(text);
      break;
    }
    GENERAL_NAME_set0_value(name, GEN_URI, text);
    if (sk_GENERAL_NAME_push(names, name) == 0) {
      GENERAL_NAME_free(name);
      ok = false;
    }
  }
  ok = ok && X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_APPEND) == 1;
  GENERAL_NAMES_free(names);
  if (!ok) return fail(ErrorCode::kInternal, "subjectAltName: " + openSslErrors());
  return {};
}

Status setRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return fail(ErrorCode::kInternal, "RAND_bytes: " + openSslErrors());
  bytes[0] &= 0x7f;  // positive in DER without a leading zero byte (RFC 5280: at most 20 octets)
  bytes[0] |= 0x01;  // never zero
  BignumPtr serial(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    return fail(ErrorCode::kInternal, "serial number: " + openSslErrors());
  }
  return {};
}

const EVP_MD* signingDigest(EVP_PKEY* key) {
  // EdDSA signs the message itself and takes no digest.
  return EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448") ? nullptr : EVP_sha256();
}

BioPtr memoryBio() { return BioPtr(BIO_new(BIO_s_mem())); }

}  // namespace

Result<EvpPkeyPtr> generateP256Key() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return fail(ErrorCode::kInternal, "generating an EC P-256 key: " + openSslErrors());
  return key;
}

bool isP256Key(EVP_PKEY* key) {
  char group[80];
  std::size_t length = 0;
  if (key == nullptr || !EVP_PKEY_is_a(key, "EC") ||
      EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1) {
    return false;
  }
  return OBJ_sn2nid(group) == NID_X9_62_prime256v1 || EC_curve_nist2nid(group) == NID_X9_62_prime256v1;
}

Result<std::string> makeCsrPem(EVP_PKEY* key) {
  X509ReqPtr request(X509_REQ_new());
  BioPtr bio = memoryBio();
  if (!request || !bio || X509_REQ_set_version(request.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_pubkey(request.get(), key) != 1 || X509_REQ_sign(request.get(), key, signingDigest(key)) <= 0 ||
      PEM_write_bio_X509_REQ(bio.get(), request.get()) != 1) {
    return fail(ErrorCode::kInternal, "making a CSR: " + openSslErrors());
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Result<X509ReqPtr> parseVerifiedCsr(std::string_view pem) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509ReqPtr request(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!request) return fail(ErrorCode::kParse, "CSR is not a PEM PKCS#10 request: " + openSslErrors());
  EVP_PKEY* key = X509_REQ_get0_pubkey(request.get());
  if (key == nullptr) return fail(ErrorCode::kParse, "CSR has no readable public key: " + openSslErrors());
  if (X509_REQ_verify(request.get(), key) != 1) {
    return fail(ErrorCode::kInvalidArgument, "CSR signature does not verify with its own key: " + openSslErrors());
  }
  return request;
}

Result<X509Ptr> issueCertificate(const CertificateProfile& profile, EVP_PKEY* subjectKey, X509* issuer,
                                 EVP_PKEY* issuerKey) {
  ERR_clear_error();
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 || X509_set_pubkey(cert.get(), subjectKey) != 1) {
    return fail(ErrorCode::kInternal, "X509_new: " + openSslErrors());
  }
  if (auto serial = setRandomSerial(cert.get()); !serial) return std::unexpected(serial.error());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (!profile.organization.empty() &&
      X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(profile.organization.c_str()), -1, -1, 0) != 1) {
    return fail(ErrorCode::kInternal, "subject: " + openSslErrors());
  }
  if (X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), Clock::to_time_t(profile.notBefore)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), Clock::to_time_t(profile.notAfter)) == nullptr) {
    return fail(ErrorCode::kInternal, "issuer or validity: " + openSslErrors());
  }

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> extensions;
  if (profile.ca) extensions.emplace_back(NID_basic_constraints, *profile.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (!profile.keyUsage.empty()) extensions.emplace_back(NID_key_usage, profile.keyUsage);
  if (!profile.extendedKeyUsage.empty()) extensions.emplace_back(NID_ext_key_usage, profile.extendedKeyUsage);
  // SKID before AKID: a self-signed certificate's AKID is its own SKID.
  extensions.emplace_back(NID_subject_key_identifier, "hash");
  extensions.emplace_back(NID_authority_key_identifier, "keyid:always");
  for (const auto& [nid, value] : extensions) {
    if (auto added = addExtension(cert.get(), &ctx, nid, value); !added) return std::unexpected(added.error());
  }
  if (auto sans = addUriSans(cert.get(), profile.uriSans); !sans) return std::unexpected(sans.error());

  if (X509_sign(cert.get(), issuerKey, signingDigest(issuerKey)) <= 0) {
    return fail(ErrorCode::kInternal, "signing the certificate: " + openSslErrors());
  }
  return cert;
}

}  // namespace weft::identity
