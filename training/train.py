#!/usr/bin/env python3
"""Train emoji-mirror's own emotion CNN from scratch on FER2013 and export it to ONNX.

Examples (from the repository root):

  # the committed model: train on Training, stop early on PublicTest, export to models/
  python3 training/train.py --epochs 60 --time-budget-min 70 --model-dir models

  # a smoke test: 512 faces, one epoch, exported beside the other smoke outputs
  python3 training/train.py --limit 512 --val-limit 256 --epochs 1 --out-dir /tmp/smoke --name smoke

  # only the training faces our face detector finds (keep-list from `emoji-mirror screen`)
  python3 training/train.py --keep-list keep.txt

What it does, one stage at a time (every stage prints what it did):
  1. reads the FER2013 CSVs (Training to learn, PublicTest to validate and stop early);
  2. trains the CNN in training/model.py with augmentation (flips, shifts,
     rotations, scales, brightness/contrast, random erasing), SGD with Nesterov
     momentum and a one-cycle learning-rate schedule, weight decay, dropout and
     label smoothing; after every epoch it measures PublicTest loss and accuracy
     and keeps the best weights; it stops when PublicTest accuracy has not improved
     for --patience epochs, or when the time budget is spent;
  3. exports the best weights to ONNX (probabilities averaged over the face and its
     mirror image inside the graph) with a manifest in the format of the other models;
     and the same weights without the mirror averaging as <name>-fast (half the
     work per face); the best weights are also kept as <out-dir>/<name>.pt;
  4. writes history.json, learning_curves.png, architecture.txt and
     training_report.md into the output folder.

Re-export from the kept weights: python3 training/export.py --help

The FER2013 faces are only held in memory; nothing derived from them pixel for
pixel is written.
"""

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fer_data import LABELS, Augment, DataError, read_fer_csv, read_keep_list, to_tensor  # noqa: E402
from model import MEAN, STD, EmotionCnn, ExportWrapper, count_macs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def data_dir():
    return Path(os.environ.get("EMOJI_MIRROR_DATA", ROOT.parent / "shared" / "data"))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = data_dir() / "fer2013"
    p.add_argument("--train-csv", type=Path, default=d / "fer2013_train.csv.gz", help="FER2013 CSV to learn from")
    p.add_argument("--val-csv", type=Path, default=d / "fer2013_publictest.csv.gz", help="FER2013 CSV to validate on")
    p.add_argument("--train-usage", default="Training", help="Usage value of the training rows")
    p.add_argument("--val-usage", default="PublicTest", help="Usage value of the validation rows")
    p.add_argument("--keep-list", type=Path, help="keep only these training rows (from `emoji-mirror screen`)")
    p.add_argument("--limit", type=int, help="use only the first N training faces")
    p.add_argument("--val-limit", type=int, help="use only the first N validation faces")
    p.add_argument("--epochs", type=int, default=60, help="planned epochs; the learning-rate schedule spans them")
    p.add_argument("--patience", type=int, default=12, help="stop after this many epochs without a better PublicTest accuracy")
    p.add_argument("--time-budget-min", type=float, help="stop starting new epochs after this many minutes")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--widths", default="24,48,96,192", help="channels of each stage, comma-separated")
    p.add_argument("--convs-per-stage", type=int, default=2)
    p.add_argument("--no-augment", action="store_true", help="train on the faces as they are")
    p.add_argument("--no-flip-tta", action="store_true", help="export without mirror-image averaging")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads for PyTorch")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out-dir", type=Path, default=ROOT / "training" / "report", help="history, curves and report")
    p.add_argument("--model-dir", type=Path, help="where the ONNX file and manifest go (default: --out-dir)")
    p.add_argument("--name", default="emotion-cnn", help="file stem of the ONNX file and manifest")
    p.add_argument("--quiet", action="store_true", help="no per-batch progress bar")
    args = p.parse_args(argv)
    try:
        args.widths = tuple(int(w) for w in args.widths.split(","))
    except ValueError:
        p.error(f"--widths: expected comma-separated integers, got {args.widths!r}")
    if not args.widths or min(args.widths) < 1:
        p.error("--widths: need at least one positive width")
    return args


def progress(prefix, done, total, start, quiet):
    if quiet or not sys.stderr.isatty():
        return
    frac = done / max(total, 1)
    bar = "=" * int(frac * 30)
    elapsed = time.time() - start
    eta = elapsed / max(frac, 1e-9) - elapsed
    sys.stderr.write(f"\r{prefix} [{bar:<30}] {done}/{total} eta {eta:4.0f}s")
    if done == total:
        sys.stderr.write("\r" + " " * 80 + "\r")
    sys.stderr.flush()


