// The default mesh CA: a CA certificate and key in a directory that the agents
// of one machine share (--ca-dir), or that a Kubernetes Secret mounts into the
// DaemonSet (manifests/deploy). Created on first use when the directory is
// empty and writable; loaded, and checked, otherwise.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "weft/identity/certificate_signer.h"
#include "weft/identity/openssl_handles.h"

namespace weft::identity {

inline constexpr std::string_view kCaCertFile = "ca.crt";
inline constexpr std::string_view kCaKeyFile = "ca.key";
// Optional: more CA certificates to trust besides ca.crt's, so that agents
// signing with an old and a new CA trust each other during a CA rotation.
inline constexpr std::string_view kTrustBundleFile = "trust-bundle.crt";

class LocalCa final : public CertificateSigner {
 public:
  // Loads dir/ca.crt + dir/ca.key (PEM), or creates both when both are absent
  // (ECDSA P-256, self-signed, CA:TRUE critical, keyCertSign|cRLSign, URI SAN
  // spiffe://<trustDomain>, 10 years). Agents sharing `dir` take an flock on
  // dir/.ca.lock meanwhile, and files appear whole (tmp file + rename; key
  // mode 0600). A read-only directory holding both files (a Secret) loads
  // without the lock. ca.crt may be an intermediate followed by its chain:
  // the first certificate signs, all are trust anchors, and the ones not
  // self-signed travel with every leaf. The CA certificates of an optional
  // dir/trust-bundle.crt are trust anchors too (never signers).
  static Result<std::unique_ptr<LocalCa>> loadOrCreate(const std::filesystem::path& dir, std::string trustDomain);

  // Leaf for the CSR's key (EC P-256, CSR signature verified) with the URI SAN
  // request.identity, CA:FALSE, digitalSignature, serverAuth+clientAuth,
  // valid from now - 60 s to now + lifetime (never past the CA's notAfter).
  Result<std::string> sign(const SigningRequest& request) override;
  [[nodiscard]] TrustBundle trustBundle() const override;

  [[nodiscard]] X509* certificate() const { return cert_.get(); }

 private:
  LocalCa(X509Ptr cert, EvpPkeyPtr key, TrustBundle bundle, std::string chainPem,
          std::chrono::system_clock::time_point notAfter)
      : cert_(std::move(cert)),
        key_(std::move(key)),
        bundle_(std::move(bundle)),
        chainPem_(std::move(chainPem)),
        notAfter_(notAfter) {}

  static Result<std::unique_ptr<LocalCa>> load(const std::filesystem::path& dir, const std::string& trustDomain);
  static Status create(const std::filesystem::path& dir, const std::string& trustDomain);

  X509Ptr cert_;
  EvpPkeyPtr key_;
  TrustBundle bundle_;
  std::string chainPem_;  // ca.crt's intermediates (not self-signed), appended to every leaf
  std::chrono::system_clock::time_point notAfter_;
};

}  // namespace weft::identity
