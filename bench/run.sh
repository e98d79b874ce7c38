#!/usr/bin/env bash
# bench/run.sh — gameday load beside the usual HTTP load generators, on loopback.
#
# Stands on its own: builds gameday and the trivial target (bench/target), installs the
# peers that are missing (wrk from Debian; hey, fortio, k6 and vegeta from the Go module
# proxy, into $PEERS_BIN), runs every tool against the same target in one run and prints
# a markdown table with ratios to gameday. Every load run is bounded by `timeout`; every
# process it starts is stopped by its PID; all traffic stays on 127.0.0.1.
#
# Suites (SUITES, default "efficiency pacing accuracy co"):
#   efficiency  max throughput, $CONNS connections, $DURATION_S s, GET /: CPU time of the
#               tool per 1,000 requests (target pinned to core 0, tool to core 1)
#   pacing      gameday open model at $RATE/s for $PACE_S s: achieved rate, scheduler lag
#   accuracy    gameday at 200/s against /delay?ms=50: p50 vs the 50 ms truth
#   co          gameday at 1,000/s for $CO_S s, 10 connections, the target SIGSTOPped for
#               1 s in the middle: corrected vs uncorrected p99 (coordinated omission)
#   memory      (not in the default set) gameday at 5,000/s for $MEM_S s: RSS at 60 s vs end
# Knobs: DURATION_S=10 CONNS=50 RATE=20000 PACE_S=30 CO_S=30 MEM_S=600 TOOLS="wrk fortio
#   hey vegeta k6" PORT=18090 PEERS_BIN=$HOME/.cache/gameday-peers/bin OUT_DIR SKIP_INSTALL=0
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
PEERS_BIN=${PEERS_BIN:-$HOME/.cache/gameday-peers/bin}
export PATH="$PEERS_BIN:$PATH"
DURATION_S=${DURATION_S:-10}
CONNS=${CONNS:-50}
RATE=${RATE:-20000}
PACE_S=${PACE_S:-30}
CO_S=${CO_S:-30}
MEM_S=${MEM_S:-600}
PORT=${PORT:-18090}
TOOLS=${TOOLS:-"wrk fortio hey vegeta k6"}
SUITES=${SUITES:-"efficiency pacing accuracy co"}
SKIP_INSTALL=${SKIP_INSTALL:-0}
OUT_DIR=${OUT_DIR:-/tmp/gameday-bench/run-$(date +%Y%m%d-%H%M%S)}
HEY_VERSION=v0.1.5 FORTIO_VERSION=v1.68.2 K6_VERSION=v1.8.1 VEGETA_VERSION=v12.13.0
BASE="http://127.0.0.1:$PORT"
mkdir -p "$OUT_DIR/bin" "$OUT_DIR/raw" "$PEERS_BIN"
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# ------------------------------------------------------------------ install
install_peers() {
  if ! command -v wrk >/dev/null; then
    log "apt-get install wrk"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null || log "WARN: wrk not installed"
  fi
  local spec bin pkg
  for spec in "hey github.com/rakyll/hey@$HEY_VERSION" "fortio fortio.org/fortio@$FORTIO_VERSION" "k6 go.k6.io/k6@$K6_VERSION"; do
    read -r bin pkg <<<"$spec"
    [[ " $TOOLS " == *" $bin "* ]] || continue
    [[ -x $PEERS_BIN/$bin ]] && continue
    log "go install $pkg"
    GOBIN=$PEERS_BIN "$GO" install "$pkg" || log "WARN: $bin not installed"
  done
  if [[ " $TOOLS " == *" vegeta "* && ! -x $PEERS_BIN/vegeta ]]; then
    # `go install …@version` consults the version list, which the proxy refuses for vegeta.
    log "go mod download + go build vegeta $VEGETA_VERSION"
    local dir
    dir=$(cd /tmp && "$GO" mod download -json "github.com/tsenart/vegeta/v12@$VEGETA_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    if [[ -n $dir ]]; then
      (cd "$dir" && "$GO" build -trimpath -o "$PEERS_BIN/vegeta" .) || log "WARN: vegeta build failed"
    else
      log "WARN: vegeta download failed"
    fi
  fi
}

build() {
  log "building gameday and the target"
  (cd "$ROOT" && "$GO" build -o "$OUT_DIR/bin/gameday" ./cmd/gameday && "$GO" build -o "$OUT_DIR/bin/benchtarget" ./bench/target) ||
    { log "build failed"; exit 1; }
}

# ------------------------------------------------------------------ target
TARGET_PID=
start_target() {
  curl -fsS "$BASE/" >/dev/null 2>&1 && { log "port $PORT is already in use: set PORT"; exit 1; }
  GOMAXPROCS=1 taskset -c 0 "$OUT_DIR/bin/benchtarget" -listen "127.0.0.1:$PORT" >"$OUT_DIR/target.log" 2>&1 &
  TARGET_PID=$!
  local i
  for i in $(seq 50); do
    kill -0 "$TARGET_PID" 2>/dev/null || { log "target exited: $(cat "$OUT_DIR/target.log")"; exit 1; }
    curl -fsS "$BASE/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "target did not start"; exit 1
}
stop_target() {
  [[ -n $TARGET_PID ]] || return 0
  kill -CONT "$TARGET_PID" 2>/dev/null
  kill "$TARGET_PID" 2>/dev/null && wait "$TARGET_PID" 2>/dev/null
  TARGET_PID=
}
trap stop_target EXIT

served() { curl -fsS "$BASE/__served" 2>/dev/null || echo 0; }

# run_cpu NAME CMD…: runs a bounded load on core 1; records CPU seconds (user+sys) of the
# tool and the requests the target served meanwhile.
run_cpu() {
  local name=$1; shift
  local s0 s1 cpu
  s0=$(served)
  taskset -c 1 /usr/bin/time -f '%U %S %M' -o "$OUT_DIR/raw/$name.time" \
    timeout -k 3 $((DURATION_S + 10)) "$@" >"$OUT_DIR/raw/$name.out" 2>"$OUT_DIR/raw/$name.err"
  s1=$(served)
  cpu=$(awk '{printf "%.3f", $1 + $2}' "$OUT_DIR/raw/$name.time")
  echo "$name $((s1 - s0)) $cpu" >>"$OUT_DIR/efficiency.txt"
  log "$name: served $((s1 - s0)) cpu ${cpu}s"
  sleep 1
}

efficiency() {
  : >"$OUT_DIR/efficiency.txt"
  local d=${DURATION_S}s url="$BASE/" t
  run_cpu gameday "$OUT_DIR/bin/gameday" load -q --vus "$CONNS" --duration "$d" "$url"
  for t in $TOOLS; do
    command -v "$t" >/dev/null || { log "skip $t (not installed)"; continue; }
    case $t in
      wrk) run_cpu wrk wrk -t1 -c"$CONNS" -d"$d" "$url" ;;
      fortio) run_cpu fortio fortio load -quiet -qps 0 -c "$CONNS" -t "$d" "$url" ;;
      hey) run_cpu hey hey -z "$d" -c "$CONNS" "$url" ;;
      vegeta) run_cpu vegeta sh -c "echo 'GET $url' | vegeta attack -rate=0 -max-workers=$CONNS -workers=$CONNS -duration=$d > $OUT_DIR/raw/vegeta.bin" ;;
      k6) printf 'import http from "k6/http";\nexport default function () { http.get("%s"); }\n' "$url" >"$OUT_DIR/k6.js"
        run_cpu k6 k6 run -q --vus "$CONNS" --duration "$d" "$OUT_DIR/k6.js" ;;
    esac
  done
  {
    echo "### Efficiency: CPU time of the tool per 1,000 requests ($CONNS connections, ${DURATION_S}s, target on core 0, tool on core 1)"
    echo
    echo "| tool | requests | req/s | CPU s | CPU ms / 1k req | vs gameday |"
    echo "|---|---:|---:|---:|---:|---:|"
    awk -v dur="$DURATION_S" 'NR==1 {ref = ($2 > 0) ? $3 * 1e6 / $2 : 0}
      { per = ($2 > 0) ? $3 * 1e6 / $2 : 0
        printf "| %s | %d | %.0f | %.2f | %.2f | %.2f× |\n", $1, $2, $2 / dur, $3, per, (ref > 0) ? per / ref : 0 }' "$OUT_DIR/efficiency.txt"
    echo
  } >>"$OUT_DIR/report.md"
}

