#!/usr/bin/env python3
"""Write learning_curves.png, architecture.txt and training_report.md from a training run.

train.py calls this at its end. Run it again by hand to fold in later results:

  python3 training/report.py --out-dir training/report \\
      --rust-eval training/report/rust_eval.json --search training/report/search.json

  --rust-eval  the JSON written by `emoji-mirror eval --json` on the exported model
  --rust-eval-fast  the same for the model without mirror averaging (<name>-fast)
  --speed      JSON {"<manifest stem>": milliseconds per face at batch 1, ...} from
               `cargo bench --bench pipeline -- classifier`
  --search     the JSON written by training/search.py (hyper-parameter search and the
               detector-filter comparison)

A test_splits.md in the output folder (accuracy of the shipped models on the FER2013
test splits by `emoji-mirror eval`, with the commands) is copied into the report as it is.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fer_data import LABELS  # noqa: E402
from model import MEAN, STD, EmotionCnn  # noqa: E402

MINI_XCEPTION_PUBLICTEST = 0.653  # `emoji-mirror eval` on models/emotion-mini-xception.toml (README)


def curves(out, history, best_epoch, val_name="PublicTest"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    a.plot(ep, [h["train_loss"] for h in history], label="train (augmented)")
    a.plot(ep, [h["val_loss"] for h in history], label=val_name)
    a.set_xlabel("epoch")
    a.set_ylabel("loss")
    a.set_title("loss")
    b.plot(ep, [100 * h["train_acc"] for h in history], label="train (augmented)")
    b.plot(ep, [100 * h["val_acc"] for h in history], label=val_name)
    b.axhline(100 * MINI_XCEPTION_PUBLICTEST, color="grey", ls=":", label="mini-Xception (fer)")
    b.set_xlabel("epoch")
    b.set_ylabel("accuracy (%)")
    b.set_title("accuracy")
    for ax in (a, b):
        ax.axvline(best_epoch, color="red", ls="--", label=f"kept: epoch {best_epoch}")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"emoji-mirror emotion CNN on FER2013 (validation: {val_name})")
    fig.tight_layout()
    fig.savefig(out / "learning_curves.png", dpi=100)
    plt.close(fig)


def layer_table(model):
    import torch

    rows, x = [], torch.zeros(1, 1, 48, 48)
    model.eval()
    with torch.no_grad():
        for block in model.features:
            x = block(x)
            kind = type(block).__name__
            if kind == "Sequential":
                conv = block[0]
                kind = f"conv3x3 {conv.in_channels}->{conv.out_channels} + BN + ReLU"
            elif kind == "MaxPool2d":
                kind = "max pool 2x2"
            params = sum(p.numel() for p in block.parameters())
            rows.append((kind, tuple(x.shape[1:]), params))
        x = model.pool(x).flatten(1)
        rows.append(("global average pool", tuple(x.shape[1:]), 0))
        rows.append((f"dropout p={model.dropout.p}", tuple(x.shape[1:]), 0))
        x = model.head(x)
        rows.append((f"linear {model.head.in_features}->{model.head.out_features}", tuple(x.shape[1:]),
                     sum(p.numel() for p in model.head.parameters())))
    return rows


def search_section(search):
    if not search:
        return "(no hyper-parameter search recorded)\n"
    metric = search.get("metric", "PublicTest")
    lines = [
        f"Each trial: {search['epochs']} epochs on {search['train_faces']} training faces, {metric} accuracy",
        "at its best epoch (no mirror averaging). Short runs rank settings; they do not reach final accuracy.",
        search.get("note", ""),
        "",
        f"| trial | widths | convs/stage | lr | dropout | keep-list | faces | {metric} | min |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in search["trials"]:
        lines.append(
            f"| {t['name']} | {t['widths']} | {t['convs_per_stage']} | {t['lr']} | {t['dropout']} | "
            f"{'yes' if t.get('keep_list') else 'no'} | {t['train_faces']} | {t['acc']:.1%} | {t['minutes']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def load_json(path):
    return json.loads(path.read_text()) if path.is_file() else None


TARGET_ACCURACY = 0.73
TARGET_MS = 2.0


def targets_section(name, rust_eval, rust_fast, speed):
    """The issue's targets (accuracy by the Rust eval, ms per face at batch 1) against the results."""
    if not rust_eval:
        return []
    fast = f"{name}-fast"
    accs = {name: rust_eval["accuracy"], **({fast: rust_fast["accuracy"]} if rust_fast else {})}
    best = max(accs, key=accs.get)
    md = ["## Targets and the app's default", ""]
    met = accs[best] >= TARGET_ACCURACY
    md.append(f"- >= {TARGET_ACCURACY:.0%} on PublicTest by `emoji-mirror eval`: "
              + ("met" if met else "**not met**") + f", best {accs[best]:.2%} (`{best}`).")
    if not met:
        md.append("  This model was trained on 2 CPU cores in about an hour (42 epochs of a 0.66 M-parameter")
        md.append("  network); no GPU was available. The published 73% models train a VGG-sized network")
        md.append("  (~5-10 M parameters) for ~300 epochs: with this script on one GPU, e.g.")
        md.append("  `--widths 64,128,256,512 --epochs 300 --patience 40`, under an hour. That network is ~20x")
        md.append("  slower per face, so it would be the accurate model, and a small one distilled from it")
        md.append("  (not implemented yet) the fast default.")
    quick = [m for m in accs if m in speed and speed[m] <= TARGET_MS]
    for m in accs:
        if m in speed:
            md.append(f"- <= {TARGET_MS:g} ms per face at batch 1: `{m}` {speed[m]:.2f} ms, "
                      + ("met" if speed[m] <= TARGET_MS else "not met") + ".")
    if quick:
        default = max(quick, key=accs.get)
        md.append(f"- Default classifier of the app and commands: `{default}` ({accs[default]:.2%}): it beats the")
        md.append(f"  mini-Xception ({MINI_XCEPTION_PUBLICTEST:.1%}) and meets the speed target. The more accurate")
        md.append(f"  `{best}` is one setting away (`--classifier models/{best}.toml`, or")
        md.append("  `classifier_manifest` under `[pipeline]` in the app's settings file).")
    return md + [""]


