#!/usr/bin/python3
"""Golden fixtures for anima's ops, computed by PyTorch.

Run with Debian's interpreter, which has torch 1.13 (plain `python3` may be another interpreter):

    /usr/bin/python3 tools/golden/ops.py            # writes tests/golden/data/*.safetensors

One safetensors file per op family (conv, pool, batch_norm, interpolate, activation, nn, loss) plus
safetensors_dtypes.safetensors (a reader fixture for tests/core/safetensors_test.cpp). Every case
`<case>` of a family file holds:

    tensors   <case>/in/<name>      the op's tensor arguments (inputs, parameters, buffers, targets)
              <case>/out[/<i>]      the op's output (outputs i = 0, 1, ... for ops returning several)
              <case>/gout[/<i>]     a random upstream gradient of the same shape as each output
              <case>/grad/<name>    d(sum_i <out_i, gout_i>)/d(in/<name>) for every differentiable input
              <case>/after/<name>   buffers the op updates in place (batch norm running stats)
    metadata  "<case>"              JSON object: {"op": "<anima op>", "dtype": "float64", <op arguments>}
              "cases"               JSON array of the case names, in order
              "generator", "torch"  provenance

Everything is deterministic: each case seeds torch.manual_seed with a hash of its name. Cases run in
float64 so the comparison isolates our math from float32 rounding; a few heavy conv cases and the
interpolate bit-parity cases run in float32 as well (their names end in _f32). Inputs avoid the kinks of piecewise ops (relu6 at 0 and
6, hardswish at +-3, smooth_l1 at |d| = beta, max-pool ties) so the gradient is well defined.

safetensors is written by hand below (the `safetensors` package is not installed): the same layout
as the reference writer (8-byte little-endian header length, JSON header padded with spaces to a
multiple of 8, tensors sorted by dtype alignment then name).
"""
import json
import os
import struct
import sys
import zlib

import torch
import torch.nn.functional as F

try:
    import torchvision.ops.misc as tv_misc
except ImportError:  # FrozenBatchNorm2d's math is written out below if torchvision is absent
    tv_misc = None

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "golden", "data"))

ST_DTYPE = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
            torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
            torch.uint8: "U8", torch.bool: "BOOL"}


def save_safetensors(path, tensors, metadata):
    """Writes `tensors` (name -> CPU tensor) like safetensors.torch.save_file, via a temp file + rename."""
    items = sorted(tensors.items(), key=lambda kv: (-kv[1].element_size(), kv[0]))
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, t in items:
        t = t.detach().contiguous().cpu()
        b = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


class Family:
    def __init__(self, name):
        self.name = name
        self.tensors = {}
        self.meta = {}
        self.cases = []

    def case(self, name, op, args, inputs, fn, grad=(), after=None, dtype=torch.float64):
        """Runs fn(**inputs) -> output or tuple of outputs; stores inputs, outputs, a random upstream
        gradient and the gradients of the inputs named in `grad`. `after` names buffers to store after the call."""
        assert name not in self.cases, name
        before = {k: v.detach().clone() for k, v in inputs.items()}  # fn may update buffers in place
        for k, v in inputs.items():
            if k in grad:
                v.requires_grad_(True)
        out = fn(**inputs)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        gen = torch.Generator().manual_seed(zlib.crc32(("gout:" + name).encode()))
        gouts = [torch.randn(o.shape, generator=gen, dtype=o.dtype) for o in outs]
        if grad:
            torch.autograd.backward(outs, gouts)
        p = name + "/"
        for k, v in before.items():
            self.tensors[p + "in/" + k] = v
        for k in grad:
            self.tensors[p + "grad/" + k] = inputs[k].grad.detach().clone()
        if len(outs) == 1:
            self.tensors[p + "out"] = outs[0].detach().clone()
            self.tensors[p + "gout"] = gouts[0]
        else:
            for i, (o, g) in enumerate(zip(outs, gouts)):
                self.tensors[p + "out/%d" % i] = o.detach().clone()
                self.tensors[p + "gout/%d" % i] = g
        for k in after or ():
            assert not torch.equal(inputs[k], before[k]), (name, k)  # the op did update the buffer
            self.tensors[p + "after/" + k] = inputs[k].detach().clone()
        meta = {"op": op, "dtype": str(dtype).replace("torch.", "")}
        meta.update(args)
        self.meta[name] = json.dumps(meta, sort_keys=True)
        self.cases.append(name)

    def save(self, out_dir=DATA, generator="tools/golden/ops.py", with_torchvision=False):
        """Writes out_dir/<name>.safetensors: the tensors, each case's metadata, then "cases", "generator"
        (the script that made the file), "torch" and, with_torchvision, "torchvision". Returns its path."""
        meta = dict(self.meta)
        meta["cases"] = json.dumps(self.cases)
        meta["generator"] = generator
        meta["torch"] = torch.__version__
        if with_torchvision:
            import torchvision
            meta["torchvision"] = torchvision.__version__
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, self.name + ".safetensors")
        save_safetensors(path, self.tensors, meta)
        print("%-44s %3d cases %8d bytes" % (os.path.relpath(path), len(self.cases), os.path.getsize(path)))
        return path