gd_json() { # name args…: runs gameday load -o json, output in raw/name.json
  local name=$1; shift
  taskset -c 1 timeout -k 3 $((${GD_LIMIT:-60})) "$OUT_DIR/bin/gameday" load -q -o json "$@" >"$OUT_DIR/raw/$name.json" 2>"$OUT_DIR/raw/$name.err"
}
jq_py() { python3 -c "import json,sys; r=json.load(open('$1')); print($2)"; }

pacing() {
  GD_LIMIT=$((PACE_S + 20)) gd_json pacing --rate "$RATE" --duration "${PACE_S}s" --connections "$CONNS" "$BASE/"
  local f=$OUT_DIR/raw/pacing.json
  {
    echo "### Pacing: open model at $RATE req/s for ${PACE_S}s"
    echo
    echo "| target req/s | achieved req/s | error | scheduler lag p50 | p99 | max | requests | errors |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
    jq_py "$f" "'| $RATE | %.1f | %+.3f%% | %.3f ms | %.3f ms | %.3f ms | %d | %d |' % (r['total']['rate'], 100*(r['total']['rate']/$RATE-1), r['scheduler_lag_ms']['p50'], r['scheduler_lag_ms']['p99'], r['scheduler_lag_ms']['max'], r['total']['count'], sum(r['total']['errors'].values()))"
    echo
  } >>"$OUT_DIR/report.md"
}

