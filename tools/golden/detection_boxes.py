#!/usr/bin/python3
"""Golden fixtures for anima's detection box ops, computed by torchvision 0.14.

Run with Debian's interpreter (torch 1.13 + torchvision 0.14):

    /usr/bin/python3 tools/golden/detection_boxes.py    # writes tests/golden/data/detection_boxes.safetensors

(tools/golden/detection.py runs it with the other detection generators.) Read by
tests/detect/boxes_golden_test.cpp. Layout as tools/golden/ops.py (safetensors written by its
writer): every case `<case>` has tensors <case>/in/<name> and <case>/out[/<name>] and a metadata
entry "<case>" = JSON {"op": ..., "dtype": ..., <arguments>}; "cases" lists the case names. No
gradients: these ops are forward only.

Cases:
  nms_*            torchvision.ops.nms on random boxes (10 .. 5000), thresholds 0.5 and 0.7 (0.7 is
                   not a float: IoUs of exactly 0.7f test the double comparison), scores with many
                   exact ties (visited lowest index first: asserted below), all-equal scores, an IoU
                   exactly at the threshold (strict >), NaN coordinates, float64.
  sort_ties_*      torch.sort(descending=True, stable=True) of scores with ties and NaN (n up to 5000):
                   the order torchvision 0.14's CPU NMS visits boxes in (its keep lists match a greedy
                   pass in this order, not in the unstable torch.sort order, which differs for n > 16).
  batched_nms_*    torchvision's _batched_nms_coordinate_trick (what batched_nms runs up to 1000
                   boxes on the CPU), with ties; and torchvision.ops.batched_nms itself on 3000 boxes
                   in 9 categories (its per-category loop, _batched_nms_vanilla; distinct scores, since
                   that loop's final torch.sort is unstable).
  encode_* decode_* BoxCoder (weights (1,1,1,1) and (10,10,5,5)), float32 and float64; decode with
                   dw/dh beyond log(1000/16) (clipped).
  box_iou_*, box_area_*, clip_*, remove_small_*   torchvision.ops.box_iou / box_area /
                   clip_boxes_to_image / remove_small_boxes, with degenerate and disjoint boxes.
  anchors_*        AnchorGenerator: a small config in full, and torchvision's Mask R-CNN config on an
                   800x800 image (feature maps 200, 100, 50, 25, 13): the cell anchors of each level,
                   the total count, and every 37th anchor row plus each level's first and last row
                   (all 159882 rows would be 2.5 MB).
  matcher_*        Matcher(0.7, 0.3) and Matcher(0.5, 0.5), allow_low_quality_matches both ways, on
                   IoU matrices with tied ground truths and tied proposals.
"""
import json
import math
import os
import sys

import torch
import torchvision
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import boxes as box_ops

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ops import DATA, Family, seed  # noqa: E402

FAMILY = "detection_boxes"


class Cases(Family):
    """The case layout of ops.Family, for ops without gradients: each case stores its inputs and the
    outputs it was given."""

    def __init__(self):
        super().__init__(FAMILY)

    def add(self, name, op, args, inputs, outputs, dtype):
        assert name not in self.cases, name
        for k, v in inputs.items():
            self.tensors["%s/in/%s" % (name, k)] = v.detach().clone().contiguous()
        if isinstance(outputs, dict):
            for k, v in outputs.items():
                self.tensors["%s/out/%s" % (name, k)] = v.detach().clone().contiguous()
        else:
            self.tensors["%s/out" % name] = outputs.detach().clone().contiguous()
        meta = {"op": op, "dtype": str(dtype).replace("torch.", "")}
        meta.update(args)
        self.meta[name] = json.dumps(meta, sort_keys=True)
        self.cases.append(name)


def random_boxes(n, dtype=torch.float32, extent=200.0, max_size=60.0):
    """Boxes in a extent x extent square, sides in [1, max_size]: dense enough to overlap a lot."""
    xy = torch.rand(n, 2, dtype=torch.float64) * extent
    wh = 1.0 + torch.rand(n, 2, dtype=torch.float64) * (max_size - 1.0)
    return torch.cat([xy, xy + wh], dim=1).to(dtype)


