// Owning handles for OpenSSL objects, and the few PEM helpers every part of
// identity needs. OpenSSL stays inside agent/identity and agent/tls
// (DESIGN.md 5); these aliases are how those two modules hand objects around
// without leaking or double-freeing them.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "weft/common/error.h"

namespace weft::identity {

template <auto Free>
struct OpenSslDeleter {
  template <class T>
  void operator()(T* object) const {
    Free(object);
  }
};

inline void freeX509Stack(STACK_OF(X509) * stack) { sk_X509_pop_free(stack, X509_free); }

using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ_free>>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), OpenSslDeleter<freeX509Stack>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;

// Drains this thread's OpenSSL error queue into one line ("a; b; c"), so that
// a failure reports its real cause and the next call starts clean.
[[nodiscard]] std::string openSslErrors();

// Every certificate of a PEM text, in order; an error when there is none or
// one is malformed.
[[nodiscard]] Result<std::vector<X509Ptr>> parsePemCertificates(std::string_view pem);

[[nodiscard]] std::string toPem(X509* cert);
[[nodiscard]] Result<std::chrono::system_clock::time_point> toTimePoint(const ASN1_TIME* time);
[[nodiscard]] Result<EvpPkeyPtr> parsePemPrivateKey(std::string_view pem);
// PKCS#8, unencrypted: what `openssl genpkey` writes and Secrets carry.
[[nodiscard]] std::string privateKeyToPem(EVP_PKEY* key);

// Owned copies of certificates in an OpenSSL stack (for X509_verify_cert and
// SSL_CTX chains); nullptr-free, the stack holds its own references.
[[nodiscard]] X509StackPtr toX509Stack(const std::vector<X509Ptr>& certs);

}  // namespace weft::identity
