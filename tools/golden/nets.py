#!/usr/bin/python3
"""Golden fixtures for whole networks: torchvision's vgg16, vgg16_bn, resnet50, mobilenet_v2
and inception_v3 with every parameter and buffer set by one deterministic fill, run by PyTorch.

Run with Debian's interpreter (torch 1.13, torchvision 0.14, numpy; CPU only):

    /usr/bin/python3 tools/golden/nets.py                 # every net, the fill fixture and the .pth
    /usr/bin/python3 tools/golden/nets.py resnet50 fill   # some: vgg16 vgg16_bn resnet50 mobilenet_v2
                                                          #       inception_v3 fill pth

Writes tests/golden/data/nets_<net>.safetensors, tests/golden/data/nets_fill.safetensors and
tests/nets/data/mobilenet_v2_w025.pth + mobilenet_v2_w025_expected.safetensors. Whole networks are too
big to commit, so both sides fill the weights with the function below (C++:
include/anima/nn/deterministic_fill.hpp) and the fixtures hold only outputs.

The fill (specified once; deterministic_fill.hpp repeats it word for word):

  name     the tensor's state_dict key, e.g. "layer1.0.bn3.weight" (its UTF-8 bytes)
  i        the flat row-major index of the element, 0 <= i < numel
  h        = FNV-1a-64(name):  h = 0xcbf29ce484222325; for each byte b: h = (h ^ b) * 0x100000001b3
  x_i      = the (i+1)-th output of SplitMix64 seeded with h, all arithmetic modulo 2^64:
               z = h + (i + 1) * 0x9e3779b97f4a7c15
               z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
               z = (z ^ (z >> 27)) * 0x94d049bb133111eb
               x_i = z ^ (z >> 31)
  u_i      = (x_i >> 40) * 2^-24      in [0, 1): 24 random bits, exact in float32 and float64
  t_i      = 2 u_i - 1                in [-1, 1), exact
  value_i  computed in float64, then rounded once (to nearest even) to the tensor's dtype:
    integer tensors (num_batches_tracked)                   0
    name ends in "running_mean"                             t / 8
    name ends in "running_var"                              1/2 + u
    name ends in "weight", dim >= 2 (conv, linear)          t * b,  b = sqrt(6 / fan_in),
                                                            fan_in = numel / shape[0]
    name ends in "bn3.weight", dim 1 (last BN of a ResNet   (1 + t / 8) / 4
      bottleneck's residual branch)
    name ends in "weight", dim <= 1 (other norm scales)     1 + t / 8
    name ends in "bias"                                     t / 16
    anything else                                           t

Every step is exactly rounded IEEE arithmetic (see the header for why), so numpy and C++ agree bit for
bit; nets_fill.safetensors holds a few filled tensors to prove it.

Inputs (not random): image n, channel c (c in {0, 1, 2}), row y, column x:

    q = (x * (c + 1 + n) + y * (3 - c + 2 n)) mod 128          (non-negative integers)
    in[n, c, y, x] = |q - 64| / 32 - 1                          in [-1, 1], exact in float32

diagonal triangle-wave stripes whose direction and period differ per channel and per image.

nets_<net>.safetensors holds (float32, except the training step's train/* tensors: float64, see below):

    input_size            [4] int64: the shape of the input (N, C, H, W), built with the formula above
    logits                [2, 1000] eval-mode output (dropout off, BN with running statistics)
    act/<module>          [2, C] per-channel mean over (H, W) of a named module's output (eval)
    act_slice/<module>    [2, 2, 8, 8] = output[:, :2, :8, :8] of the first named module (eval)
    train/input_size      [4] int64: the training step's input shape (smaller: it is a backward pass)
    train/labels          [2] int64: the class labels
    train/logits          [2, 1000] train-mode output (BN with batch statistics, dropout OFF: masks
                          are anima's own Philox draws, so every Dropout module is put in eval mode)
    train/loss            [] cross_entropy(logits, labels), mean over the batch
    train/grad/<param>    d loss / d param (or a slice of it: rows [0, 4) of a classifier weight,
                          named <param>[0:4])
    train/after/<buffer>  a BN buffer after the step (running_mean, running_var: momentum 0.1,
                          unbiased batch variance)
    metadata              "net", "acts" (JSON list of the act modules), "train_grads", "train_after"
                          (JSON lists), "train_torch_f32_vs_f64" (see below), "builder" (the
                          torchvision call), "generator", "torch", "torchvision"

The training step is computed in float64 (train/* are float64 tensors): the net is filled in float32
as above, then cast to float64 (model.double()), so the weights are the same numbers. Why float64:
the gradients of a train-mode BN net are ill-conditioned (each BN's backward projects out the mean
and the normalised input, and the loss is invariant to the scale of every conv feeding a BN, so the
gradients are small differences of large terms); PyTorch's own float32 step is up to ~1.5e-2
(relative to each gradient's max) away from the float64 one, and differs by as much between 1 and 4
threads. "train_torch_f32_vs_f64" records, per compared tensor, that measured relative error of
PyTorch's float32 step, the scale against which anima's float32 step is judged.

The checks against degenerate outputs are asserted here too: logits differ between the two images,
are not all equal within an image, and are finite; so are the training step's loss and gradients.

safetensors is written by tools/golden/ops.py's hand-written writer (imported from there).
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import torchvision.models as tvm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ops import save_safetensors  # noqa: E402  (the same hand-written writer as the op fixtures)

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
GOLDEN = os.path.join(ROOT, "tests", "golden", "data")
NETS_DATA = os.path.join(ROOT, "tests", "nets", "data")

# --------------------------------------------------------------------------------------------------
# The deterministic fill (vectorised numpy, uint64 arithmetic wraps modulo 2^64).
U64 = np.uint64
GOLDEN_GAMMA = U64(0x9E3779B97F4A7C15)
MIX1 = U64(0xBF58476D1CE4E5B9)
MIX2 = U64(0x94D049BB133111EB)
CHUNK = 1 << 22


def fnv1a64(name):
    h = 0xCBF29CE484222325
    for b in name.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def fill_uniform(h, start, n):
    """u_i for i in [start, start + n), float64."""
    z = np.arange(start + 1, start + n + 1, dtype=np.uint64)
    z *= GOLDEN_GAMMA
    z += U64(h)
    z ^= z >> U64(30)
    z *= MIX1
    z ^= z >> U64(27)
    z *= MIX2
    z ^= z >> U64(31)
    z >>= U64(40)
    u = z.astype(np.float64)
    u *= 2.0 ** -24
    return u


def fill_kind(name, shape, dtype):
    if not dtype.is_floating_point:
        return "zero"
    if name.endswith("running_mean"):
        return "running_mean"
    if name.endswith("running_var"):
        return "running_var"
    if name.endswith("weight"):
        if len(shape) >= 2:
            return "fan_in_uniform"
        return "residual_scale" if name.endswith("bn3.weight") else "scale"
    if name.endswith("bias"):
        return "bias"
    return "plain"


def fill_values(name, shape, dtype):
    """The specification's values of tensor `name` (shape, torch dtype), as a numpy array of that dtype."""
    n = int(np.prod(shape)) if len(shape) else 1
    np_dtype = {torch.float32: np.float32, torch.float64: np.float64, torch.int64: np.int64}[dtype]
    out = np.empty(n, dtype=np_dtype)
    kind = fill_kind(name, shape, dtype)
    if kind == "zero" or n == 0:
        out[:] = 0
        return out.reshape(shape)
    b = math.sqrt(6.0 / (n // shape[0])) if kind == "fan_in_uniform" else 0.0
    h = fnv1a64(name)
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        u = fill_uniform(h, start, m)
        t = 2.0 * u - 1.0  # exact
        if kind == "running_mean":
            v = t / 8.0
        elif kind == "running_var":
            v = 0.5 + u
        elif kind == "fan_in_uniform":
            v = t * b
        elif kind == "residual_scale":
            v = (1.0 + t / 8.0) / 4.0
        elif kind == "scale":
            v = 1.0 + t / 8.0
        elif kind == "bias":
            v = t / 16.0
        else:
            v = t
        out[start:start + m] = v  # numpy's float64 -> float32 cast rounds to nearest even
    return out.reshape(shape)


@torch.no_grad()
def deterministic_fill(model):
    for name, t in model.state_dict().items():  # shares storage with the parameters and buffers
        t.copy_(torch.from_numpy(fill_values(name, tuple(t.shape), t.dtype)))


def make_input(n, c, h, w):
    assert c == 3
    N, C, Y, X = np.meshgrid(np.arange(n), np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    q = (X * (C + 1 + N) + Y * (3 - C + 2 * N)) % 128
    return torch.from_numpy((np.abs(q - 64) / 32.0 - 1.0).astype(np.float32))


# --------------------------------------------------------------------------------------------------
# The nets: builder, eval input size, named activations, training step (or None).
NETS = {
    "vgg16": dict(build=lambda: tvm.vgg16(), builder="torchvision.models.vgg16()", size=224,
                  acts=["features.3", "features.16", "features.30"], train=None),
    "vgg16_bn": dict(build=lambda: tvm.vgg16_bn(), builder="torchvision.models.vgg16_bn()", size=224,
                     acts=["features.5", "features.23", "features.43"], train=None),
    "resnet50": dict(build=lambda: tvm.resnet50(), builder="torchvision.models.resnet50()", size=224,
                     acts=["maxpool", "layer1", "layer2", "layer3", "layer4"],
                     train=dict(size=112, labels=[3, 997],
                                grads=["conv1.weight", "bn1.weight", "layer3.2.bn2.weight", "layer3.2.bn2.bias",
                                       "layer4.2.bn3.weight", "fc.weight[0:4]", "fc.bias"],
                                after=["bn1.running_mean", "bn1.running_var", "layer3.2.bn2.running_mean",
                                       "layer3.2.bn2.running_var", "bn1.num_batches_tracked"])),
    "mobilenet_v2": dict(build=lambda: tvm.mobilenet_v2(), builder="torchvision.models.mobilenet_v2()", size=224,
                         acts=["features.1", "features.3", "features.10", "features.18"],
                         train=dict(size=112, labels=[3, 997],
                                    grads=["features.0.0.weight", "features.0.1.weight", "features.9.conv.1.0.weight",
                                           "features.9.conv.0.1.weight", "features.9.conv.0.1.bias",
                                           "classifier.1.weight[0:4]", "classifier.1.bias"],
                                    after=["features.0.1.running_mean", "features.0.1.running_var",
                                           "features.9.conv.0.1.running_mean", "features.9.conv.0.1.running_var",
                                           "features.0.1.num_batches_tracked"])),
    "inception_v3": dict(build=lambda: tvm.inception_v3(aux_logits=True, init_weights=False, transform_input=True),
                         builder="torchvision.models.inception_v3(aux_logits=True, init_weights=False, "
                                 "transform_input=True)", size=299,
                         acts=["Conv2d_2b_3x3", "Mixed_5d", "Mixed_6e", "Mixed_7c"], train=None),
}


def check_not_degenerate(what, y):
    """y: [2, K]. Finite, differs between the two images, not constant within an image."""
    assert torch.isfinite(y).all(), what
    scale = y.abs().max().item()
    assert scale > 0, what
    assert (y[0] - y[1]).abs().max().item() > 1e-2 * scale, (what, "the two images give the same output")
    for i in range(y.shape[0]):
        assert y[i].std().item() > 1e-2 * scale, (what, "output constant within image", i)


def module_at(model, path):
    m = model
    for part in path.split("."):
        m = getattr(m, part) if not part.isdigit() else m[int(part)]
    return m


def save_grads(params, entries, saved):
    """saved["grad/<entry>"] = the gradient of each entry, "name" or "name[a:b]" (rows a to b), after
    checking it is finite and not all zero."""
    for g in entries:
        name, a, b = parse_slice(g)
        grad = params[name].grad
        assert grad is not None and torch.isfinite(grad).all(), g
        if a is not None:
            grad = grad[a:b]
        assert grad.abs().max() > 0, (g, "zero gradient")
        saved["grad/" + g] = grad.detach().contiguous().clone()


def parse_slice(entry):
    if entry.endswith("]"):
        name, rng = entry[:-1].split("[")
        a, b = rng.split(":")
        return name, int(a), int(b)
    return entry, None, None


def train_step(spec, dtype):
    """One training step of a freshly filled net (the float32 fill, then cast to `dtype`): train mode,
    every Dropout in eval mode, cross-entropy with the fixed labels, backward. Returns the tensors to save."""
    tr = spec["train"]
    model = spec["build"]()
    deterministic_fill(model)
    model = model.to(dtype)
    model.train()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()  # masks are framework-specific draws; compared with dropout off
    xt = make_input(2, 3, tr["size"], tr["size"]).to(dtype)
    labels = torch.tensor(tr["labels"], dtype=torch.int64)
    out = model(xt)
    loss = F.cross_entropy(out, labels)
    loss.backward()
    check_not_degenerate("train logits", out.detach())
    assert torch.isfinite(loss)
    saved = {"input_size": torch.tensor(list(xt.shape), dtype=torch.int64), "labels": labels,
             "logits": out.detach().clone(), "loss": loss.detach().clone().reshape(())}
    params = dict(model.named_parameters())
    save_grads(params, tr["grads"], saved)
    bufs = dict(model.named_buffers())
    for bname in tr["after"]:
        saved["after/" + bname] = bufs[bname].detach().clone()
    return saved


def golden_net(key):
    spec = NETS[key]
    torch.manual_seed(0)  # the builder's own init is overwritten; seeded only to make the run reproducible
    model = spec["build"]()
    t0 = time.time()
    deterministic_fill(model)
    t_fill = time.time() - t0
    tensors, meta = {}, {}

    # ---- eval forward with activations -------------------------------------------------------------
    model.eval()
    x = make_input(2, 3, spec["size"], spec["size"])
    acts = {}
    hooks = [module_at(model, a).register_forward_hook(lambda m, i, o, a=a: acts.__setitem__(a, o.detach()))
             for a in spec["acts"]]
    with torch.no_grad():
        logits = model(x)
    for hk in hooks:
        hk.remove()
    check_not_degenerate(key + " logits", logits)
    tensors["input_size"] = torch.tensor(list(x.shape), dtype=torch.int64)
    tensors["logits"] = logits.clone()
    for i, a in enumerate(spec["acts"]):
        o = acts[a]
        mean = o.mean(dim=(2, 3))
        check_not_degenerate(key + " act " + a, mean)
        tensors["act/" + a] = mean.contiguous()
        if i == 0:
            tensors["act_slice/" + a] = o[:, :2, :8, :8].contiguous()
    line = "%-13s fill %.1fs  logits max|.| %.3g  std %.3g  img diff %.3g" % (
        key, t_fill, logits.abs().max(), logits.std(), (logits[0] - logits[1]).abs().max())
    line += "  acts max|mean| " + " ".join("%s=%.3g" % (a, acts[a].mean(dim=(2, 3)).abs().max()) for a in spec["acts"])

    # ---- one training step (float64, and float32 for the record) ------------------------------------
    tr = spec["train"]
    if tr:
        ref = train_step(spec, torch.float64)
        f32 = train_step(spec, torch.float32)
        for k, v in ref.items():
            tensors["train/" + k] = v
        f32_err = {}
        for k, v in ref.items():
            if k.startswith("grad/") or k in ("logits", "loss"):
                f32_err[k] = ((f32[k].double() - v).abs().max() / v.abs().max()).item()
        meta["train_grads"] = json.dumps(tr["grads"])
        meta["train_after"] = json.dumps(tr["after"])
        meta["train_torch_f32_vs_f64"] = json.dumps(f32_err, sort_keys=True)
        line += "  | train loss %.6g; torch f32 vs f64: logits %.1e, worst grad %.1e" % (
            ref["loss"].item(), f32_err["logits"], max(v for k, v in f32_err.items() if k.startswith("grad/")))

    meta.update({"net": key, "acts": json.dumps(spec["acts"]), "builder": spec["builder"],
                 "generator": "tools/golden/nets.py", "torch": torch.__version__,
                 "torchvision": torchvision.__version__})
    path = os.path.join(GOLDEN, "nets_%s.safetensors" % key)
    save_safetensors(path, tensors, meta)
    print(line)
    print("  %-44s %8d bytes" % (os.path.relpath(path, ROOT), os.path.getsize(path)))


# --------------------------------------------------------------------------------------------------
def golden_fill():
    """A few filled tensors of every kind, to hold the C++ fill to the same bits."""
    cases = [
        ("conv1.weight", (4, 3, 3, 3), torch.float32),          # fan_in 27
        ("features.0.0.weight", (8, 1, 3, 3), torch.float32),   # depthwise: fan_in 9
        ("fc.weight", (5, 7), torch.float32),                   # linear
        ("fc.bias", (5,), torch.float32),
        ("bn1.weight", (6,), torch.float32),
        ("bn1.bias", (6,), torch.float32),
        ("bn1.running_mean", (6,), torch.float32),
        ("bn1.running_var", (6,), torch.float32),
        ("bn1.num_batches_tracked", (), torch.int64),
        ("layer1.0.bn3.weight", (6,), torch.float32),
        ("anchors", (2, 3), torch.float32),                     # "anything else"
        ("head.weight", (3, 4), torch.float64),                 # float64: no final rounding
        ("head.running_var", (5,), torch.float64),
        ("\u00e9t\u00e9.bias", (4,), torch.float32),            # non-ASCII name: UTF-8 bytes
    ]
    tensors = {}
    for name, shape, dt in cases:
        tensors[name] = torch.from_numpy(fill_values(name, shape, dt))
    # The raw pieces, for diagnosis: FNV-1a of a name and its first SplitMix64 outputs' top 24 bits.
    h = fnv1a64("conv1.weight")
    tensors["_fnv1a64/conv1.weight"] = torch.tensor([h - (1 << 64) if h >= 1 << 63 else h], dtype=torch.int64)
    tensors["_u/conv1.weight"] = torch.from_numpy(fill_uniform(h, 0, 16))
    # Single elements of a tensor too big to store (vgg16's first classifier weight, 103M elements):
    # around the numpy chunk boundary and at the end; the C++ test computes just these elements.
    name, shape = "classifier.0.weight", (4096, 25088)
    n = shape[0] * shape[1]
    idx = np.array([0, 1, 2, CHUNK - 2, CHUNK - 1, CHUNK, CHUNK + 1, n - 2, n - 1], dtype=np.int64)
    full = fill_values(name, shape, torch.float32).reshape(-1)
    tensors["_elements/" + name + "/index"] = torch.from_numpy(idx)
    tensors["_elements/" + name + "/value"] = torch.from_numpy(full[idx].copy())
    tensors["_elements/" + name + "/shape"] = torch.tensor(shape, dtype=torch.int64)
    meta = {"names": json.dumps([c[0] for c in cases]), "generator": "tools/golden/nets.py"}
    path = os.path.join(GOLDEN, "nets_fill.safetensors")
    save_safetensors(path, tensors, meta)
    print("  %-44s %8d bytes" % (os.path.relpath(path, ROOT), os.path.getsize(path)))


def golden_pth():
    """A small filled net saved with torch.save (the .pth load path) and its expected logits."""
    model = tvm.mobilenet_v2(width_mult=0.25, num_classes=8)
    deterministic_fill(model)
    model.eval()
    x = make_input(2, 3, 64, 64)
    with torch.no_grad():
        logits = model(x)
    check_not_degenerate("mobilenet_v2_w025 logits", logits)
    os.makedirs(NETS_DATA, exist_ok=True)
    pth = os.path.join(NETS_DATA, "mobilenet_v2_w025.pth")
    tmp = pth + ".tmp"
    torch.save(model.state_dict(), tmp)  # the zip format (torch >= 1.6's default)
    os.replace(tmp, pth)
    path = os.path.join(NETS_DATA, "mobilenet_v2_w025_expected.safetensors")
    save_safetensors(path, {"input_size": torch.tensor(list(x.shape), dtype=torch.int64), "logits": logits},
                     {"builder": "torchvision.models.mobilenet_v2(width_mult=0.25, num_classes=8)",
                      "weights": "mobilenet_v2_w025.pth: torch.save(model.state_dict()) after the deterministic fill",
                      "generator": "tools/golden/nets.py", "torch": torch.__version__})
    for p in (pth, path):
        print("  %-44s %8d bytes" % (os.path.relpath(p, ROOT), os.path.getsize(p)))


def main():
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    os.makedirs(GOLDEN, exist_ok=True)
    wanted = sys.argv[1:] or ["fill", "pth"] + list(NETS)
    for w in wanted:
        if w == "fill":
            golden_fill()
        elif w == "pth":
            golden_pth()
        elif w in NETS:
            golden_net(w)
        else:
            sys.exit("unknown fixture %r: expected fill, pth or one of %s" % (w, ", ".join(NETS)))


if __name__ == "__main__":
    main()
