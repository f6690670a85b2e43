#!/usr/bin/env python3
"""Fool the AI with gradients (for teaching): FGSM and PGD against the shipped emotion CNN.

`emoji-mirror hack` attacks the classifier through ONNX Runtime, which gives no gradients,
so it can only ask for probabilities (SimBA, a black-box attack). This script shows the
white-box side: it loads the very same ONNX file into PyTorch (a small reader for the few
operators our classifiers use, so no extra package is needed), and follows the gradient of
the loss with respect to the input pixels.

  FGSM (Goodfellow et al. 2015): one step of size budget along the sign of the gradient.
  PGD  (Madry et al. 2018): many small signed steps, each followed by a projection back
       into the budget (every pixel within budget gray levels of the original, and 0..255).

Both are targeted here: they lower the cross-entropy of the target class (e.g. sad). The
faces are 8-bit gray crops at the model's input size, as `emoji-mirror hack` writes them
(input.png); a result counts only after rounding to 8 bits, like a saved PNG.

    python3 training/attack.py --manifest models/emotion-cnn-fast.toml \\
        --from happy --to sad --budget 8 crops/*.png [--out-dir pictures/] [--json result.json]

Prints one line per face and method (read before/after, probabilities, gradient steps) and
the success rate of each method.
"""

import argparse
import collections
import json
import struct
import sys
import tomllib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# PGD: step size as a fraction of the budget, and the number of steps (Madry et al. use
# 2.5 * budget / steps; a quarter of the budget with 20 steps crosses the budget ~5 times).
PGD_STEP_FRACTION = 0.25
PGD_STEPS = 20

# ONNX TensorProto data types we read.
ONNX_FLOAT = 1
ONNX_INT64 = 7


# ---------------------------------------------------------------- a minimal ONNX reader

def _varint(buf, i):
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(buf):
    """Protocol-buffer fields of one message: {field number: [raw values]}."""
    out = collections.defaultdict(list)
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out[number].append(value)
    return out


def _signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def _tensor(buf):
    """(name, torch tensor) of an ONNX TensorProto."""
    f = _fields(buf)
    dims = [_signed(d) for d in f[1]]
    dtype = f[2][0] if f[2] else ONNX_FLOAT
    name = f[8][0].decode() if f[8] else ""
    if dtype == ONNX_FLOAT:
        raw = f[9][0] if f[9] else b"".join(f[4])  # raw_data, else float_data (packed or not)
        data = np.frombuffer(raw, dtype="<f4")
        return name, torch.tensor(data.copy(), dtype=torch.float32).reshape(dims)
    if dtype == ONNX_INT64:
        if f[9]:
            data = np.frombuffer(f[9][0], dtype="<i8")
        else:
            packed = b"".join(f[7])
            values, i = [], 0
            while i < len(packed):
                v, i = _varint(packed, i)
                values.append(_signed(v))
            data = np.array(values, dtype=np.int64)
        return name, torch.tensor(data.copy(), dtype=torch.int64).reshape(dims)
    raise ValueError(f"tensor {name}: unsupported ONNX data type {dtype}")


def _attribute(buf):
    f = _fields(buf)
    name = f[1][0].decode()
    if f[8]:  # ints (packed or not)
        ints = []
        for raw in f[8]:
            if isinstance(raw, bytes):
                i = 0
                while i < len(raw):
                    v, i = _varint(raw, i)
                    ints.append(_signed(v))
            else:
                ints.append(_signed(raw))
        return name, ints
    if f[3]:
        return name, _signed(f[3][0])
    if f[2]:
        return name, struct.unpack("<f", f[2][0])[0]
    if f[5]:
        return name, _tensor(f[5][0])[1]
    if f[4]:
        return name, f[4][0].decode()
    return name, None


def _pad(x, pads, value):
    """ONNX pads (top, left, bottom, right): symmetric ones go to the operator, others are applied here."""
    top, left, bottom, right = pads
    if (top, left) == (bottom, right):
        return x, [top, left]
    return F.pad(x, (left, right, top, bottom), value=value), [0, 0]


