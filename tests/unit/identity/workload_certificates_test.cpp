// Workload certificates over a test signer and a test clock: issue, renewal
// at half-life, backoff with the old certificate still served, dropping, and
// lock-free reads from worker threads while certificates rotate.
#include "weft/identity/workload_certificates.h"
#include "weft/identity/local_ca.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "../test_support.h"
#include "test_certificates.h"

using namespace weft::identity;
using namespace weft::identity::testing;
using weft::testing::QuietLogs;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

const SpiffeId kA{"cluster.local", "/ns/demo/sa/a"};
const SpiffeId kB{"cluster.local", "/ns/demo/sa/b"};

struct TestClock {
  Clock::time_point start = wholeSecondNow();
  std::atomic<long> offset{0};  // seconds
  Clock::time_point now() const { return start + seconds(offset.load()); }
  void advanceTo(Clock::time_point t) { offset = std::chrono::duration_cast<seconds>(t - start).count(); }
  void advance(seconds s) { offset += s.count(); }
};

struct Fixture {
  QuietLogs quiet;
  TestClock clock;
  TestCa ca = TestCa::make("cluster.local", clock.start);
  TestSigner signer{ca, [this] { return clock.now(); }};
  WorkloadCertificates certs{signer, {.lifetime = hours(1), .clock = [this] { return clock.now(); }}};
};

std::string serialOf(const WorkloadCertificates& certs, const SpiffeId& id) {
  auto svid = certs.find(id);
  return svid ? svid->info.serial : std::string();
}

}  // namespace

TEST_CASE("workload certificates: wanted identities get a valid SVID at once and JSON lists them") {
  Fixture f;
  f.certs.setWanted({kA, kB});
  CHECK(f.signer.calls == 2);
  for (const SpiffeId& id : {kA, kB}) {
    CAPTURE(id.uri());
    auto svid = f.certs.find(id);
    REQUIRE(svid != nullptr);
    CHECK(svid->id == id);
    CHECK(svid->intermediates.empty());
    CHECK(X509_check_private_key(svid->leaf.get(), svid->key.get()) == 1);
    auto info = validateX509Svid(svid->leaf.get(), nullptr, f.certs.trustBundle(), f.clock.now());
    REQUIRE_MESSAGE(info.has_value(), info.error().describe());
    CHECK(info->serial == svid->info.serial);
    CHECK(svid->info.notAfter - svid->info.notBefore == hours(1));
  }
  CHECK(f.certs.find({"cluster.local", "/ns/demo/sa/c"}) == nullptr);
  CHECK(f.certs.nextRefresh() == f.clock.start + minutes(30));

  nlohmann::json json = f.certs.toJson();
  CHECK(json["trustDomain"] == "cluster.local");
  REQUIRE(json["certificates"].size() == 2);
  const nlohmann::json& a = json["certificates"][0];
  CHECK(a["identity"] == kA.uri());
  CHECK(a["serial"] == f.certs.find(kA)->info.serial);
  CHECK(a["notBefore"] == formatUtc(f.clock.start));
  CHECK(a["notAfter"] == formatUtc(f.clock.start + hours(1)));
  CHECK(a["renewAt"] == formatUtc(f.clock.start + minutes(30)));
  CHECK(a["lastError"].is_null());
  CHECK(a.size() == 6);
}

TEST_CASE("workload certificates: renewed at half-life and not before / holders keep the old one") {
  Fixture f;
  f.certs.setWanted({kA});
  std::shared_ptr<const Svid> first = f.certs.find(kA);  // an established connection holds it
  REQUIRE(first != nullptr);

  f.clock.advanceTo(f.clock.start + minutes(30) - seconds(1));
  f.certs.refresh();
  CHECK(f.signer.calls == 1);
  CHECK(f.certs.find(kA) == first);

  f.clock.advanceTo(f.clock.start + minutes(30));
  f.certs.refresh();
  CHECK(f.signer.calls == 2);
  std::shared_ptr<const Svid> second = f.certs.find(kA);
  REQUIRE(second != nullptr);
  CHECK(second->info.serial != first->info.serial);
  CHECK(second->info.notBefore == f.clock.now());
  CHECK(f.certs.nextRefresh() == f.clock.now() + minutes(30));
  // The old SVID is intact for whoever still uses it.
  CHECK(X509_check_private_key(first->leaf.get(), first->key.get()) == 1);
  CHECK(first->info.serial == describeCertificate(first->leaf.get())->serial);
}

TEST_CASE("workload certificates: failed renewals back off (1 s doubling to 5 min) while the old cert is served") {
  Fixture f;
  f.certs.setWanted({kA});
  std::string serial = serialOf(f.certs, kA);
  Clock::time_point notAfter = f.certs.find(kA)->info.notAfter;
  f.signer.failing = true;
  f.clock.advanceTo(f.clock.start + minutes(30));

  const long expected[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300};
  for (long delay : expected) {
    CAPTURE(delay);
    f.certs.refresh();
    CHECK(serialOf(f.certs, kA) == serial);
    CHECK(f.certs.nextRefresh() == f.clock.now() + seconds(delay));
    // Nothing happens before the retry is due.
    int calls = f.signer.calls;
    f.clock.advance(seconds(delay) - seconds(1));
    f.certs.refresh();
    CHECK(f.signer.calls == calls);
    f.clock.advance(seconds(1));
  }
  nlohmann::json a = f.certs.toJson()["certificates"][0];
  CHECK(a["serial"] == serial);
  CHECK(a["lastError"].get<std::string>().find("failing on purpose") != std::string::npos);
  CHECK(a["renewAt"] == formatUtc(f.certs.nextRefresh()));

  // The last retry lands on the expiry, not after it.
  f.clock.advanceTo(notAfter - seconds(100));
  f.certs.refresh();
  CHECK(f.certs.nextRefresh() == notAfter);
  CHECK(serialOf(f.certs, kA) == serial);

  // Expired: withdrawn, retries go on.
  f.clock.advanceTo(notAfter + seconds(1));
  f.certs.refresh();
  CHECK(f.certs.find(kA) == nullptr);
  CHECK(f.certs.toJson()["certificates"][0]["serial"].is_null());

  f.signer.failing = false;
  f.clock.advanceTo(f.certs.nextRefresh());
  f.certs.refresh();
  REQUIRE(f.certs.find(kA) != nullptr);
  CHECK(serialOf(f.certs, kA) != serial);
  CHECK(f.certs.toJson()["certificates"][0]["lastError"].is_null());
  CHECK(f.certs.nextRefresh() == f.clock.now() + minutes(30));
}

