// Reading manifests: the document shapes kubectl accepts (multi-document
// YAML, List, JSON), and where a broken or hostile document is reported.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "loader_test_support.h"

using namespace weft::config;
using namespace weft::config::testing;

TEST_CASE("multi-document YAML: empty and comment-only documents are skipped - lines are per document") {
  auto s = load(R"(---
# leading comment-only document
---
apiVersion: v1
kind: Namespace
metadata: {name: one}
---
---

...
---   # a marker with a comment
# comment first
apiVersion: v1
kind: Namespace
metadata: {name: two}
--- {apiVersion: v1, kind: Namespace, metadata: {name: three}}
---
null
)");
  INFO(describeRejections(s));
  REQUIRE(s.rejected.empty());
  REQUIRE(s.namespaces.size() == 3);
  CHECK(s.namespaces[0].meta.name == "one");
  CHECK(s.namespaces[0].meta.source.line == 4);
  CHECK(s.namespaces[1].meta.name == "two");
  CHECK(s.namespaces[1].meta.source.line == 13);
  CHECK(s.namespaces[2].meta.name == "three");
  CHECK(s.namespaces[2].meta.source.line == 16);
}

TEST_CASE("YAML directives stay with the document that follows them") {
  auto s = load("%YAML 1.2\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: directive}\n");
  INFO(describeRejections(s));
  CHECK(s.rejected.empty());
  REQUIRE(s.namespaces.size() == 1);
  CHECK(s.namespaces[0].meta.source.line == 3);
}

TEST_CASE("v1 List items are expanded - typed lists lend their kind to items") {
  auto s = load(R"(apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: listed}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: ignored}
  - ~
  - apiVersion: v1
    kind: Service
    metadata: {name: Bad_Name}
---
apiVersion: v1
kind: PodList
items:
  - metadata: {name: p1, namespace: x}
  - metadata: {name: p2, namespace: x}
)");
  REQUIRE(s.namespaces.size() == 1);
  CHECK(s.namespaces[0].meta.name == "listed");
  CHECK(s.namespaces[0].meta.source.line == 4);
  REQUIRE(s.pods.size() == 2);
  CHECK(s.pods[0].meta.name == "p1");
  CHECK(s.pods[1].meta.source.line == 19);
  REQUIRE(s.rejected.size() == 1);
  CHECK(s.rejected[0].source.line == 13);
  CHECK(s.rejected[0].reason.starts_with("Service: items[3].metadata.name: must be a DNS-1035 label"));
}

TEST_CASE("List envelope errors") {
  auto nested = load(R"(apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: List
    items: []
)");
  REQUIRE(nested.rejected.size() == 1);
  CHECK(nested.rejected[0].reason == "items[0]: a List inside a List is not supported");
  CHECK(nested.rejected[0].source.line == 4);

  auto wrongVersion = load("apiVersion: v2\nkind: List\nitems: []\n");
  REQUIRE(wrongVersion.rejected.size() == 1);
  CHECK(wrongVersion.rejected[0].reason == "apiVersion: \"v2\" is not served for List (expected v1)");

  auto notAList = load("apiVersion: v1\nkind: List\nitems: {a: 1}\n");
  REQUIRE(notAList.rejected.size() == 1);
  CHECK(notAList.rejected[0].reason == "items: expected a list, got a mapping");
  CHECK(notAList.rejected[0].kind.empty());
}

