#include "weft/identity/openssl_handles.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <ctime>

namespace weft::identity {

std::string openSslErrors() {
  std::string text;
  // The queue is bounded (ERR_NUM_ERRORS); the count guards against surprises.
  for (int i = 0; i < 64; ++i) {
    unsigned long code = ERR_get_error();
    if (code == 0) break;
    char line[256];
    ERR_error_string_n(code, line, sizeof line);
    if (!text.empty()) text += "; ";
    text += line;
  }
  ERR_clear_error();
  return text.empty() ? std::string("no OpenSSL error detail") : text;
}

namespace {

BioPtr readOnlyBio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string drain(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

}  // namespace

Result<std::vector<X509Ptr>> parsePemCertificates(std::string_view pem) {
  ERR_clear_error();
  BioPtr bio = readOnlyBio(pem);
  if (!bio) return fail(ErrorCode::kInternal, "BIO_new_mem_buf: " + openSslErrors());
  std::vector<X509Ptr> certs;
  // Each certificate consumes input, so the input's size bounds the loop.
  while (certs.size() <= pem.size()) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    certs.push_back(std::move(cert));
  }
  unsigned long last = ERR_peek_last_error();
  bool cleanEnd = last == 0 || (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE);
  if (!cleanEnd) {
    return fail(ErrorCode::kParse,
                "PEM certificate " + std::to_string(certs.size() + 1) + " is malformed: " + openSslErrors());
  }
  ERR_clear_error();
  if (certs.empty()) return fail(ErrorCode::kParse, "no PEM certificate (-----BEGIN CERTIFICATE-----) found");
  return certs;
}

std::string toPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  return drain(bio.get());
}

Result<std::chrono::system_clock::time_point> toTimePoint(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    return fail(ErrorCode::kParse, "certificate has a malformed validity time");
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Result<EvpPkeyPtr> parsePemPrivateKey(std::string_view pem) {
  ERR_clear_error();
  BioPtr bio = readOnlyBio(pem);
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return fail(ErrorCode::kParse, "no readable PEM private key: " + openSslErrors());
  return key;
}

std::string privateKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) return {};
  return drain(bio.get());
}

X509StackPtr toX509Stack(const std::vector<X509Ptr>& certs) {
  X509StackPtr stack(sk_X509_new_null());
  if (!stack) return stack;
  for (const X509Ptr& cert : certs) {
    if (X509_up_ref(cert.get()) != 1) continue;
    if (sk_X509_push(stack.get(), cert.get()) == 0) X509_free(cert.get());
  }
  return stack;
}

}  // namespace weft::identity
