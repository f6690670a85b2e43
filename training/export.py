#!/usr/bin/env python3
"""Export a trained emotion CNN again, with or without mirror averaging.

Examples (from the repository root):

  # from the weights train.py keeps (<out-dir>/<name>.pt)
  python3 training/export.py --checkpoint training/report/emotion-cnn.pt --no-flip-tta --name emotion-cnn-fast

  # from an exported model with mirror averaging: keep only its first branch (no
  # PyTorch needed, but the `onnx` package: Debian python3-onnx or pip onnx)
  python3 training/export.py --strip-mirror models/emotion-cnn.onnx --name emotion-cnn-fast

The ONNX file and its manifest are written to --model-dir (default models/). The
stripped model computes exactly the softmax of the first branch, i.e. the network on the
face as it is, with the same weights.
"""

import argparse
import hashlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def strip_mirror(src, model_dir, name):
    try:
        import onnx
        from onnx import utils
    except ImportError:
        raise SystemExit("error: --strip-mirror needs the onnx package: apt install python3-onnx "
                         "(Debian 12) or pip install onnx") from None

    model = onnx.load(str(src))
    softmaxes = [n for n in model.graph.node if n.op_type == "Softmax"]
    if len(softmaxes) != 2 or [o.name for o in model.graph.output] != ["probabilities"]:
        raise SystemExit(f"error: {src}: not a mirror-averaged export of training/train.py "
                         f"({len(softmaxes)} Softmax nodes, outputs {[o.name for o in model.graph.output]})")
    first = softmaxes[0].output[0]
    tmp = model_dir / f".{name}.tmp.onnx"
    utils.extract_model(str(src), str(tmp), ["input"], [first])
    sub = onnx.load(str(tmp))
    tmp.unlink()
    for node in sub.graph.node:
        node.output[:] = ["probabilities" if o == first else o for o in node.output]
    sub.graph.output[0].name = "probabilities"
    sub.graph.output[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.checker.check_model(sub)
    dst = model_dir / f"{name}.onnx"
    onnx.save(sub, str(dst))

    manifest = (src.with_suffix(".toml")).read_text()
    digest = hashlib.sha256(dst.read_bytes()).hexdigest()
    manifest = re.sub(r'(?m)^file = ".*"$', f'file = "{dst.name}"', manifest)
    manifest = re.sub(r'(?m)^sha256 = ".*"$', f'sha256 = "{digest}"', manifest)
    manifest = re.sub(r'(?m)^name = "(.*)\)"$', r'name = "\1, no mirror averaging)"', manifest)
    manifest = manifest.replace(" and averaged over the face and its mirror image", "")
    manifest = manifest.replace(
        "# by training/train.py", f"# (first branch of {src.name}, no mirror averaging, by training/export.py)\n# by training/train.py", 1
    )
    (model_dir / f"{name}.toml").write_text(manifest)
    return dst


def from_checkpoint(ckpt, model_dir, name, flip):
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import train
    from model import EmotionCnn

    data = torch.load(str(ckpt), map_location="cpu")
    args = train.parse_args([])
    for k, v in data["args"].items():
        setattr(args, k, tuple(v) if k == "widths" else v)
    model = EmotionCnn(args.widths, args.convs_per_stage, args.dropout)
    model.load_state_dict(data["state_dict"])
    return train.export(model, model_dir, name, flip, args)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", type=Path, help="weights kept by train.py (<name>.pt)")
    src.add_argument("--strip-mirror", type=Path, help="an ONNX export with mirror averaging")
    p.add_argument("--no-flip-tta", action="store_true", help="with --checkpoint: export without mirror averaging")
    p.add_argument("--name", required=True, help="file stem of the ONNX file and manifest")
    p.add_argument("--model-dir", type=Path, default=ROOT / "models")
    a = p.parse_args()
    path = a.checkpoint or a.strip_mirror
    if not path.is_file():
        sys.exit(f"error: {path}: no such file")
    a.model_dir.mkdir(parents=True, exist_ok=True)
    if a.checkpoint:
        dst = from_checkpoint(a.checkpoint, a.model_dir, a.name, not a.no_flip_tta)
    else:
        dst = strip_mirror(a.strip_mirror, a.model_dir, a.name)
    print(f"wrote {dst} and {dst.with_suffix('.toml')}")


if __name__ == "__main__":
    main()