TEST_CASE("JSON files: a List from kubectl get -o json / indented with tabs") {
  auto s = load("{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"List\",\n\t\"items\": [\n\t\t{\n"
                "\t\t\t\"apiVersion\": \"v1\",\n\t\t\t\"kind\": \"Service\",\n"
                "\t\t\t\"metadata\": {\"name\": \"web\", \"namespace\": \"demo\", \"labels\": {\"n\": 1}},\n"
                "\t\t\t\"spec\": {\"ports\": [{\"port\": 80, \"targetPort\": 8080}]}\n\t\t}\n\t]\n}\n",
                "svc.json");
  INFO(describeRejections(s));
  REQUIRE(s.rejected.empty());
  REQUIRE(s.services.size() == 1);
  CHECK(s.services[0].meta.name == "web");
  CHECK(s.services[0].meta.labels == Labels{{"n", "1"}});
  CHECK(s.services[0].ports[0].targetPort == "8080");
  CHECK(where(s.services[0].meta.source) == "svc.json:5");
}

TEST_CASE("malformed YAML: rejected at the exact line - sibling documents still load") {
  auto s = load(R"(apiVersion: v1
kind: Namespace
metadata: {name: before}
---
apiVersion: v1
kind: Namespace
metadata:
  name: broken
   labels: {a: b}
---
apiVersion: v1
kind: Namespace
metadata: {name: after}
)",
                "mixed.yaml");
  REQUIRE(s.namespaces.size() == 2);
  CHECK(s.namespaces[0].meta.name == "before");
  CHECK(s.namespaces[1].meta.name == "after");
  CHECK(s.namespaces[1].meta.source.line == 11);
  REQUIRE(s.rejected.size() == 1);
  const auto& r = s.rejected[0];
  CHECK(r.source.file == "mixed.yaml");
  CHECK(r.source.line == 9);
  CHECK(r.kind.empty());  // unreadable: last_good keeps the file's last good objects
  CHECK(r.name.empty());
  CHECK(r.reason.starts_with("YAML syntax error: "));
}

TEST_CASE("malformed YAML in the first and last documents") {
  auto s = load("key: [unclosed\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\na: b\n c: d\n");
  REQUIRE(s.namespaces.size() == 1);
  REQUIRE(s.rejected.size() == 2);
  CHECK(s.rejected[0].source.line == 2);  // yaml-cpp notices the open flow sequence at the next token
  CHECK(s.rejected[1].source.line == 8);
}

TEST_CASE("documents that are not objects are rejected without a kind") {
  struct Case {
    const char* text;
    int line;
    const char* reason;
  };
  const Case cases[] = {
      {"just a string\n", 1, "expected a mapping with apiVersion and kind, got a string"},
      {"\n\n- a\n- b\n", 3, "expected a mapping with apiVersion and kind, got a list"},
      {"apiVersion: v1\nmetadata: {name: x}\n", 1, "kind: is required"},
      {"apiVersion: v1\nkind: [Pod]\n", 2, "kind: expected a string, got a list"},
      {"apiVersion: v1\nkind: Pod\nkind: Service\n", 3, "kind: duplicate key"},
      {"base: &b {x: 1}\n<<: *b\nkind: Pod\n", 2, "YAML merge keys (<<) are not supported"},
      {"? [a, b]\n: c\n", 1, "map keys must be strings, got a list"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\n", 3, "Pod: metadata.name: is required"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {generateName: x-}\n", 3,
       "Pod: metadata.name: is required (generateName is not supported)"},
      {"apiVersion: v1\nkind: Pod\n", 1, "Pod: metadata.name: is required"},
      {"apiVersion: v1\nkind: Pod\nmetadata: []\n", 3, "Pod: metadata: expected a mapping, got a list"},
      {"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  namespace: Bad\n", 5,
       "Pod: metadata.namespace: must be a DNS-1123 label: lower case letters, digits and '-', starting and ending "
       "with a letter or digit"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto s = load(c.text);
    REQUIRE(s.rejected.size() == 1);
    CHECK(s.rejected[0].kind == "");
    CHECK(s.rejected[0].source.line == c.line);
    CHECK(s.rejected[0].reason == c.reason);
  }
}

TEST_CASE("unknown kinds are ignored / not rejected") {
  auto s = load(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {replicas: 3}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: b}
---
kind: SomethingWithoutApiVersion
---
apiVersion: example.com/v1
kind: WidgetList
items: [{metadata: {name: w}}]
)");
  CHECK(s.rejected.empty());
  CHECK(s.pods.empty());
  CHECK(s.otherResources.empty());
}

