#!/usr/bin/env python3
"""Train emoji-mirror's own emotion CNN from scratch on FER2013 and export it to ONNX.

Examples (from the repository root):

  # train on 90% of Training, stop early on the other 10% (stratified, fixed seed),
  # report PublicTest once at the end, export to models/
  python3 training/train.py --epochs 60 --time-budget-min 70 --model-dir models

  # the protocol of the committed model (epoch chosen on PublicTest; PublicTest is test data)
  python3 training/train.py --epochs 60 --select-on-test

  # an interrupted run goes on where its last checkpoint (written every epoch) left off
  python3 training/train.py --epochs 60 --resume ~/.cache/emoji-mirror/training/emotion-cnn-checkpoint.pt

  # bf16 autocast on CPUs with AMX or AVX-512 bf16 (fp32 elsewhere)
  python3 training/train.py --bf16

  # a smoke test: 512 faces, one epoch, exported beside the other smoke outputs
  python3 training/train.py --limit 512 --val-limit 256 --epochs 1 --out-dir /tmp/smoke --name smoke

  # only the training faces our face detector finds (keep-list from `emoji-mirror screen`)
  python3 training/train.py --keep-list keep.txt

What it does, one stage at a time (every stage prints what it did):
  1. reads the FER2013 CSVs: Training, split into a part to learn from and a
     stratified validation part (--val-fraction, fixed --split-seed) that chooses
     the epoch, and the test CSV (PublicTest), measured once at the end and never
     used to choose anything (--select-on-test brings back the old protocol, which
     validated and stopped early on PublicTest);
  2. trains the CNN in training/model.py with augmentation (flips, shifts,
     rotations, scales, brightness/contrast, random erasing), SGD with Nesterov
     momentum and a one-cycle learning-rate schedule, weight decay, dropout and
     label smoothing; after every epoch it measures validation loss and accuracy,
     keeps the best weights and writes a checkpoint (model, optimiser, schedule,
     random states, history) that --resume continues from; it stops when validation
     accuracy has not improved for --patience epochs, or when the time budget is spent;
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
import contextlib
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
    p.add_argument("--test-csv", "--val-csv", dest="test_csv", type=Path, default=d / "fer2013_publictest.csv.gz",
                   help="FER2013 CSV measured once after training (never used to choose, unless --select-on-test)")
    p.add_argument("--train-usage", default="Training", help="Usage value of the training rows")
    p.add_argument("--test-usage", "--val-usage", dest="test_usage", default="PublicTest",
                   help="Usage value of the test CSV's rows")
    p.add_argument("--keep-list", type=Path, help="keep only these training rows (from `emoji-mirror screen`)")
    p.add_argument("--limit", type=int, help="use only the first N training faces (before the validation split)")
    p.add_argument("--test-limit", "--val-limit", dest="test_limit", type=int, help="use only the first N test faces")
    p.add_argument("--val-fraction", type=float, default=DEFAULT_VAL_FRACTION,
                   help="share of every class of the training faces held out to validate and stop early")
    p.add_argument("--split-seed", type=int, default=DEFAULT_SPLIT_SEED,
                   help="seed of the validation split (fixed, so that every run validates on the same faces)")
    p.add_argument("--select-on-test", action="store_true",
                   help="the old protocol: no validation split; validate and stop early on the test CSV")
    p.add_argument("--epochs", type=int, default=60, help="planned epochs; the learning-rate schedule spans them")
    p.add_argument("--patience", type=int, default=12, help="stop after this many epochs without a better validation accuracy")
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
    p.add_argument("--checkpoint", type=Path,
                   help="checkpoint written after every epoch (default: <out-dir>/<name>-checkpoint.pt, or"
                   " ~/.cache/emoji-mirror/training/<name>-checkpoint.pt when --out-dir is inside the repository)")
    p.add_argument("--resume", type=Path, metavar="CHECKPOINT",
                   help="continue the run this checkpoint was written by (same settings); it keeps writing there")
    p.add_argument("--stop-after-epochs", type=int, metavar="N",
                   help="leave after N epochs of this invocation without exporting, as an interruption would")
    p.add_argument("--mixup", type=float, default=0.0, metavar="ALPHA",
                   help="mixup: train on blends of two faces (share ~ Beta(ALPHA, ALPHA)) with their targets"
                   " blended alike; 0 = off, 0.2-0.4 typical")
    p.add_argument("--teacher", type=Path, action="append", metavar="MEMBER",
                   help="distil from this network (train.py weights <name>.pt or a train.py ONNX export);"
                   " repeat for an ensemble: the student learns the members' mean probabilities")
    p.add_argument("--distill-weight", type=float, default=0.7,
                   help="share of the teacher's soft targets in the loss (the rest: the FER2013 labels)")
    p.add_argument("--distill-temp", type=float, default=2.0,
                   help="temperature that softens the teacher's and the student's probabilities")
    p.add_argument("--bf16", action="store_true",
                   help="train under bf16 autocast when the CPU has amx_bf16 or avx512_bf16 (fp32 otherwise)")
    args = p.parse_args(argv)
    if args.mixup < 0:
        p.error(f"--mixup: expected ALPHA >= 0, got {args.mixup}")
    if not 0.0 <= args.distill_weight <= 1.0 or args.distill_temp <= 0:
        p.error("--distill-weight must be within 0..1 and --distill-temp above 0")
    if not args.select_on_test and not 0.0 < args.val_fraction < 1.0:
        p.error(f"--val-fraction: expected a share between 0 and 1, got {args.val_fraction}")
    try:
        args.widths = tuple(int(w) for w in args.widths.split(","))
    except ValueError:
        p.error(f"--widths: expected comma-separated integers, got {args.widths!r}")
    if not args.widths or min(args.widths) < 1:
        p.error("--widths: need at least one positive width")
    return args


# Share of every class of the training faces held out for validation, and the seed of that split.
DEFAULT_VAL_FRACTION = 0.1
DEFAULT_SPLIT_SEED = 2013
# CPU flags (/proc/cpuinfo) of units that run bf16 matrix products natively.
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
# Settings that must match between a checkpoint and the run that resumes it.
RESUME_KEYS = (
    "train_csv", "train_usage", "keep_list", "limit", "val_fraction", "split_seed", "select_on_test",
    "test_csv", "test_usage", "test_limit", "epochs", "batch", "lr", "weight_decay", "dropout",
    "label_smoothing", "widths", "convs_per_stage", "no_augment", "seed", "bf16", "mixup", "teacher",
    "distill_weight", "distill_temp",
)
CHECKPOINT_VERSION = 1


def stratified_split(labels, fraction, seed):
    """(train, val) row indices: `fraction` of every class (rounded) goes to val, chosen by `seed`.

    Deterministic for the same labels, fraction and seed; both index arrays are sorted and
    together they cover every row exactly once.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    val = []
    for c in range(len(LABELS)):
        rows = np.flatnonzero(labels == c)
        rng.shuffle(rows)
        val.append(rows[: int(round(len(rows) * fraction))])
    val = np.sort(np.concatenate(val))
    held = np.zeros(len(labels), dtype=bool)
    held[val] = True
    return np.flatnonzero(~held), val


