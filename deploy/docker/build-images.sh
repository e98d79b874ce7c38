#!/usr/bin/env bash
# Builds gameday's container images offline, from static Go binaries on empty
# (FROM scratch) images: nothing is pulled from a registry.
#
#   bash deploy/docker/build-images.sh [sut] [prometheus]   (default: both)
#
#   gameday/sut:dev         the shop, cmd/sut
#   gameday/prometheus:dev  Prometheus from its Go module (deploy/docker/prometheus/go.mod)
#
# Works from any directory; idempotent: with nothing changed, go's build cache
# and docker's layer cache make a rerun take a few seconds and give the same
# image IDs. Binaries are staged in $GAMEDAY_IMAGE_CACHE (default
# <repo>/.cache/images, git-ignored). Needs go and the docker CLI (legacy
# builder); exits non-zero on the first failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${GAMEDAY_IMAGE_CACHE:-$root/.cache/images}
all=(sut prometheus)

usage() { echo "usage: $0 [$(IFS="|"; echo "${all[*]}")]..." >&2; exit 2; }
die() { echo "build-images: $*" >&2; exit 1; }

names=()
for n in "$@"; do
  case $n in
    sut|prometheus) names+=("$n") ;;
    -h|--help) usage ;;
    *) echo "build-images: unknown image \"$n\" (known: ${all[*]})" >&2; usage ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")

command -v go >/dev/null || die "go is not on PATH"
command -v docker >/dev/null || die "the docker CLI is not on PATH"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
  die "the Docker engine is unreachable ($(docker version --format '{{.Server.Version}}' 2>&1 | tail -1))"

mkdir -p "$cache"
# One build at a time per cache directory (tests build from parallel processes).
exec 9>"$cache/.lock"
flock 9

revision=unknown
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  revision=$(git -C "$root" describe --always --dirty --abbrev=40 2>/dev/null || echo unknown)
fi

export CGO_ENABLED=0 DOCKER_BUILDKIT=0

# stage_rootfs DIR SUBDIR... makes empty directories for the image's root:
# tmp sticky and world-writable, the others 0755.
stage_rootfs() {
  local dir=$1; shift
  for d in "$@"; do
    mkdir -p "$dir/rootfs/$d"
    chmod 0755 "$dir/rootfs/$d"
  done
  mkdir -p "$dir/rootfs/tmp"
  chmod 1777 "$dir/rootfs/tmp"
}

# docker_build NAME TAG CONTEXT [--build-arg ...] builds quietly; the
# builder's output is shown only when it fails.
docker_build() {
  local name=$1 tag=$2 ctx=$3; shift 3
  local log="$cache/$name.docker.log"
  if ! docker build --quiet --tag "$tag" --build-arg "REVISION=$revision" "$@" "$ctx" >"$log" 2>&1; then
    cat "$log" >&2
    die "docker build $tag failed"
  fi
}

build_sut() {
  local ctx="$cache/sut"
  stage_rootfs "$ctx" data
  (cd "$root" && go build -trimpath -ldflags "-s -w" -o "$ctx/sut" ./cmd/sut) || die "go build ./cmd/sut failed"
  cp "$here/sut.Dockerfile" "$ctx/Dockerfile"
  docker_build sut gameday/sut:dev "$ctx"
}

build_prometheus() {
  local ctx="$cache/prometheus" mod="$here/prometheus"
  local version rootversion semver
  version=$(cd "$mod" && go list -m -f '{{.Version}}' github.com/prometheus/prometheus) ||
    die "cannot read the Prometheus version from $mod/go.mod"
  rootversion=$(cd "$root" && go list -m -f '{{.Version}}' github.com/prometheus/prometheus 2>/dev/null || true)
  if [ -n "$rootversion" ] && [ "$rootversion" != "$version" ]; then
    echo "build-images: warning: $mod/go.mod has Prometheus $version, the root go.mod $rootversion;" \
      "run: (cd deploy/docker/prometheus && go get -tool github.com/prometheus/prometheus/cmd/prometheus@$rootversion)" >&2
  fi
  # Go module v0.MMmm.p is Prometheus M.mm.p (v0.313.5 = 3.13.5).
  if [[ $version =~ ^v0\.([0-9]+)([0-9][0-9])\.([0-9]+)$ ]]; then
    semver="${BASH_REMATCH[1]}.$((10#${BASH_REMATCH[2]})).${BASH_REMATCH[3]}"
  else
    semver=${version#v}
  fi
  stage_rootfs "$ctx" prometheus etc/prometheus
  cp "$here/prometheus.default.yml" "$ctx/rootfs/etc/prometheus/prometheus.yml"
  chmod 0644 "$ctx/rootfs/etc/prometheus/prometheus.yml"
  # remove_all_sd drops the cloud service discoveries (AWS, Azure, GCE,
  # Kubernetes, ...): a third of the compile time and half the binary;
  # enable_dns_sd keeps DNS. Static, file and http discovery are always in.
  (cd "$mod" && go build -trimpath -tags remove_all_sd,enable_dns_sd \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$semver -X github.com/prometheus/common/version.BuildUser=gameday" \
    -o "$ctx/prometheus" github.com/prometheus/prometheus/cmd/prometheus) || die "go build prometheus failed"
  cp "$here/prometheus.Dockerfile" "$ctx/Dockerfile"
  docker_build prometheus gameday/prometheus:dev "$ctx" --build-arg "VERSION=$semver"
}

report=()
for n in "${names[@]}"; do
  start=$(date +%s%N)
  echo "build-images: building gameday/$n:dev ..." >&2
  "build_$n"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  read -r id size < <(docker image inspect --format '{{.Id}} {{.Size}}' "gameday/$n:dev")
  report+=("$(printf '%-24s %s %5d.%d MB %4d.%d s' "gameday/$n:dev" "$id" \
    $((size / 1000000)) $((size / 100000 % 10)) $((ms / 1000)) $((ms / 100 % 10)))")
done
printf '%s\n' "${report[@]}"