TEST_CASE("a known kind under a wrong or missing apiVersion is rejected by name") {
  struct Case {
    const char* text;
    const char* kind;
    const char* name;
    const char* reason;
  };
  const Case cases[] = {
      {"apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: n}\n",
       "AuthorizationPolicy", "n/p",
       "apiVersion: \"security.istio.io/v1\" is not served for AuthorizationPolicy (expected weft.dev/v1alpha1)"},
      {"apiVersion: apps/v1\nkind: Pod\nmetadata: {name: p}\n", "Pod", "default/p",
       "apiVersion: \"apps/v1\" is not served for Pod (expected v1)"},
      {"apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: HTTPRoute\nmetadata: {name: r}\n", "HTTPRoute",
       "default/r",
       "apiVersion: \"gateway.networking.k8s.io/v1alpha2\" is not served for HTTPRoute (expected "
       "gateway.networking.k8s.io/v1 or gateway.networking.k8s.io/v1beta1)"},
      {"kind: Namespace\nmetadata: {name: n}\n", "Namespace", "n", "apiVersion: is required"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto s = load(c.text);
    REQUIRE(s.rejected.size() == 1);
    CHECK(s.rejected[0].kind == c.kind);
    CHECK(s.rejected[0].name == c.name);
    CHECK(s.rejected[0].reason == c.reason);
  }
}

TEST_CASE("duplicates: the later object is rejected and points at the first") {
  const char* pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: demo}\n";
  Snapshot s;
  {
    QuietLogs quiet;
    loadManifestText(pod, "a.yaml", s);
    loadManifestText(std::string("# moved down\n") + pod + "---\n" + pod, "b.yaml", s);
    // Same name, other kind or other namespace: not duplicates.
    loadManifestText("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\n---\n"
                     "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: prod}\n",
                     "c.yaml", s);
    // HTTPRoute v1 and v1beta1 are the same resource.
    loadManifestText("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {}\n---\n"
                     "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {}\n",
                     "d.yaml", s);
  }
  CHECK(s.pods.size() == 2);
  CHECK(s.services.size() == 1);
  CHECK(s.otherResources.size() == 1);
  REQUIRE(s.rejected.size() == 3);
  CHECK(where(s.rejected[0].source) == "b.yaml:2");
  CHECK(s.rejected[0].kind == "Pod");
  CHECK(s.rejected[0].name == "demo/web");
  CHECK(s.rejected[0].reason == "duplicate of a.yaml:1");
  CHECK(where(s.rejected[1].source) == "b.yaml:6");
  CHECK(s.rejected[1].reason == "duplicate of a.yaml:1");
  CHECK(s.rejected[2].kind == "HTTPRoute");
  CHECK(s.rejected[2].reason == "duplicate of d.yaml:1");
}

TEST_CASE("an invalid first copy does not make a valid second copy a duplicate") {
  auto s = load(R"(apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 0}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
)");
  CHECK(s.services.size() == 1);
  REQUIRE(s.rejected.size() == 1);
  CHECK(s.rejected[0].reason == "spec.ports[0].port: must be a port number from 1 to 65535");
}

TEST_CASE("field errors carry the line of the bad field") {
  auto s = load(R"(apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: allow-get
  namespace: demo
spec:
  rules:
    - to:
        - operation:
            methods:
              - GET
              - [POST]
)");
  REQUIRE(s.rejected.size() == 1);
  const auto& r = s.rejected[0];
  CHECK(r.kind == "AuthorizationPolicy");
  CHECK(r.name == "demo/allow-get");
  CHECK(r.source.line == 12);
  CHECK(r.reason == "spec.rules[0].to[0].operation.methods[1]: expected a string, got a list");
}

