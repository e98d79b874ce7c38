#!/usr/bin/env bash
# Imports Docker images into the test cluster's containerd (namespace
# k8s.io), so that pods run them with imagePullPolicy: Never:
#
#   deploy/kubernetes/testcluster/images.sh gameday/sut:dev [IMAGE...]
#
# An image whose Docker image ID was imported before is skipped (the ID is
# kept as a label on containerd's image). The cluster must be up (up.sh).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -gt 0 ] || { echo "usage: $0 IMAGE..." >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "images.sh must run as root"
command -v docker >/dev/null || die "the docker CLI is not on PATH"
daemon_pid containerd >/dev/null || die "the cluster's containerd is not running (run up.sh)"
snapshotter=$(cat "$STATE/snapshotter")

exec 8>"$STATE/.images.lock"
flock 8

# normalize REF prints the name containerd (and the kubelet) give REF:
# gameday/sut:dev -> docker.io/gameday/sut:dev, busybox -> docker.io/library/busybox:latest.
normalize() {
  local ref=$1 first=${1%%/*}
  if [[ $ref != */* ]]; then
    ref=docker.io/library/$ref
  elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then
    ref=docker.io/$ref
  fi
  [[ ${ref##*/} == *[:@]* ]] || ref=$ref:latest
  echo "$ref"
}

for ref in "$@"; do
  id=$(docker image inspect --format '{{.Id}}' "$ref" 2>/dev/null) || die "Docker has no image $ref"
  name=$(normalize "$ref")
  if [[ "$(ctr_ images ls "name==$name" 2>/dev/null)" == *"io.gameday.docker-id=$id"* ]]; then
    log "$ref already in the cluster ($id)"
    continue
  fi
  start=$(date +%s%N)
  docker save "$ref" | ctr_ images import --snapshotter "$snapshotter" - >/dev/null
  ctr_ images label "$name" "io.gameday.docker-id=$id" >/dev/null
  log "imported $ref as $name ($id) in $(( ($(date +%s%N) - start) / 1000000 )) ms"
done
