#!/usr/bin/env python3
"""Side-by-side speed of OpenCV's detectMultiScale and ours, same frames, 2 threads.

    .venv-haar/bin/python scripts/haar_speed.py [--data ../shared/data] [--rounds 3]

Builds and runs `examples/haar_time.rs` (release), which makes 640x480 frames from the
shared photos (scaled to fit, padded black), writes them as PNG, and times our detector;
then times OpenCV 4.14 (cv2.setNumThreads(2)) on the same PNGs with the same recipe
(gray, equalizeHist, scaleFactor 1.1, minNeighbors 5, minSize 30x30) and prints the ratio.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
FILES = {
    "haar-default": "haarcascade_frontalface_default.xml",
    "haar-alt": "haarcascade_frontalface_alt.xml",
    "haar-alt2": "haarcascade_frontalface_alt2.xml",
    "haar-alt-tree": "haarcascade_frontalface_alt_tree.xml",
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("EMOJI_MIRROR_DATA", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    cv2.setNumThreads(2)
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run(
            ["cargo", "run", "--quiet", "--release", "--no-default-features", "--example", "haar_time", "--",
             args.data, tmp, str(args.rounds)],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )
        ours = {}
        for line in run.stdout.splitlines():
            kind, ms, faces = line.split()
            ours[kind] = (float(ms), int(faces))
        frames = [cv2.imread(str(p)) for p in sorted(Path(tmp).glob("frame_*.png"))]
    print(f"{len(frames)} frames 640x480, OpenCV {cv2.__version__}, 2 threads, {args.rounds} rounds")
    print(f"{'cascade':<14} {'OpenCV ms':>10} {'ours ms':>8} {'ratio':>6} {'faces cv/ours':>14}")
    for kind, file in FILES.items():
        c = cv2.CascadeClassifier(str(ROOT / "models" / "haar" / file))
        grays = [cv2.equalizeHist(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)) for f in frames]
        faces = sum(len(c.detectMultiScale(g, 1.1, 5, minSize=(30, 30))) for g in grays)  # warm-up
        t0 = time.perf_counter()
        for _ in range(args.rounds):
            for f in frames:
                g = cv2.equalizeHist(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY))
                c.detectMultiScale(g, 1.1, 5, minSize=(30, 30))
        cv_ms = (time.perf_counter() - t0) * 1000 / (args.rounds * len(frames))
        our_ms, our_faces = ours[kind]
        print(f"{kind:<14} {cv_ms:>10.2f} {our_ms:>8.2f} {cv_ms / our_ms:>5.2f}x {faces:>7}/{our_faces}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