def greedy_stable(boxes, scores, thr):
    """NMS by hand in stable descending score order (ties: lowest index first)."""
    order = torch.sort(scores, dim=0, descending=True, stable=True)[1]
    iou = box_ops.box_iou(boxes, boxes)
    suppressed = torch.zeros(len(scores), dtype=torch.bool)
    keep = []
    for i in order.tolist():
        if not suppressed[i]:
            keep.append(i)
            suppressed |= iou[i] > thr
    return keep


def nms_cases(c):
    for n, thr, ties in [(10, 0.5, False), (100, 0.5, False), (100, 0.7, True), (1000, 0.5, False),
                         (1000, 0.7, True), (5000, 0.5, True)]:
        name = "nms_%d_%s%s" % (n, str(thr).replace(".", ""), "_ties" if ties else "")
        seed(name)
        boxes = random_boxes(n)
        # ties: scores from 8 values (every score shared by ~n/8 boxes, equal boxes too)
        scores = (torch.randint(0, 8, (n,)).float() / 8) if ties else torch.rand(n)
        if ties:
            dup = torch.randint(0, n, (n // 10,))
            boxes[dup[1:]] = boxes[dup[:-1]]  # some identical boxes (IoU 1) with tied scores
        keep = torchvision.ops.nms(boxes, scores, thr)
        if ties:  # torchvision 0.14's CPU kernel visits equal scores lowest index first
            assert keep.tolist() == greedy_stable(boxes, scores, thr), name
        c.add(name, "nms", {"iou_threshold": thr}, {"boxes": boxes, "scores": scores}, keep, torch.float32)
    # all scores equal: the kept set is decided by the tie order alone
    name = "nms_50_all_equal"
    seed(name)
    boxes = random_boxes(50, extent=60.0)
    scores = torch.full((50,), 0.25)
    c.add(name, "nms", {"iou_threshold": 0.3}, {"boxes": boxes, "scores": scores},
          torchvision.ops.nms(boxes, scores, 0.3), torch.float32)
    # IoU exactly 0.5 (100 / 200) and exactly 0.7f-ish: strict > keeps both
    boxes = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 5], [20, 20, 30, 30], [20, 20, 30, 27],
                          [40, 40, 50, 50], [40, 40, 50, 49.9]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    for thr in (0.5, 0.7):
        c.add("nms_exact_iou_%s" % str(thr).replace(".", ""), "nms", {"iou_threshold": thr},
              {"boxes": boxes, "scores": scores}, torchvision.ops.nms(boxes, scores, thr), torch.float32)
    # a NaN coordinate: its IoU is NaN, never > threshold: kept, suppresses nothing
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [float("nan"), 0, 10, 10], [0, 0, 9, 10]])
    scores = torch.tensor([0.5, 0.9, 0.7, 0.3])
    c.add("nms_nan_box", "nms", {"iou_threshold": 0.5}, {"boxes": boxes, "scores": scores},
          torchvision.ops.nms(boxes, scores, 0.5), torch.float32)
    name = "nms_300_f64_ties"
    seed(name)
    boxes = random_boxes(300, torch.float64)
    scores = torch.randint(0, 5, (300,)).double()
    c.add(name, "nms", {"iou_threshold": 0.45}, {"boxes": boxes, "scores": scores},
          torchvision.ops.nms(boxes, scores, 0.45), torch.float64)


def sort_cases(c):
    for n in (17, 100, 5000):
        name = "sort_ties_%d" % n
        seed(name)
        scores = torch.randint(0, 6, (n,)).float()
        scores[torch.randint(0, n, (2,))] = float("nan")
        order = torch.sort(scores, dim=0, descending=True, stable=True)[1]
        c.add(name, "sort_descending", {}, {"scores": scores}, order, torch.float32)


