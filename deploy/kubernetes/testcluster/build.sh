#!/usr/bin/env bash
# Builds the components of gameday's single-node Kubernetes test cluster from
# their Go modules at the release pinned in k8s/go.mod and etcd/go.mod:
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy
# and etcd. The binaries are cached by version (about 20 minutes cold on two
# cores; nothing is rebuilt when the cache has them) and never committed.
#
#   deploy/kubernetes/testcluster/build.sh        # prints the bin directory
#
# $GAMEDAY_K8S_CACHE (default ~/.cache/gameday/k8s) holds one folder per version.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
k8s_version=$(awk '/^require k8s.io\/kubernetes /{print $3}' "$here/k8s/go.mod")
etcd_version=$(awk '/^require go.etcd.io\/etcd\/server\/v3 /{print $3}' "$here/etcd/go.mod")
cache="${GAMEDAY_K8S_CACHE:-$HOME/.cache/gameday/k8s}/kubernetes-$k8s_version-etcd-$etcd_version"
bin="$cache/bin"
components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

complete=1
for c in "${components[@]}" etcd; do [ -x "$bin/$c" ] || complete=0; done
if [ "$complete" = 1 ]; then echo "$bin"; exit 0; fi

mkdir -p "$bin"
tmp="$cache/.build"
mkdir -p "$tmp"
flags=(-trimpath -ldflags=-s\ -w)
# CGO off: static binaries, as the kubelet's and kube-proxy's release builds.
export CGO_ENABLED=0 GOFLAGS=-mod=mod
echo "building etcd $etcd_version" >&2
(cd "$here/etcd" && go build "${flags[@]}" -o "$tmp/etcd" .)
pkgs=()
for c in "${components[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
echo "building ${components[*]} $k8s_version" >&2
(cd "$here/k8s" && go build "${flags[@]}" -o "$tmp/" "${pkgs[@]}")
# Only a complete set is published, so an interrupted build is never used.
for c in "${components[@]}" etcd; do mv "$tmp/$c" "$bin/$c"; done
rmdir "$tmp" 2>/dev/null || true
echo "$bin"