def cpu_bf16_flags(cpuinfo=Path("/proc/cpuinfo")):
    """The bf16 flags among BF16_CPU_FLAGS that the CPU reports (empty when unknown)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return []
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return [f for f in BF16_CPU_FLAGS if f in flags]
    return []


def default_checkpoint(args):
    out = args.out_dir.resolve()
    if out == ROOT or ROOT in out.parents:
        # Checkpoints are big and transient: never inside the repository.
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        return cache / "emoji-mirror" / "training" / f"{args.name}-checkpoint.pt"
    return out / f"{args.name}-checkpoint.pt"


def load_checkpoint(path, args):
    """The checkpoint at `path`, after checking it was written by a run with the same settings."""
    try:
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=False)
        except TypeError:  # PyTorch before 1.13 has no weights_only
            ckpt = torch.load(path, map_location="cpu")
    except (OSError, RuntimeError, EOFError, ValueError) as e:
        raise DataError(f"{path}: cannot read the checkpoint ({e})") from None
    if not isinstance(ckpt, dict) or ckpt.get("version") != CHECKPOINT_VERSION:
        raise DataError(f"{path}: not a train.py checkpoint (version {CHECKPOINT_VERSION})")
    now = vars_for_json(args)
    differ = [
        f"--{k.replace('_', '-')} {ckpt['args'].get(k)!r} there, {now.get(k)!r} here"
        for k in RESUME_KEYS
        if _same(ckpt["args"].get(k)) != _same(now.get(k))
    ]
    if differ:
        raise DataError(f"{path}: written with other settings: " + "; ".join(differ))
    return ckpt


def _same(v):
    return list(v) if isinstance(v, tuple) else v


def save_checkpoint(path, state):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # a run killed while saving keeps the previous checkpoint


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


def teacher_targets(paths, faces, threads):
    """The mean softmax probabilities [N,7] of the teacher networks on (normalised) faces and their
    mirror images, computed once before training: the augmented face keeps its face's targets."""
    import ensemble

    members = [ensemble.load_member(p) for p in paths]
    return ensemble.probabilities(ensemble.Ensemble(members), faces, flip=True)


