#!/usr/bin/env bash
# One-time setup on a fresh Debian/Ubuntu machine; safe to run again (it skips what is there).
#  - system packages the build needs: FFmpeg headers (video decoding), libclang (bindgen), pkg-config,
#    the ffmpeg command (the tests cut test clips with it), and a virtual display with
#    software Vulkan (xvfb, mesa-vulkan-drivers) for the window tests, strace for the privacy test
#  - the training tool's Python packages from Debian (CPU PyTorch 1.13, numpy, matplotlib, onnx for the
#    system python3; see training/requirements.txt)
#  - the ONNX Runtime shared library in .ort/ (scripts/setup-ort.sh)
# The model files are committed in models/; nothing is downloaded by `cargo build`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(pkg-config libclang-dev libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
          libswresample-dev libavfilter-dev libavdevice-dev ffmpeg
          xvfb xauth mesa-vulkan-drivers libvulkan1 strace
          python3-torch python3-numpy python3-matplotlib python3-onnx)
# pip fetches the ONNX Runtime wheel; any python3 with pip will do.
python3 -m pip --version >/dev/null 2>&1 || packages+=(python3 python3-pip)
# systemd-analyze verifies the units in packaging/ (tests/packaging.rs).
packages+=(systemd)
# The MQTT broker (and its mosquitto_passwd) that tests/mqtt.rs starts for kiosks and workers.
packages+=(mosquitto)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "Installing: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

"${root}/scripts/setup-ort.sh"
