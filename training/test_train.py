"""Tests of train.py's validation split and --resume (python3 -m unittest discover -s training).

The resume test trains a tiny network on a small synthetic CSV, so it needs no FER2013 data.
"""

import contextlib
import gzip
import io
import json
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train  # noqa: E402
from fer_data import LABELS  # noqa: E402

# Faces per class in the synthetic CSV: enough for a 10% split to hold out one of each.
SYNTHETIC_PER_CLASS = 12


def write_synthetic_csv(path, per_class=SYNTHETIC_PER_CLASS, seed=0):
    """A FER2013-layout CSV.gz of random faces whose mean brightness depends on the class."""
    rng = np.random.default_rng(seed)
    lines = ["emotion,pixels,Usage"]
    for i in range(per_class * len(LABELS)):
        label = i % len(LABELS)
        pixels = rng.integers(0, 64, 48 * 48) + label * 28
        lines.append(f"{label},{' '.join(map(str, pixels))},Training")
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")


def train_tiny(csv, out, name="tiny", extra=(), seed=1):
    """Two epochs of a tiny network on the synthetic CSV; (summary, printed log)."""
    argv = ["--train-csv", str(csv), "--test-csv", str(csv), "--test-usage", "Training", "--epochs", "2",
            "--widths", "4,8", "--convs-per-stage", "1", "--batch", "16", "--threads", "1", "--quiet",
            "--out-dir", str(out), "--name", name, "--seed", str(seed)] + list(extra)
    with contextlib.redirect_stdout(io.StringIO()) as log:
        summary = train.train(train.parse_args(argv))
    return summary, log.getvalue()


class StratifiedSplit(unittest.TestCase):
    def setUp(self):
        # Imbalanced like FER2013: a rare class (1) and a common one (3).
        counts = [40, 7, 41, 72, 48, 31, 50]
        self.labels = np.concatenate([np.full(n, c) for c, n in enumerate(counts)])
        np.random.default_rng(5).shuffle(self.labels)
        self.counts = counts

    def test_every_class_keeps_its_share_in_validation(self):
        tr, va = train.stratified_split(self.labels, 0.1, 2013)
        for c, n in enumerate(self.counts):
            self.assertEqual(int((self.labels[va] == c).sum()), int(round(n * 0.1)), f"class {c}")
            self.assertEqual(int((self.labels[tr] == c).sum()), n - int(round(n * 0.1)), f"class {c}")

    def test_the_parts_are_disjoint_and_cover_every_row(self):
        tr, va = train.stratified_split(self.labels, 0.1, 2013)
        self.assertEqual(len(np.intersect1d(tr, va)), 0)
        self.assertEqual(sorted(np.concatenate([tr, va]).tolist()), list(range(len(self.labels))))

    def test_the_same_seed_gives_the_same_split_and_another_seed_another(self):
        a = train.stratified_split(self.labels, 0.1, 2013)[1]
        b = train.stratified_split(self.labels.copy(), 0.1, 2013)[1]
        c = train.stratified_split(self.labels, 0.1, 7)[1]
        np.testing.assert_array_equal(a, b)
        self.assertFalse(np.array_equal(a, c))


class CpuFlags(unittest.TestCase):
    def test_bf16_flags_are_read_from_the_flags_line(self):
        with tempfile.TemporaryDirectory() as d:
            info = Path(d) / "cpuinfo"
            info.write_text("model name\t: X\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile amx_bf16\n")
            self.assertEqual(train.cpu_bf16_flags(info), ["amx_bf16", "avx512_bf16"])
            info.write_text("flags\t\t: fpu sse avx2\n")
            self.assertEqual(train.cpu_bf16_flags(info), [])
            self.assertEqual(train.cpu_bf16_flags(Path(d) / "missing"), [])