def batched_cases(c):
    for n, classes, thr, ties in [(200, 5, 0.5, False), (1000, 3, 0.6, True)]:
        name = "batched_nms_%d%s" % (n, "_ties" if ties else "")
        seed(name)
        boxes = random_boxes(n)
        scores = (torch.randint(0, 6, (n,)).float() / 6) if ties else torch.rand(n)
        idxs = torch.randint(0, classes, (n,))
        out = box_ops._batched_nms_coordinate_trick(boxes, scores, idxs, thr)
        c.add(name, "batched_nms", {"iou_threshold": thr}, {"boxes": boxes, "scores": scores, "idxs": idxs},
              out, torch.float32)
    name = "batched_nms_3000_per_category"
    seed(name)
    boxes = random_boxes(3000)
    scores = torch.randperm(3000).float() / 3000
    idxs = torch.randint(0, 9, (3000,))
    assert boxes.numel() > 4000  # torchvision's switch to _batched_nms_vanilla on the CPU
    out = box_ops.batched_nms(boxes, scores, idxs, 0.5)
    assert torch.equal(out, box_ops._batched_nms_vanilla(boxes, scores, idxs, 0.5))
    c.add(name, "batched_nms", {"iou_threshold": 0.5}, {"boxes": boxes, "scores": scores, "idxs": idxs},
          out, torch.float32)


def coder_cases(c):
    for weights, tag in [((1.0, 1.0, 1.0, 1.0), "rpn"), ((10.0, 10.0, 5.0, 5.0), "roi")]:
        coder = det_utils.BoxCoder(weights)
        for dtype in (torch.float32, torch.float64):
            dt = "f32" if dtype == torch.float32 else "f64"
            name = "encode_%s_%s" % (tag, dt)
            seed(name)
            proposals = random_boxes(64, dtype)
            reference = random_boxes(64, dtype)
            c.add(name, "box_encode", {"weights": list(weights)}, {"reference": reference, "proposals": proposals},
                  coder.encode_single(reference, proposals), dtype)
            name = "decode_%s_%s" % (tag, dt)
            seed(name)
            anchors = random_boxes(48, dtype)
            k = 3
            codes = torch.randn(48, 4 * k, dtype=dtype) * torch.tensor(weights, dtype=dtype).repeat(k) * 0.3
            # large dw / dh: beyond bbox_xform_clip = log(1000/16) after division by the weights
            codes[:6, 2] = weights[2] * torch.tensor([4.2, 5.0, 10.0, 50.0, 4.13, -8.0], dtype=dtype)
            codes[6:12, 3] = weights[3] * torch.tensor([4.2, 6.0, 20.0, 100.0, 4.14, -20.0], dtype=dtype)
            out = coder.decode(codes, [anchors])  # [48, k, 4]
            c.add(name, "box_decode", {"weights": list(weights), "clip": math.log(1000.0 / 16)},
                  {"deltas": codes, "anchors": anchors}, out, dtype)


def small_box_cases(c):
    for dtype in (torch.float32, torch.float64):
        dt = "f32" if dtype == torch.float32 else "f64"
        name = "box_iou_" + dt
        seed(name)
        a = random_boxes(40, dtype, extent=100.0)
        b = random_boxes(30, dtype, extent=100.0)
        a[0] = torch.tensor([5, 5, 5, 9], dtype=dtype)        # zero width (area 0)
        b[0] = torch.tensor([300, 300, 310, 310], dtype=dtype)  # disjoint from all
        b[1] = a[1]                                             # identical: IoU 1
        c.add(name, "box_iou", {}, {"boxes1": a, "boxes2": b}, box_ops.box_iou(a, b), dtype)
        c.add("box_area_" + dt, "box_area", {}, {"boxes": a}, box_ops.box_area(a), dtype)
        name = "clip_" + dt
        seed(name)
        boxes = random_boxes(50, dtype, extent=120.0) - 20.0
        c.add(name, "clip_boxes_to_image", {"size": [90, 70]}, {"boxes": boxes},
              box_ops.clip_boxes_to_image(boxes, (90, 70)), dtype)
        name = "remove_small_" + dt
        seed(name)
        boxes = random_boxes(60, dtype, max_size=8.0)
        boxes[3] = torch.tensor([1, 1, 4, 4], dtype=dtype)  # exactly min_size: kept (>=)
        c.add(name, "remove_small_boxes", {"min_size": 3.0}, {"boxes": boxes},
              box_ops.remove_small_boxes(boxes, 3.0), dtype)


