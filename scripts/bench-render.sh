#!/usr/bin/env bash
# Render on demand against the previous way of drawing, in the same run: the app under a
# virtual display (software Vulkan, 1280x720) on openmpf video_01, alternating ROUNDS times
# "on-demand" (the default: draw when there is something new, capped, no MSAA) and
# "continuous" (--render-mode continuous --msaa: every frame as fast as possible, 4x MSAA). Prints the app's own --bench-frames line per run: render fps, analysis
# fps (frames the engine analysed, over the run), camera-to-screen latency p50/p95 to the presented frame, peak
# RSS, render and analysis milliseconds per frame. Extra arguments go to the app (e.g.
# --detect-every 1).
#
#   scripts/bench-render.sh [ROUNDS] [FRAMES] [APP ARGS...]   (defaults 3 and 300; build first: cargo build)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
frames=${2:-300}
shift $(($# < 2 ? $# : 2))
bin=${EMOJI_MIRROR_BIN:-${CARGO_TARGET_DIR:-target}/debug/emoji-mirror}
data=${EMOJI_MIRROR_DATA:-../shared/data}
video=$data/openmpf-samples/video_01.mp4
[ -x "$bin" ] || { echo "no $bin: run cargo build first (or set EMOJI_MIRROR_BIN)" >&2; exit 1; }
[ -f "$video" ] || { echo "$video: missing (set EMOJI_MIRROR_DATA to the shared data folder)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in $(seq "$rounds"); do
  for mode in on-demand continuous; do
    extra=()
    [[ $mode == continuous ]] && extra=(--msaa)
    line=$(XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" \
      xvfb-run -a -s "-screen 0 1280x720x24" "$bin" --video "$video" \
      --render-mode "$mode" "${extra[@]}" --bench-frames "$frames" "$@" 2>/dev/null | grep '^render' || echo "failed")
    printf '%-10s run %s: %s\n' "$mode" "$i" "$line"
  done
done
