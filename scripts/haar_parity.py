#!/usr/bin/env python3
"""Regenerate tests/fixtures/haar/*.json: OpenCV's detectMultiScale boxes on the shared photos.

    python3 -m venv .venv-haar && .venv-haar/bin/pip install opencv-python-headless==4.14.0.94
    .venv-haar/bin/python scripts/haar_parity.py [--data ../shared/data]

For each of the four frontal cascades in models/haar/ and each real photo
(dlib-faces/*.jpg, openmpf-samples/*.jpg) plus a few frames of openmpf-samples/video_01.mp4,
runs the tutorial recipe: BGR->gray, equalizeHist, detectMultiScale(scaleFactor 1.1,
minNeighbors 5, minSize 30x30) with 2 threads, and stores only the boxes (no pixels).
Video frames are stored with their index so the Rust test decodes the same frame.

OpenCV sees the pictures as our decoders decode them: `examples/haar_frames.rs` writes
them as scratch PNGs (deleted at the end). JPEG decoders differ by a few levels on some
pixels, which can move a borderline box; this way the fixtures compare the detectors alone.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
CASCADES = {
    "haar-default": "haarcascade_frontalface_default.xml",
    "haar-alt": "haarcascade_frontalface_alt.xml",
    "haar-alt2": "haarcascade_frontalface_alt2.xml",
    "haar-alt-tree": "haarcascade_frontalface_alt_tree.xml",
}
PARAMS = {"scale_factor": 1.1, "min_neighbors": 5, "min_size": [30, 30], "equalize": True}


def images(data: Path, tmp: str):
    """(name, frame index or None, BGR pixels) as our decoders see them."""
    run = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "--no-default-features", "--example", "haar_frames", "--",
         str(data), tmp],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    for line in run.stdout.splitlines():
        name, frame, png = line.split(" ", 2)
        bgr = cv2.imread(png, cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"{png}: OpenCV cannot read it")
        yield name, None if frame == "-" else int(frame), bgr


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("EMOJI_MIRROR_DATA", str(ROOT.parent / "shared" / "data")))
    args = ap.parse_args()
    data = Path(args.data)
    cv2.setNumThreads(2)
    out = ROOT / "tests" / "fixtures" / "haar"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        samples = list(images(data, tmp))
    for kind, file in CASCADES.items():
        cascade = cv2.CascadeClassifier(str(ROOT / "models" / "haar" / file))
        if cascade.empty():
            print(f"{file}: OpenCV cannot load it", file=sys.stderr)
            return 1
        entries = []
        for name, frame_index, bgr in samples:
            gray = cv2.equalizeHist(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
            boxes = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30))
            entries.append({
                "image": name,
                "frame": frame_index,
                "width": int(bgr.shape[1]),
                "height": int(bgr.shape[0]),
                "boxes": [[int(v) for v in b] for b in boxes],
            })
        doc = {"opencv": cv2.__version__, "cascade": file, "params": PARAMS, "entries": entries}
        (out / f"{kind}.json").write_text(json.dumps(doc, indent=1) + "\n")
        print(f"{kind}: {sum(len(e['boxes']) for e in entries)} boxes on {len(entries)} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
