#!/usr/bin/env python3
"""Combine several trained emotion CNNs into one ONNX graph (`emotion-cnn-ensemble`).

Examples (from the repository root):

  # two networks trained by train.py (their kept weights, <out-dir>/<name>.pt) and the
  # committed model (read back from its ONNX file), exported to models/
  python3 training/ensemble.py --member models/emotion-cnn.onnx \\
      --member run-b/member-b.pt --member run-c/member-c.pt --name emotion-cnn-ensemble

  # only measure (validation split, PublicTest, PrivateTest), export nothing
  python3 training/ensemble.py --member a.pt --member b.pt --no-export

What it does:
  1. loads every member: a train.py weights file (`<name>.pt`, which holds the widths and
     depth it was trained with), or an ONNX file exported by train.py / export.py (the
     convolution weights are read back with the batch norm already folded in, so the
     network computes exactly what the ONNX file computes);
  2. averages the members' softmax probabilities, and those of the mirror image
     (--no-flip-tta: the face as it is only);
  3. measures every member and the ensemble on the validation split of Training (the
     same stratified split train.py holds out; this is what choosing members may use),
     and reports PublicTest and PrivateTest (test data: reported, never used to choose);
  4. exports one ONNX graph with the manifest of the other classifiers, and writes
     <out-dir>/<name>.json with the figures.

The same member list is what `train.py --teacher` distils into a small network.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fer_data import DataError, read_fer_csv, to_tensor  # noqa: E402
from model import EmotionCnn, count_macs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _from_pt(path):
    try:
        try:
            saved = torch.load(path, map_location="cpu", weights_only=False)
        except TypeError:  # PyTorch before 1.13
            saved = torch.load(path, map_location="cpu")
    except (OSError, RuntimeError, EOFError, ValueError) as e:
        raise DataError(f"{path}: cannot read the weights ({e})") from None
    if not isinstance(saved, dict) or "state_dict" not in saved or "args" not in saved:
        raise DataError(f"{path}: not a weights file written by train.py (<name>.pt)")
    a = saved["args"]
    model = EmotionCnn(tuple(a["widths"]), a["convs_per_stage"], a.get("dropout", 0.3))
    try:
        model.load_state_dict(saved["state_dict"])
    except RuntimeError as e:
        raise DataError(f"{path}: weights do not fit widths {a['widths']} ({e})") from None
    return model


def _from_onnx(path):
    """An EmotionCnn computing what a train.py export computes (its first, unmirrored branch).

    The exporter folds each batch norm into the convolution before it, so a Conv node
    carries weight and bias; here the batch norm is set to the identity and the bias goes
    to its shift.
    """
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise DataError(f"{path}: reading an ONNX member needs the onnx package: apt install python3-onnx "
                        "(Debian 12) or pip install onnx") from None
    try:
        graph = onnx.load(str(path)).graph
    except Exception as e:  # onnx raises protobuf's DecodeError and others
        raise DataError(f"{path}: not a readable ONNX file ({e})") from None
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    # The mirror branch reads the same weights through Identity nodes.
    alias = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}
    for name, src in alias.items():
        if src in init:
            init[name] = init[src]
    convs, gemm, seen = [], None, set()
    for node in graph.node:
        if node.op_type == "Conv" and alias.get(node.input[1], node.input[1]) not in seen:
            seen.add(alias.get(node.input[1], node.input[1]))
            if len(node.input) < 3 or node.input[1] not in init or node.input[2] not in init:
                raise DataError(f"{path}: Conv node {node.name} has no folded weight and bias")
            convs.append((init[node.input[1]], init[node.input[2]]))
        elif node.op_type in ("Gemm", "MatMul") and gemm is None:
            gemm = node
    if not convs or gemm is None:
        raise DataError(f"{path}: not an emotion CNN exported by train.py ({len(convs)} Conv nodes)")
    widths, depth, last = [], 0, None
    for w, _ in convs:
        if w.shape[0] != last:
            widths.append(w.shape[0])
            last = w.shape[0]
    depth, rest = divmod(len(convs), len(widths))
    if rest or any(convs[i * depth][0].shape[0] != widths[i] for i in range(len(widths))):
        raise DataError(f"{path}: Conv widths {[w.shape[0] for w, _ in convs]} are not stages of equal depth")
    model = EmotionCnn(tuple(widths), depth)
    convs_pt = [m for m in model.features if isinstance(m, nn.Sequential)]
    with torch.no_grad():
        for block, (w, b) in zip(convs_pt, convs):
            conv, bn = block[0], block[1]
            if tuple(conv.weight.shape) != w.shape:
                raise DataError(f"{path}: Conv weight {w.shape} where {tuple(conv.weight.shape)} was expected")
            conv.weight.copy_(torch.tensor(w))
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.tensor(b))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        wname = next(i for i in gemm.input[1:] if i in init)
        bname = next((i for i in gemm.input[2:] if i in init and i != wname), None)
        w = torch.tensor(init[wname])
        trans_b = any(a.name == "transB" and a.i == 1 for a in gemm.attribute)
        if gemm.op_type == "MatMul" or not trans_b:
            w = w.t()
        if tuple(w.shape) != tuple(model.head.weight.shape):
            raise DataError(f"{path}: linear layer {tuple(w.shape)} where {tuple(model.head.weight.shape)} was expected")
        model.head.weight.copy_(w)
        if bname is not None:
            model.head.bias.copy_(torch.tensor(init[bname]))
        else:
            model.head.bias.zero_()
    return model


def load_member(path):
    """An EmotionCnn in eval mode from a train.py weights file (.pt) or a train.py ONNX export."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    model = _from_onnx(path) if path.suffix == ".onnx" else _from_pt(path)
    return model.eval()


