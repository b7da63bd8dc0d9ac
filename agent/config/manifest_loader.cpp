#include "weft/config/manifest_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "kind_parsers.h"
#include "weft/common/log.h"
#include "yaml_reader.h"

namespace weft::config {
namespace {

using detail::Cursor;
using detail::FieldError;
using detail::MapView;
using detail::NameRule;

constexpr std::string_view kLogModule = "config";

// Far above any real manifest (etcd caps an object at 1.5 MiB); keeps a
// stray log file or core dump named *.yaml from taking the agent's memory.
constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;

struct KindInfo {
  std::string_view kind;
  std::array<std::string_view, 2> apiVersions;  // empty entries unused
  bool namespaced;
  NameRule nameRule;
};

constexpr std::string_view kWeftApi = "weft.dev/v1alpha1";
constexpr std::array<KindInfo, 8> kKinds{{
    {"Namespace", {"v1", ""}, false, NameRule::kDns1123Label},
    {"Pod", {"v1", ""}, true, NameRule::kDns1123Subdomain},
    {"Service", {"v1", ""}, true, NameRule::kDns1035Label},
    {"AuthorizationPolicy", {kWeftApi, ""}, true, NameRule::kDns1123Subdomain},
    {"PeerAuthentication", {kWeftApi, ""}, true, NameRule::kDns1123Subdomain},
    {"TrafficPolicy", {kWeftApi, ""}, true, NameRule::kDns1123Subdomain},
    {"HTTPRoute", {"gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"}, true,
     NameRule::kDns1123Subdomain},
    {"GRPCRoute", {"gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"}, true,
     NameRule::kDns1123Subdomain},
}};

const KindInfo* findKind(std::string_view kind) {
  for (const KindInfo& info : kKinds)
    if (info.kind == kind) return &info;
  return nullptr;
}

bool servesApiVersion(const KindInfo& info, std::string_view apiVersion) {
  return std::ranges::any_of(info.apiVersions, [&](std::string_view v) { return !v.empty() && v == apiVersion; });
}

std::string expectedApiVersions(const KindInfo& info) {
  std::string text;
  for (std::string_view v : info.apiVersions) {
    if (v.empty()) continue;
    if (!text.empty()) text += " or ";
    text += v;
  }
  return text;
}

// "namespace/name" or "name", as RejectedObject and duplicate checks name objects.
std::string displayName(const ObjectMeta& meta) {
  return meta.namespace_.empty() ? meta.name : meta.namespace_ + "/" + meta.name;
}

// Must match the identity last_good.cpp derives from a RejectedObject.
std::string identity(std::string_view kind, const ObjectMeta& meta) {
  return fmt::format("{}/{}", kind, displayName(meta));
}

std::string where(const SourceLocation& source) { return fmt::format("{}:{}", source.file, source.line); }

// A piece of a file that yaml-cpp parses on its own, so that a syntax error
// costs only the document it is in, not its siblings (yaml-cpp's LoadAll
// gives all documents or none).
struct Chunk {
  std::string_view text;
  int firstLine = 0;  // 0-based line of the file where `text` starts
};

bool isMarkerLine(std::string_view line, std::string_view marker) {
  return line.starts_with(marker) &&
         (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
}

// Splits before every document start marker ("---") and after every document
// end marker ("..."), each at column 0 and followed by a blank or the end of
// the line. YAML forbids such lines inside any scalar, so a split never cuts
// a document in two, and every chunk holds at most one document. Directives
// (%YAML, %TAG) belong to the document after them and stay with it.
std::vector<Chunk> splitDocuments(std::string_view text) {
  std::vector<Chunk> chunks;
  std::size_t chunkStart = 0;
  int chunkLine = 0;
  bool chunkHasContent = false;
  bool chunkHasDirective = false;
  auto closeChunk = [&](std::size_t end, int nextLine) {
    if (end > chunkStart) chunks.push_back({text.substr(chunkStart, end - chunkStart), chunkLine});
    chunkStart = end;
    chunkLine = nextLine;
    chunkHasContent = false;
    chunkHasDirective = false;
  };
  std::size_t pos = 0;
  int line = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    std::string_view current = text.substr(pos, next - pos);
    if (!current.empty() && current.back() == '\n') current.remove_suffix(1);
    if (isMarkerLine(current, "---") && (chunkHasContent || !chunkHasDirective)) closeChunk(pos, line);
    std::size_t first = current.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && current[first] != '#') {
      if (current.front() == '%') chunkHasDirective = true;
      else chunkHasContent = true;
    }
    pos = next;
    ++line;
    if (isMarkerLine(current, "...")) closeChunk(pos, line);
  }
  closeChunk(text.size(), line);
  return chunks;
}

// Ignores parse events: only whether a chunk holds more than one document matters.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { lastStart_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  [[nodiscard]] const YAML::Mark& lastStart() const { return lastStart_; }

