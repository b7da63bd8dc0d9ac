#include "weft/policy/authorization.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <unordered_map>

#include "matchers.h"

namespace weft::policy {

// --- compiled rules -----------------------------------------------------------

namespace {

using Strings = Field<StringMatch>;

struct Source {
  Strings principals;  // matched against the ID without "spiffe://", as Istio writes them
  Strings namespaces;
  Field<Cidr> ipBlocks;
};

struct Operation {
  Strings hosts;  // case-insensitive
  Field<std::uint16_t> ports;
  Strings methods;
  Strings paths;
  [[nodiscard]] bool hasHttpFields() const { return !hosts.empty() || !methods.empty() || !paths.empty(); }
};

struct Condition {
  enum class Key { kHeader, kSourceIp, kSourceNamespace, kSourcePrincipal, kDestinationIp, kDestinationPort };
  Key key = Key::kHeader;
  std::string header;  // lower case, for kHeader
  Strings strings;
  Field<Cidr> cidrs;
  Field<std::uint16_t> ports;
};

struct Rule {
  std::vector<Source> from;
  std::vector<Operation> to;
  std::vector<Condition> when;
  bool httpOnlyFields = false;  // some operation or condition applies only to HTTP
  std::uint32_t policy = 0;     // index into CompiledPolicies::names
};

// A byte trie of path prefixes; each node lists the rules whose prefix ends there.
struct PrefixTrie {
  struct Node {
    std::vector<std::pair<char, std::uint32_t>> children;
    std::vector<std::uint32_t> rules;
  };
  std::vector<Node> nodes{1};

  void add(std::string_view prefix, std::uint32_t rule) {
    std::uint32_t at = 0;
    for (char c : prefix) {
      auto& children = nodes[at].children;
      auto it = std::find_if(children.begin(), children.end(), [c](const auto& e) { return e.first == c; });
      if (it != children.end()) {
        at = it->second;
        continue;
      }
      auto next = static_cast<std::uint32_t>(nodes.size());
      nodes[at].children.emplace_back(c, next);  // before emplace_back below invalidates `children`
      nodes.emplace_back();
      at = next;
    }
    nodes[at].rules.push_back(rule);
  }

  template <class Visit>
  bool walk(std::string_view path, Visit visit) const {
    std::uint32_t at = 0;
    for (std::size_t i = 0;; ++i) {
      for (std::uint32_t rule : nodes[at].rules)
        if (visit(rule)) return true;
      if (i == path.size()) return false;
      const auto& children = nodes[at].children;
      auto it = std::find_if(children.begin(), children.end(), [c = path[i]](const auto& e) { return e.first == c; });
      if (it == children.end()) return false;
      at = it->second;
    }
  }
};

// Lets the exact-path index be probed with a string_view, no allocation.
struct PathHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// A header a rule cannot match without: a `when` on request.headers[name]
// with values (only not-forms accept an absent header).
std::optional<std::string_view> requiredHeader(const Rule& rule) {
  for (const Condition& c : rule.when)
    if (c.key == Condition::Key::kHeader && !c.strings.values.empty()) return c.header;
  return std::nullopt;
}

// The rules of one action for one workload, indexed for HTTP requests by
// path (exact, prefix), else by a header they require; the rest are
// residual and tried for every request.
struct ActionRules {
  std::vector<Rule> rules;
  std::unordered_map<std::string, std::vector<std::uint32_t>, PathHash, std::equal_to<>> exactPaths;
  PrefixTrie prefixPaths;
  std::unordered_map<std::string, std::vector<std::uint32_t>, PathHash, std::equal_to<>> byHeader;
  std::vector<std::uint32_t> residual;  // rules that may match any path