class Resume(unittest.TestCase):
    """Two epochs in one go equal one epoch, an interruption and one resumed epoch."""

    def run_train(self, csv, out, extra):
        return train_tiny(csv, out, extra=extra)

    def test_a_resumed_run_continues_the_epochs_and_history(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            csv = d / "tiny.csv.gz"
            write_synthetic_csv(csv)
            whole, _ = self.run_train(csv, d / "whole", [])
            part, log = self.run_train(csv, d / "part", ["--stop-after-epochs", "1"])
            self.assertIsNone(part)
            self.assertIn("--resume", log)
            ckpt = d / "part" / "tiny-checkpoint.pt"
            self.assertTrue(ckpt.is_file())
            self.assertFalse((d / "part" / "tiny.onnx").exists(), "an interrupted run exports nothing")
            resumed, log = self.run_train(csv, d / "part", ["--resume", str(ckpt)])
            self.assertIn("resumed from", log)
            self.assertIsNotNone(resumed)
            h_whole = json.loads((d / "whole" / "history.json").read_text())["history"]
            h_part = json.loads((d / "part" / "history.json").read_text())["history"]
            self.assertEqual([h["epoch"] for h in h_part], [1, 2])
            self.assertEqual([h["epoch"] for h in h_whole], [1, 2])
            # Model, optimiser, schedule and random states come back: the same numbers.
            for a, b in zip(h_whole, h_part):
                for k in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
                    self.assertAlmostEqual(a[k], b[k], places=5, msg=f"epoch {a['epoch']} {k}")
            self.assertEqual(whole["best_epoch"], resumed["best_epoch"])
            self.assertTrue((d / "part" / "tiny.onnx").is_file())

    def test_resume_refuses_a_checkpoint_of_other_settings(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            csv = d / "tiny.csv.gz"
            write_synthetic_csv(csv)
            self.run_train(csv, d, ["--stop-after-epochs", "1"])
            with self.assertRaises(train.DataError) as e:
                self.run_train(csv, d, ["--resume", str(d / "tiny-checkpoint.pt"), "--lr", "0.3"])
            self.assertIn("--lr", str(e.exception))


class EnsembleAndDistillation(unittest.TestCase):
    """ensemble.py reads networks back from train.py's files; train.py distils and mixes up."""

    def train_tiny(self, csv, out, name, extra=()):
        return train_tiny(csv, out, name, extra, seed=len(name))

    def test_members_read_from_weights_and_onnx_compute_what_was_trained(self):
        import ensemble

        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            csv = d / "tiny.csv.gz"
            write_synthetic_csv(csv)
            self.train_tiny(csv, d, "a")
            x = train.normalise(torch.rand(5, 1, 48, 48))
            from_pt = ensemble.load_member(d / "a.pt")
            saved = torch.load(d / "a.pt")
            reference = train.EmotionCnn((4, 8), 1)
            reference.load_state_dict(saved["state_dict"])
            reference.eval()
            with torch.no_grad():
                want = torch.softmax(reference(x), 1)
                torch.testing.assert_close(torch.softmax(from_pt(x), 1), want)
                # The ONNX export folds batch norm into the convolutions; read back it is the same function.
                from_onnx = ensemble.load_member(d / "a-fast.onnx")
                torch.testing.assert_close(torch.softmax(from_onnx(x), 1), want, atol=1e-5, rtol=1e-4)
                mirrored = ensemble.load_member(d / "a.onnx")
                torch.testing.assert_close(torch.softmax(mirrored(x), 1), want, atol=1e-5, rtol=1e-4)
            self.assertEqual(tuple(from_onnx.head.weight.shape), (7, 8))

    def test_an_ensemble_averages_its_members_probabilities(self):
        import ensemble

        torch.manual_seed(0)
        a, b = train.EmotionCnn((4, 8), 1).eval(), train.EmotionCnn((6, 12), 1).eval()
        x = torch.rand(4, 1, 48, 48)
        with torch.no_grad():
            got = torch.softmax(ensemble.Ensemble([a, b])(x), 1)
            want = (torch.softmax(a(x), 1) + torch.softmax(b(x), 1)) / 2
        torch.testing.assert_close(got, want)
        self.assertTrue(torch.allclose(got.sum(1), torch.ones(4)))

    def test_shift_tta_moves_the_face_with_repeated_edges_and_averages_five_views(self):
        import ensemble

        x = torch.arange(48.0).view(1, 1, 1, 48).expand(1, 1, 48, 48).contiguous()
        right = ensemble.Shift(2, 0)(x)
        # Column c shows what column c-2 showed; the two left columns repeat the edge.
        self.assertEqual(right[0, 0, 5, :4].tolist(), [0.0, 0.0, 0.0, 1.0])
        self.assertEqual(right[0, 0, 5, 47].item(), 45.0)
        up = ensemble.Shift(0, -3)(x.transpose(2, 3))
        self.assertEqual(up[0, 0, :2, 7].tolist(), [3.0, 4.0])
        self.assertEqual(up[0, 0, 47, 7].item(), 47.0)
        self.assertEqual(ensemble.shift_offsets(0), [(0, 0)])
        self.assertEqual(len(set(ensemble.shift_offsets(2))), 5)

        torch.manual_seed(1)
        a = train.EmotionCnn((4, 8), 1).eval()
        faces = torch.rand(3, 1, 48, 48)
        with torch.no_grad():
            got = torch.softmax(ensemble.Ensemble([a], shift=2)(faces), 1)
            want = sum(torch.softmax(a(ensemble.Shift(dx, dy)(faces)), 1) for dx, dy in ensemble.shift_offsets(2)) / 5
        torch.testing.assert_close(got, want)
        # probabilities() computes the same views, with the mirror of each on top.
        with_flip = ensemble.probabilities(a, faces, flip=True, shift=2)
        with torch.no_grad():
            mirrored = torch.softmax(ensemble.Ensemble([a], shift=2)(faces.flip(3)), 1)
        torch.testing.assert_close(with_flip, (want + mirrored) / 2)

    def test_a_wrong_file_is_refused_with_its_name(self):
        import ensemble

        with tempfile.TemporaryDirectory() as d:
            bad = Path(d) / "not-a-model.onnx"
            bad.write_bytes(b"garbage")
            with self.assertRaises(train.DataError) as e:
                ensemble.load_member(bad)
            self.assertIn("not-a-model.onnx", str(e.exception))

    def test_distillation_with_mixup_trains_and_reports_the_teacher(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            csv = d / "tiny.csv.gz"
            write_synthetic_csv(csv)
            self.train_tiny(csv, d, "teacher")
            summary, log = self.train_tiny(csv, d, "student", ["--teacher", str(d / "teacher.pt"),
                                                                "--teacher", str(d / "teacher-fast.onnx"),
                                                                "--mixup", "0.3"])
            self.assertIn("teacher (2 networks", log)
            self.assertIsNotNone(summary)
            history = json.loads((d / "history.json").read_text())
            self.assertEqual(history["args"]["mixup"], 0.3)
            self.assertEqual(len(history["args"]["teacher"]), 2)
            self.assertTrue(all(np.isfinite(h["train_loss"]) for h in history["history"]))

    def test_the_student_loss_follows_the_teacher(self):
        logits = torch.tensor([[2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
        y = torch.tensor([0])
        agree = torch.tensor([[0.94, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]])
        disagree = torch.tensor([[0.01, 0.94, 0.01, 0.01, 0.01, 0.01, 0.01]])
        hard = train.student_loss(logits, y, None, 0.0, 0.7, 2.0)
        self.assertAlmostEqual(hard.item(), torch.nn.functional.cross_entropy(logits, y).item(), places=6)
        self.assertLess(train.student_loss(logits, y, agree, 0.0, 0.7, 2.0).item(),
                        train.student_loss(logits, y, disagree, 0.0, 0.7, 2.0).item())
        # mixup: lam 1 is the first target alone
        mixed = train.student_loss(logits, (y, torch.tensor([1]), 1.0), (agree, disagree), 0.0, 0.7, 2.0)
        self.assertAlmostEqual(mixed.item(), train.student_loss(logits, y, agree, 0.0, 0.7, 2.0).item(), places=6)


class Bf16Autocast(unittest.TestCase):
    def test_the_network_runs_forward_and_backward_under_cpu_bf16_autocast(self):
        model = train.EmotionCnn((4, 8), 1, 0.0).to(memory_format=torch.channels_last)
        x = torch.rand(3, 1, 48, 48).contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(x)
        self.assertEqual(logits.dtype, torch.bfloat16)
        loss = torch.nn.functional.cross_entropy(logits.float(), torch.tensor([0, 3, 6]))
        loss.backward()
        self.assertTrue(all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters()))


if __name__ == "__main__":
    unittest.main()
