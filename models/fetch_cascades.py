#!/usr/bin/env python3
"""Fetch OpenCV's Haar cascades into models/haar/ from the opencv-python-headless wheel.

    python3 models/fetch_cascades.py

Downloads `opencv-python-headless==4.14.0.94` with `pip download --no-deps` (only the
wheel, nothing installed), unpacks `cv2/data/<name>.xml` for the five face cascades and
checks each file's sha256 against the values recorded below (and in models/README.md).
The files are OpenCV's, under the Intel License Agreement quoted in each file's header.
"""

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "opencv-python-headless==4.14.0.94"
OUT = Path(__file__).resolve().parent / "haar"
CASCADES = {
    "haarcascade_frontalface_default.xml": "0f7d4527844eb514d4a4948e822da90fbb16a34a0bbbbc6adc6498747a5aafb0",
    "haarcascade_frontalface_alt.xml": "6281df13459cc218ff047d02b2ae3859b12ff14a93ffe8952f7b33fad7b9697b",
    "haarcascade_frontalface_alt2.xml": "7b0c967d9abbdfbde025eb9c786947d151b6426040d07a8f9562ed8fd90724b4",
    "haarcascade_frontalface_alt_tree.xml": "0e5ee47ecc13269d54dd7a55f8b53752167c52587720877732388fb078a0480a",
    "haarcascade_profileface.xml": "b39a4a3be45539db146a7fc1d3e761a292c196eb88421185e6a615b3055e612d",
}


def main() -> int:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", tmp, PACKAGE],
            check=True,
        )
        wheels = list(Path(tmp).glob("opencv_python_headless-*.whl"))
        if len(wheels) != 1:
            print(f"expected one wheel, found {wheels}", file=sys.stderr)
            return 1
        with zipfile.ZipFile(wheels[0]) as z:
            for name, want in CASCADES.items():
                data = z.read(f"cv2/data/{name}")
                got = hashlib.sha256(data).hexdigest()
                if got != want:
                    print(f"{name}: sha256 {got}, expected {want}", file=sys.stderr)
                    return 1
                (OUT / name).write_bytes(data)
                print(f"{name}: {len(data)} bytes, sha256 {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
