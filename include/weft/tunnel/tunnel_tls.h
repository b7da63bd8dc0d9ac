// TLS for the tunnel between node proxies: TLS 1.3 only, AES-GCM suites,
// mutual authentication with X509-SVIDs, ALPN h2.
//
// A TLS connection proves one identity per side. The client presents the
// source workload's SVID and names the destination workload in SNI; the
// server presents that workload's SVID. So one pooled tunnel serves one
// (source identity, destination node, destination identity), as ztunnel's
// pool key does. OpenSSL verifies the chain to the trust bundle; the SPIFFE
// rules and the expected identity are checked after the handshake, since
// OpenSSL knows nothing of URI SANs.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>

#include "weft/common/error.h"
#include "weft/identity/spiffe_id.h"
#include "weft/identity/workload_certificates.h"
#include "weft/tunnel/tunnel_session.h"

namespace weft::tunnel {

// SNI naming a workload identity: "<serviceaccount>.<namespace>.<trust domain>"
// (namespaces and service accounts are DNS labels, so the form is unambiguous).
[[nodiscard]] Result<std::string> sniForIdentity(const identity::SpiffeId& id);
[[nodiscard]] Result<identity::SpiffeId> identityFromSni(std::string_view sni, std::string_view trustDomain);

class TunnelTls {
 public:
  // Shared by all workers (an SSL_CTX may make SSLs on any thread).
  [[nodiscard]] static Result<std::shared_ptr<TunnelTls>> create(const identity::WorkloadCertificates& certificates);
  ~TunnelTls();
  TunnelTls(const TunnelTls&) = delete;
  TunnelTls& operator=(const TunnelTls&) = delete;

  // A client SSL presenting `source`'s SVID and asking for `destination`.
  [[nodiscard]] Result<SSL*> newClient(const identity::SpiffeId& source, const identity::SpiffeId& destination) const;
  // A server SSL; its certificate is chosen by the client's SNI.
  [[nodiscard]] Result<SSL*> newServer() const;

  // The post-handshake check: a valid X509-SVID of our trust domain and, for
  // a client, exactly `expected`. Writes the peer's identity to `peer`.
  [[nodiscard]] TunnelSession::PeerCheck peerCheck(std::optional<identity::SpiffeId> expected,
                                                   std::shared_ptr<std::string> peer) const;
  // Server side, after the handshake: the identity the client asked for.
  [[nodiscard]] std::optional<identity::SpiffeId> servedIdentity(SSL* ssl) const;

 private:
  TunnelTls(const identity::WorkloadCertificates& certificates) : certificates_(certificates) {}
  const identity::WorkloadCertificates& certificates_;
  SSL_CTX* client_ = nullptr;
  SSL_CTX* server_ = nullptr;
};

}  // namespace weft::tunnel
