# shellcheck shell=bash
# Kernel filesystems weft needs on the host: cgroup v2 (connect hooks attach
# there) and bpffs (pins outlive the agent). Sourced by scripts/test, the demo
# and the cluster library.

# Prints the cgroup2 mount point, mounting one at /run/weft/cgroup2 when the
# host has only cgroup v1.
host_cgroup2_mount() {
  local mnt
  mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
  if [ -z "$mnt" ]; then
    mnt=/run/weft/cgroup2
    mkdir -p "$mnt"
    mount -t cgroup2 none "$mnt" || { echo "host: cannot mount cgroup2 at $mnt" >&2; return 1; }
  fi
  printf '%s\n' "$mnt"
}

host_ensure_bpffs() {
  if ! awk '$2 == "/sys/fs/bpf" && $3 == "bpf" { found=1 } END { exit !found }' /proc/self/mounts; then
    mount -t bpf bpf /sys/fs/bpf || { echo "host: cannot mount bpffs at /sys/fs/bpf" >&2; return 1; }
  fi
}

host_prepare_kernel_fs() {
  host_cgroup2_mount >/dev/null && host_ensure_bpffs
}
