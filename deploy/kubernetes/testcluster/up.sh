#!/usr/bin/env bash
# Starts gameday's single-node Kubernetes test cluster on this machine (root;
# a test machine: it adds the bridge cni0, iptables rules and cgroups, see
# README.md) and prints the admin kubeconfig's path as the last line of
# stdout; everything else goes to stderr.
#
#   deploy/kubernetes/testcluster/up.sh      # idempotent: a healthy cluster is left alone
#   deploy/kubernetes/testcluster/down.sh    # stops it (--purge: and removes its state)
#
# Components: a containerd of its own (Debian's binary, CRI on, its own
# socket, root and CNI config; Docker's containerd is never touched), etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
# kube-proxy (iptables mode) built by build.sh, all as daemons with their pid
# files in $STATE/run and their logs in $STATE/logs; the sandbox image is
# built here from pause/main.go (FROM scratch, nothing is pulled).
# $GAMEDAY_K8S_STATE (default /var/lib/gameday-testcluster) is the state dir.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_ns=$(date +%s%N)
elapsed() { awk -v ns="$(( $(date +%s%N) - start_ns ))" 'BEGIN { printf "%.1f", ns / 1e9 }'; }

[ "$(id -u)" = 0 ] || die "up.sh must run as root (it starts a kubelet, a containerd and iptables rules)"
for c in containerd containerd-shim-runc-v2 ctr runc openssl curl iptables iptables-save ip go setsid flock tar sha256sum base64; do
  command -v "$c" >/dev/null || die "$c is not on PATH (apt-get install containerd containernetworking-plugins conntrack openssl curl iptables iproute2)"
done
for p in bridge host-local loopback; do
  [ -x "/usr/lib/cni/$p" ] || die "/usr/lib/cni/$p is missing (apt-get install containernetworking-plugins)"
done
[ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] || log "note: cgroup v2 host; cgroupRoot is created for v1 hierarchies only"

mkdir -p "$STATE" "$RUN" "$LOGS"
chmod 0755 "$STATE"
# One up.sh or down.sh at a time ($TC_LOCKED: the caller holds the lock).
if [ -z "${TC_LOCKED:-}" ]; then
  exec 9>"$STATE/.lock"
  flock 9
fi
export TC_LOCKED=1 # down.sh, called from here, must not take the lock again

# healthy: the apiserver is ready and the node is Ready.
# (The apiserver pretty-prints JSON for curl.)
node_ready() { [[ "$(api "/api/v1/nodes/$NODE_NAME" 2>/dev/null | tr -d ' \n')" == *'"type":"Ready","status":"True"'* ]]; }
healthy() { [ "$(api /readyz 2>/dev/null)" = ok ] && node_ready; }
alive() {
  local d
  for d in "${DAEMONS[@]}"; do daemon_pid "$d" >/dev/null || return 1; done
}
if [ -r "$KUBECONFIG_ADMIN" ] && alive; then
  # Every daemon runs: give a busy apiserver or node 30 s to answer.
  for ((i = 0; i < 30; i++)); do
    if healthy; then
      log "already up ($STATE)"
      echo "$KUBECONFIG_ADMIN"
      exit 0
    fi
    alive || break
    sleep 1
  done
  log "the cluster runs but is not healthy"
fi

bin=$("$tc_here/build.sh" | tail -n 1)
for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy etcd; do
  [ -x "$bin/$c" ] || die "build.sh printed $bin, which has no $c"
done

# Whatever a previous, partial or crashed, cluster left is cleared first.
partial=0
for d in "${DAEMONS[@]}"; do daemon_pid "$d" >/dev/null && partial=1; done
ip link show "$BRIDGE" >/dev/null 2>&1 && partial=1
if [ "$partial" = 1 ]; then
  log "a partial cluster is running: down.sh first"
  # (It refuses, exit 3, when test processes still use that cluster.)
  "$tc_here/down.sh" 9>&- >&2
fi
echo "$bin" >"$STATE/bindir"

