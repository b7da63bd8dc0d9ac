# shellcheck shell=bash
# What every benchmark script of tests/perf shares: the cluster and agent
# libraries, its flags, the checks before it starts, and where the load
# generator runs.
#
#   perf_setup NAME HELP_LINES "$@"
#     parses --out DIR, --rounds N, --seconds S, --bulk-mib M and (when the
#     caller set `idle` or `rates` beforehand) --idle N and --rates "R...",
#     over the defaults the caller set;
#     needs root and weft-bench; sets root, bench, out (created), and the
#     pinning: load_cpu (--load-cpus, default 1 when there are two CPUs),
#     proxy_cpus (--proxy-cpus, a taskset list for agents, proxies and
#     servers, default 0) and workers (--workers, agent workers, default 1).

_perf_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$_perf_lib/../../.." && pwd)
source "$root/scripts/lib/cluster.sh"
source "$root/scripts/lib/agents.sh"

perf_setup() {
  local name=$1 help=$2
  shift 2
  out=${out:-$root/out/perf}
  while [ $# -gt 0 ]; do
    case "$1" in
      --out) out=$2; shift ;;
      --rounds) rounds=$2; shift ;;
      --seconds) seconds=$2; shift ;;
      --bulk-mib) bulk_mib=$2; shift ;;
      --idle) [ -n "${idle+set}" ] || { echo "$name: unknown argument '$1'" >&2; exit 2; }; idle=$2; shift ;;
      --rates) [ -n "${rates+set}" ] || { echo "$name: unknown argument '$1'" >&2; exit 2; }; rates=$2; shift ;;
      --proxy-cpus) proxy_cpus=$2; shift ;;
      --load-cpus) load_cpu=$2; shift ;;
      --workers) workers=$2; shift ;;
      -h|--help) sed -n "$help" "$0"; exit 0 ;;
      *) echo "$name: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
  done
  [ "$(id -u)" -eq 0 ] || { echo "$name: needs root" >&2; exit 1; }
  bench=$WEFT_BUILD_DIR/tools/weft-bench/weft-bench
  [ -x "$bench" ] || { echo "$name: $bench not built" >&2; exit 1; }
  mkdir -p "$out"
  local cpus
  cpus=$(nproc)
  [ -n "${load_cpu:-}" ] || load_cpu=$((cpus > 1 ? 1 : 0))
  [ -n "${proxy_cpus:-}" ] || proxy_cpus=0
  [ -n "${workers:-}" ] || workers=1
}
