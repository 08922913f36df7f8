#!/usr/bin/env bash
# A soak of the whole chain at real time, as separate processes (docs/reliability.md, "Soak"). Not in CI.
#
#   scripts/soak.sh [MINUTES]      MINUTES of data (default 10; a decimal is fine, e.g. 1.5)
#
#   larsel emulate --drop/--reorder/--duplicate/--corrupt P ──UDP──> larsel run (input.kind: udp,
#   one face, HDF5 recording in-process, XPUB) ──tcp──> larsel listen (all topics) + larsel record
#
# The run's resident memory (VmRSS) and its UDP socket's kernel drop counter (/proc/net/udp) are
# sampled every SOAK_SAMPLE_S seconds into rss.csv. At the end every counter is reconciled: what the
# emulator sent and injected against the receiver's outcome counters, frames offered = accepted +
# counted drops, decided, selected = recorded in-process = `larsel record`'s recorded + missed, the
# subscribers' received + missed = published; resident memory after the first minute within 1 % of its
# value at one minute; every HDF5 file valid, none left as .writing. It prints a report and a last
# line "SOAK PASSED" or "SOAK FAILED: <checks>" and exits 1 on failure. Everything stays in the work
# directory (printed) for inspection; `SOAK_SPEED=X /usr/bin/python3 WORK/reconcile.py WORK` redoes the report.
#
# Environment:
#   LARSEL_KERNELS   kernel set of every larsel process (default: the best this CPU runs)
#   SOAK_DIR         work directory (default: a new /tmp/larsel-soak.XXXXXX)
#   SOAK_SPEED       emulator pace as a fraction of real time (default 1: one face, 30,517.6 frames/s)
#   SOAK_DROP SOAK_REORDER SOAK_DUPLICATE SOAK_CORRUPT   per-datagram fault probabilities (2e-5 each)
#   SOAK_SIGNAL_RATE nu_e CC periods per second injected by the emulator (default 100)
#   SOAK_ROTATE_S    HDF5 files rotate after this many seconds (default 20), or SOAK_ROTATE_MB (64)
#   SOAK_SAMPLE_S    sampling period of rss.csv (default 2)
# The binary is build/bin/larsel (scripts/build.sh builds it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/build/bin/larsel"
python=/usr/bin/python3  # the system interpreter: python3-h5py and python3-numpy belong to it

usage() { echo "usage: scripts/soak.sh [MINUTES]   (default 10; see the header of this script for the environment)"; }
minutes=10
if [ $# -gt 1 ]; then usage >&2; exit 2; fi
if [ $# -eq 1 ]; then
  case "$1" in
    -h|--help) usage; exit 0 ;;
  esac
  if ! [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]] || ! awk -v m="$1" 'BEGIN { exit !(m > 0) }'; then
    echo "soak: MINUTES must be a positive number, not '$1'" >&2
    usage >&2
    exit 2
  fi
  minutes="$1"
fi
if [ ! -x "$bin" ]; then
  echo "soak: $bin not found: run scripts/build.sh first" >&2
  exit 1
fi
if ! "$python" -c 'import h5py, numpy' 2>/dev/null; then
  echo "soak: $python cannot import h5py and numpy (Debian: python3-h5py python3-numpy)" >&2
  exit 1
fi

speed="${SOAK_SPEED:-1}"
p_drop="${SOAK_DROP:-2e-5}" p_reorder="${SOAK_REORDER:-2e-5}" p_duplicate="${SOAK_DUPLICATE:-2e-5}" p_corrupt="${SOAK_CORRUPT:-2e-5}"
signal_rate="${SOAK_SIGNAL_RATE:-100}"
rotate_s="${SOAK_ROTATE_S:-20}" rotate_mb="${SOAK_ROTATE_MB:-64}"
sample_s="${SOAK_SAMPLE_S:-2}"
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%.3f", m * 60 }')
# Resident memory is compared after "the first minute"; a run shorter than 2 minutes uses its first half.
warmup=$(awk -v s="$seconds" 'BEGIN { w = s >= 120 ? 60 : s / 2; printf "%.3f", w }')