 private:
  YAML::Mark lastStart_;
};

// Where a second document starts in `text`, if there is one. A chunk holds
// at most one document, so a second one is a token that belongs to no
// document (a stray ',' or ']'). yaml-cpp 0.7 reports such a token as an
// endless series of empty documents without consuming it, which makes
// LoadAll loop and allocate forever (jbeder/yaml-cpp#1040, fixed after 0.7
// by #1319; Debian 12 ships 0.7), and makes Load silently ignore it. Throws
// YAML::ParserException as Load does.
std::optional<YAML::Mark> findSecondDocument(const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentCounter counter;
  for (int documents = 0; parser.HandleNextDocument(counter);)
    if (++documents > 1) return counter.lastStart();
  return std::nullopt;
}

// The character at a 0-based line/column of `text`, for messages.
std::string characterAt(std::string_view text, const YAML::Mark& mark) {
  std::size_t pos = 0;
  for (int line = 0; line < mark.line && pos != std::string_view::npos; ++line) {
    pos = text.find('\n', pos);
    if (pos != std::string_view::npos) ++pos;
  }
  if (pos == std::string_view::npos || mark.column < 0) return {};
  pos += static_cast<std::size_t>(mark.column);
  if (pos >= text.size()) return {};
  unsigned char c = static_cast<unsigned char>(text[pos]);
  if (c < 0x21 || c > 0x7e) return {};
  return std::string(1, static_cast<char>(c));
}

// Loads one file's text into a snapshot.
class TextLoader {
 public:
  TextLoader(Snapshot& snapshot, std::string_view file) : snapshot_(snapshot), file_(file) { indexExisting(); }

  void load(std::string_view text) {
    if (text.size() > kMaxFileBytes) {
      reject(0, "", "", fmt::format("file too large: {} bytes (limit {})", text.size(), kMaxFileBytes));
      return;
    }
    for (const Chunk& chunk : splitDocuments(text)) loadChunk(chunk);
  }

 private:
  void loadChunk(const Chunk& chunk) {
    YAML::Node document;
    try {
      std::string text(chunk.text);
      if (auto second = findSecondDocument(text)) {
        std::string token = characterAt(chunk.text, *second);
        reject(chunk.firstLine + std::max(second->line, 0) + 1, "", "",
               token.empty() ? std::string("YAML syntax error: content outside of any document")
                             : fmt::format("YAML syntax error: unexpected '{}' outside of any document", token));
        return;
      }
      document = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      int line = chunk.firstLine + (e.mark.line >= 0 ? e.mark.line : 0) + 1;
      reject(line, "", "", fmt::format("YAML syntax error: {}", e.msg));
      return;
    } catch (const std::exception& e) {
      reject(chunk.firstLine + 1, "", "", fmt::format("cannot parse YAML: {}", e.what()));
      return;
    }
    // Empty and comment-only documents are common around "---" separators.
    if (!document.IsDefined() || document.IsNull()) return;
    detail::NodeBudget budget;
    Cursor root(document, "", chunk.firstLine + 1, chunk.firstLine, &budget);
    try {
      loadDocument(root);
    } catch (const std::exception& e) {
      // Only reachable through a yaml-cpp or nlohmann::json bug or
      // allocation failure; the document is lost, the rest still loads.
      reject(root.line(), "", "", fmt::format("internal error while reading this document: {}", e.what()));
    }
  }