def anchor_cases(c):
    # small, in full: two levels, several sizes on the first, a non-square image
    gen = AnchorGenerator(sizes=((16, 32), (64,)), aspect_ratios=((0.5, 1.0, 2.0), (1.0, 0.25)))
    images = ImageList(torch.zeros(1, 3, 64, 48), [(64, 48)])
    feats = [torch.zeros(1, 8, 16, 12), torch.zeros(1, 8, 7, 5)]
    anchors = gen(images, feats)[0]
    c.add("anchors_small", "anchors",
          {"sizes": [[16, 32], [64]], "aspect_ratios": [[0.5, 1.0, 2.0], [1.0, 0.25]], "image_size": [64, 48],
           "feature_sizes": [[16, 12], [7, 5]]}, {}, anchors, torch.float32)
    # torchvision's Mask R-CNN configuration (_default_anchorgen), 800x800 batch
    sizes = ((32,), (64,), (128,), (256,), (512,))
    ratios = ((0.5, 1.0, 2.0),) * len(sizes)
    gen = AnchorGenerator(sizes, ratios)
    fs = [200, 100, 50, 25, 13]
    images = ImageList(torch.zeros(1, 3, 800, 800), [(800, 800)])
    feats = [torch.zeros(1, 1, s, s) for s in fs]
    anchors = gen(images, feats)[0]
    counts = [s * s * 3 for s in fs]
    rows = set(range(0, anchors.shape[0], 37))
    start = 0
    for n in counts:
        rows.update([start, start + n - 1])
        start += n
    rows = torch.tensor(sorted(rows), dtype=torch.int64)
    outs = {"rows": rows, "anchors": anchors[rows], "count": torch.tensor([anchors.shape[0]], dtype=torch.int64)}
    for level, cell in enumerate(gen.cell_anchors):
        outs["cell/%d" % level] = cell
    c.add("anchors_maskrcnn_800", "anchors",
          {"sizes": [list(s) for s in sizes], "aspect_ratios": [list(r) for r in ratios], "image_size": [800, 800],
           "feature_sizes": [[s, s] for s in fs]}, {}, outs, torch.float32)


def matcher_cases(c):
    name = "matcher_matrix"
    seed(name)
    gt = random_boxes(6, extent=150.0, max_size=80.0)
    gt[5] = gt[2]  # a duplicated ground truth: ties along dim 0 and in the low-quality step
    proposals = random_boxes(120, extent=150.0, max_size=80.0)
    proposals[7] = proposals[3]  # tied proposals: both are some gt's best
    proposals[3] = gt[1]
    proposals[7] = gt[1]
    iou = box_ops.box_iou(gt, proposals)
    for high, low in [(0.7, 0.3), (0.5, 0.5)]:
        for allow in (False, True):
            m = det_utils.Matcher(high, low, allow_low_quality_matches=allow)
            out = m(iou.clone())
            case = "matcher_%s_%s_%s" % (str(high).replace(".", ""), str(low).replace(".", ""),
                                         "low_quality" if allow else "strict")
            c.add(case, "matcher", {"high": high, "low": low, "allow_low_quality_matches": allow},
                  {"quality": iou}, out, torch.float32)
    # exact-threshold values: 0.7f counts as >= 0.7 (float32 comparison), 0.3f as >= 0.3
    q = torch.tensor([[0.7, 0.3, 0.69999, 0.29999, 0.5, 0.0], [0.1, 0.2, 0.3, 0.4, 0.71, 0.0]])
    c.add("matcher_thresholds", "matcher", {"high": 0.7, "low": 0.3, "allow_low_quality_matches": False},
          {"quality": q}, det_utils.Matcher(0.7, 0.3, False)(q.clone()), torch.float32)


def generate(out_dir=DATA):
    c = Cases()
    nms_cases(c)
    sort_cases(c)
    batched_cases(c)
    coder_cases(c)
    small_box_cases(c)
    anchor_cases(c)
    matcher_cases(c)
    return c.save(out_dir, "tools/golden/detection_boxes.py", with_torchvision=True)


if __name__ == "__main__":
    generate(sys.argv[1] if len(sys.argv) > 1 else DATA)