if [ -n "${SOAK_DIR:-}" ]; then
  work="$SOAK_DIR"
  mkdir -p "$work"
else
  work="$(mktemp -d /tmp/larsel-soak.XXXXXX)"
fi
work="$(cd "$work" && pwd)"
echo "soak: work directory $work"
echo "soak: $minutes min at speed $speed; faults per datagram: drop $p_drop, reorder $p_reorder, duplicate $p_duplicate, corrupt $p_corrupt; kernels ${LARSEL_KERNELS:-(best for this CPU)}"

# Children are killed on any exit (by their pid, TERM then KILL).
declare -A pids=()
cleanup() {
  local rc=$? name
  for name in "${!pids[@]}"; do kill -TERM "${pids[$name]}" 2>/dev/null || true; done
  for name in "${!pids[@]}"; do
    for _ in $(seq 50); do kill -0 "${pids[$name]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${pids[$name]}" 2>/dev/null || true
  done
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "soak: interrupted; the work directory is $work" >&2; exit 130' INT TERM

declare -A codes=()
# wait_for NAME SECONDS: wait for child NAME to exit (KILL it after SECONDS), its exit code in codes[NAME].
wait_for() {
  local name="$1" limit="$2" pid="${pids[$1]}" rc=0 i
  for ((i = 0; i < limit * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "soak: $name (pid $pid) still running after ${limit} s: killed" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" || rc=$?
  unset "pids[$name]"
  codes[$name]=$rc
}
die() {
  echo "soak: $*" >&2
  echo "SOAK FAILED: $*"
  exit 1
}

# Free ports: bind port 0, read the port, close (a race with another process is possible but unlikely).
free_port() { "$python" -c "import socket; s = socket.socket(socket.AF_INET, socket.$1); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
udp_port=$(free_port SOCK_DGRAM)
tcp_port=$(free_port SOCK_STREAM)
endpoint="tcp://127.0.0.1:$tcp_port"
udp_hex=$(printf '0100007F:%04X' "$udp_port")

# The run's UDP socket in /proc/net/udp: "rx_queue_bytes drops" (nothing once the socket is closed).
udp_socket_stats() {
  local line
  line=$(awk -v a="$udp_hex" '$2 == a { split($5, q, ":"); print q[2], $NF; exit }' /proc/net/udp)
  [ -n "$line" ] || return 0
  echo "$((16#${line% *})) ${line#* }"
}
rss_kb() { awk '/^VmRSS:/ { print $2; exit }' "/proc/$1/status" 2>/dev/null || true; }

mkdir -p "$work/run-h5" "$work/record-h5"
cat > "$work/soak.yaml" <<EOF
# larsel run for scripts/soak.sh: UDP input from larsel emulate, until SIGTERM
run:
  number: 7
  seconds: 0
input:
  kind: udp
  faces: 1
  speed: $speed
  signal_rate_hz: $signal_rate
  udp:
    listen: 127.0.0.1:$udp_port
    emulate: false
zmq:
  publish: $endpoint
  wait_for_subscribers: 3   # larsel listen (all topics) + larsel record (frame.selected, run.info)
  wait_timeout_s: 120
hdf5:
  enabled: true
  directory: $work/run-h5
  max_file_mb: $rotate_mb
  max_file_seconds: $rotate_s
EOF

# wait_for_run_log TEXT TRIES: polls run.log every 0.1 s until TEXT appears (true) or the run exits.
wait_for_run_log() {
  for _ in $(seq "$2"); do
    grep -q "$1" "$work/run.log" && return 0
    kill -0 "${pids[run]}" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "$1" "$work/run.log"
}

echo "soak: larsel run (udp 127.0.0.1:$udp_port, publishing $endpoint)"
"$bin" run --config "$work/soak.yaml" --json > "$work/run.json" 2> "$work/run.log" &
pids[run]=$!
wait_for_run_log "udp input: receiving on" 600 || { tail -5 "$work/run.log" >&2; die "larsel run did not start (run.log)"; }

"$bin" listen "$endpoint" --json --quiet > "$work/listen.json" 2> "$work/listen.log" &
pids[listen]=$!
"$bin" record --connect "$endpoint" --out "$work/record-h5" --max-file-seconds "$rotate_s" --max-file-mb "$rotate_mb" --json \
  > "$work/record.json" 2> "$work/record.log" &
pids[record]=$!
wait_for_run_log "taking data" 1300 || { tail -5 "$work/run.log" >&2; die "larsel run did not start taking data (run.log)"; }
grep -m1 "taking data" "$work/run.log" | sed 's/^/soak: run: /'
grep -m1 "capacity:" "$work/run.log" | sed 's/^/soak: run: /' || true

# Sampler: seconds since the emulator started, VmRSS of run / listen / record (kB), the UDP socket's
# receive queue (bytes) and kernel drops.
t0=$(date +%s%N)
echo "$t0" > "$work/t0_ns"
(
  echo "t_s,run_rss_kb,listen_rss_kb,record_rss_kb,udp_rx_queue_bytes,udp_socket_drops"
  while kill -0 "${pids[run]}" 2>/dev/null; do
    now=$(date +%s%N)
    read -r rxq drops <<< "$(udp_socket_stats)" || true
    echo "$(awk -v a="$now" -v b="$t0" 'BEGIN { printf "%.2f", (a - b) / 1e9 }'),$(rss_kb "${pids[run]}"),$(rss_kb "${pids[listen]}"),$(rss_kb "${pids[record]}"),${rxq:-},${drops:-}"
    sleep "$sample_s"
  done
) > "$work/rss.csv" &
pids[sampler]=$!

echo "soak: larsel emulate for $seconds s ..."
"$bin" emulate --target "127.0.0.1:$udp_port" --speed "$speed" --seconds "$seconds" --signal-rate "$signal_rate" \
  --drop "$p_drop" --reorder "$p_reorder" --duplicate "$p_duplicate" --corrupt "$p_corrupt" \
  --fault-log "$work/faults.json" --json > "$work/emulate.json" 2> "$work/emulate.log" &
pids[emulate]=$!
wait_for emulate $(( ${seconds%.*} + 600 ))
emu_end=$(awk -v a="$(date +%s%N)" -v b="$t0" 'BEGIN { printf "%.2f", (a - b) / 1e9 }')
echo "soak: emulator done (exit ${codes[emulate]}) at t = $emu_end s"

# Let the receiver drain its socket (at most 30 s), then read the socket's kernel drop counter.
for _ in $(seq 300); do
  read -r rxq drops <<< "$(udp_socket_stats)" || true
  [ "${rxq:-0}" = 0 ] && break
  sleep 0.1
done
sleep 1
read -r rxq drops <<< "$(udp_socket_stats)" || true
echo "{\"rx_queue_bytes\": ${rxq:-null}, \"drops\": ${drops:-null}, \"emulator_end_s\": $emu_end, \"warmup_s\": $warmup}" > "$work/socket.json"

echo "soak: stopping larsel run (SIGTERM)"
kill -TERM "${pids[run]}"
wait_for run 300
# The run lingers to deliver what it queued; the consumers then drain and close their files.
sleep 1
kill -TERM "${pids[listen]}" "${pids[record]}" 2>/dev/null || true
wait_for listen 60
wait_for record 120
kill -TERM "${pids[sampler]}" 2>/dev/null || true
wait_for sampler 10
printf '{"run": %s, "emulate": %s, "listen": %s, "record": %s}\n' "${codes[run]}" "${codes[emulate]}" "${codes[listen]}" "${codes[record]}" \
  > "$work/exit_codes.json"

cat > "$work/reconcile.py" <<'PYEOF'
"""Reconciles a scripts/soak.sh run: python3 reconcile.py WORKDIR. Exit 0 when every check passes."""
import csv, glob, json, os, sys

import h5py
import numpy as np

work = sys.argv[1]
STREAMS = 20
checks = []


def load(name):
    try:
        with open(os.path.join(work, name)) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"  cannot read {name}: {e}")
        return None


def check(name, ok, detail):
    checks.append((name, bool(ok)))
    print(f"  [{'ok' if ok else 'FAIL'}] {name}: {detail}")


def n(x):
    return f"{x:,}"


codes, emu, run, lis, rec = load("exit_codes.json"), load("emulate.json"), load("run.json"), load("listen.json"), load("record.json")
faults, sock = load("faults.json"), load("socket.json")
print("\nprocesses")
check("exit codes", codes is not None and all(v == 0 for v in codes.values()), json.dumps(codes))
check("summaries", None not in (emu, run, lis, rec, faults, sock), "emulate, run, listen, record JSON, the fault log and the socket counters read")
if None in (emu, run, lis, rec, faults, sock):
    print("SOAK FAILED: " + ", ".join(name for name, ok in checks if not ok))
    sys.exit(1)

r = run["source"]["receiver"]
fi = emu["faults_injected"]
periods, sent = emu["periods_sent"], emu["datagrams_sent"]
dropped, reordered, duplicated, corrupted = fi["dropped"], fi["reordered"], fi["duplicated"], fi["corrupted"]
send_errors = emu["send_errors"]
socket_drops = sock["drops"] if sock["drops"] is not None else -1

# ---- the emulator's own bookkeeping -------------------------------------------------------------
print(f"\nemulator: {n(periods)} periods x {STREAMS} streams in {emu['seconds']:.1f} s "
      f"({emu['frame_rate_per_stream_hz']:.0f} periods/s = {emu['frame_rate_per_stream_hz'] / 30517.578:.3f} x real time), "
      f"{n(sent)} datagrams sent; injected: dropped {n(dropped)}, reordered {n(reordered)}, duplicated {n(duplicated)}, "
      f"corrupted {n(corrupted)}; send errors {send_errors}; rate-limiter resets {emu['rate_limiter_resets']} "
      f"({emu['rate_limiter_lost_seconds']:.3f} s not caught up)")
check("emulator: sent = 20 x periods - dropped + duplicated - send errors",
      sent == STREAMS * periods - dropped + duplicated - send_errors,
      f"{n(sent)} = {n(STREAMS * periods)} - {n(dropped)} + {n(duplicated)} - {send_errors}")
kinds = {}
for f in faults:
    kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
check("emulator: fault log = faults injected",
      kinds.get("drop", 0) == dropped and kinds.get("reorder", 0) == reordered and kinds.get("duplicate", 0) == duplicated
      and kinds.get("corrupt", 0) == corrupted and kinds.get("send_error", 0) == send_errors, json.dumps(kinds))
requested = 30517.578 * float(os.environ.get("SOAK_SPEED", "1"))
achieved = emu["frame_rate_per_stream_hz"] / requested
check("emulator: sent at >= 99 % of the requested rate", achieved >= 0.99,
      f"{100.0 * achieved:.2f} % of {requested:.0f} periods/s; {emu['rate_limiter_resets']} rate-limiter resets "
      f"(the sender fell > 10 ms behind its clock, {emu['rate_limiter_lost_seconds']:.3f} s not caught up)")

# Expected receiver outcomes, from the fault log. Per stream: M = periods that never arrive whole
# (dropped, corrupted, send error), R = periods sent after the stream's next one.
missing, reord = {}, {}
for f in faults:
    key = (f["crate"], f["slot"], f["stream"])
    if f["kind"] in ("drop", "corrupt", "send_error"):
        missing.setdefault(key, set()).add(f["period"])
    elif f["kind"] == "reorder":
        reord.setdefault(key, set()).add(f["period"])
hit_periods = set()
for s in missing.values():
    hit_periods |= s
exp_incomplete = len(hit_periods)
exp_gaps = 0
for key in set(missing) | set(reord):
    m, rr = missing.get(key, set()), reord.get(key, set())
    ms = sorted(m)
    for q in {p + 1 for p in m | rr}:
        # q is a jump if it arrives in order and its predecessor has not arrived, once the stream has started
        if q >= periods or q in m or q in rr or q < 2:
            continue
        started = sum(1 for p in ms if p <= q - 2) < q - 1
        if started:
            exp_gaps += 1

# ---- transport and the receiver's outcome counters ----------------------------------------------
print(f"\nreceiver ({run['source']['listen']}): " + ", ".join(f"{k} {n(v)}" for k, v in r.items() if k != "bytes_received"))
check("no datagram lost in the kernel (socket drops, /proc/net/udp)", socket_drops == 0,
      f"{n(socket_drops)} dropped by the kernel on the run's socket (receive buffer full: the receiver fell behind)")
check("transport: received + kernel socket drops = sent", r["datagrams_received"] + socket_drops == sent,
      f"{n(r['datagrams_received'])} + {n(socket_drops)} = {n(r['datagrams_received'] + socket_drops)} vs {n(sent)}")
outcomes = (r["datagrams_accepted"] + r["malformed_size"] + r["malformed_header"] + r["unknown_stream"] + r["timestamp_misaligned"]
            + r["timestamp_jump"] + r["late"] + r["duplicate"] + r["pool_exhausted"])
check("receiver: each datagram in exactly one outcome", outcomes == r["datagrams_received"],
      f"accepted + malformed_size + malformed_header + unknown_stream + timestamp_misaligned + timestamp_jump + late + duplicate "
      f"+ pool_exhausted = {n(outcomes)} vs received {n(r['datagrams_received'])}")
built = r["frames_complete"] + r["frames_incomplete"] + r["frames_without_data"]
accounted = built + r["periods_skipped"]  # periods a resync passed over (a burst loss longer than the window)
check("receiver: every period sent is accounted for (built or skipped)", accounted == periods,
      f"complete {n(r['frames_complete'])} + incomplete {n(r['frames_incomplete'])} + without data {r['frames_without_data']} "
      f"+ skipped {n(r['periods_skipped'])} = {n(accounted)} vs {n(periods)} periods sent")
check("receiver: stream frames lost = 20 x periods built - accepted", r["stream_frames_lost"] == STREAMS * built - r["datagrams_accepted"],
      f"{n(r['stream_frames_lost'])} vs {n(STREAMS * built - r['datagrams_accepted'])}")
S = max(socket_drops, 0)
exact = S == 0
how = "exact" if exact else f"bounds: {n(S)} datagrams lost in the kernel"
check("faults: corrupt -> malformed_size + malformed_header", (r["malformed_size"] + r["malformed_header"] == corrupted) if exact
      else corrupted - S <= r["malformed_size"] + r["malformed_header"] <= corrupted,
      f"{n(r['malformed_size'])} + {n(r['malformed_header'])} vs {n(corrupted)} corrupted ({how})")
check("faults: duplicate -> duplicate", (r["duplicate"] == duplicated) if exact else duplicated - S <= r["duplicate"] <= duplicated,
      f"{n(r['duplicate'])} vs {n(duplicated)} duplicated ({how})")
check("faults: reorder -> out_of_order", (r["out_of_order"] == reordered) if exact else reordered - S <= r["out_of_order"] <= reordered,
      f"{n(r['out_of_order'])} vs {n(reordered)} reordered ({how})")
exp_accepted = STREAMS * periods - dropped - corrupted - send_errors
# With kernel losses, a stream's datagrams after a lost burst can also be refused (timestamp_jump, late, ...).
refused = r["timestamp_jump"] + r["timestamp_misaligned"] + r["late"] + r["pool_exhausted"] + r["unknown_stream"]
check("faults: drop -> accepted = 20 x periods - dropped - corrupted - send errors",
      (r["datagrams_accepted"] == exp_accepted) if exact else exp_accepted - S - refused <= r["datagrams_accepted"] <= exp_accepted,
      f"{n(r['datagrams_accepted'])} vs {n(exp_accepted)} ({how})")
check("faults: drop -> stream_frames_lost = dropped + corrupted + send errors",
      (r["stream_frames_lost"] == dropped + corrupted + send_errors) if exact
      else dropped + corrupted + send_errors <= r["stream_frames_lost"] <= dropped + corrupted + send_errors + S,
      f"{n(r['stream_frames_lost'])} vs {n(dropped + corrupted + send_errors)} ({how})")
check("faults: drop -> frames_incomplete = periods hit by a drop or corruption (fault log)",
      (r["frames_incomplete"] == exp_incomplete and r["frames_without_data"] == 0) if exact
      else exp_incomplete <= r["frames_incomplete"] + r["frames_without_data"] <= exp_incomplete + S,
      f"{n(r['frames_incomplete'])} (+ {r['frames_without_data']} without data) vs {n(exp_incomplete)} ({how})")
check("faults: seq_gap = jumps the fault log predicts", (r["seq_gap"] == exp_gaps) if exact else r["seq_gap"] >= exp_gaps - S,
      f"{n(r['seq_gap'])} vs {n(exp_gaps)} ({how})")
zero = {k: r[k] for k in ("unknown_stream", "timestamp_misaligned", "timestamp_jump", "late", "pool_exhausted", "seq_id_mismatch", "face_resyncs",
                          "periods_skipped")}
check("receiver: no anomaly the faults cannot cause", all(v == 0 for v in zero.values()), json.dumps(zero))

# ---- the pipeline -------------------------------------------------------------------------------
fr, dr, out = run["frames"], run["drops"], run["outputs"]
print(f"\npipeline: frames {json.dumps(fr)}\n  drops {json.dumps(dr)}")
lost, emitted = run["frames_lost"], r["frames_complete"] + r["frames_incomplete"]
offered_all = fr["offered"] + lost
verdict = (f"KEPT UP: every one of {n(fr['decided'])} frames decided, none lost" if lost == 0 else
           f"DID NOT KEEP UP: lost {n(lost)} of {n(offered_all)} frames ({100.0 * lost / max(offered_all, 1):.4f} %)")
print(f"  larsel run {run['run']}: {verdict}")
print(f"  decided {n(fr['decided'])} frames in {run['seconds']:.1f} s; latency arrival -> decision p50 "
      f"{run['latency_us']['arrival_to_decision']['p50']:.0f} us, p99 {run['latency_us']['arrival_to_decision']['p99']:.0f} us; "
      f"max input queue {run['queues']['preprocess_in']['max']}/{run['queues']['preprocess_in']['capacity']}; "
      f"cpu {run['cpu']['process_us_per_frame']:.1f} us per frame; kernels {json.dumps(run['capacity']['kernels'])}")
check("pipeline: offered = images built (complete + incomplete)", fr["offered"] == emitted, f"{n(fr['offered'])} vs {n(emitted)}")
source_drops = dr["source_no_free_slot"] + dr["source_queue_full"]
check("pipeline: offered = accepted + counted drops", fr["offered"] == fr["accepted"] + source_drops,
      f"{n(fr['offered'])} = {n(fr['accepted'])} + {n(dr['source_no_free_slot'])} (no free slot) + {n(dr['source_queue_full'])} (queue full)")
inferred = sum(fr["inferred_per_worker"])
check("pipeline: accepted = preprocessed = inferred = decided", fr["accepted"] == fr["preprocessed"] == inferred == fr["decided"],
      f"{n(fr['accepted'])}, {n(fr['preprocessed'])}, {n(inferred)}, {n(fr['decided'])}")
not_complete = periods - r["frames_complete"]
print(f"  periods sent that never became a complete image: {n(not_complete)} of {n(periods)} ({100.0 * not_complete / max(periods, 1):.4f} %): "
      f"incomplete {n(r['frames_incomplete'])}, without data {n(r['frames_without_data'])}, skipped by {r['face_resyncs']} face resyncs "
      f"{n(r['periods_skipped'])}, unaccounted {n(periods - accounted)}")
check("pipeline: lost only what the faults destroyed (no source drop; periods not built complete = periods hit)",
      source_drops == 0 and not_complete == exp_incomplete and lost == exp_incomplete,
      f"source drops {n(source_drops)}; periods not complete {n(not_complete)}, the run's frames_lost {n(lost)}; the faults explain {n(exp_incomplete)}")
check("pipeline: the run's frames_lost = source drops + periods sent that never became a complete image", lost == source_drops + not_complete,
      f"{n(lost)} vs {n(source_drops)} + {n(not_complete)}")
check("pipeline: selected + prescaled = published on frame.selected", out["selected_published"] == fr["selected"] + fr["prescaled"],
      f"{n(out['selected_published'])} vs {n(fr['selected'])} + {n(fr['prescaled'])}")


# ---- files ---------------------------------------------------------------------------------------
def files_of(directory, listed):
    print(f"  {directory}:")
    names = sorted(glob.glob(os.path.join(work, directory, "*.h5")))
    writing = sorted(glob.glob(os.path.join(work, directory, "*.writing")))
    total, timestamps, bad = 0, [], []
    for path in names:
        try:
            with h5py.File(path, "r") as f:
                frames = int(f.attrs["frames"])
                rows, meta_rows = f["frames"].shape[0], f["metadata"].shape[0]
                ok = (f.attrs["format"] == "larsel.selected.v1" and frames == rows == meta_rows and f["frames"].shape[1:] == (480, 64)
                      and int(f.attrs["stop_time_unix_ns"]) > 0)
                timestamps.extend(f["metadata"]["timestamp"][:].tolist())
                total += frames
                print(f"    {os.path.basename(path)}: frames {frames}, /frames {rows}, /metadata {meta_rows}, "
                      f"missed {int(f.attrs['frames_missed'])}{'' if ok else '  <- INVALID'}")
                if not ok:
                    bad.append(os.path.basename(path))
        except Exception as e:  # noqa: BLE001 - any failure to read is an invalid file
            print(f"    {os.path.basename(path)}: cannot read: {e}")
            bad.append(os.path.basename(path))
    check(f"{directory}: every file valid (opens; frames attribute = rows of /frames = rows of /metadata; closed)", not bad and names,
          f"{len(names)} files, {n(total)} frames" + (f"; invalid: {bad}" if bad else ""))
    check(f"{directory}: no *.writing left", not writing, f"{[os.path.basename(w) for w in writing]}")
    check(f"{directory}: the files on disk are the files the summary lists",
          sorted(os.path.basename(p) for p in names) == sorted(os.path.basename(p) for p in listed), f"{len(listed)} listed")
    return total, np.sort(np.array(timestamps, dtype=np.uint64)), len(names)


print("\nrecording")
run_total, run_ts, run_files = files_of("run-h5", run["files"])
rec_total, rec_ts, rec_files = files_of("record-h5", rec["files"])
print(f"  rotation every {os.environ.get('SOAK_ROTATE_S', '20')} s: {run_files} files in-process, {rec_files} by larsel record")
expected_written = fr["selected"] + fr["prescaled"] - dr["recorder_queue_full"] - out.get("recorder_write_failed", 0)
check("in-process: recorded = selected + prescaled - recorder drops", out["recorder_frames_written"] == expected_written and not run["recording"]["failed"],
      f"recorder_frames_written {n(out['recorder_frames_written'])} vs {n(fr['selected'])} + {n(fr['prescaled'])} - "
      f"{dr['recorder_queue_full']} (queue full) - {out.get('recorder_write_failed', 0)} (write failed)")
check("in-process: frames in the files = recorder_frames_written", run_total == out["recorder_frames_written"],
      f"{n(run_total)} vs {n(out['recorder_frames_written'])}")
check("larsel record: recorded + missed = published", rec["frames_recorded"] + rec["frames_missed"] == out["selected_published"],
      f"{n(rec['frames_recorded'])} + {n(rec['frames_missed'])} vs {n(out['selected_published'])}")
check("larsel record: frames in the files = frames_recorded", rec_total == rec["frames_recorded"], f"{n(rec_total)} vs {n(rec['frames_recorded'])}")
check("larsel record: no malformed message, no publisher restart, run info seen",
      rec["messages_malformed"] == 0 and rec["counter_restarts"] == 0 and rec["run_info_received"] > 0,
      f"malformed {rec['messages_malformed']}, restarts {rec['counter_restarts']}, run.info {rec['run_info_received']}")
if rec["frames_missed"] == 0 and out["recorder_frames_written"] == fr["selected"] + fr["prescaled"]:
    check("the two recordings hold the same frames (timestamps)", np.array_equal(run_ts, rec_ts), f"{len(run_ts)} and {len(rec_ts)} timestamps")
else:
    check("larsel record's frames are a subset of the in-process ones", bool(np.isin(rec_ts, run_ts).all()), f"{len(rec_ts)} of {len(run_ts)}")

# ---- the subscriber ------------------------------------------------------------------------------
print(f"\nlarsel listen: {json.dumps(lis['topics'])}, decisions {json.dumps(lis['decisions'])}")
published = {"frame.selected": out["selected_published"], "frame.decision": out["decision_messages"], "metrics": out["metrics_messages"]}
for topic, count in published.items():
    t = lis["topics"].get(topic, {"received": 0, "missed": 0, "malformed": 0, "restarts": 0})
    check(f"larsel listen: {topic} received + missed = published", t["received"] + t["missed"] == count and t["malformed"] == 0 and t["restarts"] == 0,
          f"{n(t['received'])} + {n(t['missed'])} vs {n(count)} (malformed {t['malformed']}, restarts {t['restarts']})")
ri = lis["topics"].get("run.info", {"received": 0, "malformed": 0})
check("larsel listen: run.info received, no unknown topic", ri["received"] > 0 and ri["malformed"] == 0 and lis["unknown_topic"] == 0,
      f"run.info {ri['received']}, unknown topics {lis['unknown_topic']}")
if lis["topics"].get("frame.decision", {}).get("missed", 1) == 0:
    d = lis["decisions"]
    check("larsel listen: a decision for every frame decided", d["records"] == fr["decided"] and d["selected"] == fr["selected"] and d["prescaled"] == fr["prescaled"],
          f"records {n(d['records'])} vs decided {n(fr['decided'])}; selected {n(d['selected'])} vs {n(fr['selected'])}")

# ---- resident memory -----------------------------------------------------------------------------
warmup, end = sock["warmup_s"], sock["emulator_end_s"]
rows = []
with open(os.path.join(work, "rss.csv")) as f:
    for row in csv.DictReader(f):
        if row["run_rss_kb"]:
            rows.append((float(row["t_s"]), int(row["run_rss_kb"]), row["listen_rss_kb"], row["record_rss_kb"]))
steady = [x for x in rows if warmup <= x[0] <= end]
print(f"\nresident memory of larsel run ({len(rows)} samples; compared from t = {warmup:.0f} s to the end of data at {end:.0f} s)")
if steady:
    ref, peak = steady[0][1], max(x[1] for x in steady)
    first_min = max(x[1] for x in rows if x[0] < warmup) if any(x[0] < warmup for x in rows) else 0
    growth = 100.0 * (peak - ref) / ref
    print(f"  max before t = {warmup:.0f} s: {first_min / 1024:.1f} MiB; at {steady[0][0]:.0f} s: {ref / 1024:.1f} MiB; "
          f"max after: {peak / 1024:.1f} MiB; last: {steady[-1][1] / 1024:.1f} MiB")
    for i, name in ((2, "listen"), (3, "record")):
        vals = [int(x[i]) for x in steady if x[i]]
        if vals:
            print(f"  larsel {name}: {vals[0] / 1024:.1f} MiB at {steady[0][0]:.0f} s, max after {max(vals) / 1024:.1f} MiB")
    check("resident memory grew < 1 % after the first minute", growth < 1.0, f"{growth:+.2f} % ({ref} -> max {peak} kB)")
else:
    check("resident memory grew < 1 % after the first minute", False, "no sample after the first minute")

failed = [name for name, ok in checks if not ok]
print(f"\n{len(checks) - len(failed)} of {len(checks)} checks passed; work directory {work}")
print("SOAK PASSED" if not failed else "SOAK FAILED: " + "; ".join(failed))
sys.exit(1 if failed else 0)
PYEOF

echo
echo "soak: reconciling"
rc=0
SOAK_ROTATE_S="$rotate_s" SOAK_SPEED="$speed" "$python" "$work/reconcile.py" "$work" | tee "$work/report.txt" || rc=$?
exit "$rc"
