# shellcheck shell=bash
# Tiny assert helpers for the bash end-to-end tests. Source it at the top of a test.
# Every check prints "PASS: what" or "FAIL: what: detail"; at exit, after the
# registered cleanups, the last line printed is "N passed, N failed" and the exit
# status is 1 when a check failed, nothing passed, or the test aborted (set -e).
#
#   assert_ok WHAT CMD...                  CMD exits 0 (its output is shown on failure)
#   assert_fail WHAT CMD...                CMD exits non-zero
#   assert_eq WHAT EXPECTED ACTUAL
#   assert_contains WHAT HAYSTACK NEEDLE
#   assert_empty WHAT VALUE
#   pass WHAT / fail WHAT [DETAIL]         record a result computed by the test
#   assert_require_root                    fail (never skip) and stop when not root
#   assert_cleanup CMD...                  run CMD at exit, before the summary (last
#                                          registered runs first); output to stderr
#   assert_done                            end the test (exit; the summary follows)
# CMD runs in a subshell: it cannot set variables of the test.

ASSERT_PASSED=0
ASSERT_FAILED=0
_ASSERT_CLEANUPS=()
_ASSERT_LAST_ERR=
_ASSERT_ENDING=

pass() {
  ASSERT_PASSED=$((ASSERT_PASSED + 1))
  echo "PASS: $1"
}

fail() {
  ASSERT_FAILED=$((ASSERT_FAILED + 1))
  echo "FAIL: $1${2:+: $2}"
}

assert_ok() {
  local what=$1 out rc=0
  shift
  out=$("$@" 2>&1) || rc=$?
  if ((rc == 0)); then pass "$what"; else fail "$what" "exit $rc from '$*'${out:+, output: $(_assert_tail "$out")}"; fi
}

assert_fail() {
  local what=$1 out rc=0
  shift
  out=$("$@" 2>&1) || rc=$?
  if ((rc != 0)); then pass "$what"; else fail "$what" "'$*' succeeded${out:+, output: $(_assert_tail "$out")}"; fi
}

assert_eq() {
  if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

assert_contains() {
  if [[ $2 == *"$3"* ]]; then pass "$1"; else fail "$1" "'$3' not in '$(_assert_tail "$2")'"; fi
}

assert_match() { # WHAT ERE TEXT: some line of TEXT matches the extended regular expression
  if grep -Eq -- "$2" <<<"$3"; then pass "$1"; else fail "$1" "/$2/ matches no line of '$(_assert_tail "$3")'"; fi
}

assert_empty() {
  if [[ -z $2 ]]; then pass "$1"; else fail "$1" "expected nothing, got '$(_assert_tail "$2")'"; fi
}

assert_require_root() {
  if [[ $(id -u) -ne 0 ]]; then
    fail "must run as root (this test needs network namespaces and cgroups; it does not skip)"
    _ASSERT_ENDING=1
    exit 1
  fi
}

assert_cleanup() {
  _ASSERT_CLEANUPS+=("$(printf '%q ' "$@")")
}

assert_done() { _ASSERT_ENDING=1; exit 0; }

# Last lines of a long output, on one line, for failure messages.
_assert_tail() { printf '%s' "$1" | tail -n 5 | tr '\n' '|'; }

_assert_on_exit() {
  local rc=$? i
  set +e
  if ((rc != 0)) && [[ -z $_ASSERT_ENDING ]]; then
    fail "test aborted with status $rc" "${_ASSERT_LAST_ERR:-see the output above}"
  fi
  for ((i = ${#_ASSERT_CLEANUPS[@]} - 1; i >= 0; i--)); do
    eval "${_ASSERT_CLEANUPS[i]}" >&2
  done
  echo "$ASSERT_PASSED passed, $ASSERT_FAILED failed"
  ((ASSERT_FAILED == 0 && ASSERT_PASSED > 0)) && exit 0
  exit 1
}

trap _assert_on_exit EXIT
# Where a `set -e` test stopped, for the abort message.
trap '_ASSERT_LAST_ERR="line $LINENO: $BASH_COMMAND"' ERR
