# shellcheck shell=bash
# The preamble of every end-to-end test that runs agents on a test cluster:
# strict mode, asserts, the cluster and agent libraries, and root (a test that
# cannot have root fails; it never skips).
set -euo pipefail
_e2e_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$_e2e_lib/assert.sh"
source "$_e2e_lib/../../../scripts/lib/cluster.sh"
source "$_e2e_lib/../../../scripts/lib/agents.sh"
assert_require_root

# e2e_show_agent_logs_on_failure NODE...: at exit, when a check failed, the
# last lines of each node's agent log (they go with the cluster otherwise).
# Register it after cluster_up's cleanup, so that it runs before the cluster goes.
e2e_show_agent_logs_on_failure() {
  _E2E_LOG_NODES=("$@")
  assert_cleanup _e2e_agent_log_tails
}
_e2e_agent_log_tails() {
  ((ASSERT_FAILED > 0)) || return 0
  local node
  for node in "${_E2E_LOG_NODES[@]}"; do
    echo "--- last lines of $node's agent log"
    tail -n 15 "$(agent_log "$node")" 2>/dev/null || true
  done
}

# e2e_require TOOL...: each is installed, else the test fails (never skips) and ends.
e2e_require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { fail "$tool is installed" "run scripts/setup"; assert_done; }
  done
}
# e2e_require_grpc_js: the test's gRPC client and server have @grpc/grpc-js.
e2e_require_grpc_js() {
  [[ -d $_e2e_lib/../grpc/node_modules/@grpc/grpc-js ]] ||
    { fail "@grpc/grpc-js is installed" "run scripts/setup (npm ci in tests/e2e/grpc)"; assert_done; }
}

# e2e_web_service_yaml POD [NAME]: Service NAME (default "web") in namespace
# demo, HTTP on port 80 to 8080 of POD (by its app label).
e2e_web_service_yaml() {
  cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: ${2:-web}, namespace: demo}
spec:
  selector: {app: $1}
  ports:
  - {name: http, port: 80, targetPort: 8080}
YAML
}
# e2e_deny_admin_yaml POD: AuthorizationPolicy "demo/deny-admin" denying
# /admin on port 8080 of POD.
e2e_deny_admin_yaml() {
  cat <<YAML
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: demo}
spec:
  selector: {matchLabels: {app: $1}}
  action: DENY
  rules:
  - to: [{operation: {ports: ["8080"], paths: ["/admin"]}}]
YAML
}
