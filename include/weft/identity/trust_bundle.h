// The CA certificates of one trust domain: what a peer's chain must reach.
#pragma once

#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "weft/common/error.h"

namespace weft::identity {

class TrustBundle {
 public:
  [[nodiscard]] static Result<TrustBundle> fromPem(std::string trustDomain, std::string_view pem);
  [[nodiscard]] const std::string& trustDomain() const { return state_->trustDomain; }
  // For SSL_CTX_set1_cert_store and X509_STORE_CTX_init.
  [[nodiscard]] X509_STORE* store() const { return state_->store; }
  [[nodiscard]] const std::string& pem() const { return state_->pem; }

 private:
  struct State {
    std::string trustDomain;
    std::string pem;
    X509_STORE* store = nullptr;
    ~State();
  };
  std::shared_ptr<const State> state_;  // copies share it: cheap to pass around
};

}  // namespace weft::identity
