// The tunnel codec end to end in memory: real TLS 1.3 (OpenSSL), real HTTP/2
// (nghttp2), real certificates from a LocalCa. Only the sockets are missing:
// the test moves each side's output to the other side.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "../test_support.h"
#include "weft/identity/local_ca.h"
#include "weft/identity/workload_certificates.h"
#include "weft/tunnel/tunnel_session.h"
#include "weft/tunnel/tunnel_tls.h"

namespace fs = std::filesystem;
using namespace weft;
using weft::tunnel::Role;
using weft::tunnel::TunnelSession;

namespace {

identity::SpiffeId workload(std::string ns, std::string sa) {
  return identity::workloadSpiffeId("cluster.local", ns, sa).value();
}

// One mesh: a CA, the SVIDs of a node, the TLS contexts.
struct Mesh {
  weft::testing::TempDir dir;
  std::unique_ptr<identity::LocalCa> ca;
  std::unique_ptr<identity::WorkloadCertificates> certificates;
  std::shared_ptr<tunnel::TunnelTls> tls;
  // A CA of its own, or the one already in `caDir` (two nodes of one mesh).
  explicit Mesh(std::set<identity::SpiffeId> ids, const fs::path& caDir = {}) {
    ca = identity::LocalCa::loadOrCreate(caDir.empty() ? dir.path() : caDir, "cluster.local").value();
    certificates = std::make_unique<identity::WorkloadCertificates>(*ca, identity::WorkloadCertificatesOptions{});
    certificates->setWanted(ids);
    tls = tunnel::TunnelTls::create(*certificates).value();
  }
};

struct RecordingStream : tunnel::StreamHandler {
  TunnelSession* session = nullptr;
  std::int32_t id = -1;
  int status = 0;
  std::string received;
  bool remoteEnd = false;
  bool drained = false;
  bool consume = true;  // deliver at once (a fast local reader)
  std::optional<std::uint32_t> closed;
  void onResponse(int s) override { status = s; }
  void onData(const std::uint8_t* data, std::size_t length) override {
    received.append(reinterpret_cast<const char*>(data), length);
    if (consume) session->consumed(id, length);
  }
  void onRemoteEnd() override { remoteEnd = true; }
  void onSendDrained() override { drained = true; }
  void onClosed(std::uint32_t code) override { closed = code; }
};

// The server side accepts every CONNECT and records it.
struct AcceptingServer : tunnel::SessionHandler {
  TunnelSession* session = nullptr;
  std::map<std::int32_t, std::unique_ptr<RecordingStream>> streams;
  std::vector<std::string> authorities;
  std::vector<std::string> forwardedFor;
  void onConnectRequest(std::int32_t id, std::string_view authority, std::string_view forwarded) override {
    authorities.emplace_back(authority);
    forwardedFor.emplace_back(forwarded);
    auto stream = std::make_unique<RecordingStream>();
    stream->session = session;
    stream->id = id;
    REQUIRE(session->respond(id, stream.get()));
    streams[id] = std::move(stream);
  }
};

struct Pair {
  std::unique_ptr<TunnelSession> client, server;
  std::shared_ptr<std::string> clientSawPeer = std::make_shared<std::string>();
  std::shared_ptr<std::string> serverSawPeer = std::make_shared<std::string>();
  Status clientStatus, serverStatus;

  // Moves bytes both ways until neither side has anything to say (bounded).
  void pump() {
    for (int round = 0; round < 1000; ++round) {
      if (clientStatus) clientStatus = client->produce(1 << 20);
      if (serverStatus) serverStatus = server->produce(1 << 20);
      std::string toServer, toClient;
      std::swap(toServer, client->output());
      std::swap(toClient, server->output());
      if (toServer.empty() && toClient.empty()) return;
      if (!toServer.empty() && serverStatus)
        serverStatus = server->receive(reinterpret_cast<const std::uint8_t*>(toServer.data()), toServer.size());
      if (!toClient.empty() && clientStatus)
        clientStatus = client->receive(reinterpret_cast<const std::uint8_t*>(toClient.data()), toClient.size());
    }
    FAIL("the sessions kept talking for 1000 rounds");
  }
};

Pair connect(Mesh& clientMesh, Mesh& serverMesh, const identity::SpiffeId& source,
             const identity::SpiffeId& destination, const identity::SpiffeId& expected,
             AcceptingServer& serverHandler) {
  Pair pair;
  SSL* clientSsl = clientMesh.tls->newClient(source, destination).value();
  pair.client = TunnelSession::create(Role::kClient, clientSsl, clientMesh.tls->peerCheck(expected, pair.clientSawPeer),
                                      nullptr)
                    .value();
  SSL* serverSsl = serverMesh.tls->newServer().value();
  pair.server = TunnelSession::create(Role::kServer, serverSsl,
                                      serverMesh.tls->peerCheck(std::nullopt, pair.serverSawPeer), &serverHandler)
                    .value();
  serverHandler.session = pair.server.get();
  return pair;
}

const identity::SpiffeId kClientId = workload("demo", "client");
const identity::SpiffeId kServerId = workload("demo", "server");

}  // namespace

