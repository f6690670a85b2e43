#!/usr/bin/env python3
"""Regenerate tests/fixtures/lbph/dlib-faces.json: OpenCV's LBPH on real face crops.

    python3 -m venv ~/.cache/lbph-venv
    ~/.cache/lbph-venv/bin/pip install opencv-contrib-python-headless==4.14.0.94 numpy
    ~/.cache/lbph-venv/bin/python scripts/lbph_parity.py [--data ../shared/data]

The crops are the labelled face boxes of dlib-faces (boxes.csv), widened by MARGIN on every
side and clamped to the picture. OpenCV sees the pictures as our decoders decode them
(`examples/haar_frames.rs` writes them as scratch PNGs, deleted at the end) and turns them
gray with cvtColor(BGR2GRAY), which our gray conversion matches bit for bit.

cv2.face.LBPHFaceRecognizer_create(radius 1, neighbors 8, grid 8x8) is trained on the first
TRAIN crops, one label each; the fixture keeps their histograms (getHistograms, sparse:
[bin, value] for the non-zero bins) and, for every crop shifted by SHIFT pixels, the
predicted label and distance. Only numbers and crop coordinates are stored, no pixels.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# Widening of each labelled box on every side, as a fraction of its side.
MARGIN = 0.15
# Crops the recogniser is trained on (the rest are queries only).
TRAIN = 16
# Offset (pixels, right and down) of the query crops against the labelled ones.
SHIFT = 2
PARAMS = {"radius": 1, "neighbors": 8, "grid_x": 8, "grid_y": 8}


def decoded(data: Path, tmp: str, frames_bin: str | None) -> dict:
    """{'dlib-faces/NAME.jpg': BGR pixels} as our decoders see them."""
    command = [frames_bin] if frames_bin else ["cargo", "run", "--quiet", "--example", "haar_frames", "--"]
    run = subprocess.run(command + [str(data), tmp], cwd=ROOT, check=True, capture_output=True, text=True)
    out = {}
    for line in run.stdout.splitlines():
        name, frame, png = line.split(" ", 2)
        if frame == "-" and name.startswith("dlib-faces/"):
            bgr = cv2.imread(png, cv2.IMREAD_COLOR)
            if bgr is None:
                raise SystemExit(f"{png}: OpenCV cannot read it")
            out[name] = bgr
    return out


def shortest(v) -> float:
    """A float32 as the shortest decimal that reads back as the same float32."""
    return float(repr(np.float32(v)).removeprefix("np.float32(").removesuffix(")"))


def clamp_crop(x, y, w, h, width, height):
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + w), min(height, y + h)
    return [x0, y0, x1 - x0, y1 - y0]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("EMOJI_MIRROR_DATA", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--frames-bin", help="an already built haar_frames example (default: cargo run)")
    args = ap.parse_args()
    data = Path(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        pictures = decoded(data, tmp, args.frames_bin)
    with open(data / "dlib-faces" / "boxes.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    crops = []
    for r in rows:
        name = "dlib-faces/" + r["file"]
        gray = cv2.cvtColor(pictures[name], cv2.COLOR_BGR2GRAY)
        x, y, w, h = (int(r[k]) for k in ("left", "top", "width", "height"))
        m = round(MARGIN * max(w, h))
        crop = clamp_crop(x - m, y - m, w + 2 * m, h + 2 * m, gray.shape[1], gray.shape[0])
        query = clamp_crop(crop[0] + SHIFT, crop[1] + SHIFT, crop[2], crop[3], gray.shape[1], gray.shape[0])
        crops.append((name, gray, crop, query))

    def pixels(gray, c):
        return np.ascontiguousarray(gray[c[1]:c[1] + c[3], c[0]:c[0] + c[2]])

    model = cv2.face.LBPHFaceRecognizer_create(**PARAMS)
    train = crops[:TRAIN]
    model.train([pixels(g, c) for _, g, c, _ in train], np.arange(len(train), dtype=np.int32))
    histograms = model.getHistograms()
    train_entries = []
    for label, ((name, _, crop, _), hist) in enumerate(zip(train, histograms)):
        flat = hist.reshape(-1)
        nonzero = np.flatnonzero(flat)
        train_entries.append({
            "image": name,
            "crop": crop,
            "label": label,
            "bins": len(flat),
            "histogram": [[int(i), shortest(flat[i])] for i in nonzero],
        })
    queries = []
    for name, gray, crop, query in crops:
        label, distance = model.predict(pixels(gray, query))
        queries.append({"image": name, "crop": query, "label": int(label), "distance": float(distance)})
    doc = {
        "opencv": cv2.__version__,
        "params": PARAMS,
        "margin": MARGIN,
        "shift": SHIFT,
        "train": train_entries,
        "queries": queries,
    }
    out = ROOT / "tests" / "fixtures" / "lbph"
    out.mkdir(parents=True, exist_ok=True)
    (out / "dlib-faces.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    right = sum(q["label"] == i for i, q in enumerate(queries[:TRAIN]))
    print(f"{len(train_entries)} trained, {len(queries)} queries, {right} of the first {TRAIN} find their own crop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
