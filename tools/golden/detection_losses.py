#!/usr/bin/python3
"""Golden fixtures for anima's detection losses and mask pasting, computed by torchvision 0.14.

Run with Debian's interpreter (torch 1.13 + torchvision 0.14):

    /usr/bin/python3 tools/golden/detection_losses.py [OUT_DIR]   # -> OUT_DIR/detection_losses.safetensors
                                                                   # (default tests/golden/data)

Cases (layout of tools/golden/ops.py: <case>/in/<arg>, <case>/out[/<i>], <case>/gout[/<i>],
<case>/grad/<arg> (cases without gradients store no gout), metadata "<case>" = JSON {"op", "dtype", ...}),
all computed by torchvision's own functions:
  rpn_*          RegionProposalNetwork.compute_loss. Its fg_bg_sampler is torchvision's
                 BalancedPositiveNegativeSampler run once with a fixed seed; its result is stored as
                 int64 indices into the concatenated anchors (in/sampled_pos, in/sampled_neg) and handed
                 back to compute_loss by replacing fg_bg_sampler with a function returning exactly those
                 masks, so both sides use the same sampled set. Outputs (objectness loss, box loss),
                 gradients w.r.t. objectness [A, 1] and pred_bbox_deltas [A, 4]. Per-image lists are
                 stored concatenated; args.anchors_per_image gives the split.
  fastrcnn_*     roi_heads.fastrcnn_loss: outputs (classifier, box_reg), gradients w.r.t. class_logits and
                 box_regression; labels split per image as args.proposals_per_image.
  mask_targets_* roi_heads.project_masks_on_boxes(gt_masks, boxes, matched_idxs, M) (no gradient).
  maskrcnn_*     roi_heads.maskrcnn_loss with per-image lists stored as in/<name><i> (i = image), gradient
                 w.r.t. mask_logits; maskrcnn_empty has no positive proposal (mask_logits.sum() * 0).
  paste_*        roi_heads.paste_masks_in_image(masks, boxes, (h, w), padding) with boxes partly outside
                 the image (float32 and float64).
Inputs avoid the kinks of smooth L1 (|d| = 1/9 and d = 0) so the gradients are well defined.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ops import DATA, Family, away_from, seed  # noqa: E402

from torchvision.models.detection import _utils as det_utils  # noqa: E402
from torchvision.models.detection import roi_heads as tv_roi_heads  # noqa: E402
from torchvision.models.detection.anchor_utils import AnchorGenerator  # noqa: E402
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead  # noqa: E402

BETA = 1.0 / 9.0
F64 = torch.float64


class LossFamily(Family):
    def save(self, out_dir=DATA, generator="tools/golden/detection_losses.py", with_torchvision=True):
        # A case without gradients needs no upstream gradient: drop <case>/gout (keeps the file small).
        for name in self.cases:
            if not any(k.startswith(name + "/grad/") for k in self.tensors):
                self.tensors.pop(name + "/gout", None)
        return super().save(out_dir, generator, with_torchvision)


def deltas_pair(*shape):
    """(prediction, target) with prediction - target away from smooth L1's kinks at 0 and +-1/9."""
    target = torch.randn(*shape, dtype=F64) * 0.5
    diff = away_from(torch.randn(*shape, dtype=F64) * 0.3, [-BETA, 0.0, BETA], margin=0.01)
    return target + diff, target


def make_rpn():
    anchor_gen = AnchorGenerator(sizes=((32,),), aspect_ratios=((1.0,),))
    return RegionProposalNetwork(anchor_gen, RPNHead(4, 1), 0.7, 0.3, 256, 0.5,
                                 dict(training=10, testing=10), dict(training=10, testing=10), 0.7)


