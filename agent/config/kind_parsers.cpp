#include "kind_parsers.h"

#include <set>
#include <utility>

#include <fmt/format.h>

#include "validation.h"

namespace weft::config::detail {
namespace {

using Validator = std::string (*)(std::string_view);

// Validates one item of a string list against `validator`, at the item's path.
Parsed<std::vector<std::string>> readValidatedList(const Cursor& cursor, Validator validator) {
  if (!cursor.isNull() && !cursor.node().IsSequence())
    return std::unexpected(
        cursor.error(fmt::format("expected a list of strings, got {}", describeNode(cursor.node()))));
  WEFT_CONFIG_TRY(auto items, readList(cursor));
  std::vector<std::string> values;
  values.reserve(items.size());
  for (const Cursor& item : items) {
    WEFT_CONFIG_TRY(auto value, readString(item));
    WEFT_CONFIG_CHECK(failIf(item, validator(value)));
    values.push_back(std::move(value));
  }
  return values;
}

Parsed<MatchList> readMatchList(const MapView& view, std::string_view positive, std::string_view negative,
                                Validator validator) {
  MatchList list;
  WEFT_CONFIG_TRY(list.values, readValidatedList(view.at(positive), validator));
  WEFT_CONFIG_TRY(list.notValues, readValidatedList(view.at(negative), validator));
  return list;
}

std::string checkPortString(std::string_view value) {
  return parsePort(value) ? std::string() : "must be a port number from 1 to 65535";
}

// Selectors with no labels select every workload in the namespace, exactly
// like no selector; both read as nullopt so that consumers see one form.
Parsed<std::optional<WorkloadSelector>> readSelector(const MapView& spec) {
  WEFT_CONFIG_TRY(auto view, MapView::open(spec.at("selector")));
  WEFT_CONFIG_CHECK(view.allowOnly({"matchLabels"}));
  WEFT_CONFIG_TRY(auto labels, readStringMap(view.at("matchLabels")));
  if (labels.empty()) return std::optional<WorkloadSelector>();
  return std::optional<WorkloadSelector>(WorkloadSelector{std::move(labels)});
}

Parsed<MtlsMode> readMtlsMode(const Cursor& cursor) {
  if (cursor.isNull()) return MtlsMode::kUnset;
  WEFT_CONFIG_TRY(auto text, readString(cursor));
  if (text == "UNSET") return MtlsMode::kUnset;
  if (text == "STRICT") return MtlsMode::kStrict;
  if (text == "PERMISSIVE") return MtlsMode::kPermissive;
  if (text == "DISABLE") return MtlsMode::kDisable;
  return std::unexpected(
      cursor.error(fmt::format("\"{}\" is not an mTLS mode (STRICT, PERMISSIVE, DISABLE or UNSET)", text)));
}

// An mtls block: `{mode: STRICT}`.
Parsed<MtlsMode> readMtlsBlock(const Cursor& cursor) {
  WEFT_CONFIG_TRY(auto view, MapView::open(cursor));
  WEFT_CONFIG_CHECK(view.allowOnly({"mode"}));
  return readMtlsMode(view.at("mode"));
}

Parsed<AuthzSource> readSource(const Cursor& cursor) {
  WEFT_CONFIG_TRY(auto view, MapView::open(cursor));
  // Request principals and remote IPs need JWT and trusted X-Forwarded-For
  // handling that weft lacks; ignoring them would widen the rule.
  WEFT_CONFIG_CHECK(view.allowOnly(
      {"principals", "notPrincipals", "namespaces", "notNamespaces", "ipBlocks", "notIpBlocks"},
      {"requestPrincipals", "notRequestPrincipals", "remoteIpBlocks", "notRemoteIpBlocks", "serviceAccounts",
       "notServiceAccounts"}));
  AuthzSource source;
  WEFT_CONFIG_TRY(source.principals, readMatchList(view, "principals", "notPrincipals", checkMatchValue));
  WEFT_CONFIG_TRY(source.namespaces, readMatchList(view, "namespaces", "notNamespaces", checkMatchValue));
  WEFT_CONFIG_TRY(source.ipBlocks, readMatchList(view, "ipBlocks", "notIpBlocks", checkCidrOrAddress));
  // An empty source would match every peer; Istio rejects it too.
  if (source.principals.empty() && source.namespaces.empty() && source.ipBlocks.empty())
    return std::unexpected(cursor.error("a source must set at least one field"));
  return source;
}

Parsed<AuthzOperation> readOperation(const Cursor& cursor) {
  WEFT_CONFIG_TRY(auto view, MapView::open(cursor));
  WEFT_CONFIG_CHECK(view.allowOnly(
      {"hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths"}));
  AuthzOperation operation;
  WEFT_CONFIG_TRY(operation.hosts, readMatchList(view, "hosts", "notHosts", checkMatchValue));
  WEFT_CONFIG_TRY(operation.ports, readMatchList(view, "ports", "notPorts", checkPortString));
  WEFT_CONFIG_TRY(operation.methods, readMatchList(view, "methods", "notMethods", checkMethodMatch));
  WEFT_CONFIG_TRY(operation.paths, readMatchList(view, "paths", "notPaths", checkPathMatch));
  if (operation.hosts.empty() && operation.ports.empty() && operation.methods.empty() && operation.paths.empty())
    return std::unexpected(cursor.error("an operation must set at least one field"));
  return operation;
}

std::string checkHeaderName(std::string_view name) {
  if (name.empty()) return "header name must not be empty";
  for (char c : name) {
    bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!token) return fmt::format("\"{}\" is not a valid header name", name);
  }
  return {};
}

// The condition keys weft evaluates, and how their values are checked. A key
// we do not evaluate must not load: the condition would be dropped, and the
// rule would match more than written.
Parsed<Validator> conditionValidator(const Cursor& keyCursor, std::string_view key) {
  constexpr std::string_view kHeaderPrefix = "request.headers[";
  if (key.starts_with(kHeaderPrefix) && key.ends_with("]")) {
    std::string_view name = key.substr(kHeaderPrefix.size(), key.size() - kHeaderPrefix.size() - 1);
    WEFT_CONFIG_CHECK(failIf(keyCursor, checkHeaderName(name)));
    return checkMatchValue;
  }
  if (key == "source.ip" || key == "destination.ip") return checkCidrOrAddress;
  if (key == "source.namespace" || key == "source.principal" || key == "connection.sni") return checkMatchValue;
  if (key == "destination.port") return checkPortString;
  if (key.starts_with("request.auth.") || key == "remote.ip" || key.starts_with("experimental."))
    return std::unexpected(keyCursor.error(fmt::format("condition key \"{}\" is not supported by weft", key)));
  return std::unexpected(keyCursor.error(fmt::format(
      "unknown condition key \"{}\" (known: request.headers[<name>], source.ip, source.namespace, "
      "source.principal, destination.ip, destination.port, connection.sni)",
      key)));
}

Parsed<AuthzCondition> readCondition(const Cursor& cursor) {
  WEFT_CONFIG_TRY(auto view, MapView::open(cursor));
  WEFT_CONFIG_CHECK(view.allowOnly({"key", "values", "notValues"}));
  auto keyCursor = view.get("key");
  if (!keyCursor) return std::unexpected(view.at("key").error("is required"));
  AuthzCondition condition;
  WEFT_CONFIG_TRY(condition.key, readNonEmptyString(*keyCursor));
  WEFT_CONFIG_TRY(auto validator, conditionValidator(*keyCursor, condition.key));
  WEFT_CONFIG_TRY(condition.values, readValidatedList(view.at("values"), validator));
  WEFT_CONFIG_TRY(condition.notValues, readValidatedList(view.at("notValues"), validator));
  if (condition.values.empty() && condition.notValues.empty())
    return std::unexpected(cursor.error("a condition needs values or notValues"));
  return condition;
}

// Reads `from`, `to` or `when`: absent means "no constraint", but an explicit
// empty list is ambiguous and rejected, as Istio does.
template <class T, class ItemReader>
Parsed<std::vector<T>> readRuleList(const MapView& rule, std::string_view field, std::string_view wrapper,
                                    ItemReader readItem) {
  std::vector<T> result;
  auto present = rule.find(field);
  if (!present) return result;
  if (present->isNull() || (present->node().IsSequence() && present->node().size() == 0))
    return std::unexpected(present->error("must not be empty when present"));
  WEFT_CONFIG_TRY(auto items, readList(*present));
  for (const Cursor& item : items) {
    if (wrapper.empty()) {
      WEFT_CONFIG_TRY(auto value, readItem(item));
      result.push_back(std::move(value));
      continue;
    }
    // from[i] is {source: {...}}, to[i] is {operation: {...}}.
    WEFT_CONFIG_TRY(auto entry, MapView::open(item));
    WEFT_CONFIG_CHECK(entry.allowOnly({wrapper}));
    auto inner = entry.get(wrapper);
    if (!inner) return std::unexpected(entry.at(wrapper).error("is required"));
    WEFT_CONFIG_TRY(auto value, readItem(*inner));
    result.push_back(std::move(value));
  }
  return result;
}

Parsed<AuthzRule> readRule(const Cursor& cursor) {
  WEFT_CONFIG_TRY(auto view, MapView::open(cursor));
  WEFT_CONFIG_CHECK(view.allowOnly({"from", "to", "when"}));
  AuthzRule rule;
  WEFT_CONFIG_TRY(rule.from, readRuleList<AuthzSource>(view, "from", "source", readSource));
  WEFT_CONFIG_TRY(rule.to, readRuleList<AuthzOperation>(view, "to", "operation", readOperation));
  WEFT_CONFIG_TRY(rule.when, readRuleList<AuthzCondition>(view, "when", "", readCondition));
  return rule;
}

Parsed<std::vector<std::string>> readClusterIPs(const MapView& spec) {
  std::vector<std::string> ips;
  std::string single;
  if (auto c = spec.get("clusterIP")) {
    WEFT_CONFIG_TRY(single, readString(*c));
  }
  auto listCursor = spec.at("clusterIPs");
  WEFT_CONFIG_TRY(auto items, readList(listCursor));
  for (const Cursor& item : items) {
    WEFT_CONFIG_TRY(auto ip, readNonEmptyString(item));
    if (ip == "None" && items.size() > 1)
      return std::unexpected(item.error("\"None\" must be the only entry of clusterIPs"));
    if (ip != "None" && !isIpAddress(ip))
      return std::unexpected(item.error(fmt::format("\"{}\" is not an IP address", ip)));
    ips.push_back(std::move(ip));
  }
  if (!ips.empty()) {
    if (!single.empty() && single != ips.front())
      return std::unexpected(
          spec.at("clusterIP").error(fmt::format("must equal clusterIPs[0] (\"{}\")", ips.front())));
    return ips;
  }
  // An empty clusterIP asks the API server to allocate one: no address yet.
  if (single.empty()) return ips;
  if (single != "None" && !isIpAddress(single))
    return std::unexpected(spec.at("clusterIP").error(fmt::format("\"{}\" is not an IP address", single)));
  ips.push_back(std::move(single));
  return ips;
}

Parsed<ServicePort> readServicePort(const Cursor& cursor) {
  if (cursor.isNull()) return std::unexpected(cursor.error("expected a mapping, got null"));
  WEFT_CONFIG_TRY(auto view, MapView::open(cursor));
  ServicePort port;
  auto portCursor = view.get("port");
  if (!portCursor) return std::unexpected(view.at("port").error("is required"));
  WEFT_CONFIG_TRY(auto portText, readString(*portCursor));
  auto number = parsePort(portText);
  if (!number) return std::unexpected(portCursor->error("must be a port number from 1 to 65535"));
  port.port = *number;

  if (auto c = view.get("targetPort")) {
    WEFT_CONFIG_TRY(port.targetPort, readNonEmptyString(*c));
    bool numeric = port.targetPort.find_first_not_of("0123456789") == std::string::npos;
    if (numeric) WEFT_CONFIG_CHECK(failIf(*c, checkPortString(port.targetPort)));
    else WEFT_CONFIG_CHECK(failIf(*c, checkPortName(port.targetPort)));
  } else {
    port.targetPort = std::to_string(port.port);
  }
  port.protocol = "TCP";
  if (auto c = view.get("protocol")) {
    WEFT_CONFIG_TRY(port.protocol, readString(*c));
    if (port.protocol != "TCP" && port.protocol != "UDP" && port.protocol != "SCTP")
      return std::unexpected(c->error(fmt::format("\"{}\" is not a protocol (TCP, UDP or SCTP)", port.protocol)));
  }
  if (auto c = view.get("name")) {
    WEFT_CONFIG_TRY(port.name, readString(*c));
    if (!port.name.empty()) WEFT_CONFIG_CHECK(failIf(*c, checkDns1123Label(port.name)));
  }
  if (auto c = view.get("appProtocol")) {
    WEFT_CONFIG_TRY(port.appProtocol, readString(*c));
  }
  return port;
}

}  // namespace

