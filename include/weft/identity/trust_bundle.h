// The CA certificates of one trust domain: what a peer's X509-SVID must chain
// to. Immutable and cheap to copy (copies share one X509_STORE), so that TLS
// contexts and validators on any thread can hold it.
#pragma once

#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "weft/common/error.h"

namespace weft::identity {

class TrustBundle {
 public:
  // Every certificate in `pem` must be a CA (basicConstraints CA:TRUE).
  static Result<TrustBundle> fromPem(std::string trustDomain, std::string_view pem);

  [[nodiscard]] const std::string& trustDomain() const;
  // For SSL_CTX_set1_cert_store / X509_STORE_CTX_init; owned by the bundle.
  [[nodiscard]] X509_STORE* store() const;
  [[nodiscard]] const std::string& pem() const;

 private:
  struct State;
  explicit TrustBundle(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

}  // namespace weft::identity
