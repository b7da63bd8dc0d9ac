#include "weft/identity/trust_bundle.h"

#include "weft/identity/openssl_handles.h"
#include "weft/identity/spiffe_id.h"

namespace weft::identity {

struct TrustBundle::State {
  std::string trustDomain;
  std::string pem;
  X509StorePtr store;
};

Result<TrustBundle> TrustBundle::fromPem(std::string trustDomain, std::string_view pem) {
  if (auto valid = validateTrustDomain(trustDomain); !valid) return std::unexpected(valid.error());
  auto certs = parsePemCertificates(pem);
  if (!certs) return fail(ErrorCode::kParse, "trust bundle of " + trustDomain + ": " + certs.error().message);
  auto state = std::make_shared<State>();
  state->trustDomain = std::move(trustDomain);
  state->store.reset(X509_STORE_new());
  if (!state->store) return fail(ErrorCode::kInternal, "X509_STORE_new: " + openSslErrors());
  // Every bundle certificate is a trust anchor, self-signed or not (as in
  // go-spiffe): a bundle may hold an intermediate whose root stays offline.
  // TLS contexts that take this store inherit the flag.
  X509_STORE_set_flags(state->store.get(), X509_V_FLAG_PARTIAL_CHAIN);
  for (std::size_t i = 0; i < certs->size(); ++i) {
    X509* cert = (*certs)[i].get();
    // A leaf here is a mix-up (a workload cert given as the CA): say so now
    // rather than fail every handshake later.
    if (X509_check_ca(cert) == 0) {
      return fail(ErrorCode::kInvalidArgument, "trust bundle of " + state->trustDomain + ": certificate " +
                                                   std::to_string(i + 1) + " is not a CA (basicConstraints CA:TRUE)");
    }
    if (X509_STORE_add_cert(state->store.get(), cert) != 1) {
      return fail(ErrorCode::kInternal, "X509_STORE_add_cert: " + openSslErrors());
    }
  }
  for (const X509Ptr& cert : *certs) state->pem += toPem(cert.get());
  return TrustBundle(std::move(state));
}

const std::string& TrustBundle::trustDomain() const { return state_->trustDomain; }
X509_STORE* TrustBundle::store() const { return state_->store.get(); }
const std::string& TrustBundle::pem() const { return state_->pem; }

}  // namespace weft::identity
