#include "weft/identity/trust_bundle.h"

#include "weft/identity/openssl_handles.h"

namespace weft::identity {

TrustBundle::State::~State() { X509_STORE_free(store); }

Result<TrustBundle> TrustBundle::fromPem(std::string trustDomain, std::string_view pem) {
  auto certificates = parsePemCertificates(pem);
  if (!certificates) return fail(ErrorCode::kParse, "trust bundle: " + certificates.error().message);
  auto state = std::make_shared<State>();
  state->trustDomain = std::move(trustDomain);
  state->pem = std::string(pem);
  state->store = X509_STORE_new();
  for (auto& cert : *certificates)
    if (X509_STORE_add_cert(state->store, cert.get()) != 1)
      return fail(ErrorCode::kInternal, "trust bundle: " + openSslErrors());
  TrustBundle bundle;
  bundle.state_ = std::move(state);
  return bundle;
}

}  // namespace weft::identity
