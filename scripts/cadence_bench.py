#!/usr/bin/env python3
"""Detection cadence: every frame vs every 2nd/3rd frame vs adaptive (`--detect-every auto`).

    python3 scripts/cadence_bench.py --bin target/release/emoji-mirror --data ../shared/data --rounds 3

Three parts, each with the command's own figures:

1. Speed: for every round and video (openmpf video_01 and video_02), `predict` (no tracking,
   the detector on every frame) and `predict --track --detect-every 1|2|3|auto` run one after
   the other as their own processes, the order rotating each round, so a slow phase of a busy
   machine hits every condition alike. Read from each run's closing `analysed ...` line:
   frames/s, faces, the frames the detector ran on, peak RSS. The table gives the median
   frames/s, its ratio to `predict` in the same round (median over the rounds), faces and the
   detector's share of frames.
2. Stability: `stability --detect-every 1|2|3|auto` on video_01, video_02 and the CREMA-D
   sequence clip (with its labels): label changes per minute without and with the window, ids,
   and the delay from each cut to the confirmed label (deterministic: one run each).
3. Recall on still images: `predict --image-dir dlib-faces --json`, plain and with
   `--track --detect-every 1|auto` (pictures are always detected one by one, so 1 and auto
   must agree), matched to the 43 hand-placed boxes (IoU >= 0.5, greedy one to one, as
   tests/detector.rs). With --track the box is the track's, which the tracker filters across
   the (unrelated) pictures: compare the --track rows with each other, not with plain predict.
"""

import argparse
import csv
import json
import re
import statistics
import subprocess
from pathlib import Path

VIDEOS = ["openmpf-samples/video_01.mp4", "openmpf-samples/video_02.mp4"]
SEQUENCE = "crema-d/mp4/1001_DFA_sequence_NEU-HAP-SAD-ANG-FEA-DIS.mp4"
CADENCES = ["1", "2", "3", "auto"]
SUMMARY = re.compile(
    r"analysed (\d+) frame\(s\), (\d+) face\(s\), \d+ skipped.*?(?:, detector on (\d+) \(\d+%\))?, "
    r"in ([\d.]+) s \(([\d.]+) frames/s(?:, peak RSS (\d+) MiB)?\)"
)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    return p


def predict(binary, video, cadence):
    cmd = [binary, "predict", "--video", video]
    if cadence is not None:
        cmd += ["--track", "--detect-every", cadence]
    line = run(cmd).stderr.strip().splitlines()[-1]
    m = SUMMARY.search(line)
    if not m:
        raise SystemExit(f"no summary line in: {line}")
    frames, faces, det, secs, fps, rss = m.groups()
    return {
        "frames": int(frames),
        "faces": int(faces),
        "detections": int(det) if det else int(frames),
        "fps": float(fps),
        "rss": int(rss) if rss else None,
    }


def speed(binary, data, rounds):
    conditions = [None] + CADENCES
    name = lambda c: "predict" if c is None else f"--track --detect-every {c}"
    print("## Speed (alternating, median over rounds)\n")
    print("| video | condition | frames/s | ratio to `predict` | faces | detector on | peak RSS |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for video in VIDEOS:
        path = str(data / video)
        results = {c: [] for c in conditions}
        for r in range(rounds):
            order = conditions[r % len(conditions):] + conditions[: r % len(conditions)]
            for c in order:
                results[c].append(predict(binary, path, c))
        for c in conditions:
            rs = results[c]
            fps = statistics.median(x["fps"] for x in rs)
            ratio = statistics.median(x["fps"] / b["fps"] for x, b in zip(rs, results[None]))
            last = rs[-1]
            share = 100.0 * last["detections"] / last["frames"]
            rss = max(x["rss"] or 0 for x in rs)
            print(
                f"| {Path(video).stem} | {name(c)} | {fps:.1f} | {ratio:.2f} | {last['faces']} "
                f"| {last['detections']}/{last['frames']} ({share:.0f}%) | {rss} MiB |"
            )


def stability(binary, data):
    print("\n## Stability (`stability --detect-every N|auto`)\n")
    print("| clip | detect every | detector on | changes/min single frames | with the window | ids (at most at once) | delays after cuts |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    clips = [(VIDEOS[0], []), (VIDEOS[1], []), (SEQUENCE, ["--labels", str(data / "crema-d/labels.csv")])]
    for clip, extra in clips:
        for c in CADENCES:
            out = run([binary, "stability", "--video", str(data / clip), "--detect-every", c] + extra).stdout
            det = re.search(r"ran on (\d+) of (\d+) frames \((\d+)%\)", out)
            ch = re.search(r"label changes per minute: ([\d.]+) without the window, ([\d.]+) with it", out)
            ids = re.search(r"ids: (\d+) distinct, at most (\d+) at once", out)
            delays = re.findall(r"^\s+(\S+)\s+model says.*delay (\S+(?: ms)?)$", out, re.M)
            delay_text = ", ".join(f"{n} {d}" for n, d in delays) or "-"
            print(
                f"| {Path(clip).stem[:24]} | {c} | {det.group(1)}/{det.group(2)} ({det.group(3)}%) "
                f"| {ch.group(1)} | {ch.group(2)} | {ids.group(1)} ({ids.group(2)}) | {delay_text} |"
            )


def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def recall(binary, data):
    truth = {}
    with open(data / "dlib-faces/boxes.csv") as f:
        for row in csv.DictReader(f):
            box = tuple(float(row[k]) for k in ("left", "top", "width", "height"))
            truth.setdefault(row["file"], []).append(box)
    print("\n## Recall on dlib-faces (43 boxes, IoU >= 0.5)\n")
    print("| command | boxes found | false positives |")
    print("| --- | ---: | ---: |")
    # With --track the reported box is the track's (filtered across pictures), so --detect-every 1
    # is the reference for --detect-every auto; plain predict reports the detections themselves.
    for extra in ([], ["--track", "--detect-every", "1"], ["--track", "--detect-every", "auto"]):
        out = run([binary, "predict", "--image-dir", str(data / "dlib-faces"), "--json"] + extra).stdout
        found = fp = 0
        for line in out.splitlines():
            frame = json.loads(line)
            name = Path(frame["source"]).name
            if name not in truth:
                continue
            # With --track a coasting track (missed in this picture) has no probabilities: not a find.
            faces = [f for f in frame["faces"] if f.get("probabilities") is not None]
            boxes = [tuple(face["box"][k] for k in ("x", "y", "w", "h")) for face in faces]
            used = [False] * len(boxes)
            for t in truth[name]:
                best = max(((i, iou(t, b)) for i, b in enumerate(boxes) if not used[i]), key=lambda x: x[1], default=None)
                if best and best[1] >= 0.5:
                    used[best[0]] = True
                    found += 1
            fp += used.count(False)
        total = sum(len(v) for v in truth.values())
        print(f"| `{' '.join(['predict --image-dir dlib-faces'] + extra)}` | {found}/{total} | {fp} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="target/release/emoji-mirror", help="the emoji-mirror binary")
    ap.add_argument("--data", default="../shared/data", type=Path, help="the shared data folder")
    ap.add_argument("--rounds", default=3, type=int)
    ap.add_argument("--only", choices=["speed", "stability", "recall"], help="run one part")
    a = ap.parse_args()
    if a.only in (None, "speed"):
        speed(a.bin, a.data, a.rounds)
    if a.only in (None, "stability"):
        stability(a.bin, a.data)
    if a.only in (None, "recall"):
        recall(a.bin, a.data)


if __name__ == "__main__":
    main()
