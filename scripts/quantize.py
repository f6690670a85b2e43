#!/usr/bin/env python3
"""Build int8 copies of the shipped models (static QDQ quantization, per-channel weights).

Run from the repository root (or anywhere), in a virtual environment with the pinned
packages of models/requirements.txt (numpy, onnx, protobuf, onnxruntime==1.31.1):

    python3 scripts/quantize.py --data ../shared/data                # the shipped int8 models
    python3 scripts/quantize.py --data ../shared/data --out-dir /tmp/q emotion-cnn centerface

Each model NAME reads models/NAME.onnx and its manifest models/NAME.toml and writes
NAME-int8.onnx and NAME-int8.toml (the same manifest with its own name, file and sha256)
into --out-dir (default models/). Pick the result with `--classifier models/NAME-int8.toml`
or `--detector-model models/centerface-int8.toml`.

What it does, per model:

1. Detector only: raises the opset of centerface.onnx from 9 to 13 with
   onnx.version_converter (onnxruntime's QDQ quantizer needs opset >= 10, per-channel
   needs 13).
2. Names every unnamed node (`node<i>_<op>`) so nodes can be excluded by name, then runs
   onnxruntime's quantization pre-processing (shape inference and graph optimisation).
3. Calibrates (MinMax unless --calibration says otherwise) on a fixed sample (no
   pixels are stored anywhere):
   - classifiers: CALIB_FACES faces drawn with seed SEED from the FER2013 Training rows
     (fer2013/fer2013_train.csv.gz; never PublicTest or PrivateTest, which measure the
     result), resized 48x48 -> the model's input as `eval` does (bilinear, half-pixel
     centres) and normalised as the manifest says;
   - detector: frames of openmpf-samples video_01.mp4 and video_02.mp4 (every
     VIDEO_STEP-th frame, at 384x288, the video default, and at 640x480) and the four
     openmpf-samples photos at a longer side of 640, decoded with FFmpeg to RGB 0..255.
     The dlib-faces photos are left out: they measure the result.
4. quantize_static: QDQ format, int8 per-channel weights, uint8 activations. The nodes
   that produce the graph outputs (softmax, mirror average, the detector's four heads)
   stay float, so probabilities and box geometry keep full resolution.
5. Writes the model and its manifest (sha256 included) and prints the sha256.

The output is deterministic for a given package set: repeated runs give identical bytes.
"""

import argparse
import csv
import gzip
import hashlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import version_converter
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

REPO = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO / "models"
sys.path.insert(0, str(REPO / "scripts"))
from reference_eval import read_csv, resize_bilinear  # noqa: E402  (same resize as eval)

#: Package versions the shipped int8 files were made with (checked, not installed).
PINNED = {"onnx": "1.23.2", "onnxruntime": "1.31.1", "numpy": "2.4.6"}
#: Seed of the calibration sample.
SEED = 17
#: FER2013 Training faces used to calibrate a classifier.
CALIB_FACES = 1024
#: Faces per calibration batch.
CALIB_BATCH = 64
#: Every how many video frames one is taken for detector calibration.
VIDEO_STEP = {"video_01.mp4": 6, "video_02.mp4": 26}
#: Detector calibration sizes (width, height) for the video frames, in pixels.
VIDEO_SIZES = [(384, 288), (640, 480)]
#: Longer side, in pixels, of the photos used for detector calibration.
PHOTO_SIDE = 640
#: The detector's input stride: sizes are multiples of it.
DET_STRIDE = 32
#: Opset the detector is raised to before quantization.
DET_OPSET = 13
#: The models made by default: the ones whose int8 copy holds quality (models/README.md).
#: emotion-cnn and emotion-mini-xception can be named too; their int8 copies lose more
#: than 0.5 points of PublicTest accuracy and are not shipped.
DEFAULT_MODELS = ["emotion-cnn-fast", "centerface"]
#: Calibration methods by name (--calibration).
METHODS = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
           "entropy": CalibrationMethod.Entropy}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_field(text: str, section: str | None, key: str) -> str:
    """The raw value of `key` in the TOML text (top level when section is None)."""
    current = None
    for line in text.splitlines():
        s = line.split("#", 1)[0].strip()
        m = re.match(r"^\[(.+)\]$", s)
        if m:
            current = m.group(1)
            continue
        m = re.match(rf"^{re.escape(key)}\s*=\s*(.+)$", s)
        if m and current == section:
            return m.group(1).strip()
    sys.exit(f"error: manifest has no {key} in [{section or 'top level'}]")


