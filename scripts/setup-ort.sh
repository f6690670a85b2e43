#!/usr/bin/env bash
# Puts the ONNX Runtime shared library where emoji-mirror looks for it (.ort/ in the project).
# Idempotent: does nothing when the library is already there. Needs python3 with pip and
# access to PyPI; takes it from the official `onnxruntime` wheel (MIT, Microsoft).
# ORT_GPU=1 fetches the GPU build instead (`onnxruntime-gpu`, with its CUDA and TensorRT
# providers) into .ort/gpu/; use it with
#   --ort-lib .ort/gpu/libonnxruntime.so.1.31.1 --execution-provider cuda
set -euo pipefail

version="1.31.1"
lib="libonnxruntime.so.${version}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${root}/.ort"
package="onnxruntime"
if [[ "${ORT_GPU:-0}" == "1" ]]; then
  package="onnxruntime-gpu"
  dest="${root}/.ort/gpu"
fi

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
echo "Fetching ${package}==${version} from PyPI ..."
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --platform "${platform}" --python-version 3.11 \
  --dest "${work}" "${package}==${version}"
wheel="$(ls "${work}"/"${package//-/_}"-"${version}"-*.whl)"
mkdir -p "${dest}"
python3 - "${wheel}" "${dest}" "${lib}" "${package}" <<'PY'
import sys, zipfile, shutil, os
wheel, dest, lib, package = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    names = [f"onnxruntime/capi/{lib}"]
    if package == "onnxruntime-gpu":
        # The providers are libraries of their own, loaded from beside the main one.
        names += [n for n in z.namelist()
                  if n.startswith("onnxruntime/capi/libonnxruntime_providers_") and n.endswith(".so")]
    for name in names:
        base = os.path.basename(name)
        tmp = os.path.join(dest, base + ".partial")
        with z.open(name) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out)
        os.replace(tmp, os.path.join(dest, base))
PY
echo "ONNX Runtime ${version}: ${dest}/${lib}"
