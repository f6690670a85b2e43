"""FER2013 CSV reading and batch augmentation for the training tool.

The CSVs keep the original layout (`emotion,pixels,Usage`, optionally gzipped).
Nothing read here is written anywhere: the faces live in memory only.
"""

import csv
import gzip
import io
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
SIDE = 48


class DataError(Exception):
    """A CSV or keep-list that cannot be used, with the file named in the message."""


def read_fer_csv(path, usage=None, limit=None, keep=None):
    """Faces as uint8 [N,48,48] and labels as int64 [N] from a FER2013-layout CSV(.gz).

    `usage` keeps only rows whose Usage column matches; `keep` is a set of row
    numbers (0-based, counting only rows that pass `usage`) to retain; `limit`
    stops after that many kept rows.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    opener = gzip.open if path.suffix == ".gz" else open
    faces, labels = [], []
    try:
        with opener(path, "rt", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None or [h.strip() for h in header[:2]] != ["emotion", "pixels"]:
                raise DataError(f"{path}: expected a header starting with 'emotion,pixels', got {header}")
            row_no = -1
            for line_no, row in enumerate(reader, start=2):
                if usage is not None and (len(row) < 3 or row[2].strip().lower() != usage.lower()):
                    continue
                row_no += 1
                if keep is not None and row_no not in keep:
                    continue
                try:
                    label = int(row[0])
                    pixels = np.array(row[1].split(), dtype=np.uint8)
                except (ValueError, IndexError) as e:
                    raise DataError(f"{path}:{line_no}: unreadable row ({e})") from None
                if pixels.size != SIDE * SIDE:
                    raise DataError(f"{path}:{line_no}: {pixels.size} pixels, expected {SIDE * SIDE}")
                if not 0 <= label < len(LABELS):
                    raise DataError(f"{path}:{line_no}: emotion code {label} outside 0..6")
                faces.append(pixels.reshape(SIDE, SIDE))
                labels.append(label)
                if limit is not None and len(faces) >= limit:
                    break
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    if not faces:
        raise DataError(f"{path}: no rows" + (f" with Usage = {usage}" if usage else ""))
    return np.stack(faces), np.array(labels, dtype=np.int64)


def read_keep_list(path):
    """Row numbers from a keep-list written by `emoji-mirror screen` (one number per line, '#' comments)."""
    path = Path(path)
    keep = set()
    try:
        text = path.read_text()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    for line_no, line in enumerate(io.StringIO(text), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            keep.add(int(line))
        except ValueError:
            raise DataError(f"{path}:{line_no}: not a row number: {line!r}") from None
    if not keep:
        raise DataError(f"{path}: lists no rows")
    return keep


def to_tensor(faces):
    """uint8 [N,48,48] -> float32 [N,1,48,48] in [0,1]."""
    return torch.from_numpy(faces).float().div_(255.0).unsqueeze(1)


class Augment:
    """Random flips, shifts, rotations, scales, brightness/contrast and erasing on a whole batch.

    Works on [N,1,H,W] tensors in [0,1] with one affine grid sample per batch,
    so it costs little next to the network.
    """

    def __init__(self, shift=0.1, rotate_deg=10.0, scale=0.1, erase_p=0.5, jitter=0.2, generator=None):
        self.shift, self.rotate, self.scale = shift, math.radians(rotate_deg), scale
        self.erase_p, self.jitter = erase_p, jitter
        self.g = generator

    def _u(self, n, lo, hi):
        return torch.rand(n, generator=self.g) * (hi - lo) + lo

    def __call__(self, x):
        n, _, h, w = x.shape
        angle = self._u(n, -self.rotate, self.rotate)
        s = self._u(n, 1 - self.scale, 1 + self.scale)
        flip = torch.where(torch.rand(n, generator=self.g) < 0.5, -1.0, 1.0)
        tx = self._u(n, -self.shift, self.shift) * 2
        ty = self._u(n, -self.shift, self.shift) * 2
        cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
        theta = torch.stack(
            [torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1
        )
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        if self.jitter > 0:
            gain = self._u(n, 1 - self.jitter, 1 + self.jitter).view(n, 1, 1, 1)
            bias = self._u(n, -self.jitter / 2, self.jitter / 2).view(n, 1, 1, 1)
            mean = x.mean(dim=(2, 3), keepdim=True)
            x = ((x - mean) * gain + mean + bias).clamp_(0, 1)
        if self.erase_p > 0:
            # One random rectangle per chosen face, 2-20% of the area, filled with noise.
            area = self._u(n, 0.02, 0.2) * h * w
            aspect = torch.exp(self._u(n, math.log(0.3), math.log(3.3)))
            eh = (area * aspect).sqrt().clamp(1, h).long()
            ew = (area / aspect).sqrt().clamp(1, w).long()
            y0 = (torch.rand(n, generator=self.g) * (h - eh + 1)).long()
            x0 = (torch.rand(n, generator=self.g) * (w - ew + 1)).long()
            ys = torch.arange(h).view(1, h, 1)
            xs = torch.arange(w).view(1, 1, w)
            inside = (
                (ys >= y0.view(n, 1, 1))
                & (ys < (y0 + eh).view(n, 1, 1))
                & (xs >= x0.view(n, 1, 1))
                & (xs < (x0 + ew).view(n, 1, 1))
            )
            chosen = (torch.rand(n, generator=self.g) < self.erase_p).view(n, 1, 1)
            mask = (inside & chosen).unsqueeze(1)
            x = torch.where(mask, torch.rand(x.shape, generator=self.g), x)
        return x
