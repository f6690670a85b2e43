#!/usr/bin/env python3
"""Time of one training step in fp32 and under bf16 autocast, for choosing `train.py --bf16`.

  python3 training/bench_step.py                        # the default network and widths 32-256
  python3 training/bench_step.py --widths 24,48,96,192 --steps 10 --threads 2

Random faces (no data needed), batch 128 at 48x48, channels-last, SGD with momentum; prints
every step's milliseconds and the median per network and precision. bf16 is only timed when
the CPU reports amx_bf16 or avx512_bf16 (otherwise autocast falls back to slow emulation).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import EmotionCnn  # noqa: E402
from train import cpu_bf16_flags  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--widths", action="append", help="channels per stage, comma-separated; repeat for several")
    p.add_argument("--steps", type=int, default=6, help="steps timed per network and precision")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    nets = [tuple(int(w) for w in s.split(",")) for s in (args.widths or ["24,48,96,192", "32,64,128,256"])]
    precisions = [False] + ([True] if cpu_bf16_flags() else [])
    if len(precisions) == 1:
        print("the CPU reports no bf16 unit: timing fp32 only")
    for widths in nets:
        for bf16 in precisions:
            model = EmotionCnn(widths, 2).to(memory_format=torch.channels_last)
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            x = torch.randn(args.batch, 1, 48, 48).contiguous(memory_format=torch.channels_last)
            y = torch.randint(0, 7, (args.batch,))
            times = []
            for _ in range(args.steps):
                t = time.perf_counter()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    out = model(x)
                loss = F.cross_entropy(out.float(), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                times.append((time.perf_counter() - t) * 1000)
            name = "bf16" if bf16 else "fp32"
            print(f"widths {','.join(map(str, widths))} {name}: median {statistics.median(times):.0f} ms"
                  f" per step ({', '.join(f'{t:.0f}' for t in times)}), {args.threads} threads", flush=True)


if __name__ == "__main__":
    main()