Parsed<ObjectMeta> readIdentity(const MapView& document, NameRule rule, bool namespaced) {
  WEFT_CONFIG_TRY(auto metadata, MapView::open(document.at("metadata")));
  ObjectMeta meta;
  auto name = metadata.get("name");
  if (!name) {
    std::string reason = "is required";
    if (metadata.get("generateName")) reason += " (generateName is not supported)";
    return std::unexpected(metadata.at("name").error(std::move(reason)));
  }
  WEFT_CONFIG_TRY(meta.name, readString(*name));
  switch (rule) {
    case NameRule::kDns1123Subdomain: WEFT_CONFIG_CHECK(failIf(*name, checkDns1123Subdomain(meta.name))); break;
    case NameRule::kDns1123Label: WEFT_CONFIG_CHECK(failIf(*name, checkDns1123Label(meta.name))); break;
    case NameRule::kDns1035Label: WEFT_CONFIG_CHECK(failIf(*name, checkDns1035Label(meta.name))); break;
  }
  // Cluster-scoped kinds ignore metadata.namespace, as kubectl does.
  if (!namespaced) return meta;
  meta.namespace_ = "default";
  if (auto ns = metadata.get("namespace")) {
    WEFT_CONFIG_TRY(auto text, readString(*ns));
    if (!text.empty()) {
      WEFT_CONFIG_CHECK(failIf(*ns, checkDns1123Label(text)));
      meta.namespace_ = std::move(text);
    }
  }
  return meta;
}