on_exit() {
  local rc=$?
  [ "$rc" != 0 ] || return 0
  log "up.sh failed (exit $rc) after $(elapsed) s; logs in $LOGS:"
  local f
  for f in "$LOGS"/*.log; do
    [ -s "$f" ] || continue
    echo "==> $f (last lines) <==" >&2
    tail -n 8 "$f" >&2
  done
  log "run down.sh to clean up"
}
trap on_exit EXIT

# --- host preparation --------------------------------------------------------

# The ports must be free (a foreign listener would be taken for ours).
for p in "$APISERVER_PORT" "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT" "$KUBELET_HEALTHZ_PORT" "$CM_PORT" "$SCHED_PORT" "$PROXY_HEALTHZ_PORT" "$PROXY_METRICS_PORT"; do
  if ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
    die "port $p is in use: $(ss -Hltnp "sport = :$p" | head -n 1)"
  fi
done
# The pods' subnet must be nobody else's.
clash=$(ip -4 route show match "$NODE_IP" | grep -v -e '^default' -e "dev $BRIDGE " || true)
[ -z "$clash" ] || die "$POD_CIDR overlaps a route of this host: $clash"

# Kernel settings the kubelet, kube-proxy and the bridge change: their
# previous values are kept for down.sh to restore.
sysctls=(net.ipv4.ip_forward vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.bridge.bridge-nf-call-iptables)
if [ ! -d /proc/sys/net/bridge ]; then
  modprobe br_netfilter 2>/dev/null || log "no br_netfilter (fine: kube-proxy masquerades all service traffic)"
fi
if [ ! -e "$STATE/sysctl.orig" ]; then
  for s in "${sysctls[@]}"; do
    v=$(sysctl -n "$s" 2>/dev/null) && echo "$s=$v"
  done >"$STATE/sysctl.orig.tmp"
  mv "$STATE/sysctl.orig.tmp" "$STATE/sysctl.orig"
fi
sysctl -qw net.ipv4.ip_forward=1

# The pods' cgroup parent, in every v1 hierarchy (the kubelet checks it exists).
while read -r _ mp type _; do
  [ "$type" = cgroup ] && mkdir -p "$mp$CGROUP_ROOT"
done </proc/mounts

# The bridge and the node's address on it, before the kubelet starts.
ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
ip addr replace "$NODE_IP/${POD_CIDR#*/}" dev "$BRIDGE"
ip link set "$BRIDGE" up

# Docker sets the FORWARD policy to DROP: let the pods' traffic through.
for dir in -i -o; do
  rule=(FORWARD "$dir" "$BRIDGE" -m comment --comment gameday-testcluster -j ACCEPT)
  iptables -C "${rule[@]}" 2>/dev/null || iptables -I "${rule[@]}"
done

# --- certificates and kubeconfigs ---------------------------------------------

mkdir -p "$PKI"
chmod 0700 "$PKI"
pki_params="v2 $NODE_NAME $NODE_IP $SERVICE_IP $APISERVER_PORT"
gen_key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; chmod 0600 "$1"; }
# gen_cert NAME SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES]
gen_cert() {
  local name=$1 subj=$2 eku=$3 sans=${4:-}
  gen_key "$PKI/$name.key"
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=$eku"
    echo "subjectKeyIdentifier=hash"
    echo "authorityKeyIdentifier=keyid"
    [ -z "$sans" ] || echo "subjectAltName=$sans"
  } >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}