  void loadDocument(const Cursor& root) {
    if (!root.node().IsMap()) {
      reject(root.line(), "", "",
             fmt::format("expected a mapping with apiVersion and kind, got {}", detail::describeNode(root.node())));
      return;
    }
    auto document = MapView::open(root);
    if (!document) {
      rejectUnidentified(document.error(), "");
      return;
    }
    loadObject(*document, {}, {}, false);
  }

  // `listKind` / `listApiVersion` fill in for items of a typed list
  // (PodList), which the API server writes without their own kind.
  void loadObject(const MapView& document, std::string_view listKind, std::string_view listApiVersion,
                  bool insideList) {
    std::string kind(listKind);
    if (auto c = document.get("kind")) {
      auto text = detail::readNonEmptyString(*c);
      if (!text) return rejectUnidentified(text.error(), "");
      kind = std::move(*text);
    }
    if (kind.empty()) return rejectUnidentified(document.at("kind").error("is required"), "");
    std::string apiVersion(listApiVersion);
    if (auto c = document.get("apiVersion")) {
      auto text = detail::readNonEmptyString(*c);
      if (!text) return rejectUnidentified(text.error(), kind);
      apiVersion = std::move(*text);
    }

    if (kind == "List" || (kind.ends_with("List") && document.find("items"))) {
      if (insideList)
        return rejectUnidentified(document.cursor().error("a List inside a List is not supported"), "");
      loadList(document, kind, apiVersion);
      return;
    }

    const KindInfo* info = findKind(kind);
    if (info == nullptr) {
      // kubectl directories often hold Deployments, ConfigMaps and the like.
      log::debug(kLogModule, "{}:{}: ignoring {} {} {}: not a kind weft reads", file_, document.cursor().line(),
                 apiVersion, kind, bestEffortName(document, true));
      return;
    }

    auto identityMeta = detail::readIdentity(document, info->nameRule, info->namespaced);
    if (!identityMeta) return rejectUnidentified(identityMeta.error(), kind);
    ObjectMeta meta = std::move(*identityMeta);
    meta.source = {file_, document.cursor().line()};
    std::string name = displayName(meta);

    if (apiVersion.empty())
      return reject(document.at("apiVersion").line(), kind, name, "apiVersion: is required");
    if (!servesApiVersion(*info, apiVersion))
      return reject(document.at("apiVersion").line(), kind, name,
                    fmt::format("apiVersion: \"{}\" is not served for {} (expected {})", apiVersion, kind,
                                expectedApiVersions(*info)));

    std::string id = identity(kind, meta);
    if (auto first = ids_.find(id); first != ids_.end())
      return reject(meta.source.line, kind, name, fmt::format("duplicate of {}", where(first->second)));

    if (auto labels = detail::readLabelsAndAnnotations(document, meta); !labels)
      return rejectField(labels.error(), kind, name);

    bool added = false;
    if (kind == "Namespace") {
      snapshot_.namespaces.push_back(Namespace{std::move(meta)});
      added = true;
    } else if (kind == "Pod") {
      added = take(detail::readPod(document, std::move(meta)), snapshot_.pods, kind, name);
    } else if (kind == "Service") {
      added = take(detail::readService(document, std::move(meta)), snapshot_.services, kind, name);
    } else if (kind == "PeerAuthentication") {
      added = take(detail::readPeerAuthentication(document, std::move(meta)), snapshot_.peerAuthentications, kind,
                   name);
    } else if (kind == "AuthorizationPolicy") {
      added = take(detail::readAuthorizationPolicy(document, std::move(meta)), snapshot_.authorizationPolicies,
                   kind, name);
    } else {
      auto spec = detail::readGenericSpec(document);
      if (!spec) {
        rejectField(spec.error(), kind, name);
      } else {
        snapshot_.otherResources.push_back(GenericResource{apiVersion, kind, std::move(meta), std::move(*spec)});
        added = true;
      }
    }
    if (added) ids_.emplace(std::move(id), SourceLocation{file_, document.cursor().line()});
  }

