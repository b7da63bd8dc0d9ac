#include "weft/identity/openssl_handles.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>

namespace weft::identity {
namespace {

struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr memoryBio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(length));
}

}  // namespace

std::string openSslErrors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "no detail from OpenSSL" : text;
}

Result<std::vector<X509Ptr>> parsePemCertificates(std::string_view pem) {
  auto bio = memoryBio(pem);
  std::vector<X509Ptr> certificates;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certificates.emplace_back(cert);
  ERR_clear_error();  // the loop ends on "no start line"
  if (certificates.empty()) return fail(ErrorCode::kParse, "no PEM certificate found");
  return certificates;
}

Result<EvpPkeyPtr> parsePemPrivateKey(std::string_view pem) {
  auto bio = memoryBio(pem);
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return fail(ErrorCode::kParse, "no PEM private key: " + openSslErrors());
  return key;
}

std::string toPem(X509* certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), certificate);
  return bioText(bio.get());
}

std::string toPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bioText(bio.get());
}

Result<EvpPkeyPtr> makeP256Key() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return fail(ErrorCode::kInternal, "ECDSA P-256 key: " + openSslErrors());
  return key;
}

}  // namespace weft::identity
