// The mesh CA on one machine, or from a Kubernetes Secret mounted into the
// DaemonSet: a key and a self-signed certificate in a directory.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "weft/identity/certificate_signer.h"
#include "weft/identity/openssl_handles.h"

namespace weft::identity {

class LocalCa final : public CertificateSigner {
 public:
  // Loads dir/ca.crt and dir/ca.key, or creates both when both are absent
  // (ECDSA P-256, 10 years, URI SAN spiffe://<trust domain>). Agents sharing
  // the directory take a lock so that only one creates it.
  [[nodiscard]] static Result<std::unique_ptr<LocalCa>> loadOrCreate(const std::filesystem::path& dir,
                                                                     std::string trustDomain);
  [[nodiscard]] Result<std::string> sign(const SigningRequest& request) override;
  [[nodiscard]] TrustBundle trustBundle() const override { return bundle_; }
  [[nodiscard]] X509* certificate() const { return certificate_.get(); }

 private:
  LocalCa(X509Ptr certificate, EvpPkeyPtr key, TrustBundle bundle)
      : certificate_(std::move(certificate)), key_(std::move(key)), bundle_(std::move(bundle)) {}
  X509Ptr certificate_;
  EvpPkeyPtr key_;
  TrustBundle bundle_;
};

}  // namespace weft::identity
