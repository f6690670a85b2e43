#!/usr/bin/env bash
# Render speed of the challenge screen against the mirror's, in the same run: the app under a
# virtual display on the CREMA-D sequence, alternating mirror and challenge, ROUNDS times each.
# Prints the app's own --bench-frames line per run (render fps, analysis fps, latency, peak RSS).
#
#   scripts/bench-screens.sh [ROUNDS] [FRAMES]      (defaults 3 and 300; build first: cargo build)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
frames=${2:-300}
bin=${EMOJI_MIRROR_BIN:-${CARGO_TARGET_DIR:-target}/debug/emoji-mirror}
data=${EMOJI_MIRROR_DATA:-../shared/data}
video=$data/crema-d/mp4/1001_DFA_sequence_NEU-HAP-SAD-ANG-FEA-DIS.mp4
[ -x "$bin" ] || { echo "no $bin: run cargo build first (or set EMOJI_MIRROR_BIN)" >&2; exit 1; }
[ -f "$video" ] || { echo "$video: missing (set EMOJI_MIRROR_DATA to the shared data folder)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A long time bank and the hard classes, so the round is still on when the count ends
# (the benchmark measures the challenge screen, not the results screen).
cat > "$work/settings.toml" <<'TOML'
[game]
start_bank_s = 3600.0
TOML
for i in $(seq "$rounds"); do
  for screen in mirror challenge; do
    line=$(XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" \
      xvfb-run -a -s "-screen 0 1280x720x24" "$bin" --config "$work/settings.toml" \
      --video "$video" --start-screen "$screen" --demo-sequence fear,disgust,sad,fear,disgust,sad \
      --bench-frames "$frames" 2>/dev/null | grep '^render' || echo "failed")
    printf '%-9s run %s: %s\n' "$screen" "$i" "$line"
  done
done