if [ "$(cat "$PKI/params" 2>/dev/null)" != "$pki_params" ]; then
  log "generating certificates in $PKI"
  rm -f "$PKI"/*
  gen_key "$PKI/ca.key"
  cat >"$PKI/ca.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = gameday-testcluster-ca
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
EOF
  openssl req -x509 -new -key "$PKI/ca.key" -config "$PKI/ca.cnf" -extensions v3_ca -days 3650 -sha256 -out "$PKI/ca.crt" 2>/dev/null
  rm -f "$PKI/ca.cnf"
  gen_cert apiserver "/CN=kube-apiserver" serverAuth \
    "IP:127.0.0.1,IP:$NODE_IP,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  gen_cert apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client" clientAuth
  gen_cert kubelet "/CN=$NODE_NAME" serverAuth "IP:$NODE_IP,IP:127.0.0.1,DNS:$NODE_NAME,DNS:localhost"
  gen_cert kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
  gen_cert admin "/O=system:masters/CN=gameday-testcluster-admin" clientAuth
  gen_cert controller-manager "/CN=system:kube-controller-manager" clientAuth
  gen_cert scheduler "/CN=system:kube-scheduler" clientAuth
  gen_cert kube-proxy "/CN=system:kube-proxy" clientAuth
  gen_cert front-proxy-client "/CN=front-proxy-client" clientAuth
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  chmod 0600 "$PKI/sa.key"
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  echo "$pki_params" >"$PKI/params"
fi

mkdir -p "$STATE/kubeconfigs"
# write_kubeconfig FILE USER CERT: certificates embedded, server on 127.0.0.1.
write_kubeconfig() {
  umask 077
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: gameday-testcluster
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$3.crt")
    client-key-data: $(base64 -w0 "$PKI/$3.key")
contexts:
- name: gameday-testcluster
  context:
    cluster: gameday-testcluster
    user: $2
current-context: gameday-testcluster
EOF
  umask 022
}
write_kubeconfig "$STATE/kubeconfigs/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
write_kubeconfig "$STATE/kubeconfigs/scheduler.kubeconfig" system:kube-scheduler scheduler
write_kubeconfig "$STATE/kubeconfigs/kubelet.kubeconfig" "system:node:$NODE_NAME" kubelet-client
write_kubeconfig "$STATE/kubeconfigs/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
write_kubeconfig "$KUBECONFIG_ADMIN.tmp" gameday-testcluster-admin admin
mv "$KUBECONFIG_ADMIN.tmp" "$KUBECONFIG_ADMIN"

# --- daemons -----------------------------------------------------------------

# start_daemon NAME EXE ARGS...: in a session of its own (it outlives this
# script and the test that ran it), stdin closed, output to its log, and no
# other descriptor inherited (a daemon holding a lock file's descriptor, ours
# or a caller's such as flock(1)'s, would hold that lock forever).
start_daemon() {
  local name=$1 exe
  exe=$(readlink -f "$2")
  shift 2
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      [ "$fd" -le 2 ] || eval "exec $fd>&-"
    done
    exec setsid "$exe" "$@"
  ) </dev/null >"$LOGS/$name.log" 2>&1 &
  echo "$! $exe" >"$RUN/$name.pid"
  log "started $name (pid $!)"
}
# wait_for WHAT SECONDS DAEMON COMMAND...: polls COMMAND every 0.2 s; fails
# early when DAEMON died.
wait_for() {
  local what=$1 secs=$2 daemon=$3 i
  shift 3
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ -n "$daemon" ] && ! daemon_pid "$daemon" >/dev/null; then
      die "$daemon exited while waiting for $what; see $LOGS/$daemon.log"
    fi
    sleep 0.2
  done
  die "timed out after ${secs}s waiting for $what"
}

# containerd: overlayfs when this filesystem can hold it, else native.
snapshotter=native
probe="$STATE/.overlay-probe"
rm -rf "$probe"
mkdir -p "$probe/l" "$probe/u" "$probe/w" "$probe/m"
if mount -t overlay overlay -o "lowerdir=$probe/l,upperdir=$probe/u,workdir=$probe/w" "$probe/m" 2>/dev/null; then
  umount "$probe/m"
  snapshotter=overlayfs
fi
rm -rf "$probe"
echo "$snapshotter" >"$STATE/snapshotter"

mkdir -p "$CONTAINERD_DIR" "$STATE/cni/net.d" "$STATE/cni/ipam"
cat >"$CONTAINERD_DIR/config.toml" <<EOF
# gameday test cluster's containerd (not Docker's): written by up.sh.
version = 2
root = "$CONTAINERD_DIR/root"
state = "$CONTAINERD_DIR/state"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "$PAUSE_IMAGE"
    # Without it runc fails with "can't get final child's PID from pipe":
    # this host denies lowering oom_score_adj (no CAP_SYS_RESOURCE).
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_selinux = false
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "$snapshotter"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
          Root = "$CONTAINERD_DIR/runc"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "$STATE/cni/net.d"
      max_conf_num = 1
  [plugins."io.containerd.internal.v1.opt"]
    path = "$CONTAINERD_DIR/opt"
EOF
cat >"$STATE/cni/net.d/10-gameday-testcluster.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "gameday-testcluster",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
start_daemon containerd /usr/bin/containerd --config "$CONTAINERD_DIR/config.toml"
wait_for "containerd" 30 containerd ctr_ version

# The sandbox image, built from pause/main.go into a docker-archive tarball
# by hand (no Docker needed), imported once per content.
build_pause_image() {
  local dir="$STATE/pause-image" arch layer cfg
  rm -rf "$dir"
  mkdir -p "$dir/rootfs" "$dir/archive"
  (cd "$tc_here/pause" && CGO_ENABLED=0 GOFLAGS= GOWORK=off go build -trimpath -ldflags "-s -w" -o "$dir/rootfs/pause" .)
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir/rootfs" -cf "$dir/layer.tar" pause
  layer=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
  arch=$(go env GOARCH)
  printf '{"architecture":"%s","os":"linux","config":{"User":"65535:65535","Entrypoint":["/pause"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"deploy/kubernetes/testcluster/up.sh: pause/main.go"}]}' \
    "$arch" "$layer" >"$dir/config.json"
  cfg=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
  if [[ "$(ctr_ images ls "name==$PAUSE_IMAGE" 2>/dev/null)" == *"io.gameday.image-config=$cfg"* ]]; then
    rm -rf "$dir"
    return 0
  fi
  mkdir -p "$dir/archive/$layer"
  mv "$dir/layer.tar" "$dir/archive/$layer/layer.tar"
  mv "$dir/config.json" "$dir/archive/$cfg.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cfg" "${PAUSE_IMAGE#docker.io/}" "$layer" >"$dir/archive/manifest.json"
  tar -C "$dir/archive" -cf "$dir/pause.tar" manifest.json "$cfg.json" "$layer/layer.tar"
  ctr_ images import --snapshotter "$snapshotter" "$dir/pause.tar" >&2
  ctr_ images label "$PAUSE_IMAGE" "io.gameday.image-config=$cfg" >/dev/null
  rm -rf "$dir"
  log "imported $PAUSE_IMAGE"
}
build_pause_image

start_daemon etcd "$bin/etcd" \
  --name gameday-testcluster \
  --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "gameday-testcluster=http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster-state new \
  --unsafe-no-fsync \
  --log-level warn
etcd_healthy() { curl -sf --max-time 2 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" | grep -q '"health":"true"'; }
wait_for "etcd" 30 etcd etcd_healthy

mkdir -p "$STATE/apiserver" "$STATE/controller-manager" "$STATE/scheduler"
start_daemon kube-apiserver "$bin/kube-apiserver" \
  --advertise-address "$NODE_IP" \
  --bind-address 127.0.0.1 \
  --secure-port "$APISERVER_PORT" \
  --cert-dir "$STATE/apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --client-ca-file "$PKI/ca.crt" \
  --tls-cert-file "$PKI/apiserver.crt" \
  --tls-private-key-file "$PKI/apiserver.key" \
  --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$PKI/ca.crt" \
  --kubelet-preferred-address-types InternalIP \
  --requestheader-client-ca-file "$PKI/ca.crt" \
  --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User \
  --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$PKI/front-proxy-client.crt" \
  --proxy-client-key-file "$PKI/front-proxy-client.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" \
  --service-account-signing-key-file "$PKI/sa.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --authorization-mode Node,RBAC \
  --enable-admission-plugins NodeRestriction \
  --endpoint-reconciler-type none \
  --allow-privileged=true \
  --profiling=false \
  --v=1
apiserver_ready() { [ "$(api /readyz)" = ok ]; }
wait_for "kube-apiserver /readyz" 90 kube-apiserver apiserver_ready

# The apiserver's client certificate may use the kubelet API (logs, exec,
# port-forward).
binding='{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"gameday-testcluster:apiserver-kubelet-client"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:kubelet-api-admin"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"kube-apiserver-kubelet-client"}]}'
code=$(api /apis/rbac.authorization.k8s.io/v1/clusterrolebindings -o /dev/null -w '%{http_code}' \
  -X POST -H 'Content-Type: application/json' --data "$binding")
case $code in 201 | 409) ;; *) die "creating the apiserver-kubelet-client binding: HTTP $code" ;; esac

start_daemon kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig "$STATE/kubeconfigs/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$STATE/kubeconfigs/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$STATE/kubeconfigs/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 \
  --secure-port "$CM_PORT" \
  --cert-dir "$STATE/controller-manager" \
  --cluster-name gameday-testcluster \
  --service-account-private-key-file "$PKI/sa.key" \
  --root-ca-file "$PKI/ca.crt" \
  --use-service-account-credentials=true \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --leader-elect=false \
  --profiling=false \
  --v=1

start_daemon kube-scheduler "$bin/kube-scheduler" \
  --kubeconfig "$STATE/kubeconfigs/scheduler.kubeconfig" \
  --authentication-kubeconfig "$STATE/kubeconfigs/scheduler.kubeconfig" \
  --authorization-kubeconfig "$STATE/kubeconfigs/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 \
  --secure-port "$SCHED_PORT" \
  --cert-dir "$STATE/scheduler" \
  --leader-elect=false \
  --profiling=false \
  --v=1

mkdir -p "$STATE/kubelet" "$STATE/pod-logs"
cat >"$STATE/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $PKI/ca.crt
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
cgroupsPerQOS: true
failCgroupV1: false
failSwapOn: false
# This host forbids lowering oom_score_adj.
oomScoreAdj: 0
maxPods: 110
registerNode: true
podLogsDir: $STATE/pod-logs
volumePluginDir: $STATE/kubelet/volume-plugins
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
serializeImagePulls: false
# A busy or full test disk must not evict the tests' pods, nor collect images.
evictionHard:
  memory.available: 1Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
  imagefs.inodesFree: 1%
evictionPressureTransitionPeriod: 10s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
shutdownGracePeriod: 0s
containerLogMaxSize: 10Mi
EOF
start_daemon kubelet "$bin/kubelet" \
  --config "$STATE/kubelet-config.yaml" \
  --kubeconfig "$STATE/kubeconfigs/kubelet.kubeconfig" \
  --hostname-override "$NODE_NAME" \
  --node-ip "$NODE_IP" \
  --root-dir "$STATE/kubelet" \
  --cert-dir "$STATE/kubelet/pki" \
  --v=1

cat >"$STATE/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $STATE/kubeconfigs/kube-proxy.kubeconfig
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:$PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$PROXY_METRICS_PORT
mode: iptables
clusterCIDR: $POD_CIDR
detectLocalMode: ClusterCIDR
nodePortAddresses: ["$NODE_IP/32"]
oomScoreAdj: 0
iptables:
  # Service traffic is SNATed to the bridge's address: a pod reaching a pod
  # of the same bridge through a ClusterIP (or itself) gets its answers back
  # through the host even without br_netfilter.
  masqueradeAll: true
  localhostNodePorts: false
  syncPeriod: 30s
  minSyncPeriod: 1s
conntrack:
  # Leave the host's conntrack settings alone.
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
start_daemon kube-proxy "$bin/kube-proxy" --config "$STATE/kube-proxy-config.yaml" --v=1

# The shop's image, when Docker has it, so that pods can run it at once.
if command -v docker >/dev/null && docker image inspect gameday/sut:dev >/dev/null 2>&1; then
  "$tc_here/images.sh" gameday/sut:dev 9>&- >&2
fi

wait_for "node $NODE_NAME Ready" 180 kubelet node_ready
log "node $NODE_NAME Ready after $(elapsed) s"
sa_exists() { api /api/v1/namespaces/default/serviceaccounts/default -f -o /dev/null; }
wait_for "the default ServiceAccount" 60 kube-controller-manager sa_exists
for d in "${DAEMONS[@]}"; do daemon_pid "$d" >/dev/null || die "$d exited; see $LOGS/$d.log"; done
log "up in $(elapsed) s; KUBECONFIG=$KUBECONFIG_ADMIN"
echo "$KUBECONFIG_ADMIN"