class OnnxGraph(torch.nn.Module):
    """An ONNX classifier run by PyTorch ops, so gradients flow to the input."""

    SUPPORTED = {"Conv", "Relu", "MaxPool", "GlobalAveragePool", "Flatten", "Gemm", "Softmax",
                 "Identity", "Gather", "Add", "Mul", "Constant"}

    def __init__(self, path):
        super().__init__()
        model = _fields(Path(path).read_bytes())
        graph = _fields(model[7][0])
        self.consts = dict(_tensor(t) for t in graph[5])
        self.nodes = []
        for raw in graph[1]:
            n = _fields(raw)
            op = n[4][0].decode()
            if op not in self.SUPPORTED:
                raise SystemExit(f"error: {path}: operator {op} is not supported by this reader")
            self.nodes.append((op, [x.decode() for x in n[1]], [x.decode() for x in n[2]],
                               dict(_attribute(a) for a in n[5])))
        inputs = [_fields(v)[1][0].decode() for v in graph[11]]
        self.input_name = next(i for i in inputs if i not in self.consts)
        self.output_name = _fields(graph[12][0])[1][0].decode()

    def forward(self, x):
        values = dict(self.consts)
        values[self.input_name] = x
        for op, ins, outs, a in self.nodes:
            v = [values[i] if i else None for i in ins]
            if op == "Conv":
                x, padding = _pad(v[0], a.get("pads", [0, 0, 0, 0]), 0.0)
                y = F.conv2d(x, v[1], v[2] if len(v) > 2 else None, stride=a.get("strides", [1, 1]),
                             padding=padding, dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
            elif op == "Relu":
                y = F.relu(v[0])
            elif op == "MaxPool":
                x, padding = _pad(v[0], a.get("pads", [0, 0, 0, 0]), float("-inf"))
                y = F.max_pool2d(x, a["kernel_shape"], a.get("strides", a["kernel_shape"]), padding=padding,
                                 ceil_mode=bool(a.get("ceil_mode", 0)))
            elif op == "GlobalAveragePool":
                y = v[0].mean(dim=(2, 3), keepdim=True)
            elif op == "Flatten":
                y = v[0].flatten(a.get("axis", 1))
            elif op == "Gemm":
                b = v[1].t() if a.get("transB", 0) else v[1]
                y = a.get("alpha", 1.0) * (v[0] @ b) + a.get("beta", 1.0) * v[2]
            elif op == "Softmax":
                y = torch.softmax(v[0], dim=a.get("axis", -1))
            elif op == "Identity":
                y = v[0]
            elif op == "Gather":
                y = v[0].index_select(a.get("axis", 0) % v[0].dim(), v[1].reshape(-1))
            elif op == "Add":
                y = v[0] + v[1]
            elif op == "Mul":
                y = v[0] * v[1]
            else:  # Constant
                y = a["value"]
            values[outs[0]] = y
        return values[self.output_name]


# ---------------------------------------------------------------- the attacks

class Classifier:
    """The manifest's classifier on 0..255 pixel tensors [N,1,H,W]; returns probabilities."""

    def __init__(self, manifest_path):
        manifest_path = Path(manifest_path)
        m = tomllib.loads(manifest_path.read_text())
        if m["input"].get("color") != "gray":
            raise SystemExit(f"error: {manifest_path}: only gray classifiers are supported")
        self.labels = [l.lower() for l in m["output"]["labels"]]
        self.scale = float(m["input"].get("scale", 255.0))
        self.mean = float(m["input"].get("mean", [0.0])[0])
        self.std = float(m["input"].get("std", [1.0])[0])
        self.side = int(m["input"]["width"])
        self.softmaxed = m["output"].get("kind", "probabilities") == "probabilities"
        self.graph = OnnxGraph(manifest_path.parent / m["file"]).eval()

    def probabilities(self, pixels):
        out = self.graph((pixels / self.scale - self.mean) / self.std)
        return out if self.softmaxed else torch.softmax(out, dim=1)

    def label(self, name):
        if name.lower() not in self.labels:
            raise SystemExit(f"error: unknown emotion '{name}'; the classifier knows {', '.join(self.labels)}")
        return self.labels.index(name.lower())


def project(x, original, budget):
    """Every pixel within `budget` gray levels of the original and within 0..255."""
    return torch.max(torch.min(x, original + budget), original - budget).clamp(0.0, 255.0)


def target_loss(clf, x, to):
    """Cross-entropy of the target class (lower: more `to`)."""
    return -torch.log(clf.probabilities(x)[:, to].clamp_min(1e-12)).sum()


def gradient(clf, x, to):
    x = x.clone().requires_grad_(True)
    target_loss(clf, x, to).backward()
    return x.grad


def fgsm(clf, original, to, budget):
    """One signed step of the full budget against the target loss; (picture, gradient steps)."""
    x = original - budget * gradient(clf, original, to).sign()
    return project(x, original, budget).round(), 1


def pgd(clf, original, to, budget, steps=PGD_STEPS, step_fraction=PGD_STEP_FRACTION):
    """Signed steps of step_fraction * budget, projected after each; stops once read as `to`."""
    x = original.clone()
    for step in range(1, steps + 1):
        x = project(x - step_fraction * budget * gradient(clf, x, to).sign(), original, budget)
        with torch.no_grad():
            if clf.probabilities(x.round()).argmax(1).item() == to:
                return x.round(), step
    return x.round(), steps


def load_gray(path, side):
    from PIL import Image
    img = Image.open(path).convert("L")
    if img.size != (side, side):
        raise SystemExit(f"error: {path}: {img.size[0]}x{img.size[1]}, expected the model's {side}x{side} input crop")
    return torch.tensor(np.asarray(img, dtype=np.float32)).reshape(1, 1, side, side)


def save_gray(x, path):
    from PIL import Image
    Image.fromarray(x.reshape(x.shape[-2:]).detach().numpy().astype(np.uint8)).save(path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("faces", nargs="+", type=Path, help="gray face crops at the model's input size (PNG)")
    p.add_argument("--manifest", type=Path, default=Path(__file__).resolve().parent.parent
                   / "models" / "emotion-cnn-fast.toml")
    p.add_argument("--from", dest="from_", default="happy")
    p.add_argument("--to", default="sad")
    p.add_argument("--budget", type=float, default=8.0, help="largest change per pixel, gray levels of 255")
    p.add_argument("--steps", type=int, default=PGD_STEPS, help="PGD steps at most")
    p.add_argument("--out-dir", type=Path, help="write <face>-fgsm.png and <face>-pgd.png here")
    p.add_argument("--json", type=Path, help="write the results as JSON")
    args = p.parse_args(argv)

    torch.set_grad_enabled(True)
    clf = Classifier(args.manifest)
    src, to = clf.label(args.from_), clf.label(args.to)
    if args.out_dir:
        args.out_dir.mkdir(parents=True, exist_ok=True)
    results, tally = [], collections.Counter()
    for path in args.faces:
        original = load_gray(path, clf.side)
        with torch.no_grad():
            before = clf.probabilities(original)[0]
        read = int(before.argmax())
        if read != src:
            print(f"{path.name}: read as {clf.labels[read]}, not {args.from_}; skipped")
            continue
        tally["faces"] += 1
        row = {"face": path.name, "before": before.tolist()}
        for method, run in (("fgsm", lambda: fgsm(clf, original, to, args.budget)),
                            ("pgd", lambda: pgd(clf, original, to, args.budget, args.steps))):
            x, steps = run()
            with torch.no_grad():
                after = clf.probabilities(x)[0]
            change = int((x - original).abs().max())
            ok = int(after.argmax()) == to
            tally[method] += ok
            tally[method + "_steps"] += steps
            row[method] = {"reached": ok, "gradient_steps": steps, "max_change": change, "after": after.tolist()}
            print(f"{path.name} {method:4}: {clf.labels[read]} {before[src]:.0%} -> {clf.labels[int(after.argmax())]}"
                  f" ({args.to} {after[to]:.0%}), {steps} gradient step(s), largest change {change}")
            if args.out_dir:
                save_gray(x, args.out_dir / f"{path.stem}-{method}.png")
        results.append(row)
    n = tally["faces"]
    if n == 0:
        raise SystemExit(f"error: none of the {len(args.faces)} faces is read as {args.from_}")
    summary = {m: {"reached": tally[m], "faces": n, "mean_gradient_steps": tally[m + "_steps"] / n}
               for m in ("fgsm", "pgd")}
    for m, s in summary.items():
        print(f"{m.upper()}: {s['reached']}/{n} faces read as {args.to} within {args.budget:g} gray levels, "
              f"{s['mean_gradient_steps']:.1f} gradient steps on average")
    if args.json:
        args.json.write_text(json.dumps({"manifest": args.manifest.name, "budget": args.budget, "summary": summary,
                                         "faces": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
