#!/usr/bin/env python3
"""Independent reference accuracy of an emotion classifier on FER2013-layout data.

Uses only numpy and onnxruntime (see models/requirements.txt), not the Rust code, so the
number can be compared with the project's own evaluation.

    python3 scripts/reference_eval.py fer2013_publictest.csv.gz [--usage PublicTest] \
        [--manifest models/emotion-mini-xception.toml] [--json result.json]

Input: a CSV or CSV.gz with a header line and columns `emotion,pixels,Usage`; `pixels`
is 2304 space-separated 0..255 integers (a 48x48 gray face, row-major); `emotion` is the
FER2013 code 0..6, which is also the label index of the model.

Preprocessing: the 48x48 face is resized to the model's input size with bilinear
interpolation, half-pixel centres and edge clamping (the OpenCV INTER_LINEAR convention:
src = (dst + 0.5) * in / out - 0.5, clamped to [0, in - 1]), computed in float64; then
value = (pixel / scale - mean) / std with the numbers from the manifest. Only gray,
single-channel classifiers are supported.
"""

import argparse
import csv
import gzip
import hashlib
import json
import sys
import tomllib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def read_csv(path: Path, usage: str | None):
    opener = gzip.open if path.name.endswith(".gz") else open
    labels, faces = [], []
    with opener(path, "rt", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        try:
            ie, ip, iu = (header.index(c) for c in ("emotion", "pixels", "Usage"))
        except ValueError:
            sys.exit(f"error: {path.name}: header must have emotion,pixels,Usage, got {header}")
        for row in reader:
            if usage is not None and row[iu] != usage:
                continue
            px = np.array(row[ip].split(), dtype=np.uint8)
            if px.size != 48 * 48:
                sys.exit(f"error: {path.name}: a row has {px.size} pixels, expected 2304")
            labels.append(int(row[ie]))
            faces.append(px.reshape(48, 48))
    if not faces:
        sys.exit(f"error: no rows (usage filter {usage!r})")
    return np.array(labels), np.stack(faces)


def _axis_weights(n_in: int, n_out: int):
    """Source indices and weights of a half-pixel-centre linear resize along one axis."""
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = src - i0
    return i0, i1, frac


def resize_bilinear(imgs: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """imgs (N, H, W) -> (N, out_h, out_w) float64."""
    x = imgs.astype(np.float64)
    n, h, w = x.shape
    y0, y1, fy = _axis_weights(h, out_h)
    x0, x1, fx = _axis_weights(w, out_w)
    rows = x[:, y0, :] * (1 - fy)[None, :, None] + x[:, y1, :] * fy[None, :, None]
    return rows[:, :, x0] * (1 - fx)[None, None, :] + rows[:, :, x1] * fx[None, None, :]


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main():
    ap = argparse.ArgumentParser(description="Reference accuracy with onnxruntime + numpy.")
    ap.add_argument("csv", type=Path, help="FER2013-layout CSV or CSV.gz")
    ap.add_argument("--usage", default=None, help="only rows with this Usage (e.g. PublicTest)")
    ap.add_argument("--manifest", type=Path, default=REPO / "models" / "emotion-mini-xception.toml",
                    help="classifier manifest (default: %(default)s)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0 = default)")
    ap.add_argument("--json", type=Path, default=None, help="write the result as JSON here")
    args = ap.parse_args()

    import onnxruntime as ort

    man = tomllib.loads(args.manifest.read_text())
    if man.get("task") != "classify":
        sys.exit("error: manifest task must be classify")
    inp, outp = man["input"], man["output"]
    if inp["color"] != "gray":
        sys.exit("error: only gray classifiers are supported")
    model_path = (args.manifest.parent / man["file"]).resolve()
    model_bytes = model_path.read_bytes()
    digest = hashlib.sha256(model_bytes).hexdigest()
    if man.get("sha256") and man["sha256"] != digest:
        sys.exit(f"error: {model_path.name} sha256 {digest} != manifest {man['sha256']}")
    labels = outp["labels"]
    k = len(labels)

    so = ort.SessionOptions()
    so.log_severity_level = 3
    if args.threads:
        so.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])

    y, faces = read_csv(args.csv, args.usage)
    if y.min() < 0 or y.max() >= k:
        sys.exit(f"error: emotion codes outside 0..{k - 1}")
    w, h = int(inp["width"]), int(inp["height"])
    scale = float(inp["scale"])
    mean, std = float(inp["mean"][0]), float(inp["std"][0])

    preds = []
    for s in range(0, len(faces), args.batch):
        x = resize_bilinear(faces[s:s + args.batch], h, w)
        x = ((x / scale - mean) / std).astype(np.float32)
        x = x[:, None, :, :] if inp["layout"] == "NCHW" else x[:, :, :, None]
        out = sess.run([outp["name"]], {inp["name"]: x})[0]
        if outp["kind"] == "logits":
            out = softmax(out)
        preds.append(out.argmax(axis=1))
    pred = np.concatenate(preds)

    conf = np.zeros((k, k), dtype=np.int64)
    np.add.at(conf, (y, pred), 1)
    correct = int(np.trace(conf))
    n = int(len(y))
    acc = correct / n
    recall = {labels[i]: (round(conf[i, i] / conf[i].sum(), 4) if conf[i].sum() else None)
              for i in range(k)}

    print(f"model {model_path.name} sha256 {digest}")
    print(f"data {args.csv.name} usage {args.usage or 'all'}: {n} faces")
    print(f"Accuracy on test set: {100 * acc:.2f}%")
    print("per-class recall:")
    for i, lab in enumerate(labels):
        r = recall[lab]
        print(f"  {lab:9s} {'-' if r is None else f'{r:.4f}'}  ({conf[i, i]}/{conf[i].sum()})")
    print("confusion matrix (rows = true, columns = predicted):")
    print("  " + " ".join(f"{lab[:7]:>7s}" for lab in ["", *labels]))
    for i, lab in enumerate(labels):
        print("  " + f"{lab[:7]:>7s} " + " ".join(f"{v:7d}" for v in conf[i]))

    if args.json:
        res = {"model_sha256": digest, "csv": args.csv.name, "usage": args.usage,
               "count": n, "correct": correct, "accuracy": round(acc, 4),
               "recall": recall, "confusion": conf.tolist()}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(res, indent=2)
        # one confusion-matrix row per line
        rows = ",\n".join("    " + json.dumps(r) for r in res["confusion"])
        text = text[:text.index('"confusion": [')] + '"confusion": [\n' + rows + "\n  ]\n}"
        args.json.write_text(text + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
