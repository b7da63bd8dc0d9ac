#include "weft/identity/workload_certificates.h"

#include <openssl/err.h>

#include <algorithm>

#include "weft/common/log.h"
#include "weft/identity/certificate_builder.h"

namespace weft::identity {

namespace {

using Clock = std::chrono::system_clock;

// Half the lifetime counted from the issue, not from notBefore: the CA
// backdates notBefore for clock skew, and with a short lifetime half of
// notBefore..notAfter can already be past when the certificate arrives
// (a renewal loop, seen with --svid-lifetime-s 16).
Clock::time_point renewAt(const CertificateInfo& info, Clock::time_point issuedAt) {
  return issuedAt + (info.notAfter - issuedAt) / 2;
}

std::chrono::seconds retryDelay(int failures) {
  int doublings = std::clamp(failures - 1, 0, 16);  // 2^16 s is far past the cap
  return std::min(kFirstRetryDelay * (1 << doublings), kMaxRetryDelay);
}

}  // namespace

WorkloadCertificates::WorkloadCertificates(CertificateSigner& signer, WorkloadCertificatesOptions options)
    : signer_(signer), options_(std::move(options)), published_(std::make_shared<const SvidMap>()) {}

Result<std::shared_ptr<const Svid>> WorkloadCertificates::issue(const SpiffeId& id, Clock::time_point now) {
  auto key = generateP256Key();
  if (!key) return std::unexpected(key.error());
  auto csr = makeCsrPem(key->get());
  if (!csr) return std::unexpected(csr.error());
  auto chain = signer_.sign(SigningRequest{.csrPem = std::move(*csr), .identity = id, .lifetime = options_.lifetime});
  if (!chain) return fail(chain.error().code, "signing " + id.uri() + ": " + chain.error().message);
  auto certs = parsePemCertificates(*chain);
  if (!certs) return fail(ErrorCode::kParse, "the signer's answer for " + id.uri() + ": " + certs.error().message);

  // Check what the signer gave before serving it: a bad SVID would fail every
  // handshake on the peers' side, far from the cause.
  auto svid = std::make_shared<Svid>();
  svid->id = id;
  svid->key = std::move(*key);
  svid->leaf = std::move(certs->front());
  for (std::size_t i = 1; i < certs->size(); ++i) svid->intermediates.push_back(std::move((*certs)[i]));
  if (X509_check_private_key(svid->leaf.get(), svid->key.get()) != 1) {
    ERR_clear_error();
    return fail(ErrorCode::kInternal, "the signer returned a certificate for another key than " + id.uri() + "'s");
  }
  X509StackPtr intermediates = toX509Stack(svid->intermediates);
  auto info = validateX509Svid(svid->leaf.get(), intermediates.get(), signer_.trustBundle(), now);
  if (!info) return fail(info.error().code, "the signer's certificate for " + id.uri() + ": " + info.error().message);
  if (info->id != id) {
    return fail(ErrorCode::kInternal, "the signer returned a certificate for " + info->id.uri() + ", not " + id.uri());
  }
  svid->info = std::move(*info);
  return svid;
}

void WorkloadCertificates::attempt(const SpiffeId& id, Entry& entry, Clock::time_point now) {
  auto svid = issue(id, now);
  if (svid) {
    entry.current = std::move(*svid);
    entry.failures = 0;
    entry.lastError.reset();
    entry.nextAttempt = renewAt(entry.current->info, now);
    log::info("identity", "issued {} (serial {}, valid until {})", id.uri(), entry.current->info.serial,
              formatUtc(entry.current->info.notAfter));
    return;
  }
  ++entry.failures;
  entry.lastError = svid.error().message;
  entry.nextAttempt = now + retryDelay(entry.failures);
  // The last tries must happen while the current certificate still holds.
  if (entry.current && entry.current->info.notAfter > now) {
    entry.nextAttempt = std::min(entry.nextAttempt, entry.current->info.notAfter);
  }
  log::warn("identity", "{} (attempt {}, next at {}{})", svid.error().message, entry.failures,
            formatUtc(entry.nextAttempt), entry.current ? ", the current certificate stays in use" : "");
}

void WorkloadCertificates::setWanted(const std::set<SpiffeId>& ids) {
  std::lock_guard lock(mutex_);
  Clock::time_point now = options_.clock();
  std::size_t before = entries_.size();
  std::erase_if(entries_, [&](const auto& item) { return !ids.contains(item.first); });
  bool changed = entries_.size() != before;
  for (const SpiffeId& id : ids) {
    auto [it, added] = entries_.try_emplace(id);
    if (!added) continue;
    attempt(id, it->second, now);
    changed = true;
  }
  if (changed) publishLocked();
}

void WorkloadCertificates::refresh() {
  std::lock_guard lock(mutex_);
  Clock::time_point now = options_.clock();
  bool changed = false;
  for (auto& [id, entry] : entries_) {
    if (entry.current && entry.current->info.notAfter <= now) {
      log::error("identity", "the certificate of {} expired at {}; withdrawn until one is issued", id.uri(),
                 formatUtc(entry.current->info.notAfter));
      entry.current.reset();
      changed = true;
    }
    if (entry.nextAttempt <= now) {
      attempt(id, entry, now);
      changed = true;
    }
  }
  if (changed) publishLocked();
}

Clock::time_point WorkloadCertificates::nextRefresh() const {
  std::lock_guard lock(mutex_);
  if (entries_.empty()) return options_.clock() + std::chrono::hours(1);
  Clock::time_point next = Clock::time_point::max();
  for (const auto& [id, entry] : entries_) next = std::min(next, entry.nextAttempt);
  return next;
}

void WorkloadCertificates::publishLocked() {
  auto map = std::make_shared<SvidMap>();
  for (const auto& [id, entry] : entries_) {
    if (entry.current) map->emplace(id, entry.current);
  }
  published_.store(std::move(map));
}

std::shared_ptr<const Svid> WorkloadCertificates::find(const SpiffeId& id) const {
  std::shared_ptr<const SvidMap> map = published_.load();
  auto it = map->find(id);
  return it == map->end() ? nullptr : it->second;
}

TrustBundle WorkloadCertificates::trustBundle() const { return signer_.trustBundle(); }

std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> WorkloadCertificates::expiries() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> out;
  for (const auto& [id, entry] : entries_)
    if (entry.current) out.emplace_back(id.uri(), entry.current->info.notAfter);
  return out;
}

nlohmann::json WorkloadCertificates::toJson() const {
  std::lock_guard lock(mutex_);
  nlohmann::json certificates = nlohmann::json::array();
  for (const auto& [id, entry] : entries_) {
    nlohmann::json item{{"identity", id.uri()}, {"serial", nullptr},   {"notBefore", nullptr},
                        {"notAfter", nullptr},  {"renewAt", formatUtc(entry.nextAttempt)}, {"lastError", nullptr}};
    if (entry.current) {
      item["serial"] = entry.current->info.serial;
      item["notBefore"] = formatUtc(entry.current->info.notBefore);
      item["notAfter"] = formatUtc(entry.current->info.notAfter);
    }
    if (entry.lastError) item["lastError"] = *entry.lastError;
    certificates.push_back(std::move(item));
  }
  return {{"trustDomain", signer_.trustBundle().trustDomain()}, {"certificates", std::move(certificates)}};
}

}  // namespace weft::identity
