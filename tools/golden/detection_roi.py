#!/usr/bin/python3
"""Golden fixtures for RoIAlign, RoIPool and MultiScaleRoIAlign, computed by torchvision 0.14.

    /usr/bin/python3 tools/golden/detection_roi.py     # writes tests/golden/data/detection_roi.safetensors

Layout: the same as tools/golden/ops.py (whose Family and safetensors writer this module reuses):
<case>/in/<arg>, <case>/out, <case>/gout, <case>/grad/<arg>, and JSON metadata per case. Cases:

  roi_align_a{0,1}_s{-1,0,2}   roi_align on a [2, 3, 9, 11] float64 map at spatial_scale 0.5 with RoIs
                               inside, partly outside on every side, larger than the map, degenerate
                               (zero width / height / a point), inverted and tiny; output 3x4; grad of x.
  roi_align_a1_s2_f32          the same in float32.
  roi_pool                     roi_pool on distinct values (no ties), same RoIs, output 3x2; grad of x.
  msroi_{box,mask}             MultiScaleRoIAlign over FPN-like maps of an 800x800 image (maps 200, 100, 50,
                               25, one channel, batch 2; featmap names "0".."3"), boxes of sizes spread
                               over every level, output 7 / 14, sampling 2; grad of each map. The maps are
                               not stored but made by fpn_map (a formula mirrored in the C++ test), and
                               their gradients are stored in float32, to keep the file under 1 MB.
                               Boxes avoid level boundaries (level within 0.015 of an integer), so the
                               level cannot depend on float32 vs float64 rounding.
Every case uses torch.manual_seed(crc32(name)).
"""
import json
import os
import sys
import zlib

import torch
from torchvision.ops import MultiScaleRoIAlign, roi_align, roi_pool

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ops import DATA, Family, seed  # noqa: E402  (tools/golden/ops.py)

ROIS = [
    [0, 2.0, 3.0, 12.5, 14.0],
    [1, -6.0, -4.0, 5.0, 7.0],
    [1, 15.0, 10.0, 30.0, 25.0],
    [0, -10.0, -10.0, 40.0, 40.0],
    [1, 4.0, 4.0, 4.0, 9.0],
    [0, 3.0, 8.0, 11.0, 8.0],
    [1, 7.0, 7.0, 7.0, 7.0],
    [0, 9.0, 9.0, 5.0, 6.0],
    [1, 21.9, 17.9, 22.0, 18.0],
    [0, 0.3, 0.7, 1.1, 1.6],
]


def fpn_boxes(n, gen):
    """n boxes inside an 800x800 image, sizes log-uniform over 16..800, away from level boundaries."""
    out = []
    while len(out) < n:
        s = float(torch.exp(torch.empty(1).uniform_(2.77, 6.68, generator=gen)))  # 16 .. 800
        ratio = float(torch.empty(1).uniform_(0.5, 2.0, generator=gen))
        w, h = s * ratio ** 0.5, s / ratio ** 0.5
        lvl = 4 + torch.log2(torch.tensor((w * h) ** 0.5 / 224.0, dtype=torch.float64))
        if abs(float(lvl) - round(float(lvl))) < 0.015:
            continue
        cx, cy = (float(v) for v in torch.empty(2).uniform_(0, 800, generator=gen))
        out.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    return torch.tensor(out, dtype=torch.float64)


def fpn_map(level):
    """FPN map `level` of an 800x800 image, [2, 1, 200 >> level, 200 >> level] float64, not stored: every
    element is a formula of its flat index i, exact in float64 on both sides (integer arithmetic, then one
    correctly rounded division): x[i] = ((i * 7919 + 104729 * level) mod 2001) / 1000 - 1."""
    side = 200 >> level
    i = torch.arange(2 * side * side, dtype=torch.int64)
    return (((i * 7919 + 104729 * level) % 2001).double() / 1000.0 - 1.0).reshape(2, 1, side, side)


def generate(out_dir=DATA):
    torch.set_grad_enabled(True)
    fam = Family("detection_roi")
    rois64 = torch.tensor(ROIS, dtype=torch.float64)

    for aligned in (False, True):
        for sr in (-1, 0, 2):
            name = "roi_align_a%d_s%d" % (aligned, sr)
            seed(name)
            x = torch.randn(2, 3, 9, 11, dtype=torch.float64)
            fam.case(name, "roi_align", {"output_size": [3, 4], "spatial_scale": 0.5, "sampling_ratio": sr,
                                         "aligned": aligned},
                     {"x": x, "rois": rois64.clone()},
                     lambda x, rois, a=aligned, s=sr: roi_align(x, rois, [3, 4], 0.5, s, a), grad=("x",))
    name = "roi_align_a1_s2_f32"
    seed(name)
    x = torch.randn(2, 3, 9, 11, dtype=torch.float32)
    fam.case(name, "roi_align", {"output_size": [3, 4], "spatial_scale": 0.5, "sampling_ratio": 2, "aligned": True},
             {"x": x, "rois": rois64.float()}, lambda x, rois: roi_align(x, rois, [3, 4], 0.5, 2, True), grad=("x",),
             dtype=torch.float32)

    name = "roi_pool"
    seed(name)
    x = (torch.randperm(2 * 3 * 9 * 11).double() / 50.0).reshape(2, 3, 9, 11)  # distinct: no ties
    fam.case(name, "roi_pool", {"output_size": [3, 2], "spatial_scale": 0.5}, {"x": x, "rois": rois64.clone()},
             lambda x, rois: roi_pool(x, rois, [3, 2], 0.5), grad=("x",))

    for name, out, n in (("msroi_box", 7, 12), ("msroi_mask", 14, 8)):
        gen = torch.Generator().manual_seed(zlib.crc32(("boxes:" + name).encode()))
        maps = [fpn_map(level) for level in range(4)]
        for m in maps:
            m.requires_grad_(True)
        b0, b1 = fpn_boxes(n, gen), fpn_boxes(n - 3, gen)
        pooler = MultiScaleRoIAlign(["0", "1", "2", "3"], out, 2)
        y = pooler({str(i): m for i, m in enumerate(maps)}, [b0, b1], [(800, 800), (800, 800)])
        gout = torch.randn(y.shape, generator=torch.Generator().manual_seed(zlib.crc32(("gout:" + name).encode())),
                           dtype=y.dtype)
        y.backward(gout)
        p = name + "/"
        fam.tensors[p + "in/boxes0"], fam.tensors[p + "in/boxes1"] = b0, b1
        fam.tensors[p + "out"], fam.tensors[p + "gout"] = y.detach().clone(), gout
        for i, m in enumerate(maps):  # float32 to keep the file small (see the docstring)
            fam.tensors[p + "grad/map%d" % i] = m.grad.float()
        fam.meta[name] = json.dumps({"op": "multiscale_roi_align", "dtype": "float64", "output_size": out,
                                     "sampling_ratio": 2, "image_sizes": [[800, 800], [800, 800]],
                                     "maps": "fpn_map(level), see tools/golden/detection_roi.py"}, sort_keys=True)
        fam.cases.append(name)

    return fam.save(out_dir, "tools/golden/detection_roi.py", with_torchvision=True)


if __name__ == "__main__":
    generate(sys.argv[1] if len(sys.argv) > 1 else DATA)
