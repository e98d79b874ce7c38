#!/usr/bin/env bash
# Stops gameday's test cluster and removes what it added to the host:
#
#   deploy/kubernetes/testcluster/down.sh           # keeps certificates, etcd data and images
#   deploy/kubernetes/testcluster/down.sh --purge   # also empties the state dir (certificates, etcd data, images)
#   deploy/kubernetes/testcluster/down.sh --force   # even while test processes use it
#
# Test processes that got the cluster from internal/k8stest hold a shared
# flock on $STATE/.users.lock until they exit: down.sh refuses to stop the
# cluster under them (exit 3, naming them) unless --force is given.
#
# Order: the kubelet (so that nothing restarts the pods), every pod's
# processes through the cluster's containerd, kube-proxy and its iptables
# rules (kube-proxy --cleanup), the control plane, etcd, containerd, then the
# leftovers: mounts under the state dir, the bridge, the IPAM state, the
# cgroups, the kubelet's iptables chains, the sysctls up.sh recorded.
# Idempotent; the cache of binaries (build.sh) is left alone.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=0 force=0
for arg in "$@"; do
  case $arg in
    --purge) purge=1 ;;
    --force) force=1 ;;
    *) echo "usage: $0 [--purge] [--force]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || die "down.sh must run as root"

if [ -d "$STATE" ]; then
  if [ -z "${TC_LOCKED:-}" ]; then
    exec 9>"$STATE/.lock"
    flock 9
  fi
  # Held until down.sh exits: no test process takes the cluster meanwhile.
  exec 7>"$STATE/.users.lock"
  if ! flock -n -x 7; then
    users=$(lslocks -n -o PID,PATH 2>/dev/null | awk -v f="$STATE/.users.lock" '$2 == f { print $1 }' | sort -u | tr '\n' ' ')
    if [ "$force" = 1 ]; then
      log "stopping the cluster under test processes ${users:-(pids unknown)} (--force)"
    else
      echo "testcluster: error: the cluster is in use by test processes ${users:-(see lslocks)}; down.sh --force stops it anyway" >&2
      exit 3
    fi
  fi
fi
bin=$(cat "$STATE/bindir" 2>/dev/null || true)

# 1. The kubelet first: it would restart what is stopped next.
stop_daemons 15 kubelet

# 2. Every pod: its tasks killed and deleted, its container records removed
# (so the next containerd starts with no stale sandbox), through the
# cluster's containerd.
if daemon_pid containerd >/dev/null; then
  tasks=$(ctr_ tasks ls -q 2>/dev/null || true)
  for id in $tasks; do ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
  for id in $tasks; do ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true; done
  for id in $(ctr_ containers ls -q 2>/dev/null || true); do
    ctr_ containers delete "$id" >/dev/null 2>&1 || true
  done
  [ -z "$tasks" ] || log "killed $(wc -w <<<"$tasks") pod task(s)"
fi

# 3. kube-proxy and its rules.
stop_daemons 10 kube-proxy
if [ -n "$bin" ] && [ -x "$bin/kube-proxy" ]; then
  "$bin/kube-proxy" --cleanup >"$LOGS/kube-proxy-cleanup.log" 2>&1 ||
    log "kube-proxy --cleanup failed (see $LOGS/kube-proxy-cleanup.log); removing KUBE-* chains by hand"
fi

# 4. The control plane, etcd, containerd.
stop_daemons 10 kube-scheduler kube-controller-manager kube-apiserver
stop_daemons 15 etcd containerd

# 5. What may survive its daemon: the shims of the cluster's containerd
# (their command line names its socket) and processes left in the pods'
# cgroups.
for p in /proc/[0-9]*; do
  cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null || true)
  if [[ $cmd == *containerd-shim* && $cmd == *"$CONTAINERD_SOCK"* ]]; then
    log "killing leftover shim ${p#/proc/}"
    kill -KILL "${p#/proc/}" 2>/dev/null || true
  fi