  template <class T>
  bool take(detail::Parsed<T> parsed, std::vector<T>& into, const std::string& kind, const std::string& name) {
    if (!parsed) {
      rejectField(parsed.error(), kind, name);
      return false;
    }
    into.push_back(std::move(*parsed));
    return true;
  }

  void loadList(const MapView& list, const std::string& kind, const std::string& apiVersion) {
    if (kind == "List" && apiVersion != "v1")
      return rejectUnidentified(list.at("apiVersion").error(fmt::format(
                                    "\"{}\" is not served for List (expected v1)", apiVersion)),
                                "");
    auto items = detail::readList(list.at("items"));
    if (!items) return rejectUnidentified(items.error(), "");
    std::string itemKind = kind == "List" ? "" : kind.substr(0, kind.size() - 4);
    std::string itemApiVersion = kind == "List" ? "" : apiVersion;
    for (const Cursor& item : *items) {
      if (item.isNull()) continue;
      if (!item.node().IsMap()) {
        rejectUnidentified(item.error(fmt::format("expected a mapping with apiVersion and kind, got {}",
                                                  detail::describeNode(item.node()))),
                           "");
        continue;
      }
      auto document = MapView::open(item);
      if (!document) {
        rejectUnidentified(document.error(), "");
        continue;
      }
      loadObject(*document, itemKind, itemApiVersion, true);
    }
  }

  // For messages about an object we could not identify: metadata.name and
  // metadata.namespace as written, if they are strings at all.
  static std::string bestEffortName(const MapView& document, bool namespaced) {
    auto metadata = MapView::open(document.at("metadata"));
    if (!metadata) return {};
    auto name = metadata->get("name");
    if (!name || !name->node().IsScalar()) return {};
    std::string result = name->node().Scalar();
    if (!namespaced) return result;
    auto ns = metadata->get("namespace");
    std::string nsText = ns && ns->node().IsScalar() ? ns->node().Scalar() : "";
    return nsText.empty() ? result : nsText + "/" + result;
  }

  // An invalid field of an object whose kind, namespace and name are known.
  void rejectField(const FieldError& error, const std::string& kind, const std::string& name) {
    reject(error.line, kind, name, error.describe());
  }

  // A document that cannot be tied to one object (no kind, no valid name, a
  // broken List). The kind stays empty on purpose: last_good.cpp then keeps
  // every last good object of this file, instead of dropping the one this
  // document used to be. The kind, when known, goes into the reason.
  void rejectUnidentified(const FieldError& error, std::string_view kind) {
    std::string reason = kind.empty() ? error.describe() : fmt::format("{}: {}", kind, error.describe());
    reject(error.line, "", "", std::move(reason));
  }

  void reject(int line, std::string kind, std::string name, std::string reason) {
    if (kind.empty())
      log::warn(kLogModule, "{}:{}: rejected a document: {}", file_, line, reason);
    else
      log::warn(kLogModule, "{}:{}: rejected {} {}: {}", file_, line, kind, name, reason);
    snapshot_.rejected.push_back(RejectedObject{{file_, line}, std::move(kind), std::move(name), std::move(reason)});
  }

  void indexExisting() {
    auto index = [this](std::string_view kind, const ObjectMeta& meta) {
      ids_.emplace(identity(kind, meta), meta.source);
    };
    for (const auto& o : snapshot_.namespaces) index("Namespace", o.meta);
    for (const auto& o : snapshot_.pods) index("Pod", o.meta);
    for (const auto& o : snapshot_.services) index("Service", o.meta);
    for (const auto& o : snapshot_.peerAuthentications) index("PeerAuthentication", o.meta);
    for (const auto& o : snapshot_.authorizationPolicies) index("AuthorizationPolicy", o.meta);
    for (const auto& o : snapshot_.otherResources) index(o.kind, o.meta);
  }