def rpn_cases(fam):
    # (name, anchors per image, sampler batch_size_per_image, positive_fraction)
    for name, per_image, batch, frac in [("rpn_two_images", [30, 26], 12, 0.5), ("rpn_one_image", [40], 16, 0.25),
                                         ("rpn_few_positives", [20, 24], 16, 0.5)]:
        seed(name)
        a = sum(per_image)
        labels = []
        for n in per_image:
            lab = torch.full((n,), -1.0, dtype=F64)
            r = torch.rand(n)
            lab[r < 0.6] = 0.0
            lab[r > (0.93 if name == "rpn_few_positives" else 0.75)] = 1.0
            labels.append(lab)
        sampler = det_utils.BalancedPositiveNegativeSampler(batch, frac)
        pos_masks, neg_masks = sampler(labels)  # torchvision's own sampler, seeded above
        sampled_pos = torch.where(torch.cat(pos_masks))[0]
        sampled_neg = torch.where(torch.cat(neg_masks))[0]
        pred, target = deltas_pair(a, 4)
        inputs = {"objectness": torch.randn(a, 1, dtype=F64) * 2.0, "pred_bbox_deltas": pred,
                  "labels": torch.cat(labels), "regression_targets": target,
                  "sampled_pos": sampled_pos, "sampled_neg": sampled_neg}

        def fn(objectness, pred_bbox_deltas, labels, regression_targets, sampled_pos, sampled_neg,
               per_image=per_image, pos_masks=pos_masks, neg_masks=neg_masks):
            rpn = make_rpn()
            rpn.fg_bg_sampler = lambda _labels: (pos_masks, neg_masks)  # the fixed sampled set
            return rpn.compute_loss(objectness, pred_bbox_deltas, list(labels.split(per_image)),
                                    list(regression_targets.split(per_image)))

        fam.case(name, "rpn_loss", {"anchors_per_image": per_image}, inputs, fn,
                 grad=["objectness", "pred_bbox_deltas"])


def fastrcnn_cases(fam):
    # (name, proposals per image, classes, all background)
    for name, per_image, c, background in [("fastrcnn_two_images", [7, 5], 3, False),
                                           ("fastrcnn_faces", [9], 2, False),
                                           ("fastrcnn_all_background", [6], 4, True)]:
        seed(name)
        n = sum(per_image)
        labels = torch.zeros(n, dtype=torch.int64) if background else torch.randint(0, c, (n,), dtype=torch.int64)
        if not background:
            labels[0] = 0
            labels[1] = c - 1
        target = torch.randn(n, 4, dtype=F64) * 0.5
        box = torch.randn(n, c, 4, dtype=F64) * 0.5
        # the GT-class deltas (the ones that count) away from the kinks
        idx = torch.arange(n)
        box[idx, labels] = target + away_from(torch.randn(n, 4, dtype=F64) * 0.3, [-BETA, 0.0, BETA], margin=0.01)
        inputs = {"class_logits": torch.randn(n, c, dtype=F64) * 2.0, "box_regression": box.reshape(n, 4 * c),
                  "labels": labels, "regression_targets": target}

        def fn(class_logits, box_regression, labels, regression_targets, per_image=per_image):
            return tv_roi_heads.fastrcnn_loss(class_logits, box_regression, list(labels.split(per_image)),
                                              list(regression_targets.split(per_image)))

        fam.case(name, "fastrcnn_loss", {"proposals_per_image": per_image}, inputs, fn,
                 grad=["class_logits", "box_regression"])


def blob_masks(g, h, w):
    """g binary masks (bool [g, h, w]): a filled ellipse each, so RoIAlign sees edges and interiors."""
    yy, xx = torch.meshgrid(torch.arange(h, dtype=F64), torch.arange(w, dtype=F64), indexing="ij")
    out = []
    for _ in range(g):
        cy, cx = torch.rand(2, dtype=F64) * torch.tensor([h, w], dtype=F64)
        ry, rx = 3 + torch.rand(2, dtype=F64) * torch.tensor([h / 2, w / 2], dtype=F64)
        out.append(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0)
    return torch.stack(out)


def random_boxes(p, h, w, dtype=F64, outside=True):
    """p boxes (x1, y1, x2, y2) of size 2..~0.7 image; with `outside`, some reach past the borders."""
    x1 = torch.rand(p, dtype=F64) * w * 0.8 - (0.15 * w if outside else 0.0)
    y1 = torch.rand(p, dtype=F64) * h * 0.8 - (0.15 * h if outside else 0.0)
    bw = 2 + torch.rand(p, dtype=F64) * w * 0.6
    bh = 2 + torch.rand(p, dtype=F64) * h * 0.6
    return torch.stack([x1, y1, x1 + bw, y1 + bh], dim=1).to(dtype)


