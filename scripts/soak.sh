#!/usr/bin/env bash
# Soak run: the app under a virtual display on a looping video with faces, the challenge's
# rounds in a loop (--loop-rounds), sampled every SOAK_EVERY_S seconds; writes a CSV, prints
# a summary (resident memory after the first tenth of the run against the end; frame time
# p95 at the start against the end), draws a PNG and fails when memory grew more than
# SOAK_MAX_GROWTH_MIB.
#
#   scripts/soak.sh [MINUTES] [OUT_DIR]        defaults: 5 minutes, target/soak
#
# Builds nothing: it runs EMOJI_MIRROR_BIN, else ${CARGO_TARGET_DIR:-target}/debug/emoji-mirror.
# Environment:
#   EMOJI_MIRROR_DATA     the shared test data folder (default ../shared/data beside the checkout)
#   SOAK_VIDEO            the video (default openmpf-samples/video_01.mp4 in the data folder)
#   SOAK_EVERY_S          seconds between samples (default 10)
#   SOAK_MAX_GROWTH_MIB   allowed growth of resident memory in MiB (default 10)
# Writes OUT_DIR/soak.csv (elapsed_s,rss_mib,frame_ms_p50,frame_ms_p95,analysis_fps,entities),
# OUT_DIR/soak.png, OUT_DIR/summary.txt and the app's output in OUT_DIR/app.log.
# The app reports its own figures (--stats-every): elapsed time, VmRSS from its
# /proc status, frame time p50/p95 over the interval, analysis fps, live entities.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

minutes="${1:-5}"
out="${2:-${root}/target/soak}"
every="${SOAK_EVERY_S:-10}"
max_growth="${SOAK_MAX_GROWTH_MIB:-10}"
bin="${EMOJI_MIRROR_BIN:-${CARGO_TARGET_DIR:-${root}/target}/debug/emoji-mirror}"
data="${EMOJI_MIRROR_DATA:-${root}/../shared/data}"
video="${SOAK_VIDEO:-${data}/openmpf-samples/video_01.mp4}"
# Seconds the app gets to exit after its time is up before it is killed.
grace_s=30

[[ -x "$bin" ]] || { echo "soak: no binary at $bin (cargo build first, or set EMOJI_MIRROR_BIN)" >&2; exit 2; }
[[ -f "$video" ]] || { echo "soak: no video at $video (set EMOJI_MIRROR_DATA or SOAK_VIDEO)" >&2; exit 2; }
command -v xvfb-run >/dev/null || { echo "soak: xvfb-run is missing (scripts/setup.sh installs it)" >&2; exit 2; }

mkdir -p "$out"
# Own settings and data folders: the run neither reads nor writes the user's.
rm -rf "${out}/home"
mkdir -p "${out}/home/config" "${out}/home/data"
run_s=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')
echo "soak: ${minutes} min on ${video}, a sample every ${every} s, into ${out}"

# The app runs until `timeout` stops it (exit 124 is that stop, not a failure).
status=0
XDG_CONFIG_HOME="${out}/home/config" XDG_DATA_HOME="${out}/home/data" \
  xvfb-run -a -s "-screen 0 1280x720x24" \
  timeout --kill-after="$grace_s" "$run_s" "$bin" --video "$video" --start-screen challenge --loop-rounds --stats-every "$every" \
  --data-dir "${out}/home/data/emoji-mirror" >"${out}/app.log" 2>&1 || status=$?
if [[ $status -ne 0 && $status -ne 124 ]]; then
  echo "soak: the app stopped with status $status before its time was up; see ${out}/app.log" >&2
  tail -n 20 "${out}/app.log" >&2
  exit 1
fi

# "stats elapsed_s=.. rss_mib=.. frame_ms_p50=.. frame_ms_p95=.. analysis_fps=.. entities=.." -> CSV.
{
  echo "elapsed_s,rss_mib,frame_ms_p50,frame_ms_p95,analysis_fps,entities"
  awk '/^stats / {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["elapsed_s"] "," v["rss_mib"] "," v["frame_ms_p50"] "," v["frame_ms_p95"] "," v["analysis_fps"] "," v["entities"]
  }' "${out}/app.log"
} >"${out}/soak.csv"
rows=$(($(wc -l <"${out}/soak.csv") - 1))
if ((rows < 2)); then
  echo "soak: only ${rows} samples in ${out}/soak.csv; see ${out}/app.log" >&2
  tail -n 20 "${out}/app.log" >&2
  exit 1
fi

# Summary, plot and the memory gate.
"$bin" soak-plot --csv "${out}/soak.csv" --out "${out}/soak.png" --max-growth-mib "$max_growth" \
  | tee "${out}/summary.txt"