TEST_CASE("tunnel: mutual TLS then a CONNECT stream carries bytes both ways and ends cleanly") {
  Mesh mesh({kClientId, kServerId});
  AcceptingServer server;
  Pair pair = connect(mesh, mesh, kClientId, kServerId, kServerId, server);
  RecordingStream stream;
  stream.session = pair.client.get();
  stream.id = pair.client->openStream("198.19.2.11:8080", "198.19.1.10:40000", &stream).value();
  pair.pump();
  REQUIRE(pair.clientStatus);
  REQUIRE(pair.serverStatus);
  CHECK(pair.client->handshakeDone());
  CHECK(*pair.clientSawPeer == kServerId.uri());
  CHECK(*pair.serverSawPeer == kClientId.uri());
  CHECK(mesh.tls->servedIdentity(pair.server->ssl()) == kServerId);
  CHECK(SSL_version(pair.client->ssl()) == TLS1_3_VERSION);
  REQUIRE(server.authorities == std::vector<std::string>{"198.19.2.11:8080"});
  // The source address rides along (RFC 7239 forwarded), for the destination's policies.
  CHECK(server.forwardedFor == std::vector<std::string>{"198.19.1.10:40000"});
  CHECK(stream.status == 200);
  RecordingStream& far = *server.streams.begin()->second;

  std::string up(100000, 'u'), down(70000, 'd');
  pair.client->send(stream.id, reinterpret_cast<const std::uint8_t*>(up.data()), up.size());
  pair.server->send(far.id, reinterpret_cast<const std::uint8_t*>(down.data()), down.size());
  pair.pump();
  CHECK(far.received == up);
  CHECK(stream.received == down);
  CHECK(stream.drained);
  CHECK(far.drained);

  // FIN both ways: END_STREAM each way, then a clean close.
  pair.client->endStream(stream.id);
  pair.pump();
  CHECK(far.remoteEnd);
  CHECK_FALSE(far.closed.has_value());
  pair.server->endStream(far.id);
  pair.pump();
  CHECK(stream.remoteEnd);
  REQUIRE(stream.closed.has_value());
  CHECK(*stream.closed == tunnel::kNoError);
  REQUIRE(far.closed.has_value());
  CHECK(*far.closed == tunnel::kNoError);
  CHECK(pair.client->openStreams() == 0);
}