def normalise(x):
    return (x - MEAN) / STD


@torch.no_grad()
def evaluate(model, faces, labels, batch=512, flip_tta=False):
    """Loss, accuracy and predictions on a held-out set (optionally averaging the mirror image)."""
    model.eval()
    losses, preds = [], []
    for i in range(0, len(faces), batch):
        x = normalise(faces[i : i + batch]).contiguous(memory_format=torch.channels_last)
        logits = model(x)
        p = torch.softmax(logits, 1)
        if flip_tta:
            p = (p + torch.softmax(model(x.flip(3)), 1)) / 2
        losses.append(F.nll_loss(torch.log(p.clamp_min(1e-8)), labels[i : i + batch], reduction="sum").item())
        preds.append(p.argmax(1))
    preds = torch.cat(preds)
    return sum(losses) / len(faces), (preds == labels).float().mean().item(), preds


def confusion(labels, preds, classes=7):
    m = np.zeros((classes, classes), dtype=np.int64)
    for t, p in zip(labels.tolist(), preds.tolist()):
        m[t, p] += 1
    return m


def train(args):
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(max(1, args.threads))
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    model_dir = args.model_dir or out
    model_dir.mkdir(parents=True, exist_ok=True)

    t0 = time.time()
    keep = read_keep_list(args.keep_list) if args.keep_list else None
    tr_faces, tr_labels = read_fer_csv(args.train_csv, args.train_usage, args.limit, keep)
    va_faces, va_labels = read_fer_csv(args.val_csv, args.val_usage, args.val_limit)
    print(
        f"[1/4] data: {len(tr_faces)} training faces from {args.train_csv.name}"
        + (f" (keep-list {args.keep_list.name}: {len(keep)} rows)" if keep else "")
        + f", {len(va_faces)} validation faces from {args.val_csv.name} ({time.time() - t0:.0f} s)",
        flush=True,
    )
    counts = np.bincount(tr_labels, minlength=7)
    print("      classes: " + ", ".join(f"{LABELS[i]} {c}" for i, c in enumerate(counts)), flush=True)
    xtr, ytr = to_tensor(tr_faces), torch.from_numpy(tr_labels)
    xva, yva = to_tensor(va_faces), torch.from_numpy(va_labels)
    del tr_faces, va_faces

    model = EmotionCnn(args.widths, args.convs_per_stage, args.dropout).to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in model.parameters())
    macs = count_macs(model)
    print(f"[2/4] model: {params / 1e6:.2f} M parameters, {macs / 1e6:.1f} M multiply-adds per face", flush=True)
    steps = max(1, len(xtr) // args.batch)
    opt = torch.optim.SGD(
        model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=args.weight_decay
    )
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps, pct_start=0.15
    )
    gen = torch.Generator().manual_seed(args.seed)
    augment = None if args.no_augment else Augment(generator=gen)

    history, best = [], {"acc": -1.0, "epoch": 0, "state": None}
    stopped = "planned epochs done"
    for epoch in range(1, args.epochs + 1):
        te = time.time()
        model.train()
        order = torch.randperm(len(xtr), generator=gen)
        tot_loss, tot_ok, seen = 0.0, 0, 0
        for s in range(steps):
            idx = order[s * args.batch : (s + 1) * args.batch]
            x = xtr[idx]
            if augment is not None:
                x = augment(x)
            x = normalise(x).contiguous(memory_format=torch.channels_last)
            y = ytr[idx]
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot_loss += loss.item() * len(y)
            tot_ok += (logits.argmax(1) == y).sum().item()
            seen += len(y)
            progress(f"epoch {epoch:3d}", s + 1, steps, te, args.quiet)
        va_loss, va_acc, _ = evaluate(model, xva, yva)
        row = {
            "epoch": epoch,
            "train_loss": tot_loss / seen,
            "train_acc": tot_ok / seen,
            "val_loss": va_loss,
            "val_acc": va_acc,
            "lr": opt.param_groups[0]["lr"],
            "seconds": time.time() - te,
        }
        history.append(row)
        better = va_acc > best["acc"]
        if better:
            best = {"acc": va_acc, "epoch": epoch, "state": {k: v.clone() for k, v in model.state_dict().items()}}
        print(
            f"      epoch {epoch:3d}/{args.epochs}: train loss {row['train_loss']:.3f} acc {row['train_acc']:.1%}"
            f" | PublicTest loss {va_loss:.3f} acc {va_acc:.1%}{' *' if better else ''}"
            f" | lr {row['lr']:.4f} | {row['seconds']:.0f} s",
            flush=True,
        )
        with open(out / "history.json", "w") as fh:
            json.dump({"args": vars_for_json(args), "history": history, "best_epoch": best["epoch"]}, fh, indent=1)
        if epoch - best["epoch"] >= args.patience:
            stopped = f"early stop: no better PublicTest accuracy for {args.patience} epochs"
            break
        if args.time_budget_min and (time.time() - t0) / 60 + row["seconds"] / 60 > args.time_budget_min:
            stopped = f"time budget of {args.time_budget_min:g} min reached"
            break
    train_min = (time.time() - t0) / 60
    print(f"      {stopped}; best epoch {best['epoch']} ({best['acc']:.1%}), {train_min:.1f} min", flush=True)

    model.load_state_dict(best["state"])
    torch.save({"state_dict": best["state"], "args": vars_for_json(args)}, out / f"{args.name}.pt")
    _, acc_plain, preds_plain = evaluate(model, xva, yva)
    flip = not args.no_flip_tta
    _, acc_tta, preds = evaluate(model, xva, yva, flip_tta=flip)
    onnx_path = export(model, model_dir, args.name, flip, args)
    print(f"[3/4] exported {onnx_path} (PublicTest in PyTorch: {acc_tta:.2%}"
          + (f" with mirror averaging, {acc_plain:.2%} without)" if flip else ")"), flush=True)
    fast_path = None
    if flip:
        # The same weights without mirror averaging: half the work per face.
        fast_path = export(model, model_dir, f"{args.name}-fast", False, args)
        print(f"      exported {fast_path} (no mirror averaging: {acc_plain:.2%})", flush=True)

    summary = {
        "params": params,
        "macs": macs,
        "best_epoch": best["epoch"],
        "stopped": stopped,
        "train_minutes": train_min,
        "acc_plain": acc_plain,
        "acc_exported": acc_tta,
        "flip_tta": flip,
        "confusion": confusion(yva, preds).tolist(),
        "confusion_fast": confusion(yva, preds_plain).tolist(),
        "train_faces": len(xtr),
        "val_faces": len(xva),
        "class_counts": counts.tolist(),
        "hardware": hardware(args.threads),
        "torch": torch.__version__,
        "onnx": str(onnx_path),
        "onnx_fast": str(fast_path) if fast_path else None,
    }
    with open(out / "history.json", "w") as fh:
        json.dump({"args": vars_for_json(args), "history": history, "best_epoch": best["epoch"], "summary": summary},
                  fh, indent=1)
    import report  # matplotlib is only needed from here on

    report.write_all(out, model, summary, history, vars_for_json(args))
    print(f"[4/4] wrote {out / 'history.json'}, learning_curves.png, architecture.txt, training_report.md")
    return summary


