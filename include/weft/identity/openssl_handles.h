// Owning handles for OpenSSL objects, and the few conversions every user of
// certificates needs.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "weft/common/error.h"

namespace weft::identity {

struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct EvpPkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509StoreFree { void operator()(X509_STORE* p) const { X509_STORE_free(p); } };
struct X509ReqFree { void operator()(X509_REQ* p) const { X509_REQ_free(p); } };

using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using X509StorePtr = std::unique_ptr<X509_STORE, X509StoreFree>;
using X509ReqPtr = std::unique_ptr<X509_REQ, X509ReqFree>;

// Drains OpenSSL's error queue into one readable line.
[[nodiscard]] std::string openSslErrors();

[[nodiscard]] Result<std::vector<X509Ptr>> parsePemCertificates(std::string_view pem);
[[nodiscard]] Result<EvpPkeyPtr> parsePemPrivateKey(std::string_view pem);
[[nodiscard]] std::string toPem(X509* certificate);
[[nodiscard]] std::string toPem(EVP_PKEY* key);  // PKCS#8
// A new ECDSA P-256 key.
[[nodiscard]] Result<EvpPkeyPtr> makeP256Key();

}  // namespace weft::identity