def seed(name):
    torch.manual_seed(zlib.crc32(name.encode()))


def randn(*shape, dtype=torch.float64, scale=1.0):
    return torch.randn(*shape, dtype=dtype) * scale


def away_from(x, points, margin=0.05):
    """Moves entries of x that lie within `margin` of any kink in `points` out to the margin."""
    x = x.clone()
    for p in points:
        near = (x - p).abs() < margin
        x[near] = p + margin * torch.where(x[near] >= p, 1.0, -1.0).to(x.dtype) * 2
    return x


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


def conv_inputs(name, input_shape, weight_shape, fan_in, bias_size, dtype):
    """Seeds case `name`, then draws its input, a weight scaled by fan_in ** -0.5 and, when bias_size is
    not 0, a bias of that size."""
    seed(name)
    inputs = {"input": randn(*input_shape, dtype=dtype),
              "weight": randn(*weight_shape, dtype=dtype, scale=fan_in ** -0.5)}
    if bias_size:
        inputs["bias"] = randn(bias_size, dtype=dtype)
    return inputs


# --------------------------------------------------------------------------------------------------
def conv_family():
    fam = Family("conv")
    # (name, N, Cin, H, W, Cout, kernel, stride, padding, dilation, groups, bias, dtype)
    conv_cases = [
        ("conv2d_k3_p1", 2, 3, 7, 9, 5, 3, 1, 1, 1, 1, True, torch.float64),
        ("conv2d_stride_gt_kernel", 2, 3, 11, 10, 4, 2, 3, 0, 1, 1, True, torch.float64),
        ("conv2d_groups3_s2", 1, 6, 9, 8, 9, 3, 2, 1, 1, 3, True, torch.float64),
        ("conv2d_depthwise", 2, 5, 6, 7, 5, 3, 1, 1, 1, 5, False, torch.float64),
        ("conv2d_dilation2_pad2", 2, 3, 9, 8, 4, 3, 1, 2, 2, 1, True, torch.float64),
        ("conv2d_asym", 1, 4, 7, 6, 3, (1, 3), (2, 1), (0, 2), 1, 1, True, torch.float64),
        ("conv2d_1x1_s2_nobias", 3, 13, 5, 5, 11, 1, 2, 0, 1, 1, False, torch.float64),
        ("conv2d_k5_pad3_b1", 1, 2, 6, 6, 3, 5, 2, 3, 1, 1, True, torch.float64),
        ("conv2d_k7_s2_p3", 2, 3, 13, 11, 6, 7, 2, 3, 1, 1, False, torch.float64),
        ("conv2d_groups2_dil2", 2, 4, 10, 9, 6, 3, 2, 2, 2, 2, True, torch.float64),
        ("conv2d_k3_p1_f32", 2, 19, 12, 12, 24, 3, 1, 1, 1, 1, True, torch.float32),
        ("conv2d_groups4_s2_f32", 2, 12, 11, 13, 20, 3, 2, 1, 1, 4, True, torch.float32),
    ]
    for name, n, cin, h, w, cout, k, s, p, d, g, bias, dt in conv_cases:
        kh, kw = pair(k)
        fan_in = cin // g * kh * kw
        inputs = conv_inputs(name, (n, cin, h, w), (cout, cin // g, kh, kw), fan_in, cout if bias else 0, dt)
        args = {"stride": pair(s), "padding": pair(p), "dilation": pair(d), "groups": g}
        fam.case(name, "conv2d", args, inputs,
                 lambda input, weight, bias=None, s=s, p=p, d=d, g=g:
                 F.conv2d(input, weight, bias, stride=s, padding=p, dilation=d, groups=g),
                 grad=list(inputs), dtype=dt)

    # (name, N, Cin, H, W, Cout, kernel, stride, padding, output_padding, dilation, groups, bias, dtype)
    tconv_cases = [
        ("conv_transpose2d_s2_p1_op1", 2, 3, 5, 4, 4, 3, 2, 1, 1, 1, 1, True, torch.float64),
        ("conv_transpose2d_stride_gt_kernel", 1, 2, 4, 5, 3, 2, 3, 0, 0, 1, 1, True, torch.float64),
        ("conv_transpose2d_groups2_dil2", 2, 4, 5, 6, 6, 3, 2, 1, 1, 2, 2, True, torch.float64),
        ("conv_transpose2d_k5_pad2_nobias", 1, 3, 6, 5, 5, 5, 1, 2, 0, 1, 1, False, torch.float64),
        ("conv_transpose2d_asym", 2, 3, 4, 3, 2, (3, 4), (2, 3), (1, 0), (0, 1), 1, 1, True, torch.float64),
        ("conv_transpose2d_depthwise_s2", 2, 5, 4, 4, 5, 4, 2, 1, 0, 1, 5, True, torch.float64),
        ("conv_transpose2d_s2_f32", 2, 16, 6, 7, 10, 4, 2, 1, 0, 1, 1, True, torch.float32),
    ]
    for name, n, cin, h, w, cout, k, s, p, op, d, g, bias, dt in tconv_cases:
        kh, kw = pair(k)
        fan_in = cin // g * kh * kw
        inputs = conv_inputs(name, (n, cin, h, w), (cin, cout // g, kh, kw), fan_in, cout if bias else 0, dt)
        args = {"stride": pair(s), "padding": pair(p), "output_padding": pair(op), "dilation": pair(d), "groups": g}
        fam.case(name, "conv_transpose2d", args, inputs,
                 lambda input, weight, bias=None, s=s, p=p, op=op, d=d, g=g:
                 F.conv_transpose2d(input, weight, bias, stride=s, padding=p, output_padding=op, groups=g, dilation=d),
                 grad=list(inputs), dtype=dt)
    fam.save()


def distinct(*shape):
    """Values with no ties (a random permutation, scaled) so max-pool argmaxes are unique."""
    n = 1
    for s in shape:
        n *= s
    return (torch.randperm(n).to(torch.float64) / n * 4 - 2
            + torch.rand(n, dtype=torch.float64) * 0.1 / n).reshape(shape)


def pool_family():
    fam = Family("pool")
    # (name, shape, kernel, stride (0 = kernel), padding, ceil_mode, count_include_pad)
    cases = [
        ("k3_s2_p1", (2, 3, 7, 9), 3, 2, 1, False, True),
        ("k2_s2_ceil", (1, 3, 7, 7), 2, 0, 0, True, True),
        ("k3_s2_p1_ceil", (2, 2, 8, 6), 3, 2, 1, True, True),
        ("k2_stride_gt_kernel", (2, 3, 10, 11), 2, 3, 0, False, True),
        ("k3x2_s1x2_p1x0", (1, 5, 6, 7), (3, 2), (1, 2), (1, 0), False, True),
        ("k5_s1_p2", (2, 2, 6, 5), 5, 1, 2, False, True),
        ("k3_s2_p1_ceil_exclude_pad", (2, 3, 6, 9), 3, 2, 1, True, False),
        ("k3_s2_p1_exclude_pad", (1, 3, 7, 9), 3, 2, 1, False, False),
        ("k4_s3_p2_ceil", (2, 3, 9, 10), 4, 3, 2, True, True),
    ]
    for name, shape, k, s, p, ceil, cip in cases:
        args = {"kernel_size": pair(k), "stride": pair(s), "padding": pair(p), "ceil_mode": ceil,
                "count_include_pad": cip}
        torch_stride = None if s == 0 else s
        if cip:  # count_include_pad does not apply to max pooling: one max-pool case per geometry
            seed("max_pool2d_" + name)
            fam.case("max_pool2d_" + name, "max_pool2d", args, {"x": distinct(*shape)},
                     lambda x, k=k, s=torch_stride, p=p, ceil=ceil:
                     F.max_pool2d(x, k, s, p, ceil_mode=ceil), grad=["x"])
        seed("avg_pool2d_" + name)
        fam.case("avg_pool2d_" + name, "avg_pool2d", args, {"x": randn(*shape)},
                 lambda x, k=k, s=torch_stride, p=p, ceil=ceil, cip=cip:
                 F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=cip), grad=["x"])

    for name, shape, out in [("7x9_to_3x4", (2, 3, 7, 9), (3, 4)), ("5x5_to_5x5", (1, 2, 5, 5), (5, 5)),
                             ("6x6_to_1x1", (2, 3, 6, 6), (1, 1)), ("4x3_to_7x5", (2, 2, 4, 3), (7, 5)),
                             ("10x13_to_4x6", (1, 3, 10, 13), (4, 6))]:
        seed("adaptive_avg_pool2d_" + name)
        fam.case("adaptive_avg_pool2d_" + name, "adaptive_avg_pool2d", {"output_size": list(out)},
                 {"x": randn(*shape)}, lambda x, out=out: F.adaptive_avg_pool2d(x, out), grad=["x"])

    for name, shape in [("n2_c3_5x7", (2, 3, 5, 7)), ("n1_c13_3x3", (1, 13, 3, 3))]:
        seed("global_avg_pool2d_" + name)
        # Output [N, C, 1, 1] as torchvision's AdaptiveAvgPool2d(1); the test also accepts [N, C].
        fam.case("global_avg_pool2d_" + name, "global_avg_pool2d", {}, {"x": randn(*shape)},
                 lambda x: F.adaptive_avg_pool2d(x, 1), grad=["x"])
    fam.save()


def frozen_bn(x, weight, bias, running_mean, running_var, eps):
    if tv_misc is not None:
        m = tv_misc.FrozenBatchNorm2d(x.shape[1], eps=eps).to(x.dtype)
        m.weight.copy_(weight)
        m.bias.copy_(bias)
        m.running_mean.copy_(running_mean)
        m.running_var.copy_(running_var)
        return m(x)
    scale = weight * (running_var + eps).rsqrt()
    return x * scale.reshape(1, -1, 1, 1) + (bias - running_mean * scale).reshape(1, -1, 1, 1)


def batch_norm_family():
    fam = Family("batch_norm")
    # (name, shape, training, momentum, eps)
    for name, shape, training, momentum, eps in [
        ("train_n4_c3", (4, 3, 5, 7), True, 0.1, 1e-5),
        ("train_n1_c5_m03_eps1e-3", (1, 5, 3, 3), True, 0.3, 1e-3),
        ("train_n2_c13_4x1", (2, 13, 4, 1), True, 0.1, 1e-5),
        ("eval_n2_c3", (2, 3, 4, 5), False, 0.1, 1e-5),
        ("eval_n1_c11_eps1e-3", (1, 11, 3, 2), False, 0.1, 1e-3),
    ]:
        cname = "batch_norm2d_" + name
        seed(cname)
        c = shape[1]
        inputs = {"x": randn(*shape, scale=2.0) + 0.5, "weight": 1 + 0.3 * randn(c), "bias": 0.3 * randn(c),
                  "running_mean": 0.2 * randn(c), "running_var": 0.5 + torch.rand(c, dtype=torch.float64)}
        fam.case(cname, "batch_norm2d", {"training": training, "momentum": momentum, "eps": eps}, inputs,
                 lambda x, weight, bias, running_mean, running_var, t=training, m=momentum, e=eps:
                 F.batch_norm(x, running_mean, running_var, weight, bias, training=t, momentum=m, eps=e),
                 grad=["x", "weight", "bias"], after=["running_mean", "running_var"] if training else None)

    for name, shape, eps in [("n2_c3", (2, 3, 5, 4), 1e-5), ("n1_c13_eps1e-3", (1, 13, 3, 3), 1e-3)]:
        cname = "frozen_batch_norm2d_" + name
        seed(cname)
        c = shape[1]
        inputs = {"x": randn(*shape), "weight": 1 + 0.3 * randn(c), "bias": 0.3 * randn(c),
                  "running_mean": 0.2 * randn(c), "running_var": 0.5 + torch.rand(c, dtype=torch.float64)}
        fam.case(cname, "frozen_batch_norm2d", {"eps": eps}, inputs,
                 lambda x, weight, bias, running_mean, running_var, e=eps:
                 frozen_bn(x, weight, bias, running_mean, running_var, e), grad=["x"])
    fam.save()


def interpolate_family():
    fam = Family("interpolate")
    # (name, shape, size, scale_factor, mode, align_corners[, dtype])
    cases = [
        ("nearest_size_up_odd", (2, 3, 5, 7), (9, 11), None, "nearest", False),
        ("nearest_size_down", (1, 2, 9, 8), (4, 3), None, "nearest", False),
        ("nearest_scale2", (2, 3, 4, 5), None, (2.0, 2.0), "nearest", False),
        ("nearest_scale_1.5x0.5", (1, 3, 6, 8), None, (1.5, 0.5), "nearest", False),
        ("bilinear_size_up", (2, 3, 5, 4), (9, 7), None, "bilinear", False),
        ("bilinear_size_up_align", (2, 3, 5, 4), (9, 7), None, "bilinear", True),
        ("bilinear_size_down", (1, 2, 11, 9), (4, 5), None, "bilinear", False),
        ("bilinear_size_down_align", (1, 2, 11, 9), (4, 5), None, "bilinear", True),
        ("bilinear_scale2", (2, 3, 4, 5), None, (2.0, 2.0), "bilinear", False),
        ("bilinear_scale_1.7x0.6", (1, 3, 6, 7), None, (1.7, 0.6), "bilinear", False),
        ("bilinear_to_1x1_align", (1, 2, 4, 4), (1, 1), None, "bilinear", True),
    ]
    # Bit parity (the test checks these outputs for exact equality): sizes where a source coordinate or
    # weight rounded in float32, or a plain (unfused) sum, differs from PyTorch's CPU kernel, which forms the
    # coordinate in double and sums with fmas (anima/kernels/interpolate_math.hpp). C = 2: a [N, 1, H, W]
    # input is also channels-last contiguous, and PyTorch resizes it with another kernel. 480x640 -> 800x1066
    # (a Mask R-CNN resize) is covered one axis at a time, as two thin strips, to keep the fixture small.
    cases = [c + (torch.float64,) for c in cases] + [
        ("bilinear_size_77x103_to_127x171_f32", (1, 2, 77, 103), (127, 171), None, "bilinear", False, torch.float32),
        ("bilinear_size_480_to_800_f32", (1, 2, 480, 3), (800, 5), None, "bilinear", False, torch.float32),
        ("bilinear_size_640_to_1066_f32", (1, 2, 3, 640), (4, 1066), None, "bilinear", False, torch.float32),
        ("bilinear_size_down_align_f32", (1, 2, 41, 53), (29, 37), None, "bilinear", True, torch.float32),
        ("bilinear_scale_1.3x2.7_f32", (1, 2, 31, 23), None, (1.3, 2.7), "bilinear", False, torch.float32),
        ("bilinear_size_23x29_to_37x48", (1, 2, 23, 29), (37, 48), None, "bilinear", False, torch.float64),
        # float64 nearest: PyTorch rounds ratio·dst (in double) to float before the floor: source 30, not 29,
        # for output column 39 of 31 -> 40.
        ("nearest_scale_1.3", (1, 2, 31, 31), None, (1.3, 1.3), "nearest", False, torch.float64),
    ]
    for name, shape, size, scale, mode, ac, dt in cases:
        cname = "interpolate_" + name
        seed(cname)
        args = {"mode": mode, "align_corners": ac}
        if size is not None:
            args["size"] = list(size)
        if scale is not None:
            args["scale_factor"] = list(scale)
        fam.case(cname, "interpolate", args, {"x": randn(*shape, dtype=dt)},
                 lambda x, size=size, scale=scale, mode=mode, ac=ac:
                 F.interpolate(x, size=size, scale_factor=scale, mode=mode,
                               align_corners=ac if mode == "bilinear" else None),
                 grad=["x"], dtype=dt)
    fam.save()


def activation_family():
    fam = Family("activation")
    shapes = {"b2": (2, 3, 4, 5), "b1": (1, 7, 3)}
    for bname, shape in shapes.items():
        def x_away(points, scale=3.0):
            return away_from(randn(*shape, scale=scale), points)
        specs = [
            ("relu", {}, lambda: x_away([0.0]), F.relu),
            ("relu6", {}, lambda: x_away([0.0, 6.0], scale=4.0), F.relu6),
            ("leaky_relu", {"negative_slope": 0.2}, lambda: x_away([0.0]), lambda x: F.leaky_relu(x, 0.2)),
            ("elu", {"alpha": 1.0}, lambda: x_away([0.0]), lambda x: F.elu(x, 1.0)),
            ("elu_alpha0.5", {"alpha": 0.5}, lambda: x_away([0.0]), lambda x: F.elu(x, 0.5)),
            ("sigmoid", {}, lambda: x_away([]), torch.sigmoid),
            ("tanh", {}, lambda: x_away([]), torch.tanh),
            ("hardswish", {}, lambda: x_away([-3.0, 3.0], scale=3.0), F.hardswish),
        ]
        for name, args, make, fn in specs:
            op = "elu" if name.startswith("elu") else name
            cname = "%s_%s" % (name, bname)
            seed(cname)
            fam.case(cname, op, args, {"x": make()}, lambda x, fn=fn: fn(x), grad=["x"])
        for wname, wshape in [("w1", (1,)), ("wc", (shape[1],))]:
            cname = "prelu_%s_%s" % (wname, bname)
            seed(cname)
            fam.case(cname, "prelu", {}, {"x": x_away([0.0]), "weight": 0.25 + 0.1 * randn(*wshape)},
                     lambda x, weight: F.prelu(x, weight), grad=["x", "weight"])
    fam.save()


def nn_family():
    fam = Family("nn")
    for name, xshape, fin, fout, bias in [("linear_2d", (3, 7), 7, 5, True),
                                          ("linear_2d_nobias", (1, 13), 13, 9, False),
                                          ("linear_3d", (2, 3, 6), 6, 11, True)]:
        seed(name)
        inputs = {"x": randn(*xshape), "weight": randn(fout, fin, scale=fin ** -0.5)}
        if bias:
            inputs["bias"] = randn(fout)
        fam.case(name, "linear", {}, inputs, lambda x, weight, bias=None: F.linear(x, weight, bias), grad=list(inputs))

    for name, p, training in [("dropout_eval_p0.5", 0.5, False), ("dropout_train_p0", 0.0, True)]:
        seed(name)
        fam.case(name, "dropout", {"p": p, "training": training}, {"x": randn(2, 3, 4)},
                 lambda x, p=p, t=training: F.dropout(x, p, t), grad=["x"])

    for name, shapes, dim in [("concat_dim1", [(2, 3, 4), (2, 1, 4), (2, 5, 4)], 1),
                              ("concat_dim0", [(1, 3, 2), (3, 3, 2)], 0),
                              ("concat_dim_neg1", [(2, 3, 1), (2, 3, 4), (2, 3, 2)], -1)]:
        seed(name)
        inputs = {"t%d" % i: randn(*s) for i, s in enumerate(shapes)}
        fam.case(name, "concat", {"dim": dim, "count": len(shapes)}, inputs,
                 lambda dim=dim, **ts: torch.cat([ts["t%d" % i] for i in range(len(ts))], dim), grad=list(inputs))

    for name, shape, split, dim in [("split_size3_dim1", (2, 7, 3), 3, 1),
                                    ("split_sizes_dim1", (2, 7, 3), [2, 4, 1], 1),
                                    ("split_size2_dim_neg1", (3, 2, 5), 2, -1)]:
        seed(name)
        args = {"dim": dim}
        args["split_size" if isinstance(split, int) else "sizes"] = split
        fam.case(name, "split", args, {"x": randn(*shape)},
                 lambda x, split=split, dim=dim: torch.split(x, split, dim), grad=["x"])

    for op, fn in [("softmax", F.softmax), ("log_softmax", F.log_softmax)]:
        for name, shape, dim in [("dim1_nchw", (2, 5, 3, 4), 1), ("dim_neg1", (3, 10), -1), ("dim0", (4, 3), 0)]:
            cname = "%s_%s" % (op, name)
            seed(cname)
            fam.case(cname, op, {"dim": dim}, {"x": randn(*shape, scale=3.0)},
                     lambda x, fn=fn, dim=dim: fn(x, dim), grad=["x"])

    for op, fn in [("add", torch.add), ("mul", torch.mul)]:
        for name, a, b in [("bcast_4d_3d", (2, 3, 4, 5), (3, 1, 1)), ("bcast_both", (4, 1, 5), (3, 1)),
                           ("same", (3, 7), (3, 7))]:
            cname = "%s_%s" % (op, name)
            seed(cname)
            fam.case(cname, op, {}, {"a": randn(*a), "b": randn(*b)}, lambda a, b, fn=fn: fn(a, b), grad=["a", "b"])
    fam.save()


def loss_family():
    fam = Family("loss")
    reductions = ["none", "mean", "sum"]
    # cross_entropy: (name, N, C, reduction, label_smoothing, weight, ignore_index)
    ce = []
    for r in reductions:
        ce.append(("cross_entropy_%s" % r, 6, 5, r, 0.0, False, -100))
    ce += [("cross_entropy_weight_mean", 7, 4, "mean", 0.0, True, -100),
           ("cross_entropy_weight_sum", 7, 4, "sum", 0.0, True, -100),
           ("cross_entropy_ignore_mean", 8, 5, "mean", 0.0, False, 2),
           ("cross_entropy_ignore_none", 8, 5, "none", 0.0, False, 2),
           ("cross_entropy_weight_ignore_mean", 8, 5, "mean", 0.0, True, 1),
           ("cross_entropy_smooth0.1_mean", 6, 5, "mean", 0.1, False, -100),
           ("cross_entropy_smooth0.2_none", 6, 5, "none", 0.2, False, -100),
           ("cross_entropy_smooth0.1_weight_mean", 7, 4, "mean", 0.1, True, -100),
           ("cross_entropy_smooth0.1_weight_ignore_sum", 8, 5, "sum", 0.1, True, 3),
           ("cross_entropy_n1", 1, 13, "mean", 0.0, False, -100)]
    for name, n, c, r, ls, w, ii in ce:
        seed(name)
        target = torch.randint(0, c, (n,), dtype=torch.int64)
        if ii >= 0:
            target[::3] = ii  # some targets ignored (and at least one not)
        inputs = {"logits": randn(n, c, scale=2.0), "target": target}
        if w:
            inputs["weight"] = 0.5 + torch.rand(c, dtype=torch.float64)
        args = {"reduction": r, "label_smoothing": ls, "ignore_index": ii}
        fam.case(name, "cross_entropy", args, inputs,
                 lambda logits, target, weight=None, r=r, ls=ls, ii=ii:
                 F.cross_entropy(logits, target, weight=weight, ignore_index=ii, reduction=r, label_smoothing=ls),
                 grad=["logits"])

    # binary_cross_entropy_with_logits: (name, shape, reduction, weight shape, pos_weight shape)
    for name, shape, r, wshape, pwshape in [
        ("bce_logits_none", (4, 3), "none", None, None), ("bce_logits_mean", (4, 3), "mean", None, None),
        ("bce_logits_sum", (2, 3, 5), "sum", None, None), ("bce_logits_weight_mean", (4, 3), "mean", (4, 3), None),
        ("bce_logits_posweight_mean", (5, 3), "mean", None, (3,)),
        ("bce_logits_weight_posweight_none", (5, 3), "none", (1, 3), (3,)),
    ]:
        seed(name)
        inputs = {"logits": randn(*shape, scale=2.0), "target": torch.rand(*shape, dtype=torch.float64)}
        if wshape:
            inputs["weight"] = 0.5 + torch.rand(*wshape, dtype=torch.float64)
        if pwshape:
            inputs["pos_weight"] = 0.5 + 2 * torch.rand(*pwshape, dtype=torch.float64)
        fam.case(name, "binary_cross_entropy_with_logits", {"reduction": r}, inputs,
                 lambda logits, target, weight=None, pos_weight=None, r=r:
                 F.binary_cross_entropy_with_logits(logits, target, weight=weight, reduction=r, pos_weight=pos_weight),
                 grad=["logits"])

    for beta in [1.0, 0.5]:
        for r in reductions:
            name = "smooth_l1_beta%g_%s" % (beta, r)
            seed(name)
            target = randn(3, 4, 5)
            diff = away_from(randn(3, 4, 5, scale=1.5), [-beta, 0.0, beta])
            fam.case(name, "smooth_l1_loss", {"beta": beta, "reduction": r}, {"input": target + diff, "target": target},
                     lambda input, target, beta=beta, r=r: F.smooth_l1_loss(input, target, reduction=r, beta=beta),
                     grad=["input"])
    for r in reductions:
        name = "mse_%s" % r
        seed(name)
        fam.case(name, "mse_loss", {"reduction": r}, {"input": randn(2, 3, 4), "target": randn(2, 3, 4)},
                 lambda input, target, r=r: F.mse_loss(input, target, reduction=r), grad=["input"])
    fam.save()


def dtypes_fixture():
    """A reader fixture: one small tensor of every dtype with known values (see safetensors_test.cpp)."""
    t = {
        "f32": torch.tensor([[1.5, -2.0, 3.25], [0.0, 1e-3, -7.0]], dtype=torch.float32),
        "f64": torch.tensor([1.0 / 3.0, -2.5e300, 5e-320], dtype=torch.float64),
        "f16": torch.tensor([1.0, -2.5, 65504.0, 6.1035156e-05, 5.9604645e-08, float("inf")], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -2.5, 3.0e38, 1.0e-3], dtype=torch.bfloat16),
        "i64": torch.tensor([[-(2 ** 62), 7], [0, 2 ** 40]], dtype=torch.int64),
        "i32": torch.tensor([-5, 2 ** 31 - 1], dtype=torch.int32),
        "u8": torch.tensor([0, 255, 7], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True], dtype=torch.bool),
        "scalar": torch.tensor(4.0, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
    }
    path = os.path.join(DATA, "safetensors_dtypes.safetensors")
    save_safetensors(path, t, {"format": "pt", "note": "written by tools/golden/ops.py \u00e9"})
    print("%-28s %8d bytes" % (os.path.relpath(path), os.path.getsize(path)))


def main():
    torch.set_grad_enabled(True)
    os.makedirs(DATA, exist_ok=True)
    families = {"conv": conv_family, "pool": pool_family, "batch_norm": batch_norm_family,
                "interpolate": interpolate_family, "activation": activation_family, "nn": nn_family,
                "loss": loss_family, "dtypes": dtypes_fixture}
    wanted = sys.argv[1:] or list(families)
    for w in wanted:
        families[w]()


if __name__ == "__main__":
    main()