Checked readLabelsAndAnnotations(const MapView& document, ObjectMeta& meta) {
  WEFT_CONFIG_TRY(auto metadata, MapView::open(document.at("metadata")));
  WEFT_CONFIG_TRY(meta.labels, readStringMap(metadata.at("labels")));
  WEFT_CONFIG_TRY(meta.annotations, readStringMap(metadata.at("annotations")));
  return {};
}

Parsed<Pod> readPod(const MapView& document, ObjectMeta meta) {
  Pod pod;
  pod.meta = std::move(meta);
  WEFT_CONFIG_TRY(auto spec, MapView::open(document.at("spec")));
  if (auto c = spec.get("nodeName")) {
    WEFT_CONFIG_TRY(pod.nodeName, readString(*c));
    if (!pod.nodeName.empty()) WEFT_CONFIG_CHECK(failIf(*c, checkDns1123Subdomain(pod.nodeName)));
  }
  // The service account becomes part of the SPIFFE ID
  // (spiffe://<td>/ns/<ns>/sa/<sa>), so it must not smuggle in '/'.
  auto account = spec.get("serviceAccountName");
  if (!account) account = spec.get("serviceAccount");  // the deprecated spelling
  pod.serviceAccount = "default";
  if (account) {
    WEFT_CONFIG_TRY(auto text, readString(*account));
    if (!text.empty()) {
      WEFT_CONFIG_CHECK(failIf(*account, checkDns1123Subdomain(text)));
      pod.serviceAccount = std::move(text);
    }
  }

  WEFT_CONFIG_TRY(auto status, MapView::open(document.at("status")));
  WEFT_CONFIG_TRY(auto podIPs, readList(status.at("podIPs")));
  for (const Cursor& item : podIPs) {
    WEFT_CONFIG_TRY(auto entry, MapView::open(item));
    auto ip = entry.get("ip");
    if (!ip) return std::unexpected(entry.at("ip").error("is required"));
    WEFT_CONFIG_TRY(auto text, readString(*ip));
    if (!isIpAddress(text)) return std::unexpected(ip->error(fmt::format("\"{}\" is not an IP address", text)));
    pod.podIPs.push_back(std::move(text));
  }
  if (pod.podIPs.empty()) {
    if (auto ip = status.get("podIP")) {
      WEFT_CONFIG_TRY(auto text, readString(*ip));
      if (!text.empty()) {
        if (!isIpAddress(text)) return std::unexpected(ip->error(fmt::format("\"{}\" is not an IP address", text)));
        pod.podIPs.push_back(std::move(text));
      }
    }
  }

  if (auto ip = status.get("hostIP")) {
    WEFT_CONFIG_TRY(auto text, readString(*ip));
    if (!text.empty() && !isIpAddress(text))
      return std::unexpected(ip->error(fmt::format("\"{}\" is not an IP address", text)));
    pod.hostIP = std::move(text);
  }

  if (auto it = pod.meta.annotations.find("weft.dev/netns"); it != pod.meta.annotations.end()) {
    // The agent opens this path as root to enter the pod's network namespace.
    if (it->second.empty() || it->second.front() != '/') {
      WEFT_CONFIG_TRY(auto metadata, MapView::open(document.at("metadata")));
      WEFT_CONFIG_TRY(auto annotations, MapView::open(metadata.at("annotations")));
      return std::unexpected(annotations.at("weft.dev/netns").error("must be an absolute path"));
    }
    pod.netnsPath = it->second;
  }
  return pod;
}