TEST_CASE("tunnel: a reset stream reaches the other side as CONNECT_ERROR and spares its neighbours") {
  Mesh mesh({kClientId, kServerId});
  AcceptingServer server;
  Pair pair = connect(mesh, mesh, kClientId, kServerId, kServerId, server);
  RecordingStream a, b;
  a.session = b.session = pair.client.get();
  a.id = pair.client->openStream("198.19.2.11:1", "", &a).value();
  b.id = pair.client->openStream("198.19.2.11:2", "", &b).value();
  pair.pump();
  REQUIRE(server.streams.size() == 2);
  pair.client->reset(a.id);
  pair.pump();
  RecordingStream& farA = *server.streams.at(a.id);
  RecordingStream& farB = *server.streams.at(b.id);
  REQUIRE(farA.closed.has_value());
  CHECK(*farA.closed == tunnel::kConnectError);
  CHECK_FALSE(farB.closed.has_value());
  std::string text = "still here";
  pair.client->send(b.id, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  pair.pump();
  CHECK(farB.received == text);
}

TEST_CASE("tunnel: a shutdown notice stops new streams while the open ones and those in flight carry on") {
  Mesh mesh({kClientId, kServerId});
  AcceptingServer server;
  Pair pair = connect(mesh, mesh, kClientId, kServerId, kServerId, server);
  RecordingStream open, raced;
  open.session = raced.session = pair.client.get();
  open.id = pair.client->openStream("198.19.2.11:1", "", &open).value();
  pair.pump();
  REQUIRE(server.streams.size() == 1);
  // The agent hands over: the notice goes out while the client, not yet
  // aware of it, opens one more stream.
  pair.server->shutdownNotice();
  raced.id = pair.client->openStream("198.19.2.11:2", "", &raced).value();
  pair.pump();
  CHECK(pair.client->peerGoingAway());  // the client's pool opens its next streams elsewhere
  REQUIRE(server.streams.size() == 2);  // the raced stream was still taken
  CHECK(raced.status == 200);
  std::string text = "still served";
  pair.client->send(open.id, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  pair.client->send(raced.id, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  pair.pump();
  CHECK(server.streams.at(open.id)->received == text);
  CHECK(server.streams.at(raced.id)->received == text);
  CHECK_FALSE(open.closed.has_value());
}

TEST_CASE("tunnel: a stream opened just as a shutdown notice arrives still starts") {
  Mesh mesh({kClientId, kServerId});
  AcceptingServer server;
  Pair pair = connect(mesh, mesh, kClientId, kServerId, kServerId, server);
  RecordingStream first, raced;
  first.session = raced.session = pair.client.get();
  first.id = pair.client->openStream("198.19.2.11:1", "", &first).value();
  pair.pump();
  // The worker's turn: a new connection opens a stream (its HEADERS not yet
  // serialised), then the tunnel's receive brings the notice.
  pair.server->shutdownNotice();
  REQUIRE(pair.server->produce(1 << 20));
  std::string notice;
  std::swap(notice, pair.server->output());
  raced.id = pair.client->openStream("198.19.2.11:2", "", &raced).value();
  REQUIRE(pair.client->receive(reinterpret_cast<const std::uint8_t*>(notice.data()), notice.size()));
  pair.pump();
  CHECK(pair.client->peerGoingAway());
  CHECK_FALSE(raced.closed.has_value());  // not refused by nghttp2 (START_STREAM_NOT_ALLOWED)
  CHECK(raced.status == 200);
  CHECK(server.streams.size() == 2);
}

TEST_CASE("tunnel: a stream whose reader stalls does not stall the other streams") {
  Mesh mesh({kClientId, kServerId});
  AcceptingServer server;
  Pair pair = connect(mesh, mesh, kClientId, kServerId, kServerId, server);
  RecordingStream slow, fast;
  slow.session = fast.session = pair.client.get();
  slow.id = pair.client->openStream("198.19.2.11:1", "", &slow).value();
  fast.id = pair.client->openStream("198.19.2.11:2", "", &fast).value();
  pair.pump();
  server.streams.at(slow.id)->consume = false;  // its pod never reads
  std::string chunk(256 * 1024, 'x');
  std::size_t slowSent = 0;
  for (int i = 0; i < 16; ++i) {  // 4 MiB offered to the stalled stream
    slow.drained = false;
    pair.client->send(slow.id, reinterpret_cast<const std::uint8_t*>(chunk.data()), chunk.size());
    pair.pump();
    if (!slow.drained) break;  // its window is full: the sender is held back
    slowSent += chunk.size();
  }
  CHECK(slowSent < 4u * 1024 * 1024);
  CHECK(server.streams.at(slow.id)->received.size() <= 1024u * 1024);
  // The other stream still moves 8 MiB through the same connection.
  std::size_t fastSent = 0;
  for (int i = 0; i < 32; ++i) {
    fast.drained = false;
    pair.client->send(fast.id, reinterpret_cast<const std::uint8_t*>(chunk.data()), chunk.size());
    pair.pump();
    REQUIRE(fast.drained);
    fastSent += chunk.size();
  }
  CHECK(server.streams.at(fast.id)->received.size() == fastSent);
}

TEST_CASE("tunnel: the client rejects a server that proves another identity") {
  const auto other = workload("demo", "other");
  Mesh mesh({kClientId, kServerId, other});
  AcceptingServer server;
  // Asks for `other` (SNI), the server presents it, but the client expected kServerId.
  Pair pair = connect(mesh, mesh, kClientId, other, kServerId, server);
  RecordingStream stream;
  stream.session = pair.client.get();
  (void)pair.client->openStream("198.19.2.11:8080", "", &stream);
  pair.pump();
  REQUIRE_FALSE(pair.clientStatus);
  CHECK(pair.clientStatus.error().code == ErrorCode::kPermissionDenied);
  CHECK(pair.clientStatus.error().message.find("expected " + kServerId.uri()) != std::string::npos);
  CHECK(server.authorities.empty());
}

TEST_CASE("tunnel: a server without the asked identity aborts the handshake") {
  Mesh clientMesh({kClientId, kServerId});
  Mesh serverMesh({kClientId}, clientMesh.dir.path());  // same CA, but no pod of kServerId on this node
  AcceptingServer server;
  Pair pair = connect(clientMesh, serverMesh, kClientId, kServerId, kServerId, server);
  pair.pump();
  REQUIRE_FALSE(pair.clientStatus);
  CHECK(pair.clientStatus.error().message.find("unrecognized name") != std::string::npos);
  CHECK_FALSE(pair.serverStatus);
  CHECK_FALSE(pair.client->handshakeDone());
  CHECK(server.authorities.empty());
}

TEST_CASE("tunnel: peers from two different CAs refuse each other") {
  Mesh clientMesh({kClientId, kServerId});
  Mesh serverMesh({kClientId, kServerId});
  AcceptingServer server;
  Pair pair = connect(clientMesh, serverMesh, kClientId, kServerId, kServerId, server);
  pair.pump();
  REQUIRE_FALSE(pair.clientStatus);
  CHECK(pair.clientStatus.error().message.find("certificate verify failed") != std::string::npos);
  CHECK(server.authorities.empty());
}

TEST_CASE("tunnel: SNI names a workload identity and back") {
  CHECK(tunnel::sniForIdentity(kServerId).value() == "server.demo.cluster.local");
  CHECK(tunnel::identityFromSni("server.demo.cluster.local", "cluster.local").value() == kServerId);
  CHECK_FALSE(tunnel::identityFromSni("server.demo.example.org", "cluster.local"));
  CHECK_FALSE(tunnel::identityFromSni("server", "cluster.local"));
  CHECK_FALSE(tunnel::identityFromSni("..cluster.local", "cluster.local"));
  CHECK_FALSE(tunnel::sniForIdentity(identity::parseSpiffeId("spiffe://cluster.local/x/y").value()));
}

TEST_CASE("tunnel: only TLS 1.3 with an AES-GCM suite is spoken") {
  Mesh mesh({kClientId, kServerId});
  AcceptingServer server;
  Pair pair = connect(mesh, mesh, kClientId, kServerId, kServerId, server);
  pair.pump();
  REQUIRE(pair.clientStatus);
  std::string suite = SSL_CIPHER_get_name(SSL_get_current_cipher(pair.client->ssl()));
  CHECK((suite == "TLS_AES_128_GCM_SHA256" || suite == "TLS_AES_256_GCM_SHA384"));

  // A client that offers TLS 1.2 at most is refused by the server.
  SSL_CTX* legacyContext = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(legacyContext, TLS1_2_VERSION);
  SSL* legacy = SSL_new(legacyContext);
  SSL_CTX_free(legacyContext);  // the SSL keeps its own reference
  const unsigned char h2[] = {2, 'h', '2'};
  SSL_set_alpn_protos(legacy, h2, sizeof h2);
  SSL_set_tlsext_host_name(legacy, "server.demo.cluster.local");
  Pair old;
  old.client = TunnelSession::create(Role::kClient, legacy, nullptr, nullptr).value();
  AcceptingServer oldServer;
  old.server = TunnelSession::create(Role::kServer, mesh.tls->newServer().value(), nullptr, &oldServer).value();
  old.pump();
  REQUIRE_FALSE(old.serverStatus);
  CHECK(old.serverStatus.error().message.find("unsupported protocol") != std::string::npos);
  CHECK_FALSE(old.client->handshakeDone());
}