  void index() {
    for (std::uint32_t i = 0; i < rules.size(); ++i) {
      const Rule& rule = rules[i];
      bool indexable = !rule.to.empty();
      for (const Operation& op : rule.to) {
        if (op.paths.values.empty()) indexable = false;
        for (const StringMatch& p : op.paths.values)
          if (p.kind != StringMatch::Kind::kExact && p.kind != StringMatch::Kind::kPrefix) indexable = false;
      }
      if (!indexable) {
        if (auto header = requiredHeader(rule)) byHeader[std::string(*header)].push_back(i);
        else residual.push_back(i);
        continue;
      }
      for (const Operation& op : rule.to)
        for (const StringMatch& p : op.paths.values) {
          if (p.kind == StringMatch::Kind::kExact) exactPaths[p.value].push_back(i);
          else prefixPaths.add(p.value, i);
        }
    }
  }
};

}  // namespace

class CompiledPolicies {
 public:
  std::vector<std::string> names;  // "namespace/name" per policy index
  ActionRules deny, allow, audit;
  bool hasAllowPolicy = false;  // an ALLOW policy selects the workload, with or without rules
};

struct Authorization::Compiled {
  std::vector<std::shared_ptr<const CompiledPolicies>> sets;  // shared by pods selected by the same policies
  std::unordered_map<std::string, const CompiledPolicies*> byPod;
  std::size_t policies = 0;
};

// --- matching -----------------------------------------------------------------

namespace {

enum class Action { kAllow, kDeny, kAudit };

std::optional<std::string_view> present(std::string_view value) {
  return value.empty() ? std::nullopt : std::optional<std::string_view>(value);
}

bool stringMatches(const Strings& field, std::optional<std::string_view> value, bool caseInsensitive = false) {
  return field.matches(value, [&](const StringMatch& m, std::string_view v) { return m.matches(v, caseInsensitive); });
}

bool cidrMatches(const Field<Cidr>& field, const std::optional<in6_addr>& address) {
  return field.matches(address, [](const Cidr& c, const in6_addr& a) { return c.contains(a); });
}

bool portMatches(const Field<std::uint16_t>& field, std::uint16_t port) {
  return field.matches(std::optional(port), [](std::uint16_t want, std::uint16_t got) { return want == got; });
}

std::string_view withoutScheme(std::string_view principal) {
  constexpr std::string_view kScheme = "spiffe://";
  return principal.starts_with(kScheme) ? principal.substr(kScheme.size()) : principal;
}

bool hostMatches(const Strings& hosts, std::string_view authority) {
  if (hosts.empty()) return true;
  // "example.com:8080" matches a rule on "example.com" too.
  std::string_view bare = authority;
  if (auto colon = bare.rfind(':'); colon != std::string_view::npos && bare.find(']', colon) == std::string_view::npos)
    bare = bare.substr(0, colon);
  return stringMatches(hosts, present(authority), true) || stringMatches(hosts, present(bare), true);
}

bool sourceMatches(const Source& s, const RequestAttributes& r) {
  return stringMatches(s.principals, present(withoutScheme(r.principal))) &&
         stringMatches(s.namespaces, present(principalNamespace(r.principal))) && cidrMatches(s.ipBlocks, r.sourceIp);
}

// For TCP, `ignoreHttp` drops the HTTP-only fields (DENY and AUDIT).
bool operationMatches(const Operation& op, const RequestAttributes& r, bool ignoreHttp) {
  if (!portMatches(op.ports, r.destinationPort) && !op.ports.empty()) return false;
  if (ignoreHttp) return true;
  return hostMatches(op.hosts, r.host) && stringMatches(op.methods, present(r.method)) &&
         stringMatches(op.paths, present(r.path));
}

bool headerMatches(const Condition& c, const RequestAttributes& r) {
  // Every line of the header is tried, and the header's absence passes only
  // not-forms.
  bool seen = false;
  if (r.headers)
    for (const auto& [name, value] : *r.headers) {
      if (name != c.header) continue;
      seen = true;
      if (stringMatches(c.strings, present(value))) return true;
    }
  return !seen && stringMatches(c.strings, std::nullopt);
}

bool conditionMatches(const Condition& c, const RequestAttributes& r, bool ignoreHttp) {
  switch (c.key) {
    case Condition::Key::kHeader: return ignoreHttp || headerMatches(c, r);
    case Condition::Key::kSourceIp: return cidrMatches(c.cidrs, r.sourceIp);
    case Condition::Key::kDestinationIp: return cidrMatches(c.cidrs, r.destinationIp);
    case Condition::Key::kSourceNamespace: return stringMatches(c.strings, present(principalNamespace(r.principal)));
    case Condition::Key::kSourcePrincipal: return stringMatches(c.strings, present(withoutScheme(r.principal)));
    case Condition::Key::kDestinationPort: return portMatches(c.ports, r.destinationPort);
  }
  return false;
}

bool ruleMatches(const Rule& rule, const RequestAttributes& r, Action action) {
  bool ignoreHttp = false;
  if (!r.http && rule.httpOnlyFields) {
    if (action == Action::kAllow) return false;
    ignoreHttp = true;
  }
  if (!rule.from.empty() &&
      std::none_of(rule.from.begin(), rule.from.end(), [&](const Source& s) { return sourceMatches(s, r); }))
    return false;
  if (!rule.to.empty() && std::none_of(rule.to.begin(), rule.to.end(), [&](const Operation& op) {
        return operationMatches(op, r, ignoreHttp);
      }))
    return false;
  return std::all_of(rule.when.begin(), rule.when.end(),
                     [&](const Condition& c) { return conditionMatches(c, r, ignoreHttp); });
}

// Calls `found` with each matching rule's policy index until it returns true.
template <class Found>
bool matchRules(const ActionRules& set, const RequestAttributes& r, Action action, Found found) {
  auto visit = [&](std::uint32_t i) { return ruleMatches(set.rules[i], r, action) && found(set.rules[i].policy); };
  if (!r.http) {
    for (std::uint32_t i = 0; i < set.rules.size(); ++i)
      if (visit(i)) return true;
    return false;
  }
  if (auto it = set.exactPaths.find(r.path); it != set.exactPaths.end())
    for (std::uint32_t i : it->second)
      if (visit(i)) return true;
  if (set.prefixPaths.walk(r.path, visit)) return true;
  if (!set.byHeader.empty() && r.headers)
    for (const auto& header : *r.headers)  // a repeated header visits its rules again: same answer
      if (auto it = set.byHeader.find(header.first); it != set.byHeader.end())
        for (std::uint32_t i : it->second)
          if (visit(i)) return true;
  for (std::uint32_t i : set.residual)
    if (visit(i)) return true;
  return false;
}

// --- compiling ----------------------------------------------------------------

Strings compileStrings(const config::MatchList& list, bool caseInsensitive = false) {
  Strings field;
  for (const auto& v : list.values) field.values.push_back(StringMatch::parse(v, caseInsensitive));
  for (const auto& v : list.notValues) field.notValues.push_back(StringMatch::parse(v, caseInsensitive));
  return field;
}

Result<Field<Cidr>> compileCidrs(const std::vector<std::string>& values, const std::vector<std::string>& notValues) {
  Field<Cidr> field;
  for (auto [in, out] : {std::pair{&values, &field.values}, {&notValues, &field.notValues}})
    for (const auto& v : *in) {
      auto cidr = Cidr::parse(v);
      if (!cidr) return std::unexpected(cidr.error());
      out->push_back(*cidr);
    }
  return field;
}

Result<Field<std::uint16_t>> compilePorts(const std::vector<std::string>& values,
                                          const std::vector<std::string>& notValues) {
  Field<std::uint16_t> field;
  for (auto [in, out] : {std::pair{&values, &field.values}, {&notValues, &field.notValues}})
    for (const auto& v : *in) {
      unsigned port = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), port);
      if (ec != std::errc() || end != v.data() + v.size() || port == 0 || port > 65535)
        return fail(ErrorCode::kInvalidArgument, "\"" + v + "\" is not a port number");
      out->push_back(static_cast<std::uint16_t>(port));
    }
  return field;
}