def student_loss(logits, y, soft, smoothing, weight, temp):
    """Cross-entropy with the labels, blended with the temperature-softened KL divergence from the
    teacher's probabilities `soft` (None: labels only). `y` and `soft` may be pairs for mixup:
    ((y_a, y_b, lam), (soft_a, soft_b))."""
    if isinstance(y, tuple):
        ya, yb, lam = y
        hard = lam * F.cross_entropy(logits, ya, label_smoothing=smoothing) + (1 - lam) * F.cross_entropy(
            logits, yb, label_smoothing=smoothing
        )
        if soft is not None:
            soft = lam * soft[0] + (1 - lam) * soft[1]
    else:
        hard = F.cross_entropy(logits, y, label_smoothing=smoothing)
    if soft is None or weight == 0:
        return hard
    target = torch.softmax(torch.log(soft.clamp_min(1e-8)) / temp, 1)
    kd = F.kl_div(F.log_softmax(logits / temp, 1), target, reduction="batchmean") * temp * temp
    return (1 - weight) * hard + weight * kd


def confusion(labels, preds, classes=7):
    m = np.zeros((classes, classes), dtype=np.int64)
    for t, p in zip(labels.tolist(), preds.tolist()):
        m[t, p] += 1
    return m


def train(args):
    """Trains, exports and reports; returns the summary, or None when --stop-after-epochs left early."""
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(max(1, args.threads))
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    model_dir = args.model_dir or out
    model_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = args.checkpoint or args.resume or default_checkpoint(args)
    ckpt = load_checkpoint(args.resume, args) if args.resume else None

    t0 = time.time()
    keep = read_keep_list(args.keep_list) if args.keep_list else None
    all_faces, all_labels = read_fer_csv(args.train_csv, args.train_usage, args.limit, keep)
    te_faces, te_labels = read_fer_csv(args.test_csv, args.test_usage, args.test_limit)
    test_name = args.test_usage or args.test_csv.name
    if args.select_on_test:
        tr_faces, tr_labels, va_faces, va_labels = all_faces, all_labels, te_faces, te_labels
        val_name = test_name
        split_note = f"validation = the test CSV ({test_name}, --select-on-test)"
    else:
        tr_idx, va_idx = stratified_split(all_labels, args.val_fraction, args.split_seed)
        tr_faces, tr_labels = all_faces[tr_idx], all_labels[tr_idx]
        va_faces, va_labels = all_faces[va_idx], all_labels[va_idx]
        val_name = "validation"
        split_note = (f"{len(va_idx)} held out for validation ({args.val_fraction:.0%} of every class,"
                      f" split seed {args.split_seed})")
    print(
        f"[1/4] data: {len(all_faces)} training faces from {args.train_csv.name}"
        + (f" (keep-list {args.keep_list.name}: {len(keep)} rows)" if keep else "")
        + f", {split_note}; {len(te_faces)} test faces from {args.test_csv.name} ({time.time() - t0:.0f} s)",
        flush=True,
    )
    counts = np.bincount(tr_labels, minlength=7)
    print("      classes (learnt from): " + ", ".join(f"{LABELS[i]} {c}" for i, c in enumerate(counts)), flush=True)
    xtr, ytr = to_tensor(tr_faces), torch.from_numpy(tr_labels)
    xva, yva = to_tensor(va_faces), torch.from_numpy(va_labels)
    xte, yte = to_tensor(te_faces), torch.from_numpy(te_labels)
    del all_faces, tr_faces, va_faces, te_faces
    soft = None
    if args.teacher:
        t_soft = time.time()
        soft = teacher_targets(args.teacher, normalise(xtr), args.threads)
        agree = (soft.argmax(1) == ytr).float().mean().item()
        print(f"      teacher ({len(args.teacher)} network{'s' if len(args.teacher) > 1 else ''}, mirror-averaged):"
              f" soft targets for {len(xtr)} faces, agreeing with {agree:.1%} of their labels"
              f" ({time.time() - t_soft:.0f} s); distil weight {args.distill_weight}, temperature {args.distill_temp}",
              flush=True)

    bf16_flags = cpu_bf16_flags() if args.bf16 else []
    use_bf16 = bool(bf16_flags)
    if args.bf16 and not use_bf16:
        print(f"      --bf16: the CPU reports none of {', '.join(BF16_CPU_FLAGS)}; training in fp32", flush=True)
    precision = f"bf16 autocast ({', '.join(bf16_flags)})" if use_bf16 else "fp32"

    model = EmotionCnn(args.widths, args.convs_per_stage, args.dropout).to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in model.parameters())
    macs = count_macs(model)
    print(f"[2/4] model: {params / 1e6:.2f} M parameters, {macs / 1e6:.1f} M multiply-adds per face;"
          f" {precision}, channels-last", flush=True)
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
    stopped, elapsed_before, first = None, 0.0, 1
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        gen.set_state(ckpt["generator"])
        torch.set_rng_state(ckpt["torch_rng"])
        np.random.set_state(ckpt["numpy_rng"])
        history, best, stopped = ckpt["history"], ckpt["best"], ckpt["stopped"]
        elapsed_before, first = ckpt["train_seconds"], ckpt["epoch"] + 1
        print(f"      resumed from {args.resume} after epoch {ckpt['epoch']}"
              f" (best so far: epoch {best['epoch']}, {best['acc']:.1%})", flush=True)
    t_train = time.time()
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if use_bf16 else contextlib.nullcontext
    run_epochs = 0
    for epoch in range(first, args.epochs + 1):
        if stopped is not None:
            break
        if args.stop_after_epochs is not None and run_epochs >= args.stop_after_epochs:
            print(f"      left after {run_epochs} epochs (--stop-after-epochs); nothing exported;"
                  f" continue with --resume {ckpt_path}", flush=True)
            return None
        te = time.time()
        model.train()
        order = torch.randperm(len(xtr), generator=gen)
        tot_loss, tot_ok, seen = 0.0, 0, 0
        for s in range(steps):
            idx = order[s * args.batch : (s + 1) * args.batch]
            x = xtr[idx]
            if augment is not None:
                x = augment(x)
            y = ytr[idx]
            target, soft_b = y, (soft[idx] if soft is not None else None)
            if args.mixup > 0:
                lam = float(np.random.beta(args.mixup, args.mixup))
                perm = torch.randperm(len(idx), generator=gen)
                x = lam * x + (1 - lam) * x[perm]
                target = (y, y[perm], lam)
                soft_b = (soft_b, soft_b[perm]) if soft_b is not None else None
            x = normalise(x).contiguous(memory_format=torch.channels_last)
            with autocast():
                logits = model(x)
            logits = logits.float()
            loss = student_loss(logits, target, soft_b, args.label_smoothing, args.distill_weight, args.distill_temp)
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
        run_epochs += 1
        better = va_acc > best["acc"]
        if better:
            best = {"acc": va_acc, "epoch": epoch, "state": {k: v.clone() for k, v in model.state_dict().items()}}
        print(
            f"      epoch {epoch:3d}/{args.epochs}: train loss {row['train_loss']:.3f} acc {row['train_acc']:.1%}"
            f" | {val_name} loss {va_loss:.3f} acc {va_acc:.1%}{' *' if better else ''}"
            f" | lr {row['lr']:.4f} | {row['seconds']:.0f} s",
            flush=True,
        )
        with open(out / "history.json", "w") as fh:
            json.dump({"args": vars_for_json(args), "history": history, "best_epoch": best["epoch"]}, fh, indent=1)
        train_seconds = elapsed_before + time.time() - t_train
        if epoch - best["epoch"] >= args.patience:
            stopped = f"early stop: no better {val_name} accuracy for {args.patience} epochs"
        elif args.time_budget_min and train_seconds / 60 + row["seconds"] / 60 > args.time_budget_min:
            stopped = f"time budget of {args.time_budget_min:g} min reached"
        save_checkpoint(ckpt_path, {
            "version": CHECKPOINT_VERSION,
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "generator": gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": np.random.get_state(),
            "history": history,
            "best": best,
            "stopped": stopped,
            "train_seconds": train_seconds,
            "args": vars_for_json(args),
        })
    stopped = stopped or "planned epochs done"
    train_min = (elapsed_before + time.time() - t_train) / 60
    print(f"      {stopped}; best epoch {best['epoch']} ({val_name} {best['acc']:.1%}), {train_min:.1f} min;"
          f" checkpoint {ckpt_path}", flush=True)

    model.load_state_dict(best["state"])
    torch.save({"state_dict": best["state"], "args": vars_for_json(args)}, out / f"{args.name}.pt")
    _, acc_plain, preds_plain = evaluate(model, xte, yte)
    flip = not args.no_flip_tta
    _, acc_tta, preds = evaluate(model, xte, yte, flip_tta=flip)
    onnx_path = export(model, model_dir, args.name, flip, args)
    print(f"[3/4] exported {onnx_path} ({test_name} in PyTorch: {acc_tta:.2%}"
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
        "best_val_acc": best["acc"],
        "stopped": stopped,
        "train_minutes": train_min,
        "acc_plain": acc_plain,
        "acc_exported": acc_tta,
        "flip_tta": flip,
        "confusion": confusion(yte, preds).tolist(),
        "confusion_fast": confusion(yte, preds_plain).tolist(),
        "train_faces": len(xtr),
        "val_faces": len(xva),
        "test_faces": len(xte),
        "val_name": val_name,
        "test_name": test_name,
        "protocol": "select-on-test" if args.select_on_test else "validation split of Training",
        "precision": precision,
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
    def rel(v):
        if isinstance(v, Path):
            return os.path.relpath(v, ROOT)
        if isinstance(v, (list, tuple)) and any(isinstance(i, Path) for i in v):
            return [rel(i) for i in v]
        return v

    return {k: rel(v) for k, v in vars(args).items()}


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


def export(model, model_dir, name, flip, args, description=None):
    """Writes <model_dir>/<name>.onnx and its manifest; `description` replaces the line naming
    the widths (for graphs that are not one train.py network, such as an ensemble)."""
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
    if description is None:
        widths = ",".join(map(str, args.widths))
        description = f"by training/train.py (widths {widths}, {args.convs_per_stage} convs per stage)"
    manifest = f"""# Manifest of emoji-mirror's own emotion CNN, trained from scratch on FER2013 Training
# {description}; see training/report/.
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