def shift_offsets(pixels):
    """(dx, dy) of the views averaged by shift TTA: the face itself, then moved by `pixels` right,
    left, down and up (0: the face only)."""
    if pixels == 0:
        return [(0, 0)]
    return [(0, 0), (pixels, 0), (-pixels, 0), (0, pixels), (0, -pixels)]


class Shift(nn.Module):
    """The face moved by (dx, dy) pixels, edges repeated (as the training augmentation pads).

    Two Gathers with clamped indices, like ExportWrapper's mirror: every ONNX runtime has them.
    """

    def __init__(self, dx, dy, side=48):
        super().__init__()
        ramp = torch.arange(side)
        self.register_buffer("cols", (ramp - dx).clamp(0, side - 1))
        self.register_buffer("rows", (ramp - dy).clamp(0, side - 1))

    def forward(self, x):
        return x.index_select(3, self.cols).index_select(2, self.rows)


class Ensemble(nn.Module):
    """Log of the members' mean softmax probability over the shifted views (`shift` pixels, see
    shift_offsets): ExportWrapper's softmax turns it back into it, and averages the mirror image."""

    def __init__(self, members, shift=0):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.shifts = nn.ModuleList(Shift(dx, dy) for dx, dy in shift_offsets(shift))

    def forward(self, x):
        views = [s(x) for s in self.shifts]
        p = torch.stack([torch.softmax(m(v), dim=1) for m in self.members for v in views]).mean(0)
        return torch.log(p.clamp_min(1e-12))


@torch.no_grad()
def probabilities(model, x, flip=True, batch=512, shift=0):
    """Softmax probabilities [N,7] of `model` on normalised faces, averaged with the mirror image
    and over the shifted views (`shift` pixels; 0: none)."""
    model.eval()
    shifts = [Shift(dx, dy) for dx, dy in shift_offsets(shift)]
    out = []
    for i in range(0, len(x), batch):
        xb = x[i : i + batch]
        p = 0
        for s in shifts:
            v = s(xb)
            p = p + torch.softmax(model(v), 1)
            if flip:
                p = p + torch.softmax(model(v.flip(3)), 1)
        out.append(p / (len(shifts) * (2 if flip else 1)))
    return torch.cat(out)