Result<Condition> compileCondition(const config::AuthzCondition& c) {
  Condition out;
  constexpr std::string_view kHeader = "request.headers[";
  const std::string& key = c.key;
  if (key.starts_with(kHeader) && key.ends_with("]") && key.size() > kHeader.size() + 1) {
    out.key = Condition::Key::kHeader;
    out.header = key.substr(kHeader.size(), key.size() - kHeader.size() - 1);
    std::transform(out.header.begin(), out.header.end(), out.header.begin(),
                   [](char ch) { return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch; });
  } else if (key == "source.ip" || key == "destination.ip") {
    out.key = key == "source.ip" ? Condition::Key::kSourceIp : Condition::Key::kDestinationIp;
    auto cidrs = compileCidrs(c.values, c.notValues);
    if (!cidrs) return std::unexpected(cidrs.error());
    out.cidrs = std::move(*cidrs);
    return out;
  } else if (key == "destination.port") {
    out.key = Condition::Key::kDestinationPort;
    auto ports = compilePorts(c.values, c.notValues);
    if (!ports) return std::unexpected(ports.error());
    out.ports = std::move(*ports);
    return out;
  } else if (key == "source.namespace") {
    out.key = Condition::Key::kSourceNamespace;
  } else if (key == "source.principal") {
    out.key = Condition::Key::kSourcePrincipal;
  } else {
    // connection.sni among them: inside the mesh the tunnel's SNI names the
    // destination workload, not what the client asked for.
    return fail(ErrorCode::kUnsupported, "condition key \"" + key + "\" is not supported by weft's engine");
  }
  for (const auto& v : c.values) out.strings.values.push_back(StringMatch::parse(v));
  for (const auto& v : c.notValues) out.strings.notValues.push_back(StringMatch::parse(v));
  return out;
}

