#!/usr/bin/env bash
# Puts the ONNX Runtime shared library where emoji-mirror looks for it (.ort/ in the project).
# Idempotent: does nothing when the library is already there. Needs python3 with pip and
# access to PyPI; takes it from the official `onnxruntime` wheel (MIT, Microsoft).
set -euo pipefail

version="1.31.1"
lib="libonnxruntime.so.${version}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${root}/.ort"

if [[ -f "${dest}/${lib}" ]]; then
  echo "ONNX Runtime ${version}: ${dest}/${lib} (already present)"
  exit 0
fi

case "$(uname -m)" in
  x86_64) platform="manylinux_2_28_x86_64" ;;
  aarch64) platform="manylinux_2_28_aarch64" ;;
  *) echo "error: no onnxruntime wheel known for $(uname -m)" >&2; exit 1 ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
echo "Fetching onnxruntime==${version} from PyPI ..."
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --platform "${platform}" --python-version 3.11 \
  --dest "${work}" "onnxruntime==${version}"
wheel="$(ls "${work}"/onnxruntime-"${version}"-*.whl)"
mkdir -p "${dest}"
python3 - "${wheel}" "${dest}" "${lib}" <<'PY'
import sys, zipfile, shutil, os
wheel, dest, lib = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    name = f"onnxruntime/capi/{lib}"
    tmp = os.path.join(dest, lib + ".partial")
    with z.open(name) as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out)
    os.replace(tmp, os.path.join(dest, lib))
PY
echo "ONNX Runtime ${version}: ${dest}/${lib}"
