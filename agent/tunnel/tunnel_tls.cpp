#include "weft/tunnel/tunnel_tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include "weft/common/log.h"
#include "weft/identity/x509_svid.h"

namespace weft::tunnel {
namespace {

constexpr const char* kCipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";
constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};

std::string openSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no detail from OpenSSL";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

Result<SSL_CTX*> makeContext(bool server, const identity::TrustBundle& bundle) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!ctx) return fail(ErrorCode::kInternal, "SSL_CTX_new: " + openSslError());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  if (SSL_CTX_set_ciphersuites(ctx, kCipherSuites) != 1) {
    SSL_CTX_free(ctx);
    return fail(ErrorCode::kInternal, "tunnel cipher suites: " + openSslError());
  }
  // Tunnels are pooled and long-lived: resumption tickets would cost every
  // full handshake a signature and buy little.
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set1_cert_store(ctx, bundle.store());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

int selectAlpn(SSL*, const unsigned char** out, unsigned char* outLength, const unsigned char* in, unsigned inLength,
               void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outLength, kAlpnH2, sizeof kAlpnH2, in, inLength) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

Status useSvid(SSL* ssl, const identity::Svid& svid) {
  STACK_OF(X509)* chain = sk_X509_new_null();
  for (const auto& cert : svid.intermediates) sk_X509_push(chain, cert.get());
  int ok = SSL_use_cert_and_key(ssl, svid.leaf.get(), svid.key.get(), chain, 1);
  sk_X509_free(chain);
  if (ok != 1) return fail(ErrorCode::kInternal, "SVID for " + svid.id.uri() + ": " + openSslError());
  return {};
}

}  // namespace

Result<std::string> sniForIdentity(const identity::SpiffeId& id) {
  // /ns/<ns>/sa/<sa>
  std::string_view path = id.path;
  auto part = [&path]() {
    if (path.empty() || path[0] != '/') return std::string_view{};
    path.remove_prefix(1);
    auto end = path.find('/');
    auto piece = path.substr(0, end);
    path = end == std::string_view::npos ? std::string_view{} : path.substr(end);
    return piece;
  };
  auto nsKey = part(), ns = part(), saKey = part(), sa = part();
  if (nsKey != "ns" || saKey != "sa" || ns.empty() || sa.empty() || !path.empty())
    return fail(ErrorCode::kInvalidArgument, id.uri() + " is not a workload identity (/ns/<ns>/sa/<sa>)");
  return std::string(sa) + "." + std::string(ns) + "." + id.trustDomain;
}

Result<identity::SpiffeId> identityFromSni(std::string_view sni, std::string_view trustDomain) {
  auto first = sni.find('.');
  auto second = first == std::string_view::npos ? first : sni.find('.', first + 1);
  if (second == std::string_view::npos || sni.substr(second + 1) != trustDomain)
    return fail(ErrorCode::kInvalidArgument, "SNI '" + std::string(sni) + "' names no workload of trust domain " +
                                                 std::string(trustDomain));
  return identity::workloadSpiffeId(trustDomain, sni.substr(first + 1, second - first - 1), sni.substr(0, first));
}

Result<std::shared_ptr<TunnelTls>> TunnelTls::create(const identity::WorkloadCertificates& certificates) {
  std::shared_ptr<TunnelTls> tls(new TunnelTls(certificates));
  auto bundle = certificates.trustBundle();
  auto client = makeContext(false, bundle);
  if (!client) return std::unexpected(client.error());
  tls->client_ = *client;
  auto server = makeContext(true, bundle);
  if (!server) return std::unexpected(server.error());
  tls->server_ = *server;
  SSL_CTX_set_alpn_select_cb(tls->server_, selectAlpn, nullptr);
  // The certificate is chosen per connection, by the identity the client asks for.
  SSL_CTX_set_tlsext_servername_arg(tls->server_, tls.get());
  SSL_CTX_set_tlsext_servername_callback(tls->server_, +[](SSL* ssl, int* alert, void* arg) -> int {
    auto* self = static_cast<TunnelTls*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    auto id = name ? identityFromSni(name, self->certificates_.trustBundle().trustDomain())
                   : Result<identity::SpiffeId>(fail(ErrorCode::kInvalidArgument, "no SNI"));
    std::shared_ptr<const identity::Svid> svid = id ? self->certificates_.find(*id) : nullptr;
    if (!svid || !useSvid(ssl, *svid)) {
      log::debug("tunnel", "inbound handshake for '{}': no such workload on this node", name ? name : "");
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
  });
  return tls;
}

TunnelTls::~TunnelTls() {
  SSL_CTX_free(client_);
  SSL_CTX_free(server_);
}

Result<SSL*> TunnelTls::newClient(const identity::SpiffeId& source, const identity::SpiffeId& destination) const {
  auto svid = certificates_.find(source);
  if (!svid) return fail(ErrorCode::kNotFound, "no certificate (yet) for " + source.uri());
  auto sni = sniForIdentity(destination);
  if (!sni) return std::unexpected(sni.error());
  SSL* ssl = SSL_new(client_);
  if (!ssl) return fail(ErrorCode::kInternal, "SSL_new: " + openSslError());
  if (auto ok = useSvid(ssl, *svid); !ok) {
    SSL_free(ssl);
    return std::unexpected(ok.error());
  }
  SSL_set_tlsext_host_name(ssl, sni->c_str());
  SSL_set_alpn_protos(ssl, kAlpnH2, sizeof kAlpnH2);
  return ssl;
}

Result<SSL*> TunnelTls::newServer() const {
  SSL* ssl = SSL_new(server_);
  if (!ssl) return fail(ErrorCode::kInternal, "SSL_new: " + openSslError());
  return ssl;
}

TunnelSession::PeerCheck TunnelTls::peerCheck(std::optional<identity::SpiffeId> expected,
                                              std::shared_ptr<std::string> peer) const {
  return [this, expected = std::move(expected), peer = std::move(peer)](SSL* ssl) -> Status {
    X509* leaf = SSL_get0_peer_certificate(ssl);
    if (!leaf) return fail(ErrorCode::kPermissionDenied, "the peer presented no certificate");
    auto info = identity::validateX509Svid(leaf, SSL_get_peer_cert_chain(ssl), certificates_.trustBundle(),
                                           std::chrono::system_clock::now());
    if (!info) return fail(ErrorCode::kPermissionDenied, "peer certificate: " + info.error().message);
    if (peer) *peer = info->id.uri();
    if (expected && info->id != *expected)
      return fail(ErrorCode::kPermissionDenied,
                  "peer is " + info->id.uri() + ", expected " + expected->uri());
    return {};
  };
}

std::optional<identity::SpiffeId> TunnelTls::servedIdentity(SSL* ssl) const {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return std::nullopt;
  auto id = identityFromSni(name, certificates_.trustBundle().trustDomain());
  if (!id) return std::nullopt;
  return *id;
}

}  // namespace weft::tunnel