Result<Rule> compileRule(const config::AuthzRule& in) {
  Rule rule;
  for (const auto& s : in.from) {
    Source source;
    source.principals = compileStrings(s.principals);
    source.namespaces = compileStrings(s.namespaces);
    auto ipBlocks = compileCidrs(s.ipBlocks.values, s.ipBlocks.notValues);
    if (!ipBlocks) return std::unexpected(ipBlocks.error());
    source.ipBlocks = std::move(*ipBlocks);
    rule.from.push_back(std::move(source));
  }
  for (const auto& o : in.to) {
    Operation op;
    op.hosts = compileStrings(o.hosts, true);
    op.methods = compileStrings(o.methods);
    op.paths = compileStrings(o.paths);
    auto ports = compilePorts(o.ports.values, o.ports.notValues);
    if (!ports) return std::unexpected(ports.error());
    op.ports = std::move(*ports);
    rule.httpOnlyFields = rule.httpOnlyFields || op.hasHttpFields();
    rule.to.push_back(std::move(op));
  }
  for (const auto& c : in.when) {
    auto condition = compileCondition(c);
    if (!condition) return std::unexpected(condition.error());
    rule.httpOnlyFields = rule.httpOnlyFields || condition->key == Condition::Key::kHeader;
    rule.when.push_back(std::move(*condition));
  }
  return rule;
}

bool selects(const config::AuthorizationPolicy& policy, const config::Pod& pod, std::string_view rootNamespace) {
  const std::string& ns = policy.meta.namespace_;
  if (ns != pod.meta.namespace_ && ns != rootNamespace) return false;
  if (!policy.selector) return true;
  for (const auto& [key, value] : policy.selector->matchLabels) {
    auto it = pod.meta.labels.find(key);
    if (it == pod.meta.labels.end() || it->second != value) return false;
  }
  return true;
}

struct CompiledPolicy {
  const config::AuthorizationPolicy* source;
  std::vector<Rule> rules;
};

}  // namespace

std::string_view principalNamespace(std::string_view principal) {
  principal = withoutScheme(principal);
  auto ns = principal.find("/ns/");
  if (ns == std::string_view::npos) return {};
  std::string_view rest = principal.substr(ns + 4);
  return rest.substr(0, rest.find('/'));
}