def vars_for_json(args):
    # Paths relative to the repository, so that a committed report names no machine's folders.
    return {k: (os.path.relpath(v, ROOT) if isinstance(v, Path) else v) for k, v in vars(args).items()}


def hardware(threads):
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {threads} PyTorch threads, no GPU"


def export(model, model_dir, name, flip, args):
    model = model.to(memory_format=torch.contiguous_format).eval()
    wrapper = ExportWrapper(model, flip_tta=flip).eval()
    onnx_path = model_dir / f"{name}.onnx"
    torch.onnx.export(
        wrapper,
        torch.zeros(1, 1, 48, 48),
        str(onnx_path),
        input_names=["input"],
        output_names=["probabilities"],
        dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
        opset_version=13,
        do_constant_folding=True,
    )
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    widths = ",".join(map(str, args.widths))
    manifest = f"""# Manifest of emoji-mirror's own emotion CNN, trained from scratch on FER2013 Training
# by training/train.py (widths {widths}, {args.convs_per_stage} convs per stage); see training/report/.
name = "emoji-mirror emotion CNN ({name}{"" if flip else ", no mirror averaging"})"
task = "classify"
file = "{onnx_path.name}"
sha256 = "{digest}"

[input]
# One gray 48x48 face per batch item, tensor [N,1,48,48] float32, like the FER2013 faces
# it was trained on: value = (pixel / 255 - {MEAN}) / {STD}.
name = "input"
layout = "NCHW"
width = 48
height = 48
color = "gray"
scale = 255.0
mean = [{MEAN}]
std = [{STD}]

[output]
# Tensor [N,7], already softmaxed{" and averaged over the face and its mirror image" if flip else ""};
# FER2013 code order.
name = "probabilities"
kind = "probabilities"
labels = {json.dumps(LABELS)}

[crop]
# FER2013 faces are tightly cropped; a small margin around the detector's squared box matches them.
margin = 0.1
"""
    (model_dir / f"{name}.toml").write_text(manifest)
    return onnx_path


def main():
    args = parse_args()
    try:
        train(args)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; nothing exported", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
