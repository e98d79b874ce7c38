#!/usr/bin/env bash
# bench/proxy/run.sh — gameday's fault proxy (faults/proxy) side by side with
# Toxiproxy, on loopback, with wrk.
#
# What it measures, in one run, against the same loopback HTTP target:
#   1. throughput: wrk -c$CONNS for $DURATION_S s, REPS times, interleaved:
#        direct | through gameday's proxy | through Toxiproxy  (no toxic)
#      -> req/s and p50/p99, and the CPU seconds each proxy process used.
#   2. latency accuracy: the same wrk run through each proxy with a
#      $DELAY_MS ms latency toxic ($LAT_DIR direction) -> p50 and its error
#      against the configured delay.
#
# Layout (MODE=pinned, default): the target (GOMAXPROCS=1) and the proxy
# under test (GOMAXPROCS=$PROXY_PROCS) share core 0, wrk runs on core 1 with
# one thread. MODE=unpinned leaves scheduling to the kernel (wrk -t2).
#
# Installs what is missing: wrk (apt), Toxiproxy $TOXI_VERSION server from the
# Go module proxy into $BENCH_BIN. Builds bench/proxy/benchproxy (target and
# standalone gameday proxy). Every process it starts is stopped by its PID;
# every load run is bounded by `timeout`. All traffic stays on 127.0.0.1.
#
# Knobs (env): REPS=3 LAT_REPS=$REPS DURATION_S=10 CONNS=50 DELAY_MS=50 LAT_DIR=downstream
#   PROXY_PROCS=1 MODE=pinned BASE_PORT=18180 (uses BASE_PORT..BASE_PORT+5)
#   TOXI_VERSION=v2.5.0 BENCH_BIN=$HOME/.cache/gameday-bench/bin
#   OUT_DIR=/tmp/proxy-bench/run-<timestamp> SKIP_INSTALL=0 COOLDOWN_S=1
#   NICE=0 (e.g. NICE=-10 as root: run target, proxies and wrk ahead of other
#   work on a shared machine, so the figures measure the proxies, not the
#   neighbours)
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
BENCH_BIN=${BENCH_BIN:-$HOME/.cache/gameday-bench/bin}
TOXI_VERSION=${TOXI_VERSION:-v2.5.0}
REPS=${REPS:-3}
LAT_REPS=${LAT_REPS:-$REPS}
DURATION_S=${DURATION_S:-10}
CONNS=${CONNS:-50}
DELAY_MS=${DELAY_MS:-50}
LAT_DIR=${LAT_DIR:-downstream}
PROXY_PROCS=${PROXY_PROCS:-1}
MODE=${MODE:-pinned}
BASE_PORT=${BASE_PORT:-18180}
OUT_DIR=${OUT_DIR:-/tmp/proxy-bench/run-$(date -u +%Y%m%dT%H%M%SZ)}
SKIP_INSTALL=${SKIP_INSTALL:-0}
COOLDOWN_S=${COOLDOWN_S:-1}
NICE=${NICE:-0}
RUN_TIMEOUT=$((DURATION_S + 5))
export LOG_LEVEL=${LOG_LEVEL:-warn} # toxiproxy-server

TARGET_PORT=$BASE_PORT
GD_PORT=$((BASE_PORT + 1))
GD_LAT_PORT=$((BASE_PORT + 2))
TOXI_PORT=$((BASE_PORT + 3))
TOXI_LAT_PORT=$((BASE_PORT + 4))
TOXI_API_PORT=$((BASE_PORT + 5))
TOXI_API=http://127.0.0.1:$TOXI_API_PORT
BENCHPROXY=$OUT_DIR/benchproxy
TOXI=$BENCH_BIN/toxiproxy-server
CLK_TCK=$(getconf CLK_TCK)