TEST_CASE("workload certificates: a failed first issue is retried and listed without a certificate") {
  Fixture f;
  f.signer.failing = true;
  f.certs.setWanted({kA});
  CHECK(f.certs.find(kA) == nullptr);
  nlohmann::json a = f.certs.toJson()["certificates"][0];
  CHECK(a["identity"] == kA.uri());
  CHECK(a["serial"].is_null());
  CHECK(a["notBefore"].is_null());
  CHECK(a["notAfter"].is_null());
  CHECK(a["renewAt"] == formatUtc(f.clock.now() + seconds(1)));
  CHECK_FALSE(a["lastError"].is_null());

  f.signer.failing = false;
  f.clock.advance(seconds(1));
  f.certs.refresh();
  CHECK(f.certs.find(kA) != nullptr);
}

TEST_CASE("workload certificates: identities no longer wanted are dropped and the others kept as they are") {
  Fixture f;
  f.certs.setWanted({kA, kB});
  std::shared_ptr<const Svid> b = f.certs.find(kB);
  f.certs.setWanted({kB});
  CHECK(f.certs.find(kA) == nullptr);
  CHECK(f.certs.find(kB) == b);
  CHECK(f.signer.calls == 2);
  CHECK(f.certs.toJson()["certificates"].size() == 1);
  f.certs.setWanted({});
  CHECK(f.certs.find(kB) == nullptr);
  CHECK(f.certs.toJson()["certificates"].empty());
  CHECK(f.certs.nextRefresh() == f.clock.now() + hours(1));
}

TEST_CASE("workload certificates: an answer from the signer that is not a valid SVID for the key is refused") {
  struct WrongSigner final : CertificateSigner {
    const TestCa& ca;
    explicit WrongSigner(const TestCa& c) : ca(c) {}
    weft::Result<std::string> sign(const SigningRequest& request) override {
      // A certificate for another key than the CSR's.
      return toPem(issueTestCertificate(svidProfile(request.identity.uri(), Clock::now()), ca.ca).cert.get());
    }
    [[nodiscard]] TrustBundle trustBundle() const override { return ca.bundle(); }
  };
  QuietLogs quiet;
  TestCa ca = TestCa::make("cluster.local");
  WrongSigner signer(ca);
  WorkloadCertificates certs(signer, {});
  certs.setWanted({kA});
  CHECK(certs.find(kA) == nullptr);
  CHECK(certs.toJson()["certificates"][0]["lastError"].get<std::string>().find("another key") != std::string::npos);
}

TEST_CASE("workload certificates: worker threads find a whole SVID while certificates rotate") {
  Fixture f;
  f.certs.setWanted({kA, kB});
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::atomic<long> bad{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 3; ++i) {
    workers.emplace_back([&] {
      // Bounded in count as well as by `stop`.
      for (long n = 0; n < 5'000'000 && !stop; ++n) {
        auto svid = f.certs.find(n % 2 ? kA : kB);
        if (!svid || svid->id != (n % 2 ? kA : kB) || X509_check_private_key(svid->leaf.get(), svid->key.get()) != 1) {
          ++bad;
        }
        ++reads;
      }
    });
  }
  // The admin API lists certificates from its own thread meanwhile.
  workers.emplace_back([&] {
    for (int n = 0; n < 100'000 && !stop; ++n) {
      if (f.certs.toJson()["certificates"].size() != 2) ++bad;
    }
  });
  std::set<std::string> serials;
  for (int round = 0; round < 40; ++round) {
    f.clock.advance(minutes(30));
    f.certs.refresh();
    serials.insert(serialOf(f.certs, kA));
  }
  stop = true;
  for (auto& t : workers) t.join();
  CHECK(serials.size() == 40);
  CHECK(reads > 0);
  CHECK(bad == 0);
}

TEST_CASE("workload certificates: a short lifetime from the local CA is renewed at half of it and not at once") {
  // The local CA backdates notBefore by a minute (clock skew); with a 16 s
  // lifetime, half of notBefore..notAfter was already past at issue, and the
  // agent renewed in a loop.
  weft::testing::TempDir dir;
  auto ca = weft::identity::LocalCa::loadOrCreate(dir.path(), "cluster.local").value();
  WorkloadCertificates certs{*ca, WorkloadCertificatesOptions{.lifetime = seconds(16)}};
  auto id = workloadSpiffeId("cluster.local", "demo", "default").value();
  auto before = std::chrono::system_clock::now();
  certs.setWanted({id});
  auto serial = certs.find(id)->info.serial;
  CHECK(certs.nextRefresh() >= before + seconds(7));
  certs.refresh();
  CHECK(certs.find(id)->info.serial == serial);
}