def floats(value: str) -> list[float]:
    return [float(v) for v in value.strip("[]").split(",") if v.strip()]


def name_nodes(model: onnx.ModelProto) -> None:
    for i, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"node{i}_{node.op_type}"


def output_nodes(model: onnx.ModelProto) -> list[str]:
    outs = {o.name for o in model.graph.output}
    return [n.name for n in model.graph.node if any(o in outs for o in n.output)]


class ArrayReader(CalibrationDataReader):
    def __init__(self, input_name: str, batches: list[np.ndarray]):
        self.input_name = input_name
        self.batches = iter(batches)

    def get_next(self):
        b = next(self.batches, None)
        return None if b is None else {self.input_name: b}


def classifier_batches(data: Path, manifest: str) -> list[np.ndarray]:
    w = int(manifest_field(manifest, "input", "width"))
    h = int(manifest_field(manifest, "input", "height"))
    scale = float(manifest_field(manifest, "input", "scale"))
    mean = floats(manifest_field(manifest, "input", "mean"))[0]
    std = floats(manifest_field(manifest, "input", "std"))[0]
    if manifest_field(manifest, "input", "color").strip('"') != "gray":
        sys.exit("error: only gray classifiers are calibrated from FER2013")
    if manifest_field(manifest, "input", "layout").strip('"') != "NCHW":
        sys.exit("error: only NCHW classifiers are handled")
    _, faces = read_csv(data / "fer2013" / "fer2013_train.csv.gz", "Training")
    pick = np.random.default_rng(SEED).choice(len(faces), size=CALIB_FACES, replace=False)
    x = resize_bilinear(faces[np.sort(pick)], h, w)
    x = ((x / scale - mean) / std).astype(np.float32)[:, None, :, :]
    return [x[i : i + CALIB_BATCH] for i in range(0, len(x), CALIB_BATCH)]


def ffmpeg_rgb(args: list[str], w: int, h: int) -> np.ndarray:
    """Frames [n,h,w,3] uint8 that ffmpeg decodes with `args` and scales to w x h."""
    cmd = ["ffmpeg", "-v", "error", *args, "-vf", f"scale={w}:{h}:flags=bilinear",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def image_size(path: Path) -> tuple[int, int]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
                          "stream=width,height", "-of", "csv=p=0", str(path)],
                         check=True, capture_output=True, text=True).stdout
    w, h = out.strip().split(",")[:2]
    return int(w), int(h)