TEST_CASE("hostile input: alias bombs and deep nesting are rejected / not expanded") {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char previous = 'a';
  for (char name = 'b'; name <= 'j'; ++name) {
    bomb += std::string(1, name) + ": &" + name + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + previous;
    bomb += "]\n";
    previous = name;
  }
  std::string doc = "apiVersion: weft.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: bomb}\nspec:\n";
  for (std::size_t start = 0; start < bomb.size();) {
    auto end = bomb.find('\n', start);
    doc += "  " + bomb.substr(start, end - start + 1);
    start = end + 1;
  }
  auto began = std::chrono::steady_clock::now();
  auto s = load(doc);
  CHECK(std::chrono::steady_clock::now() - began < std::chrono::seconds(10));
  REQUIRE(s.rejected.size() == 1);
  CHECK(s.rejected[0].reason.find("document too large") != std::string::npos);

  std::string deep = "apiVersion: weft.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: deep}\nspec: {a: ";
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  deep += "}\n";
  auto d = load(deep);
  REQUIRE(d.rejected.size() == 1);
  CHECK(d.rejected[0].reason.find("nested deeper than 64 levels") != std::string::npos);

  // Deeper than yaml-cpp's own recursion limit: a syntax error, no stack overflow.
  auto abyss = load(std::string(100000, '[') + "\n");
  REQUIRE(abyss.rejected.size() == 1);
  CHECK(abyss.rejected[0].kind.empty());

  auto big = load(std::string(17 * 1024 * 1024, '#'));
  REQUIRE(big.rejected.size() == 1);
  CHECK(big.rejected[0].reason.starts_with("file too large"));
}

TEST_CASE("non-UTF-8 and control bytes do not break loading") {
  auto s = load("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ok\n  labels: {a: \"\\u00e9\", b: \"\xff\xfe\"}\n");
  // yaml-cpp may or may not accept the raw bytes; either way nothing throws.
  CHECK(s.namespaces.size() + s.rejected.size() == 1);
}

TEST_CASE("a stray token outside any document is a syntax error / not an endless loop") {
  // yaml-cpp 0.7's LoadAll loops forever on these (jbeder/yaml-cpp#1040).
  struct Case {
    const char* text;
    int line;
    const char* reason;
  };
  const Case cases[] = {
      {",\n", 1, "YAML syntax error: unexpected ',' outside of any document"},
      {"# comment\n,\xff\n", 2, "YAML syntax error: unexpected ',' outside of any document"},
      {"- a\n- b\n,\n", 3, "YAML syntax error: unexpected ',' outside of any document"},
      {"{a: 1},\n", 1, "YAML syntax error: unexpected ',' outside of any document"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto s = load(std::string(c.text) + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: next}\n");
    CHECK(s.namespaces.size() == 1);  // the document after it still loads
    REQUIRE(s.rejected.size() == 1);
    CHECK(s.rejected[0].source.line == c.line);
    CHECK(s.rejected[0].reason == c.reason);
  }
  auto inMap = load("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n,\n");
  REQUIRE(inMap.rejected.size() == 1);
  CHECK(inMap.rejected[0].source.line == 4);
  CHECK(inMap.namespaces.empty());
}

TEST_CASE("documents ended by '...' are read one by one") {
  auto s = load(R"(apiVersion: v1
kind: Namespace
metadata: {name: first}
...
apiVersion: v1
kind: Namespace
metadata: {name: second}
... # end
%YAML 1.2
---
apiVersion: v1
kind: Namespace
metadata: {name: third}
...
)");
  INFO(describeRejections(s));
  REQUIRE(s.rejected.empty());
  REQUIRE(s.namespaces.size() == 3);
  CHECK(s.namespaces[1].meta.name == "second");
  CHECK(s.namespaces[1].meta.source.line == 5);
  CHECK(s.namespaces[2].meta.source.line == 11);
}