def mask_target_cases(fam):
    for name, g, h, w, p, m, dtype in [("mask_targets_m28", 3, 40, 48, 5, 28, F64),
                                       ("mask_targets_m7", 2, 30, 20, 6, 7, F64),
                                       ("mask_targets_m14_f32", 3, 36, 36, 4, 14, torch.float32)]:
        seed(name)
        inputs = {"gt_masks": blob_masks(g, h, w), "boxes": random_boxes(p, h, w, dtype),
                  "matched_idxs": torch.randint(0, g, (p,), dtype=torch.int64)}
        fam.case(name, "mask_targets", {"M": m}, inputs,
                 lambda gt_masks, boxes, matched_idxs, m=m:
                 tv_roi_heads.project_masks_on_boxes(gt_masks.to(torch.uint8), boxes, matched_idxs, m),
                 dtype=dtype)


def maskrcnn_cases(fam):
    # (name, [(gt count, h, w, positives)] per image, classes, M)
    for name, images, c, m in [("maskrcnn_two_images", [(3, 40, 44, 4), (2, 32, 30, 2)], 3, 14),
                               ("maskrcnn_faces_m28", [(2, 48, 40, 3)], 2, 28),
                               ("maskrcnn_image_without_positives", [(2, 30, 30, 0), (2, 30, 34, 3)], 3, 14),
                               ("maskrcnn_empty", [(2, 30, 30, 0)], 3, 14)]:
        seed(name)
        p = sum(im[3] for im in images)
        inputs = {"mask_logits": torch.randn(p, c, m, m, dtype=F64) * 2.0}
        for i, (g, h, w, pi) in enumerate(images):
            inputs["gt_masks%d" % i] = blob_masks(g, h, w)
            inputs["gt_labels%d" % i] = torch.randint(1, c, (g,), dtype=torch.int64)
            inputs["proposals%d" % i] = random_boxes(pi, h, w)
            inputs["matched_idxs%d" % i] = torch.randint(0, g, (pi,), dtype=torch.int64)
        k = len(images)

        def fn(mask_logits, k=k, **lists):
            pick = lambda key: [lists["%s%d" % (key, i)] for i in range(k)]  # noqa: E731
            return tv_roi_heads.maskrcnn_loss(mask_logits, pick("proposals"),
                                              [t.to(torch.uint8) for t in pick("gt_masks")],
                                              pick("gt_labels"), pick("matched_idxs"))

        fam.case(name, "maskrcnn_loss", {"images": k}, inputs, fn, grad=["mask_logits"])


def paste_cases(fam):
    # (name, R, M, image h, w, padding, dtype)
    for name, r, m, h, w, pad, dtype in [("paste_m28_f32", 6, 28, 50, 60, 1, torch.float32),
                                         ("paste_m7_f64", 5, 7, 33, 41, 1, F64),
                                         ("paste_m14_pad2_f32", 4, 14, 40, 30, 2, torch.float32)]:
        seed(name)
        masks = torch.sigmoid(torch.randn(r, 1, m, m, dtype=F64) * 3.0).to(dtype)
        # boxes entirely above / left of the image make torchvision's slicing fail: keep the random ones
        # inside the top-left borders (they may still cross the bottom-right ones)
        boxes = random_boxes(r, h, w, dtype, outside=False)
        boxes[0] = torch.tensor([-6.3, -4.2, 12.7, 9.9], dtype=dtype)         # past the top-left corner
        boxes[1] = torch.tensor([w - 9.5, h - 7.25, w + 5.0, h + 3.5], dtype=dtype)  # past the bottom-right
        inputs = {"masks": masks, "boxes": boxes}
        fam.case(name, "paste_masks_in_image", {"image_size": [h, w], "padding": pad}, inputs,
                 lambda masks, boxes, h=h, w=w, pad=pad: tv_roi_heads.paste_masks_in_image(masks, boxes, (h, w), pad),
                 dtype=dtype)


def generate(out_dir=DATA):
    torch.set_grad_enabled(True)
    fam = LossFamily("detection_losses")
    rpn_cases(fam)
    fastrcnn_cases(fam)
    mask_target_cases(fam)
    maskrcnn_cases(fam)
    paste_cases(fam)
    return fam.save(out_dir)


if __name__ == "__main__":
    generate(sys.argv[1] if len(sys.argv) > 1 else DATA)