def write_all(out, model, summary, history, args, search=None, rust_eval=None):
    out = Path(out)
    val_name = summary.get("val_name", "PublicTest")
    test_name = summary.get("test_name", "PublicTest")
    curves(out, history, summary["best_epoch"], val_name)
    search = search or load_json(out / "search.json")
    rust_eval = rust_eval or load_json(out / "rust_eval.json")
    rust_fast = load_json(out / "rust_eval_fast.json")
    speed = load_json(out / "speed.json") or {}

    rows = layer_table(model)
    arch = [
        f"emoji-mirror emotion CNN: widths {args['widths']}, {args['convs_per_stage']} convs per stage",
        f"input [N,1,48,48] gray, (pixel/255 - {MEAN}) / {STD}; output [N,7] probabilities",
        "",
        f"{'layer':<40} {'output (C,H,W)':<18} {'parameters':>10}",
    ]
    arch += [f"{k:<40} {str(s):<18} {p:>10,}" for k, s, p in rows]
    arch += [
        "",
        f"total parameters: {summary['params']:,}",
        f"multiply-adds per face: {summary['macs'] / 1e6:.1f} M"
        + (" (x2 in the exported graph, which also runs the mirror image)" if summary["flip_tta"] else ""),
        "",
        "Why this architecture",
        "- FER2013 faces are 48x48 gray; a plain VGG-style stack of 3x3 convolutions with batch norm",
        "  is what the strongest single models on FER2013 use (VGG variant, Khaireddin & Chen 2021).",
        "- Global average pooling instead of large fully connected layers keeps the parameter count",
        "  small, so the network trains in reasonable time on a CPU and runs in about a millisecond",
        "  per face, and it overfits less.",
        "- Width and depth were chosen by the hyper-parameter search below under a fixed CPU budget:",
        "  wider or deeper networks train slower per epoch, so within the budget they see fewer epochs.",
        "",
        "Iterations tried (short runs, see training_report.md):",
        search_section(search),
    ]
    (out / "architecture.txt").write_text("\n".join(arch))

    conf = summary["confusion"]
    recall = [conf[i][i] / max(1, sum(conf[i])) for i in range(7)]
    md = [
        "# Training report: emoji-mirror emotion CNN",
        "",
        "## Result",
        "",
        f"- {test_name} accuracy in PyTorch: **{summary['acc_exported']:.2%}**"
        + (f" (with mirror averaging; {summary['acc_plain']:.2%} without)" if summary["flip_tta"] else ""),
    ]
    name = Path(summary.get("onnx", "emotion-cnn.onnx")).stem
    if rust_eval:
        md.append(f"- {test_name} accuracy by `emoji-mirror eval` on the exported ONNX (`{name}`): "
                  f"**{rust_eval['accuracy']:.2%}** ({rust_eval.get('correct', '?')}/{rust_eval.get('count', '?')})")
    if summary.get("onnx_fast") or rust_fast:
        md.append(f"- The same weights without mirror averaging (`{name}-fast`): {summary['acc_plain']:.2%} in PyTorch"
                  + (f", **{rust_fast['accuracy']:.2%}** by `emoji-mirror eval`" if rust_fast else ""))
    for stem, ms in speed.items():
        md.append(f"- `{stem}`: {ms:.2f} ms per face at batch 1 on one thread (`cargo bench --bench pipeline -- classifier`)")
    md += [
        f"- mini-Xception (fer) on the same set with the same command: {MINI_XCEPTION_PUBLICTEST:.1%}",
        f"- Kept epoch {summary['best_epoch']} of {len(history)} ({summary['stopped']}).",
        "",
    ]
    # Hand-kept results of `emoji-mirror eval` on the test splits (test_splits.md), folded in as they are.
    test_splits = out / "test_splits.md"
    if test_splits.is_file():
        md += [test_splits.read_text().rstrip("\n"), ""]
    md += targets_section(name, rust_eval, rust_fast, speed)
    md += [
        "## Data",
        "",
        f"- Training: {summary['train_faces']} faces (FER2013 `Training`"
        + (f", keep-list {Path(args['keep_list']).name}" if args.get("keep_list") else "")
        + ")",
    ]
    if summary.get("protocol", "select-on-test") == "select-on-test":
        md += [
            f"- Validation and early stopping: {summary['val_faces']} faces (FER2013 `{val_name}`). {val_name}",
            "  therefore is not an untouched test set (the old protocol, `--select-on-test`).",
        ]
    else:
        md += [
            f"- Validation and early stopping: {summary['val_faces']} faces held out of Training"
            f" ({args.get('val_fraction', 0):.0%} of every class, split seed {args.get('split_seed')}).",
            f"- Test: {summary.get('test_faces', '?')} faces (FER2013 `{test_name}`), measured once after training;"
            " nothing is chosen by it.",
        ]
    md += [
        "- Class counts (training): " + ", ".join(f"{LABELS[i]} {c}" for i, c in enumerate(summary["class_counts"])),
        "",
        "## Hyper-parameters",
        "",
        "| setting | value |",
        "| --- | --- |",
    ]
    for k in ["widths", "convs_per_stage", "epochs", "patience", "time_budget_min", "batch", "lr", "weight_decay",
              "dropout", "label_smoothing", "no_augment", "seed"]:
        md.append(f"| {k} | {args.get(k)} |")
    md += [
        "",
        "Optimiser: SGD, momentum 0.9, Nesterov; one-cycle learning rate (15% warm-up, cosine down).",
        "Augmentation: horizontal flip, shift up to 10%, rotation up to 10 degrees, scale 0.9-1.1,",
        "brightness/contrast 20%, random erasing (p=0.5, 2-20% of the face). Label smoothing 0.1.",
        "",
        "## Hardware and time",
        "",
        f"- {summary['hardware']}; PyTorch {summary['torch']}; {summary.get('precision', 'fp32')}",
        f"- Training time: {summary['train_minutes']:.1f} min",
        "",
        f"## Per-class recall ({test_name}, exported model)",
        "",
        "| class | recall | faces |",
        "| --- | --- | --- |",
    ]
    md += [f"| {LABELS[i]} | {recall[i]:.1%} | {sum(conf[i])} |" for i in range(7)]
    md += ["", "## Confusion matrix (rows: true, columns: predicted)", "",
           "| | " + " | ".join(LABELS) + " |", "|---" * 8 + "|"]
    md += [f"| {LABELS[i]} | " + " | ".join(str(v) for v in conf[i]) + " |" for i in range(7)]
    md += ["", "## Hyper-parameter search and detector filter", "", search_section(search)]
    if search and search.get("filter"):
        f = search["filter"]
        md += [
            "### Keeping only the faces our detector finds",
            "",
            f"`emoji-mirror screen` ran CenterFace on every Training face: {f['kept']} of {f['total']}"
            f" ({f['kept'] / f['total']:.1%}) have a face found, {f['total'] - f['kept']} do not.",
            f"{f['conclusion']}",
            "",
        ]
    md += ["", "## Learning curves", "", "![learning curves](learning_curves.png)", ""]
    (out / "training_report.md").write_text("\n".join(md))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent / "report")
    p.add_argument("--rust-eval", type=Path, help="JSON from `emoji-mirror eval --json`")
    p.add_argument("--rust-eval-fast", type=Path, help="JSON from `emoji-mirror eval --json` on <name>-fast")
    p.add_argument("--speed", type=Path, help='JSON {"<manifest stem>": ms per face at batch 1}')
    p.add_argument("--search", type=Path, help="JSON from training/search.py")
    a = p.parse_args()
    hist_path = a.out_dir / "history.json"
    try:
        h = json.loads(hist_path.read_text())
    except (OSError, ValueError) as e:
        sys.exit(f"error: {hist_path}: cannot read ({e})")
    if "summary" not in h:
        sys.exit(f"error: {hist_path}: the run has not finished (no summary)")
    args = h["args"]
    model = EmotionCnn(tuple(args["widths"]), args["convs_per_stage"], args["dropout"])
    search = json.loads(a.search.read_text()) if a.search else None
    rust = json.loads(a.rust_eval.read_text()) if a.rust_eval else None
    for src, dst in [(a.rust_eval, "rust_eval.json"), (a.rust_eval_fast, "rust_eval_fast.json"), (a.speed, "speed.json")]:
        if src is not None and src.resolve() != (a.out_dir / dst).resolve():
            keep = {k: v for k, v in json.loads(src.read_text()).items() if k != "predicted_labels"}
            (a.out_dir / dst).write_text(json.dumps(keep, indent=1))
    write_all(a.out_dir, model, h["summary"], h["history"], args, search, rust)
    print(f"wrote {a.out_dir}/learning_curves.png, architecture.txt, training_report.md")


if __name__ == "__main__":
    main()