def parse_args(argv=None):
    import train

    d = train.data_dir() / "fer2013"
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--member", type=Path, action="append", required=True,
                   help="a member: train.py weights (<name>.pt) or a train.py ONNX export; repeat for each")
    p.add_argument("--name", default="emotion-cnn-ensemble", help="file stem of the ONNX file and manifest")
    p.add_argument("--model-dir", type=Path, default=ROOT / "models", help="where the ONNX file and manifest go")
    p.add_argument("--out-dir", type=Path, default=ROOT / "training" / "report",
                   help="where <name>.json with the figures goes")
    p.add_argument("--no-flip-tta", action="store_true", help="no mirror-image averaging")
    p.add_argument("--shift-tta", type=int, default=0, metavar="PIXELS",
                   help="also average the face moved by PIXELS right, left, down and up (5 views, "
                        "10 with the mirror; choose PIXELS on the validation figure; default 0: none)")
    p.add_argument("--no-export", action="store_true", help="measure only")
    p.add_argument("--validation-only", action="store_true",
                   help="measure on the validation split only (to choose settings; implies --no-export)")
    p.add_argument("--train-csv", type=Path, default=d / "fer2013_train.csv.gz")
    p.add_argument("--test-csv", type=Path, action="append",
                   help="test CSVs to report on (default: PublicTest and PrivateTest)")
    p.add_argument("--val-fraction", type=float, default=train.DEFAULT_VAL_FRACTION)
    p.add_argument("--split-seed", type=int, default=train.DEFAULT_SPLIT_SEED)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for PyTorch")
    args = p.parse_args(argv)
    args.test_csv = args.test_csv or [d / "fer2013_publictest.csv.gz", d / "fer2013_privatetest.csv.gz"]
    if args.validation_only:
        args.test_csv, args.no_export = [], True
    return args


def main(argv=None):
    import train

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        members = [load_member(m) for m in args.member]
        faces, labels = read_fer_csv(args.train_csv, "Training")
        _, va = train.stratified_split(labels, args.val_fraction, args.split_seed)
        sets = [("validation", train.normalise(to_tensor(faces[va])), torch.from_numpy(labels[va]))]
        for csv in args.test_csv:
            f, l = read_fer_csv(csv)
            sets.append((csv.name.split(".")[0], train.normalise(to_tensor(f)), torch.from_numpy(l)))
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    del faces
    flip = not args.no_flip_tta
    names = [m.name for m in args.member]
    figures = {"members": [], "flip_tta": flip, "shift_tta": args.shift_tta}
    ens_probs = {name: 0 for name, _, _ in sets}
    for name, model in zip(names, members):
        row = {"member": name, "macs": count_macs(model)}
        for set_name, x, y in sets:
            p = probabilities(model, x, flip, shift=args.shift_tta)
            ens_probs[set_name] = ens_probs[set_name] + p / len(members)
            row[set_name] = (p.argmax(1) == y).float().mean().item()
        figures["members"].append(row)
        print(f"member {name}: " + ", ".join(f"{k} {row[k]:.2%}" for k, _, _ in sets), flush=True)
    ens = {"macs": sum(r["macs"] for r in figures["members"])}
    correct_all, total_all = 0, 0
    for set_name, _, y in sets:
        ok = (ens_probs[set_name].argmax(1) == y).sum().item()
        ens[set_name] = ok / len(y)
        if set_name != "validation":
            correct_all, total_all = correct_all + ok, total_all + len(y)
    ens["test_all"] = correct_all / total_all if total_all else None
    figures["ensemble"] = ens
    shifted = f", shifts of {args.shift_tta} px" if args.shift_tta else ""
    print(f"ensemble of {len(members)}{' with mirror averaging' if flip else ''}{shifted}: "
          + ", ".join(f"{k} {ens[k]:.2%}" for k, _, _ in sets)
          + (f", test sets together {ens['test_all']:.2%}" if total_all else ""),
          flush=True)
    if not args.no_export:
        import train

        model = Ensemble(members, args.shift_tta).eval()
        args.model_dir.mkdir(parents=True, exist_ok=True)
        desc = f"ensemble of {len(members)}{shifted}: " + ", ".join(names)
        onnx_path = train.export(model, args.model_dir, args.name, flip, None, description=desc)
        figures["onnx"] = str(Path(onnx_path).name)
        print(f"exported {onnx_path}", flush=True)
    if args.validation_only:
        return
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{args.name}.json").write_text(json.dumps(figures, indent=1))
    print(f"wrote {args.out_dir / (args.name + '.json')}")


if __name__ == "__main__":
    main()
