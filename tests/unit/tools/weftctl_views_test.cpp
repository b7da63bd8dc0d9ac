// weftctl's tables from the admin API's JSON.
#include "views.h"

#include <doctest/doctest.h>

#include "admin_client.h"
#include "table.h"

using nlohmann::json;

TEST_CASE("weftctl table: columns padded to the widest cell") {
  weft::ctl::Table t({"A", "LONGER"});
  t.add({"wide cell", "x"});
  CHECK(t.render() == "A           LONGER\nwide cell   x\n");
}

TEST_CASE("weftctl policy check view: verdict and policy first then why") {
  json answer{{"verdict", "deny"},        {"policy", "shop/deny-admin"}, {"reason", "DENY policy shop/deny-admin matches"},
              {"layer", "http"},          {"method", "GET"},             {"path", "/admin"},
              {"host", "web:80"},         {"destination", "shop/web"},   {"port", 80},
              {"portProtocol", "http"},   {"principal", ""},             {"selectingPolicies", {"shop/deny-admin"}},
              {"audits", json::array()}};
  std::string text = weft::ctl::policyCheckView(answer);
  CHECK(text.starts_with("DENY by shop/deny-admin\n"));
  CHECK(text.find("why:                DENY policy shop/deny-admin matches") != std::string::npos);
  CHECK(text.find("none (plaintext)") != std::string::npos);
  answer["verdict"] = "allow";
  answer["policy"] = "";
  CHECK(weft::ctl::policyCheckView(answer).starts_with("ALLOW\n"));
}

TEST_CASE("weftctl workloads view: this node's pods unless all are asked for") {
  json workloads = json::array({
      {{"pod", "shop/web"}, {"node", "n1"}, {"onThisNode", true}, {"ips", {"10.0.1.2"}}, {"inMesh", true},
       {"enrolled", true}, {"workload", "web"}, {"identity", "spiffe://cluster.local/ns/shop/sa/web"},
       {"policies", {"shop/a", "shop/b"}}},
      {{"pod", "shop/db"}, {"node", "n2"}, {"onThisNode", false}, {"ips", json::array()}, {"inMesh", false},
       {"enrolled", false}, {"workload", "db"}},
  });
  std::string local = weft::ctl::workloadsView(workloads, true);
  CHECK(local.find("shop/web   n1     10.0.1.2   yes    yes        web        spiffe://cluster.local/ns/shop/sa/web   shop/a,shop/b") !=
        std::string::npos);
  CHECK(local.find("shop/db") == std::string::npos);
  CHECK(weft::ctl::workloadsView(workloads, false).find("shop/db    n2     -          no     no         db         -") !=
        std::string::npos);
}

TEST_CASE("weftctl url encoding keeps paths readable and escapes the rest") {
  CHECK(weft::ctl::urlEncode("/a b/%2e?x=1&y") == "/a%20b/%252e%3Fx%3D1%26y");
  CHECK(weft::ctl::urlEncode("spiffe://td/ns/a") == "spiffe://td/ns/a");
}
