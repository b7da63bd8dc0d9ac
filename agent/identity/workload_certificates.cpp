#include "weft/identity/workload_certificates.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <mutex>

#include "weft/common/log.h"

namespace weft::identity {
namespace {

using Clock = std::chrono::system_clock;

constexpr auto kFirstBackoff = std::chrono::seconds(1);
constexpr auto kMaxBackoff = std::chrono::seconds(300);

Result<std::string> makeCsr(EVP_PKEY* key) {
  X509ReqPtr request(X509_REQ_new());
  X509_REQ_set_version(request.get(), 0);
  X509_REQ_set_pubkey(request.get(), key);
  if (X509_REQ_sign(request.get(), key, EVP_sha256()) <= 0) return fail(ErrorCode::kInternal, "CSR: " + openSslErrors());
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509_REQ(bio.get(), request.get());
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

std::string rfc3339(Clock::time_point time) {
  std::time_t t = Clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Renewal at half-life (DESIGN.md section 3).
Clock::time_point renewalTime(const CertificateInfo& info) { return info.notBefore + (info.notAfter - info.notBefore) / 2; }

}  // namespace

WorkloadCertificates::WorkloadCertificates(CertificateSigner& signer, WorkloadCertificatesOptions options)
    : signer_(signer), options_(std::move(options)) {}

Result<std::shared_ptr<const Svid>> WorkloadCertificates::issue(const SpiffeId& id) {
  auto key = makeP256Key();
  if (!key) return std::unexpected(key.error());
  auto csr = makeCsr(key->get());
  if (!csr) return std::unexpected(csr.error());
  auto chainPem = signer_.sign({.csrPem = *csr, .identity = id, .lifetime = options_.lifetime});
  if (!chainPem) return std::unexpected(chainPem.error());
  auto chain = parsePemCertificates(*chainPem);
  if (!chain) return std::unexpected(chain.error());
  auto svid = std::make_shared<Svid>();
  svid->id = id;
  svid->key = std::move(*key);
  svid->leaf = std::move(chain->front());
  for (std::size_t i = 1; i < chain->size(); ++i) svid->intermediates.push_back(std::move((*chain)[i]));
  if (X509_check_private_key(svid->leaf.get(), svid->key.get()) != 1)
    return fail(ErrorCode::kInternal, "the signer returned a certificate for another key");
  // What we hand to peers must pass what we demand of peers.
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (auto& cert : svid->intermediates) sk_X509_push(untrusted, cert.get());
  auto info = validateX509Svid(svid->leaf.get(), untrusted, signer_.trustBundle(), options_.clock());
  sk_X509_free(untrusted);
  if (!info) return fail(ErrorCode::kInternal, "issued certificate is no valid SVID: " + info.error().message);
  if (info->id != id) return fail(ErrorCode::kInternal, "issued certificate names " + info->id.uri());
  svid->info = *info;
  return std::shared_ptr<const Svid>(std::move(svid));
}

void WorkloadCertificates::issueInto(const SpiffeId& id, Entry& entry, Clock::time_point now) {
  auto issued = issue(id);
  if (issued) {
    entry.current = std::move(*issued);
    entry.dueAt = renewalTime(entry.current->info);
    entry.backoff = std::chrono::seconds(0);
    entry.lastError.reset();
    log::info("identity", "certificate for {}: serial {}, valid until {}", id.uri(), entry.current->info.serial,
              rfc3339(entry.current->info.notAfter));
    return;
  }
  // Keep what is still valid; retry sooner and sooner no more.
  entry.backoff = std::min<std::chrono::seconds>(entry.backoff.count() ? entry.backoff * 2 : kFirstBackoff, kMaxBackoff);
  entry.dueAt = now + entry.backoff;
  if (entry.current) entry.dueAt = std::min(entry.dueAt, std::max(now, entry.current->info.notAfter));
  entry.lastError = issued.error().describe();
  log::warn("identity", "certificate for {}: {}; retry in {} s{}", id.uri(), *entry.lastError, entry.backoff.count(),
            entry.current ? " (the current one stays in use)" : "");
}

void WorkloadCertificates::setWanted(const std::set<SpiffeId>& ids) {
  const auto now = options_.clock();
  std::map<SpiffeId, Entry> updated;
  {
    std::shared_lock lock(mutex_);
    for (const auto& id : ids)
      if (auto it = entries_.find(id); it != entries_.end()) updated.emplace(id, it->second);
  }
  // Signing happens outside the lock: workers keep finding the others.
  for (const auto& id : ids)
    if (!updated.contains(id)) issueInto(id, updated[id], now);
  std::unique_lock lock(mutex_);
  for (const auto& [id, entry] : entries_)
    if (!updated.contains(id)) log::info("identity", "dropped the certificate for {}: no pod of it left", id.uri());
  entries_ = std::move(updated);
}

void WorkloadCertificates::refresh() {
  const auto now = options_.clock();
  std::vector<SpiffeId> due;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [id, entry] : entries_)
      if (entry.dueAt <= now) due.push_back(id);
  }
  for (const auto& id : due) {
    Entry entry;
    {
      std::shared_lock lock(mutex_);
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;
      entry = it->second;
    }
    issueInto(id, entry, now);
    std::unique_lock lock(mutex_);
    if (auto it = entries_.find(id); it != entries_.end()) it->second = std::move(entry);
  }
}

Clock::time_point WorkloadCertificates::nextRefresh() const {
  std::shared_lock lock(mutex_);
  auto next = Clock::time_point::max();
  for (const auto& [id, entry] : entries_) next = std::min(next, entry.dueAt);
  return next;
}

std::shared_ptr<const Svid> WorkloadCertificates::find(const SpiffeId& id) const {
  std::shared_lock lock(mutex_);
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second.current;
}

nlohmann::json WorkloadCertificates::toJson() const {
  nlohmann::json list = nlohmann::json::array();
  std::shared_lock lock(mutex_);
  for (const auto& [id, entry] : entries_) {
    nlohmann::json item{{"identity", id.uri()}, {"renewAt", rfc3339(entry.dueAt)}, {"lastError", nullptr}};
    if (entry.lastError) item["lastError"] = *entry.lastError;
    if (entry.current) {
      item["serial"] = entry.current->info.serial;
      item["notBefore"] = rfc3339(entry.current->info.notBefore);
      item["notAfter"] = rfc3339(entry.current->info.notAfter);
    }
    list.push_back(std::move(item));
  }
  return {{"trustDomain", signer_.trustBundle().trustDomain()}, {"certificates", std::move(list)}};
}

}  // namespace weft::identity