say() { printf '[proxy-bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { say "FATAL: $*"; exit 1; }

# ------------------------------------------------------------------ processes
STARTED=() # PIDs this script started; stopped one by one on exit
stop_all() {
  local pid
  for pid in "${STARTED[@]}"; do
    kill -0 "$pid" 2>/dev/null && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  STARTED=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

port_free() { [[ -z $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }
await_port() { # port: wait until something listens on it (5 s)
  local i
  for ((i = 0; i < 100; i++)); do
    port_free "$1" || return 0
    sleep 0.05
  done
  return 1
}
# spawn <core|-> <gomaxprocs> <log> <cmd...>: start a process, remember its PID in LAST_PID
spawn() {
  local core=$1 procs=$2 log=$3 pin=()
  shift 3
  [[ $MODE == pinned && $core != - ]] && pin=(taskset -c "$core")
  GOMAXPROCS=$procs nice -n "$NICE" "${pin[@]}" "$@" >>"$log" 2>&1 &
  LAST_PID=$!
  STARTED+=("$LAST_PID")
}
cpu_s() { # pid -> user+system CPU seconds so far
  awk -v t="$CLK_TCK" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat" 2>/dev/null || echo 0
}

# ------------------------------------------------------------------ install
install() {
  mkdir -p "$BENCH_BIN"
  if ! command -v wrk >/dev/null; then
    say "apt-get install wrk"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq wrk >/dev/null ||
      { apt-get -o DPkg::Lock::Timeout=300 update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq wrk >/dev/null; } ||
      fail "could not install wrk"
  fi
  if [[ ! -x $TOXI ]]; then
    say "go install github.com/Shopify/toxiproxy/v2/cmd/server@$TOXI_VERSION"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && GOBIN=$tmp GOFLAGS=-mod=mod "$GO" install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXI_VERSION") ||
      fail "go install toxiproxy server failed"
    mv -f "$tmp/server" "$TOXI" && rm -rf "$tmp"
  fi
}

# ------------------------------------------------------------------ wrk
# wrk_run <label> <rep> <url> <proxy-pid|->: one bounded wrk run, one TSV row
WRK_T=1
wrk_run() {
  local label=$1 rep=$2 url=$3 ppid=$4 pin=() c0=0 c1=0 out
  [[ $MODE == pinned ]] && pin=(taskset -c 1)
  out=$OUT_DIR/raw/$label-r$rep.txt
  [[ $ppid != - ]] && c0=$(cpu_s "$ppid")
  nice -n "$NICE" "${pin[@]}" timeout -k 3 "$RUN_TIMEOUT" wrk -t"$WRK_T" -c"$CONNS" -d"${DURATION_S}s" --latency "$url" >"$out" 2>&1
  local rc=$?
  [[ $ppid != - ]] && c1=$(cpu_s "$ppid")
  python3 - "$out" "$label" "$rep" "$rc" "$c0" "$c1" >>"$OUT_DIR/runs.tsv" <<'PY'
import re, sys
path, label, rep, rc, c0, c1 = sys.argv[1:]
text = open(path).read()
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
pct = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)}
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
nerr = (int(errs.group(1)) if errs else 0) + (sum(map(int, sock.groups())) if sock else 0)
print("\t".join([label, rep, rc, rps.group(1) if rps else "nan",
                 "%.3f" % pct.get("50", float("nan")), "%.3f" % pct.get("99", float("nan")),
                 str(nerr), "%.2f" % (float(c1) - float(c0))]))
PY
  say "$label r$rep: $(tail -n1 "$OUT_DIR/runs.tsv" | cut -f4-8)"
  sleep "$COOLDOWN_S"
}

# ------------------------------------------------------------------ main
mkdir -p "$OUT_DIR/raw"
[[ $SKIP_INSTALL == 1 ]] || install
command -v wrk >/dev/null || fail "wrk missing"
[[ -x $TOXI ]] || fail "$TOXI missing"
[[ $MODE == unpinned ]] && WRK_T=$(nproc)
for p in $TARGET_PORT $GD_PORT $GD_LAT_PORT $TOXI_PORT $TOXI_LAT_PORT $TOXI_API_PORT; do
  port_free "$p" || fail "port $p is busy (set BASE_PORT)"
done
say "building benchproxy"
(cd "$ROOT" && "$GO" build -o "$BENCHPROXY" ./bench/proxy/benchproxy) || fail "build failed"

spawn 0 1 "$OUT_DIR/target.log" "$BENCHPROXY" target -addr "127.0.0.1:$TARGET_PORT"
await_port "$TARGET_PORT" || fail "target did not start"
spawn 0 "$PROXY_PROCS" "$OUT_DIR/gameday.log" "$BENCHPROXY" proxy -listen "127.0.0.1:$GD_PORT" -upstream "127.0.0.1:$TARGET_PORT"
GD_PID=$LAST_PID
spawn 0 "$PROXY_PROCS" "$OUT_DIR/gameday-latency.log" "$BENCHPROXY" proxy -listen "127.0.0.1:$GD_LAT_PORT" \
  -upstream "127.0.0.1:$TARGET_PORT" -latency "${DELAY_MS}ms" -direction "$LAT_DIR"
GD_LAT_PID=$LAST_PID
spawn 0 "$PROXY_PROCS" "$OUT_DIR/toxiproxy.log" "$TOXI" -host 127.0.0.1 -port "$TOXI_API_PORT"
TOXI_PID=$LAST_PID
for p in $GD_PORT $GD_LAT_PORT $TOXI_API_PORT; do await_port "$p" || fail "port $p did not open"; done
api() { # method path [json]
  curl -fsS -X "$1" -H 'Content-Type: application/json' ${3:+--data "$3"} "$TOXI_API$2" >>"$OUT_DIR/toxiproxy.log" 2>&1 ||
    fail "toxiproxy API $1 $2 failed"
  echo >>"$OUT_DIR/toxiproxy.log"
}
api POST /proxies "{\"name\":\"plain\",\"listen\":\"127.0.0.1:$TOXI_PORT\",\"upstream\":\"127.0.0.1:$TARGET_PORT\"}"
api POST /proxies "{\"name\":\"lat\",\"listen\":\"127.0.0.1:$TOXI_LAT_PORT\",\"upstream\":\"127.0.0.1:$TARGET_PORT\"}"
api POST /proxies/lat/toxics "{\"name\":\"lat\",\"type\":\"latency\",\"stream\":\"$LAT_DIR\",\"attributes\":{\"latency\":$DELAY_MS,\"jitter\":0}}"
for p in $TARGET_PORT $GD_PORT $GD_LAT_PORT $TOXI_PORT $TOXI_LAT_PORT; do
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$p/" || fail "no answer on port $p"
done

{
  echo -e "tool\tversion"
  echo -e "wrk\t$(dpkg-query -W -f='${Version}' wrk 2>/dev/null || wrk -v 2>&1 | head -n1)"
  echo -e "toxiproxy\t$("$GO" version -m "$TOXI" | awk '$1 == "mod" {print $2, $3}') (built with $("$GO" version "$TOXI" | awk '{print $NF}'))"
  echo -e "gameday proxy\t$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo worktree) + working tree ($("$GO" version | awk '{print $3}'))"
  echo -e "kernel\t$(uname -r), $(nproc) CPUs:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
  echo -e "load average at start\t$(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
  if [[ $MODE == pinned ]]; then
    echo -e "layout\tMODE=pinned: target GOMAXPROCS=1 and proxy GOMAXPROCS=$PROXY_PROCS on core 0, wrk -t$WRK_T on core 1; nice $NICE"
  else
    echo -e "layout\tMODE=unpinned: target GOMAXPROCS=1, proxy GOMAXPROCS=$PROXY_PROCS, wrk -t$WRK_T, no CPU affinity; nice $NICE"
  fi
} >"$OUT_DIR/versions.tsv"

printf 'label\trep\trc\trps\tp50_ms\tp99_ms\terrors\tproxy_cpu_s\n' >"$OUT_DIR/runs.tsv"
say "results in $OUT_DIR"
for ((rep = 1; rep <= REPS; rep++)); do # interleaved, so drift hits every path alike
  wrk_run direct "$rep" "http://127.0.0.1:$TARGET_PORT/" -
  wrk_run gameday "$rep" "http://127.0.0.1:$GD_PORT/" "$GD_PID"
  wrk_run toxiproxy "$rep" "http://127.0.0.1:$TOXI_PORT/" "$TOXI_PID"
done
for ((rep = 1; rep <= LAT_REPS; rep++)); do
  wrk_run gameday+latency "$rep" "http://127.0.0.1:$GD_LAT_PORT/" "$GD_LAT_PID"
  wrk_run toxiproxy+latency "$rep" "http://127.0.0.1:$TOXI_LAT_PORT/" "$TOXI_PID"
done
echo -e "load average at end\t$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT_DIR/versions.tsv"
stop_all

python3 - "$OUT_DIR" "$DELAY_MS" "$CONNS" "$DURATION_S" "$REPS" "$LAT_DIR" >"$OUT_DIR/report.md" <<'PY'
import csv, statistics as st, sys
out, delay, conns, dur, reps, latdir = sys.argv[1:]
delay = float(delay)
rows = list(csv.DictReader(open(out + "/runs.tsv"), delimiter="\t"))
def col(label, key):
    return [float(r[key]) for r in rows if r["label"] == label and r["rc"] == "0"]
def med(label, key):
    v = col(label, key)
    return st.median(v) if v else float("nan")
def spread(label, key):
    v = col(label, key)
    return "%.0f–%.0f" % (min(v), max(v)) if v else "n/a"
print("Versions:\n")
for line in open(out + "/versions.tsv").read().splitlines()[1:]:
    k, v = line.split("\t", 1)
    print(f"- {k}: {v}")
print(f"\nwrk -c{conns} -d{dur}s --latency, GET / (2-byte body), {reps} interleaved reps (direct, gameday, Toxiproxy), medians:\n")
print("| path | req/s (median) | req/s (range) | p50 ms | added p50 ms | p99 ms | errors | proxy CPU s per 100k req |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
d50 = med("direct", "p50_ms")
for label in ["direct", "gameday", "toxiproxy"]:
    rps, p50, p99 = med(label, "rps"), med(label, "p50_ms"), med(label, "p99_ms")
    errs = sum(int(r["errors"]) for r in rows if r["label"] == label)
    cpu = [float(r["proxy_cpu_s"]) / (float(r["rps"]) * float(dur)) * 1e5 for r in rows
           if r["label"] == label and r["rc"] == "0" and float(r["rps"]) > 0]
    cpus = "%.2f" % st.median(cpu) if label != "direct" and cpu else "—"
    added = "%+.3f" % (p50 - d50) if label != "direct" else "—"
    print(f"| {label} | {rps:,.0f} | {spread(label, 'rps')} | {p50:.3f} | {added} | {p99:.3f} | {errs} | {cpus} |")
g, t = med("gameday", "rps"), med("toxiproxy", "rps")
# paired per rep (the two runs of a rep are adjacent in time, so they share
# the machine's conditions best)
pairs = {}
for r in rows:
    if r["label"] in ("gameday", "toxiproxy") and r["rc"] == "0":
        pairs.setdefault(r["rep"], {})[r["label"]] = float(r["rps"])
ratios = sorted(v["gameday"] / v["toxiproxy"] for v in pairs.values() if len(v) == 2 and v["toxiproxy"] > 0)
rs = ", ".join("%.2f" % x for x in ratios)
print(f"\ngameday / Toxiproxy req/s: **{g / t:.2f}×** (ratio of medians); per rep: {rs} "
      f"(median {st.median(ratios):.2f}×). Added p50: gameday {med('gameday', 'p50_ms') - d50:+.3f} ms, "
      f"Toxiproxy {med('toxiproxy', 'p50_ms') - d50:+.3f} ms.\n")
print(f"Latency toxic {delay:g} ms on the {latdir} path, same wrk run:\n")
print("| path | p50 ms (median) | p50 per rep | error vs configured | p99 ms | req/s |")
print("|---|---:|---|---:|---:|---:|")
for label in ["gameday+latency", "toxiproxy+latency"]:
    p50 = med(label, "p50_ms")
    reps_ = ", ".join("%.2f" % v for v in col(label, "p50_ms"))
    print(f"| {label} | {p50:.3f} | {reps_} | {p50 - delay:+.3f} | {med(label, 'p99_ms'):.3f} | {med(label, 'rps'):,.0f} |")
PY
cat "$OUT_DIR/report.md"
say "report: $OUT_DIR/report.md (raw wrk outputs under $OUT_DIR/raw)"
