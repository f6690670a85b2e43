#!/usr/bin/env bash
# Load figures for kiosks and inference workers over MQTT: starts its own Mosquitto on a free
# loopback port (anonymous, no TLS: it measures the workers, not the security), then for 1, 2
# and 4 workers runs the hidden `loadgen` command (K simulated kiosks sending face crops at a
# steady rate) and prints a markdown table.
#
#   scripts/bench-remote.sh [KIOSKS] [RATE] [SECONDS]     defaults: 4 kiosks, 10 requests/s each, 20 s
#
# Builds nothing: it runs EMOJI_MIRROR_BIN, else ${CARGO_TARGET_DIR:-target}/release/emoji-mirror.
# Environment:
#   BENCH_WORKERS   the worker counts to try (default "1 2 4")
#   BENCH_FACES     faces per request (default 2)
#   BENCH_DEADLINE_MS  an answer later than this counts as lost (default 250, the kiosk's default)
# Needs mosquitto (scripts/setup.sh installs it). Run it on a quiet machine: the workers, the
# broker and the load generator share its cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

kiosks="${1:-4}"
rate="${2:-10}"
seconds="${3:-20}"
workers_list="${BENCH_WORKERS:-1 2 4}"
faces="${BENCH_FACES:-2}"
deadline_ms="${BENCH_DEADLINE_MS:-250}"
bin="${EMOJI_MIRROR_BIN:-${CARGO_TARGET_DIR:-${root}/target}/release/emoji-mirror}"
# Longest wait for the broker to listen and for a worker to subscribe, seconds.
ready_s=60

[[ -x "$bin" ]] || { echo "bench-remote: no binary at $bin (cargo build --release first, or set EMOJI_MIRROR_BIN)" >&2; exit 2; }
mosquitto="$(command -v mosquitto || true)"
[[ -n "$mosquitto" ]] || for d in /usr/sbin /usr/local/sbin /sbin; do [[ -x "$d/mosquitto" ]] && mosquitto="$d/mosquitto"; done
[[ -n "$mosquitto" ]] || { echo "bench-remote: mosquitto is not installed (scripts/setup.sh installs it)" >&2; exit 2; }

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A free loopback port: bind port 0 and take what the kernel gave.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
url="mqtt://127.0.0.1:${port}"
cat > "${work}/mosquitto.conf" <<CONF
listener ${port} 127.0.0.1
allow_anonymous true
persistence false
max_packet_size 1052672
log_dest stderr
user $(id -un)
CONF
"$mosquitto" -c "${work}/mosquitto.conf" 2>"${work}/mosquitto.log" &
pids+=($!)
for ((i = 0; i < ready_s * 10; i++)); do
  (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null && break
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null || { echo "bench-remote: mosquitto did not listen on ${port}" >&2; cat "${work}/mosquitto.log" >&2; exit 1; }

# Own settings and data folders: the run neither reads nor writes the user's.
export XDG_CONFIG_HOME="${work}/config" XDG_DATA_HOME="${work}/data"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"

echo "| workers | kiosks | rate (requests/s per kiosk) | requests/s | p50 ms | p95 ms | p99 ms | lost |"
echo "|---|---|---|---|---|---|---|---|"
for n in $workers_list; do
  worker_pids=()
  for ((w = 1; w <= n; w++)); do
    log="${work}/worker-${n}-${w}.log"
    RUST_LOG=emoji_mirror=info "$bin" worker --broker "$url" --id "bench-${n}-${w}" 2>"$log" >/dev/null &
    worker_pids+=($!)
    pids+=($!)
  done
  for ((w = 1; w <= n; w++)); do
    log="${work}/worker-${n}-${w}.log"
    for ((i = 0; i < ready_s * 10; i++)); do
      grep -q "subscribed to" "$log" && break
      sleep 0.1
    done
    grep -q "subscribed to" "$log" || { echo "bench-remote: worker ${w} of ${n} did not subscribe:" >&2; cat "$log" >&2; exit 1; }
  done
  line="$("$bin" loadgen --broker "$url" --broker-deadline-ms "$deadline_ms" --kiosks "$kiosks" --rate "$rate" \
    --faces "$faces" --seconds "$seconds" 2>"${work}/loadgen-${n}.log")" \
    || { echo "bench-remote: loadgen failed:" >&2; cat "${work}/loadgen-${n}.log" >&2; exit 1; }
  # "... answered A (R requests/s), lost L, round trip p50 X ms, p95 Y ms, p99 Z ms"
  read -r rps lost p50 p95 p99 < <(sed -E 's/.*\(([0-9.]+) requests\/s\), lost ([0-9]+), round trip p50 ([0-9.NaN]+) ms, p95 ([0-9.NaN]+) ms, p99 ([0-9.NaN]+) ms.*/\1 \2 \3 \4 \5/' <<<"$line")
  echo "| ${n} | ${kiosks} | ${rate} | ${rps} | ${p50} | ${p95} | ${p99} | ${lost} |"
  for p in "${worker_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${worker_pids[@]}"; do wait "$p" 2>/dev/null || true; done
done