accuracy() {
  curl -fsS "$BASE/__held" >/dev/null
  GD_LIMIT=30 gd_json accuracy --rate 200 --duration 10s "$BASE/delay?ms=50"
  local held
  held=$(curl -fsS "$BASE/__held")
  {
    echo "### Accuracy: 200 req/s for 10s against /delay?ms=50"
    echo
    echo "The truth is what the target measured itself holding each answer ($held)."
    echo
    echo "| target's own p50 | p50 corrected | p50 uncorrected | corrected − truth | p99 corrected | max |"
    echo "|---:|---:|---:|---:|---:|---:|"
    jq_py "$OUT_DIR/raw/accuracy.json" "'| %.3f ms | %.3f ms | %.3f ms | %+.3f ms | %.3f ms | %.3f ms |' % ($(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' <<<"$held"), r['total']['latency_ms']['corrected']['p50'], r['total']['latency_ms']['uncorrected']['p50'], r['total']['latency_ms']['corrected']['p50'] - $(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' <<<"$held"), r['total']['latency_ms']['corrected']['p99'], r['total']['latency_ms']['corrected']['max'])"
    echo
  } >>"$OUT_DIR/report.md"
}

co() {
  local half=$((CO_S / 2))
  GD_LIMIT=$((CO_S + 20)) gd_json co --rate 1000 --duration "${CO_S}s" --connections 10 "$BASE/" &
  local pid=$!
  sleep "$half"
  kill -STOP "$TARGET_PID"; sleep 1; kill -CONT "$TARGET_PID"
  wait "$pid"
  {
    echo "### Coordinated omission: 1,000 req/s for ${CO_S}s over 10 connections, target stopped (SIGSTOP) for 1 s"
    echo
    echo "| | p50 | p90 | p99 | p99.9 | max |"
    echo "|---|---:|---:|---:|---:|---:|"
    local k
    for k in corrected uncorrected; do
      jq_py "$OUT_DIR/raw/co.json" "'| $k | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f ms |' % tuple(r['total']['latency_ms']['$k'][q] for q in ('p50','p90','p99','p99_9','max'))"
    done
    echo
  } >>"$OUT_DIR/report.md"
}

memory() {
  taskset -c 1 timeout -k 3 $((MEM_S + 30)) "$OUT_DIR/bin/gameday" load -q -o json --rate 5000 --duration "${MEM_S}s" "$BASE/" >"$OUT_DIR/raw/memory.json" 2>&1 &
  local pid=$! rss60 rssend gd
  sleep 1
  gd=$(pgrep -P "$pid") # taskset execs timeout, whose child is gameday
  sleep 59; rss60=$(awk '/VmRSS/ {print $2}' "/proc/$gd/status")
  sleep $((MEM_S - 61)); rssend=$(awk '/VmRSS/ {print $2}' "/proc/$gd/status")
  wait "$pid"
  {
    echo "### Memory: 5,000 req/s for ${MEM_S}s"
    echo
    echo "| RSS at 60 s | RSS at $((MEM_S - 1)) s | growth |"
    echo "|---:|---:|---:|"
    echo "| ${rss60} KiB | ${rssend} KiB | $(echo "scale=1; 100 * ($rssend - $rss60) / $rss60" | bc)% |"
    echo
  } >>"$OUT_DIR/report.md"
}

versions() {
  echo "## gameday load vs peers — $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r), $("$GO" version | cut -d' ' -f3)"
  echo "- gameday: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?') (working tree)"
  command -v wrk >/dev/null && echo "- wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "- hey $HEY_VERSION, fortio $FORTIO_VERSION, vegeta $VEGETA_VERSION, k6 $K6_VERSION (those installed: $(for t in $TOOLS; do command -v "$t" >/dev/null && printf '%s ' "$t"; done))"
  echo
}

[[ $SKIP_INSTALL == 1 ]] || install_peers
[[ ${INSTALL_ONLY:-0} == 1 ]] && exit 0
build
start_target
: >"$OUT_DIR/report.md"
versions >>"$OUT_DIR/report.md"
for s in $SUITES; do
  log "suite $s"
  "$s"
done
stop_target
cat "$OUT_DIR/report.md"
log "report: $OUT_DIR/report.md"