done
while read -r _ mp type _; do
  [[ $type == cgroup || $type == cgroup2 ]] && [ -d "$mp$CGROUP_ROOT" ] || continue
  find "$mp$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do
    kill -KILL "$pid" 2>/dev/null || true
  done
done </proc/mounts

# 6. Mounts under the state dir (volumes, the kubelet's root, sandboxes'
# /dev/shm, network namespaces, rootfs), deepest first.
unmount_all() {
  local mp tries
  for tries in 1 2 3; do
    mapfile -t mps < <(awk -v s="$STATE/" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    [ ${#mps[@]} -gt 0 ] || return 0
    for mp in "${mps[@]}"; do umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true; done
  done
  awk -v s="$STATE/" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo | grep -q . && return 1
  return 0
}
unmount_all || log "warning: mounts left under $STATE: $(awk -v s="$STATE/" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo | tr '\n' ' ')"

# 7. The network: the bridge (the pods' veths died with their namespaces),
# the IPAM leases, the runtime state.
ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE"
rm -rf "$STATE/cni/ipam" "$CONTAINERD_DIR/state" "$CONTAINERD_DIR/runc" "$STATE/kubelet/pods"

# 8. iptables: our FORWARD rules, then any KUBE-* chain left (the kubelet's
# KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT; kube-proxy's when
# --cleanup could not run).
for dir in -i -o; do
  while iptables -D FORWARD "$dir" "$BRIDGE" -m comment --comment gameday-testcluster -j ACCEPT 2>/dev/null; do :; done
done
remove_kube_chains() {
  local cmd=$1 table rules chains rule chain
  command -v "$cmd" >/dev/null || return 0
  for table in filter nat mangle raw; do
    rules=$("$cmd-save" -t "$table" 2>/dev/null) || continue
    chains=$(sed -n 's/^:\(KUBE-[^ ]*\) .*/\1/p' <<<"$rules")
    [ -n "$chains" ] || continue
    # Jumps from the built-in (and any other non-KUBE) chains into KUBE-*.
    while IFS= read -r rule; do
      eval "$cmd -t $table -D ${rule#-A }" 2>/dev/null || true
    done < <(grep -E '^-A [^ ]+ .*-j KUBE-' <<<"$rules" | grep -v '^-A KUBE-' || true)
    for chain in $chains; do "$cmd" -t "$table" -F "$chain" 2>/dev/null || true; done
    for chain in $chains; do "$cmd" -t "$table" -X "$chain" 2>/dev/null || true; done
  done
}
remove_kube_chains iptables
remove_kube_chains ip6tables

# 9. The pods' cgroups, deepest first (empty by now).
while read -r _ mp type _; do
  [[ $type == cgroup || $type == cgroup2 ]] && [ -d "$mp$CGROUP_ROOT" ] || continue
  find "$mp$CGROUP_ROOT" -depth -type d -exec rmdir {} + 2>/dev/null || true
  [ ! -d "$mp$CGROUP_ROOT" ] || log "warning: cgroup $mp$CGROUP_ROOT is not empty"
done </proc/mounts

# 10. The kernel settings as they were before up.sh.
if [ -r "$STATE/sysctl.orig" ]; then
  while IFS= read -r kv; do sysctl -qw "$kv" 2>/dev/null || true; done <"$STATE/sysctl.orig"
  rm -f "$STATE/sysctl.orig"
fi

if [ "$purge" = 1 ] && [ -d "$STATE" ]; then
  if awk -v s="$STATE/" 'index($5, s) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    die "not removing $STATE: mounts are left under it"
  fi
  # The lock files stay: a process waiting on one must lock what the next
  # up.sh locks.
  find "$STATE" -mindepth 1 -maxdepth 1 ! -name .lock ! -name .users.lock ! -name .k8stest.lock \
    -exec rm -rf --one-file-system {} +
  log "purged $STATE"
fi
log "down"