Parsed<Service> readService(const MapView& document, ObjectMeta meta) {
  Service service;
  service.meta = std::move(meta);
  WEFT_CONFIG_TRY(auto spec, MapView::open(document.at("spec")));
  WEFT_CONFIG_TRY(service.clusterIPs, readClusterIPs(spec));
  WEFT_CONFIG_TRY(service.selector, readStringMap(spec.at("selector")));
  WEFT_CONFIG_TRY(auto ports, readList(spec.at("ports")));
  std::set<std::string> names;
  std::set<std::pair<std::uint16_t, std::string>> numbers;
  for (const Cursor& item : ports) {
    WEFT_CONFIG_TRY(auto port, readServicePort(item));
    // Routes and endpoints refer to ports by name when a Service has several.
    if (ports.size() > 1 && port.name.empty())
      return std::unexpected(item.error("name is required when a Service has more than one port"));
    if (!port.name.empty() && !names.insert(port.name).second)
      return std::unexpected(item.error(fmt::format("duplicate port name \"{}\"", port.name)));
    if (!numbers.emplace(port.port, port.protocol).second)
      return std::unexpected(item.error(fmt::format("duplicate port {}/{}", port.port, port.protocol)));
    service.ports.push_back(std::move(port));
  }
  return service;
}

Parsed<PeerAuthentication> readPeerAuthentication(const MapView& document, ObjectMeta meta) {
  PeerAuthentication policy;
  policy.meta = std::move(meta);
  WEFT_CONFIG_TRY(auto spec, MapView::open(document.at("spec")));
  // A typo here (say `mtl:`) would leave the mode unset and quietly weaken a
  // STRICT namespace, so unknown fields fail.
  WEFT_CONFIG_CHECK(spec.allowOnly({"selector", "mtls", "portLevelMtls"}));
  WEFT_CONFIG_TRY(policy.selector, readSelector(spec));
  WEFT_CONFIG_TRY(policy.mode, readMtlsBlock(spec.at("mtls")));

  auto portLevel = spec.find("portLevelMtls");
  if (portLevel && !portLevel->isNull()) {
    // Istio's rule: ports are a property of workloads, so a namespace-wide
    // policy cannot name them.
    if (!policy.selector)
      return std::unexpected(portLevel->error("portLevelMtls needs a selector with matchLabels"));
    WEFT_CONFIG_TRY(auto ports, MapView::open(*portLevel));
    for (const auto& [key, value] : ports.entries()) {
      auto port = parsePort(key);
      if (!port) return std::unexpected(value.error("key must be a port number from 1 to 65535"));
      WEFT_CONFIG_TRY(auto mode, readMtlsBlock(value));
      if (!policy.portLevelMtls.emplace(*port, mode).second)
        return std::unexpected(value.error(fmt::format("port {} is listed twice", *port)));
    }
  }
  return policy;
}

