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
