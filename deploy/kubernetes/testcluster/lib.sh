# Shared by up.sh, down.sh and images.sh (sourced, not run): the cluster's
# fixed addresses, ports and paths, and the small helpers the scripts share.
# shellcheck shell=bash

tc_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tc_root=$(cd "$tc_here/../../.." && pwd)

STATE=${GAMEDAY_K8S_STATE:-/var/lib/gameday-testcluster}
NODE_NAME=gameday-testcluster
# The pods' bridge and subnet (host-local IPAM); the node's IP is the
# bridge's address (the kubelet refuses a loopback node IP). Docker's
# networks are 172.17.0.0/16 and, for gameday's docker runtime, 172.28.0.0/14.
BRIDGE=cni0
POD_CIDR=10.88.0.0/16
NODE_IP=10.88.0.1
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
# Fixed ports, below the ephemeral range (32768-60999) the tests' free ports
# come from, and away from the defaults of a real cluster on the same host.
APISERVER_PORT=26443
ETCD_CLIENT_PORT=22379
ETCD_PEER_PORT=22380
KUBELET_PORT=20250          # on $NODE_IP: the apiserver's logs/exec/port-forward
KUBELET_HEALTHZ_PORT=20248  # the rest on 127.0.0.1
CM_PORT=20257
SCHED_PORT=20259
PROXY_HEALTHZ_PORT=20256
PROXY_METRICS_PORT=20249
PAUSE_IMAGE=docker.io/gameday/k8s-pause:dev
# Pods live under their own cgroup parent (created in every v1 hierarchy),
# so down.sh removes exactly what the kubelet made.
CGROUP_ROOT=/gameday-testcluster

CONTAINERD_DIR=$STATE/containerd
CONTAINERD_SOCK=$CONTAINERD_DIR/containerd.sock
PKI=$STATE/pki
RUN=$STATE/run     # pid files
LOGS=$STATE/logs
KUBECONFIG_ADMIN=$STATE/admin.kubeconfig
# Started in this order; down.sh stops them in the reverse one.
DAEMONS=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

log() { echo "testcluster: $*" >&2; }
die() { echo "testcluster: error: $*" >&2; exit 1; }

# daemon_pid NAME prints the pid of the daemon NAME when it runs, as recorded
# in its pid file and confirmed by /proc (so a reused pid is never taken for
# it); fails otherwise.
daemon_pid() {
  local name=$1 pid exe
  [ -r "$RUN/$name.pid" ] || return 1
  read -r pid exe <"$RUN/$name.pid" || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ] || return 1
  echo "$pid"
}

# stop_daemons TIMEOUT_S NAME...: SIGTERM to each, then SIGKILL to those
# still running after TIMEOUT_S.
stop_daemons() {
  local timeout=$1 name pid i pids=()
  shift
  for name in "$@"; do
    if pid=$(daemon_pid "$name"); then
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  local running
  for ((i = 0; i < timeout * 10; i++)); do
    running=0
    for pid in "${pids[@]}"; do [ ! -d "/proc/$pid" ] || running=1; done
    [ "$running" = 1 ] || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if [ -d "/proc/$pid" ]; then
      log "pid $pid did not stop in ${timeout}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while [ -d "/proc/$pid" ]; do sleep 0.1; done
    fi
  done
  for name in "$@"; do rm -f "$RUN/$name.pid"; done
}

# ctr_ ARGS... runs ctr against the cluster's containerd, namespace k8s.io.
ctr_() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

# api PATH [CURL ARGS...] calls the apiserver as the admin.
api() {
  local path=$1; shift
  curl -sS --max-time 10 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "$@" "https://127.0.0.1:$APISERVER_PORT$path"
}