def detector_batches(data: Path) -> list[np.ndarray]:
    samples = data / "openmpf-samples"
    batches = []
    for video, step in VIDEO_STEP.items():
        for w, h in VIDEO_SIZES:
            sel = f"select=not(mod(n\\,{step})),scale={w}:{h}:flags=bilinear"
            cmd = ["ffmpeg", "-v", "error", "-i", str(samples / video), "-vf", sel,
                   "-vsync", "0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
            raw = subprocess.run(cmd, check=True, capture_output=True).stdout
            frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
            batches += [f.transpose(2, 0, 1)[None].astype(np.float32) for f in frames]
    for photo in sorted(samples.glob("*.jpg")):
        w0, h0 = image_size(photo)
        k = PHOTO_SIDE / max(w0, h0)
        w = max(DET_STRIDE, round(w0 * k / DET_STRIDE) * DET_STRIDE)
        h = max(DET_STRIDE, round(h0 * k / DET_STRIDE) * DET_STRIDE)
        frame = ffmpeg_rgb(["-i", str(photo)], w, h)[0]
        batches.append(frame.transpose(2, 0, 1)[None].astype(np.float32))
    return batches


def check_versions() -> None:
    got = {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__, "numpy": np.__version__}
    for pkg, want in PINNED.items():
        if got[pkg] != want:
            print(f"warning: {pkg} {got[pkg]} is installed; the shipped files were made with {want}",
                  file=sys.stderr)


def int8_manifest(text: str, name: str, digest: str) -> str:
    new_name = manifest_field(text, None, "name").rstrip('"') + ', int8 QDQ per-channel"'
    header = (f"# int8 copy of {name}.onnx made by scripts/quantize.py (static QDQ, per-channel\n"
              f"# int8 weights, uint8 activations; the output nodes stay float). Quality figures\n"
              f"# are in models/README.md. Everything else is {name}.toml's.\n")
    body = re.sub(r'(?m)^name\s*=.*$', f"name = {new_name}", text, count=1)
    body = re.sub(r'(?m)^file\s*=\s*"[^"]*"', f'file = "{name}-int8.onnx"', body, count=1)
    body, n = re.subn(r'(?m)^sha256\s*=\s*"[0-9a-fA-F]*"', f'sha256 = "{digest}"', body, count=1)
    if n != 1:
        sys.exit(f"error: {name}.toml needs exactly one sha256 line")
    return header + body


def quantize(name: str, data: Path, out_dir: Path, tmp: Path, method: str) -> None:
    src = MODELS_DIR / f"{name}.onnx"
    manifest = (MODELS_DIR / f"{name}.toml").read_text()
    task = manifest_field(manifest, None, "task").strip('"')
    input_name = manifest_field(manifest, "input", "name").strip('"')
    model = onnx.load(str(src))
    if task == "detect":
        model = version_converter.convert_version(model, DET_OPSET)
        batches = detector_batches(data)
    else:
        batches = classifier_batches(data, manifest)
    name_nodes(model)
    named, prepped = tmp / f"{name}-named.onnx", tmp / f"{name}-prep.onnx"
    onnx.save(model, str(named))
    # Symbolic shape inference cannot follow CenterFace's Resize on symbolic H and W;
    # ONNX's own shape inference is enough there.
    quant_pre_process(str(named), str(prepped), skip_symbolic_shape=task == "detect")
    keep_float = output_nodes(onnx.load(str(prepped)))
    out = tmp / f"{name}-int8.onnx"
    quantize_static(
        str(prepped), str(out), ArrayReader(input_name, batches),
        quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        calibrate_method=METHODS[method], nodes_to_exclude=keep_float,
    )
    q = onnx.load(str(out))
    q.doc_string = (f"int8 (QDQ, per-channel) copy of {name}.onnx by scripts/quantize.py; "
                    f"calibrated ({method}) on {sum(len(b) for b in batches)} inputs, seed {SEED}")
    onnx.checker.check_model(q, full_check=True)
    data_bytes = q.SerializeToString()
    digest = sha256_bytes(data_bytes)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}-int8.onnx").write_bytes(data_bytes)
    (out_dir / f"{name}-int8.toml").write_text(int8_manifest(manifest, name, digest))
    print(f"{name}-int8.onnx: {len(data_bytes):,} bytes, {len(keep_float)} output nodes kept float, "
          f"calibrated on {sum(len(b) for b in batches)} inputs\n  sha256 {digest}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", default=DEFAULT_MODELS,
                    help=f"model names under models/ (default: {' '.join(DEFAULT_MODELS)})")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data",
                    help="the shared data folder (fer2013/, openmpf-samples/)")
    ap.add_argument("--out-dir", type=Path, default=MODELS_DIR, help="where to write the int8 files")
    ap.add_argument("--calibration", choices=sorted(METHODS), default="minmax",
                    help="calibration method (the shipped files: minmax)")
    args = ap.parse_args()
    check_versions()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            quantize(name, args.data, args.out_dir, Path(tmp), args.calibration)


if __name__ == "__main__":
    main()