  Snapshot& snapshot_;
  std::string file_;
  std::map<std::string, SourceLocation> ids_;  // identity -> where it was first loaded
};

bool isManifestName(std::string_view name) {
  // Dotfiles are editor and tool temporaries (.#x.yaml, .x.yaml.swp), the
  // same rule the directory watcher applies.
  if (name.empty() || name.front() == '.') return false;
  return name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json");
}

ErrorCode codeForErrno(int err) {
  switch (err) {
    case ENOENT: return ErrorCode::kNotFound;
    case EACCES:
    case EPERM: return ErrorCode::kPermissionDenied;
    case ENOTDIR: return ErrorCode::kInvalidArgument;
    default: return ErrorCode::kSystem;
  }
}

// The whole file, or the errno text of why not.
std::expected<std::string, std::string> readFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(std::string(std::strerror(errno)));
  struct stat info {};
  std::string text;
  std::string failure;
  if (::fstat(fd, &info) != 0) {
    failure = std::strerror(errno);
  } else if (!S_ISREG(info.st_mode)) {
    failure = "not a regular file";
  } else if (static_cast<std::size_t>(info.st_size) > kMaxFileBytes) {
    failure = fmt::format("file too large: {} bytes (limit {})", info.st_size, kMaxFileBytes);
  } else {
    char buffer[64 * 1024];
    while (true) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        failure = std::strerror(errno);
        break;
      }
      if (n == 0) break;
      text.append(buffer, static_cast<std::size_t>(n));
      if (text.size() > kMaxFileBytes) {
        failure = fmt::format("file too large: more than {} bytes", kMaxFileBytes);
        break;
      }
    }
  }
  ::close(fd);
  if (!failure.empty()) return std::unexpected(failure);
  return text;
}

}  // namespace

void loadManifestText(std::string_view text, std::string_view fileName, Snapshot& snapshot) {
  try {
    TextLoader(snapshot, fileName).load(text);
  } catch (const std::exception& e) {
    // Each document is guarded on its own; this is for allocation failures
    // outside of them. The file counts as unreadable.
    try {
      snapshot.rejected.push_back(
          RejectedObject{{std::string(fileName), 0}, "", "", fmt::format("internal error: {}", e.what())});
    } catch (...) {
    }
  }
}

Result<Snapshot> loadManifestDirectory(const std::filesystem::path& dir) {
  try {
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec);
    if (ec)
      return fail(codeForErrno(ec.value()), fmt::format("cannot read config directory {}: {}", dir.string(),
                                                         ec.message()));
    std::vector<std::string> names;
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
      if (ec) break;
      std::string name = it->path().filename().string();
      if (!isManifestName(name)) continue;
      // Follows symlinks, as a Kubernetes ConfigMap volume is made of them.
      std::error_code statError;
      auto type = it->status(statError).type();
      if (!statError && type == std::filesystem::file_type::directory) continue;
      names.push_back(std::move(name));
    }
    if (ec)
      return fail(codeForErrno(ec.value()), fmt::format("cannot list config directory {}: {}", dir.string(),
                                                         ec.message()));
    std::sort(names.begin(), names.end());

    Snapshot snapshot;
    snapshot.sourceDir = dir.string();
    for (const std::string& name : names) {
      std::string file = (dir / name).string();
      auto text = readFile(dir / name);
      if (!text) {
        log::warn(kLogModule, "{}: cannot read: {}", file, text.error());
        snapshot.rejected.push_back(RejectedObject{{file, 0}, "", "", fmt::format("cannot read file: {}", text.error())});
        continue;
      }
      loadManifestText(*text, file, snapshot);
    }
    return snapshot;
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInternal, fmt::format("loading config directory {}: {}", dir.string(), e.what()));
  }
}

}  // namespace weft::config
