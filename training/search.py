#!/usr/bin/env python3
"""A small hyper-parameter search: short training runs that rank settings.

Examples (from the repository root):

  python3 training/search.py                       # the grid below, 3 epochs each
  python3 training/search.py --epochs 2 --only base,lr-0.05
  python3 training/search.py --keep-list keep.txt --only base,detector-filter

Each trial trains from scratch with training/train.py's code for --epochs epochs
on Training less train.py's validation split and records its best accuracy on that
split (never on a test split; the committed search.json predates this and ranked by
PublicTest, as its "metric" says). Results are
merged into training/report/search.json (a trial run again replaces its row), which
training/report.py folds into architecture.txt and training_report.md.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train  # noqa: E402

# What a trial's accuracy is measured on: train.py's validation split of Training.
METRIC = "validation"

# name -> overrides of train.py's defaults
GRID = {
    "base": {"widths": "16,32,64,128", "lr": 0.1, "dropout": 0.3},
    "lr-0.05": {"widths": "16,32,64,128", "lr": 0.05, "dropout": 0.3},
    "lr-0.2": {"widths": "16,32,64,128", "lr": 0.2, "dropout": 0.3},
    "dropout-0.5": {"widths": "16,32,64,128", "lr": 0.1, "dropout": 0.5},
    "wider-24": {"widths": "24,48,96,192", "lr": 0.1, "dropout": 0.3},
    "shallow-32x1": {"widths": "32,64,128,256", "convs": 1, "lr": 0.1, "dropout": 0.3},
    "detector-filter": {"widths": "16,32,64,128", "lr": 0.1, "dropout": 0.3, "keep": True},
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--only", help="comma-separated trial names (default: all but detector-filter without --keep-list)")
    p.add_argument("--keep-list", type=Path, help="keep-list for the detector-filter trial")
    p.add_argument("--out", type=Path, default=train.ROOT / "training" / "report" / "search.json")
    p.add_argument("--work-dir", type=Path, default=Path("/tmp/emoji-mirror-search"), help="scratch output of the trials")
    a = p.parse_args()
    names = a.only.split(",") if a.only else [n for n in GRID if n != "detector-filter" or a.keep_list]
    unknown = [n for n in names if n not in GRID]
    if unknown:
        p.error(f"unknown trial(s) {unknown}; known: {', '.join(GRID)}")
    if "detector-filter" in names and not a.keep_list:
        p.error("the detector-filter trial needs --keep-list (from `emoji-mirror screen`)")

    result = json.loads(a.out.read_text()) if a.out.is_file() else {"trials": []}
    if result.get("metric", "PublicTest") != METRIC:
        # Trials ranked by another split cannot share a table with these.
        result = {"trials": []}
    for i, name in enumerate(names, 1):
        g = GRID[name]
        argv = ["--epochs", str(a.epochs), "--patience", str(a.epochs), "--widths", g["widths"], "--lr", str(g["lr"]),
                "--dropout", str(g["dropout"]), "--convs-per-stage", str(g.get("convs", 2)), "--quiet",
                "--out-dir", str(a.work_dir / name), "--name", name]
        if g.get("keep"):
            argv += ["--keep-list", str(a.keep_list)]
        print(f"=== trial {i}/{len(names)}: {name} ===", flush=True)
        t = time.time()
        try:
            s = train.train(train.parse_args(argv))
        except train.DataError as e:
            sys.exit(f"error: {e}")
        row = {"name": name, "widths": g["widths"], "convs_per_stage": g.get("convs", 2), "lr": g["lr"],
               "dropout": g["dropout"], "keep_list": bool(g.get("keep")), "train_faces": s["train_faces"],
               "acc": s["best_val_acc"], "minutes": (time.time() - t) / 60, "params": s["params"], "macs": s["macs"]}
        result["trials"] = [r for r in result["trials"] if r["name"] != name] + [row]
        result["epochs"] = a.epochs
        result["metric"] = METRIC
        result["train_faces"] = max(r["train_faces"] for r in result["trials"])
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(result, indent=1))
        print(f"=== {name}: validation {row['acc']:.1%} in {row['minutes']:.1f} min ===", flush=True)


if __name__ == "__main__":
    main()