Parsed<AuthorizationPolicy> readAuthorizationPolicy(const MapView& document, ObjectMeta meta) {
  AuthorizationPolicy policy;
  policy.meta = std::move(meta);
  WEFT_CONFIG_TRY(auto spec, MapView::open(document.at("spec")));
  if (auto c = spec.get("action")) {
    WEFT_CONFIG_TRY(auto action, readString(*c));
    if (action == "ALLOW") policy.action = AuthzAction::kAllow;
    else if (action == "DENY") policy.action = AuthzAction::kDeny;
    else if (action == "AUDIT") policy.action = AuthzAction::kAudit;
    else if (action == "CUSTOM")
      return std::unexpected(c->error("CUSTOM (external authorization) is not supported by weft"));
    else return std::unexpected(c->error(fmt::format("\"{}\" is not an action (ALLOW, DENY or AUDIT)", action)));
  }
  // Fail closed on anything we would otherwise ignore: `rule:` for `rules:`
  // would turn a DENY policy into one that matches nothing. (The action is
  // read first so that a CUSTOM policy is named as such, not by its provider.)
  WEFT_CONFIG_CHECK(spec.allowOnly({"selector", "action", "rules"}, {"provider", "targetRef", "targetRefs"}));
  WEFT_CONFIG_TRY(policy.selector, readSelector(spec));
  // No rules: an ALLOW policy then allows nothing (denies all it selects),
  // while DENY and AUDIT policies match nothing. Both are Istio's meaning and
  // both load; the DENY case is harmless, the ALLOW case is the usual
  // "deny-all" idiom.
  WEFT_CONFIG_TRY(auto rules, readList(spec.at("rules")));
  for (const Cursor& item : rules) {
    WEFT_CONFIG_TRY(auto rule, readRule(item));
    policy.rules.push_back(std::move(rule));
  }
  return policy;
}

Parsed<nlohmann::json> readGenericSpec(const MapView& document) {
  auto spec = document.get("spec");
  if (!spec) return std::unexpected(document.at("spec").error("is required"));
  if (!spec->node().IsMap())
    return std::unexpected(spec->error(fmt::format("expected a mapping, got {}", describeNode(spec->node()))));
  return toJsonValue(*spec);
}

}  // namespace weft::config::detail