Authorization::Authorization(std::unique_ptr<Compiled> compiled) : compiled_(std::move(compiled)) {}
Authorization::~Authorization() = default;

std::shared_ptr<const Authorization> Authorization::compile(const config::Snapshot& snapshot,
                                                            std::string_view rootNamespace,
                                                            std::vector<PolicyRejection>* rejected) {
  std::vector<CompiledPolicy> policies;
  for (const auto& policy : snapshot.authorizationPolicies) {
    CompiledPolicy compiled{&policy, {}};
    Status ok;
    for (const auto& rule : policy.rules) {
      auto r = compileRule(rule);
      if (!r) {
        ok = std::unexpected(r.error());
        break;
      }
      compiled.rules.push_back(std::move(*r));
    }
    if (!ok) {
      if (rejected) rejected->push_back({policy.meta.namespace_ + "/" + policy.meta.name, ok.error().message});
      continue;
    }
    policies.push_back(std::move(compiled));
  }

  auto out = std::make_unique<Compiled>();
  out->policies = policies.size();
  // Pods selected by the same policies share one compiled set.
  std::map<std::vector<std::uint32_t>, std::shared_ptr<CompiledPolicies>> bySelection;
  for (const auto& pod : snapshot.pods) {
    std::vector<std::uint32_t> selected;
    for (std::uint32_t i = 0; i < policies.size(); ++i)
      if (selects(*policies[i].source, pod, rootNamespace)) selected.push_back(i);
    if (selected.empty()) continue;
    auto& set = bySelection[selected];
    if (!set) {
      set = std::make_shared<CompiledPolicies>();
      for (std::uint32_t i : selected) {
        const auto& p = policies[i];
        auto index = static_cast<std::uint32_t>(set->names.size());
        set->names.push_back(p.source->meta.namespace_ + "/" + p.source->meta.name);
        ActionRules& target = p.source->action == config::AuthzAction::kDeny    ? set->deny
                              : p.source->action == config::AuthzAction::kAudit ? set->audit
                                                                                : set->allow;
        if (p.source->action == config::AuthzAction::kAllow) set->hasAllowPolicy = true;
        for (Rule rule : p.rules) {
          rule.policy = index;
          target.rules.push_back(std::move(rule));
        }
      }
      for (ActionRules* a : {&set->deny, &set->allow, &set->audit}) a->index();
      out->sets.push_back(set);
    }
    out->byPod[pod.meta.namespace_ + "/" + pod.meta.name] = set.get();
  }
  return std::make_shared<const Authorization>(std::move(out));
}

const CompiledPolicies* Authorization::forPod(std::string_view podKey) const {
  auto it = compiled_->byPod.find(std::string(podKey));
  return it == compiled_->byPod.end() ? nullptr : it->second;
}

std::size_t Authorization::policyCount() const { return compiled_->policies; }

Decision decide(const CompiledPolicies& set, const RequestAttributes& request) {
  Decision decision;
  std::uint32_t who = 0;
  auto remember = [&](std::uint32_t policy) {
    who = policy;
    return true;
  };
  if (matchRules(set.deny, request, Action::kDeny, remember)) {
    decision.allowed = false;
    decision.policy = set.names[who];
    return decision;
  }
  matchRules(set.audit, request, Action::kAudit, [&](std::uint32_t policy) {
    const std::string& name = set.names[policy];
    if (std::find(decision.audits.begin(), decision.audits.end(), name) == decision.audits.end())
      decision.audits.push_back(name);
    return false;  // all of them
  });
  if (!set.hasAllowPolicy) return decision;
  if (matchRules(set.allow, request, Action::kAllow, remember)) {
    decision.policy = set.names[who];
    return decision;
  }
  decision.allowed = false;  // ALLOW policies select the workload and none matched
  return decision;
}

const std::vector<std::string>& policyNames(const CompiledPolicies& policies) { return policies.names; }
bool hasAllowPolicy(const CompiledPolicies& policies) { return policies.hasAllowPolicy; }

}  // namespace weft::policy
