#!/usr/bin/python3
"""Golden fixtures for Mask R-CNN R50-FPN (torchvision 0.14's maskrcnn_resnet50_fpn, v1) with every
parameter and buffer set by nets.py's deterministic fill, run by PyTorch.

Run with Debian's interpreter (torch 1.13, torchvision 0.14, numpy; CPU, one thread):

    /usr/bin/python3 tools/golden/maskrcnn.py                   # everything
    /usr/bin/python3 tools/golden/maskrcnn.py transform eval train   # some: transform eval mnv2 train

Writes (tests/golden/data/):
    maskrcnn_transform.safetensors   GeneralizedRCNNTransform alone (torchvision's mode and anima's
                                     "square" mode), in full, ops.py case layout (load_family works)
    maskrcnn_eval_c91.safetensors    eval forward, num_classes = 91 (float32)
    maskrcnn_eval_c3.safetensors     eval forward, num_classes = 3 (float32)
    maskrcnn_eval_mnv2_c3.safetensors  eval forward of the light model (THE LIGHT MODEL below), 3 classes
    maskrcnn_train.safetensors       one training step, num_classes = 3 (float64), losses + gradients

THE MODEL (both sides build exactly this):

    backbone = torchvision.models.resnet50(weights=None, norm_layer=torchvision.ops.misc.FrozenBatchNorm2d)
    backbone = torchvision.models.detection.backbone_utils._resnet_fpn_extractor(backbone, 3)
    model    = torchvision.models.detection.MaskRCNN(backbone, num_classes=N, min_size=128, max_size=200)
    torchvision.models.detection._utils.overwrite_eps(model, 0.0)

  This is line for line what maskrcnn_resnet50_fpn(weights=COCO_V1) builds (mask_rcnn.py:482-503) minus
  the download: FrozenBatchNorm2d with eps = 0 (the COCO checkpoint's setting), trainable_backbone_layers
  = 3 (conv1 and layer1 frozen). NOTE maskrcnn_resnet50_fpn(weights=None, weights_backbone=None) would
  instead build plain nn.BatchNorm2d and train all 5 stages (mask_rcnn.py:491-493,
  backbone_utils.py:158-165): not the configuration anima runs with the COCO weights, so not used here.
  Every other argument is torchvision's default: rpn pre/post NMS top-n 2000/2000 (train) and 1000/1000
  (test), rpn NMS 0.7, rpn fg/bg IoU 0.7/0.3, rpn batch 256 / positive fraction 0.5, rpn score_thresh
  0.0, box score_thresh 0.05, box NMS 0.5, 100 detections per image, box fg/bg IoU 0.5/0.5, box batch
  512 / 0.25, bbox_reg_weights (10, 10, 5, 5), image mean/std ImageNet's, size_divisible 32.
  min_size 128 / max_size 200 (instead of 800 / 1333) keep the fixture small and the run short.

THE LIGHT MODEL (fixture "mnv2"): the same MaskRCNN on a MobileNetV2 body and narrower widths, what
  anima's `train detector --backbone mobilenet_v2 --fpn-channels 64 --box-head 128 --mask-head 64` builds:

    body     = torchvision.models.mobilenet_v2(weights=None).features          (BatchNorm2d, eval mode)
    backbone = BackboneWithFPN(body, {"3": "0", "6": "1", "13": "2", "18": "3"}, [24, 32, 96, 1280], 64)
    model    = MaskRCNN(backbone, None, min_size=128, max_size=200,
                        box_head=TwoMLPHead(64 * 7 * 7, 128), box_predictor=FastRCNNPredictor(128, N),
                        mask_head=MaskRCNNHeads(64, (64, 64, 64, 64), 1),
                        mask_predictor=MaskRCNNPredictor(64, 64, N))
  filled and head-scaled as below (BatchNorm's running_var is filled positive by name, its
  num_batches_tracked 0).

THE FILL: nets.py's deterministic (name, index) fill of every state_dict entry (FrozenBatchNorm2d's
  buffers weight / bias / running_mean / running_var are filled by their names like BatchNorm's; there is
  no num_batches_tracked), THEN five head layers are scaled by exact powers of two (weight and bias):
      rpn.head.cls_logits 1/8, rpn.head.bbox_pred 1/16, roi_heads.box_predictor.cls_score 1/16,
      roi_heads.box_predictor.bbox_pred 1/16, roi_heads.mask_predictor.mask_fcn_logits 1/4
  (HEAD_SCALE below; metadata "head_scale"). Why: without the heads' BatchNorm the He-scaled fill makes the
  FPN features ~10 and the raw logits ~15-80: every softmax score is 1.0f and every RPN delta is past
  the exp clamp, a degenerate detector whose ties decide everything. A power of two is exact, so the C++
  side multiplies the same tensors after the fill and gets the same numbers.

THE IMAGES (not random; nets.py's formula with image index n, mapped to [0, 1], exact in float32):
    q = (x (c + 1 + n) + y (3 - c + 2 n)) mod 128;   img_n[c, y, x] = (|q - 64| / 32 - 1 + 1) / 2 = |q - 64| / 64
  The transform fixture's images are make_image(n, h, w) of each case's "images" [[n, h, w], ...] (not
  stored). The model's batch: image 0 = img_0 of 3x90x120, image 1 = img_1 of 3x77x103 (odd sizes). With min/max
  128/200: image 0 -> 128x170 (scale 1.4222223f), image 1 -> 127x171: float32(128/77) * 77 =
  127.99999988 and floor() gives 127, not 128 (the float32 scale rounding that a C++ port must
  reproduce); the batch is padded to 128x192.

SAMPLING: torchvision's BalancedPositiveNegativeSampler draws torch.randperm; here both samplers (RPN
  256/0.5, RoI heads 512/0.25) are replaced by DeterministicSampler: same counts (num_pos = min(#pos,
  int(batch*fraction)), num_neg = min(#neg, batch - num_pos)), but the chosen positives are those with the
  smallest key u_i = fill_uniform(fnv1a64("<tag>/<image>/pos"), i) over the candidate's rank i among
  the positives (ties: lower rank), same for negatives ("neg"); tag is "rpn" or "roi". The chosen
  indices are STORED (train/rpn/sampled_pos/<i>, ...); the C++ test feeds them instead of drawing.

Eval file keys (N = 0, 1 image; L = FPN level name):
    input/sizes [2,2] i64            original (H, W) of the two images; input/n [2]: formula's image index
    transform/scale [2] f64          the float32 scale torchvision used (as a double)
    transform/image_sizes [2,2] i64  resized sizes; transform/batch_shape [4] i64 the padded batch
    transform/mean [2,3]             per-channel mean of the padded, normalised batch (padding included)
    transform/slice [2,3,8,8]        batch[:, :, :8, :8]
    transform/edge/<N> [3,<=6,<=6]   batch[N, :, h-3:h+3, w-3:w+3] (h, w = image N's resized size, the
                                     slice clipped to the batch: image 0 is [3,3,6]): the bilinear
                                     resize's last rows / columns and the zero padding
    body/layer{1..4}/mean [2,C]      per-channel means of the ResNet stages (debugging aid)
    fpn/L/mean [2,256]               per-channel means of FPN outputs "0".."3", "pool"
    fpn/L/slice [2,2,8,8]            fpn[L][:, :2, :8, :8] ("pool" is 2x3: stored whole as fpn/pool/full)
    rpn/num_anchors_per_level [5]    anchors per level per image (A = their sum)
    rpn/objectness [2,A]             raw objectness logits in torchvision's concatenated anchor order
    rpn/deltas_rows [R] i64, rpn/deltas [2,R,4]   raw RPN deltas of every 7th anchor
    rpn/proposals/<N> [P,4], rpn/scores/<N> [P]   filter_proposals' output (all, in order; sigmoid scores)
    roi/class_logits/<N> [16,C], roi/box_regression/<N> [16,4C]   box predictor on image N's first 16 proposals
    det/<N>/boxes [D,4] (original image coordinates), det/<N>/boxes_net [D,4] (resized coordinates,
                                     before postprocess), det/<N>/scores [D], det/<N>/labels [D] i64
    mask/<N>/prob28 [min(D,8),1,28,28]   maskrcnn_inference output (sigmoid, label's channel), first 8
    mask/<N>/sum [D] f64             sum of each pasted probability mask [H0, W0]
    mask/<N>/pasted [min(D,2),H0,W0] the first two pasted masks in full
  metadata: builder, config (JSON), head_scale, images, generator, torch, torchvision, tie_report (JSON:
  score gaps at every cut, see below), torch_f32_vs_f64 (JSON), tolerances (JSON), notes.

Train file keys (num_classes 3, float64 throughout):
    train/target/<N>/boxes [G,4] f64, /labels [G] i64, /masks [G,H0,W0] u8     the inputs
    train/transformed/<N>/boxes [G,4], /masks [G,h,w] u8   targets after GeneralizedRCNNTransform
    train/rpn/labels/<N> [A] i8      1 / 0 / -1 per anchor (Matcher 0.7/0.3 with low-quality matches)
    train/rpn/sampled_pos/<N>, train/rpn/sampled_neg/<N> [k] i64   chosen anchors (per-image indices)
    train/rpn/proposals/<N> [P,4]    filter_proposals in training mode (pre/post top-n 2000)
    train/roi/sampled/<N> [S] i64    indices into cat(proposals, gt boxes), ascending (torch.where order)
    train/roi/sampled_pos/<N>, train/roi/sampled_neg/<N>    the sampler's choice (same index space)
    train/roi/labels/<N> [S] i64, train/roi/matched_idxs/<N> [S] i64, train/roi/regression_targets/<N> [S,4]
    train/roi/mask_targets/<N> [min(Pos,8),28,28]   project_masks_on_boxes of the first 8 positives
    train/loss/{loss_objectness,loss_rpn_box_reg,loss_classifier,loss_box_reg,loss_mask} [] f64
    train/grad/<param>[a:b]          d(sum of the 5 losses)/d param (rows a..b when sliced)
  metadata as above plus train_grads, sampler, train_torch_f32_vs_f64.

Deviation in the float64 step: RegionProposalNetwork.assign_targets_to_anchors makes float32 labels
(rpn.py:216), and F.binary_cross_entropy_with_logits(float64, float32) then returns float32; the step
casts the labels to the logits' dtype first (a wrapper around compute_loss) so loss_objectness is a float64
number. In float32 (anima's real runs) this changes nothing.

Tie report (metadata "tie_report"): for each image, the smallest gap between consecutive final scores,
the gap at the 100-detection cut, the smallest |score - 0.05| of any candidate, the smallest |IoU - 0.5|
between same-class candidates (NMS decisions), and on the RPN side the gap at the per-level pre-NMS top-n
cut and the smallest |IoU - 0.7| between same-level candidates. A C++ test should compare detections as
sets (matched by IoU) wherever a gap is below its own float32 error (~1e-5 relative).

The implementer's spec of torchvision's algorithm (with file:line references) is in the report that came
with this script; its essentials are summarised in SPEC below.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.models import resnet50
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection import roi_heads as tv_roi_heads
from torchvision.models.detection.backbone_utils import BackboneWithFPN, _resnet_fpn_extractor
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNN, MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.rpn import concat_box_prediction_layers
from torchvision.models.detection.transform import GeneralizedRCNNTransform, resize_boxes
from torchvision.ops import boxes as box_ops
from torchvision.ops import misc as misc_nn_ops

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from nets import deterministic_fill, fill_uniform, fnv1a64, save_grads  # noqa: E402
from ops import save_safetensors  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
GOLDEN = os.path.join(ROOT, "tests", "golden", "data")
GENERATOR = "tools/golden/maskrcnn.py"

SPEC = """
Summary of torchvision 0.14's Mask R-CNN inference / training (full spec: the report with this script).
transform.py:43-60  scale = min(float32(min_size)/float32(min(h,w)), float32(max_size)/float32(max(h,w)))
                    in FLOAT32; out = floor(double(h) * double(scale)) (functional.py:3913); bilinear,
                    align_corners=False, the kernel's ratio = in/out (recompute_scale_factor=True).
transform.py:157    normalise BEFORE resize: (x - mean) / std, float32.
transform.py:233-243 pad bottom/right with 0 to ceil(max/32)*32.  transform.py:296-309 postprocess:
                    box * float32(orig/new) per axis.
FPN (feature_pyramid_network.py:187-199): top-down nearest resize to the lateral's exact size; "pool" =
                    max_pool2d(P5, 1, 2, 0).
RPN: per level top-n (1000 test / 2000 train) by topk on raw logits, sigmoid, clip, remove_small 1e-3,
                    score >= 0.0, batched_nms by level 0.7, keep[:post_n] (rpn.py:241-296).
RoI: MultiScaleRoIAlign (aligned=False, sampling 2, levels floor(4 + log2(sqrt(area)/224) + 1e-6)
                    clamped to [2, 5]); TwoMLPHead; softmax; decode (10,10,5,5); clip; drop class 0;
                    score > 0.05; remove_small 1e-2; batched_nms 0.5; [:100] (roi_heads.py:668-725).
Masks: sigmoid, label's channel (roi_heads.py:52-79); paste (roi_heads.py:366-489).
"""

MIN_SIZE, MAX_SIZE = 128, 200
LIGHT = dict(fpn=64, box=128, mask=64)  # the light model's widths
IMAGES = [(0, 90, 120), (1, 77, 103)]  # (formula index n, H, W)
HEAD_SCALE = {
    "rpn.head.cls_logits": 1.0 / 8,
    "rpn.head.bbox_pred": 1.0 / 16,
    "roi_heads.box_predictor.cls_score": 1.0 / 16,
    "roi_heads.box_predictor.bbox_pred": 1.0 / 16,
    "roi_heads.mask_predictor.mask_fcn_logits": 1.0 / 4,
}
BUILDER = ("resnet50(weights=None, norm_layer=FrozenBatchNorm2d) -> _resnet_fpn_extractor(backbone, 3) -> "
           "MaskRCNN(backbone, num_classes=%d, min_size=128, max_size=200) -> overwrite_eps(model, 0.0) -> "
           "nets.py fill -> head_scale")
LIGHT_BUILDER = ("mobilenet_v2(weights=None).features -> BackboneWithFPN(body, {3: 0, 6: 1, 13: 2, 18: 3}, "
                 "[24, 32, 96, 1280], 64) -> MaskRCNN(backbone, None, min_size=128, max_size=200, "
                 "box_head=TwoMLPHead(3136, 128), box_predictor=FastRCNNPredictor(128, %d), "
                 "mask_head=MaskRCNNHeads(64, (64, 64, 64, 64), 1), mask_predictor=MaskRCNNPredictor(64, 64, N)) -> "
                 "nets.py fill -> head_scale")
TRAIN_CLASSES = 3
TRAIN_GRADS = [
    "backbone.body.layer2.0.conv1.weight[0:4]",
    "backbone.body.layer4.2.conv3.weight[0:4]",
    "backbone.body.layer4.2.conv1.weight[0:2]",
    "backbone.fpn.inner_blocks.0.0.weight[0:4]",
    "backbone.fpn.layer_blocks.3.0.bias",
    "rpn.head.conv.0.0.weight[0:2]",
    "rpn.head.cls_logits.weight",
    "rpn.head.bbox_pred.bias",
    "roi_heads.box_head.fc6.bias",
    "roi_heads.box_head.fc7.weight[0:2]",
    "roi_heads.box_predictor.cls_score.weight",
    "roi_heads.box_predictor.bbox_pred.weight",
    "roi_heads.box_predictor.bbox_pred.bias",
    "roi_heads.mask_head.0.0.weight[0:2]",
    "roi_heads.mask_head.3.0.bias",
    "roi_heads.mask_predictor.conv5_mask.weight[0:2]",
    "roi_heads.mask_predictor.mask_fcn_logits.weight",
    "roi_heads.mask_predictor.mask_fcn_logits.bias",
]
FROZEN = ["backbone.body.conv1.weight", "backbone.body.layer1.0.conv1.weight"]  # requires_grad False


# --------------------------------------------------------------------------------------------------
def make_image(n, h, w):
    """img_n [3, h, w] float32 in [0, 1]: nets.py's triangle wave, (v + 1) / 2 (exact)."""
    C, Y, X = np.meshgrid(np.arange(3), np.arange(h), np.arange(w), indexing="ij")
    q = (X * (C + 1 + n) + Y * (3 - C + 2 * n)) % 128
    return torch.from_numpy((np.abs(q - 64) / 64.0).astype(np.float32))


def build(num_classes, dtype=torch.float32, variant="r50"):
    if variant == "r50":
        backbone = resnet50(weights=None, norm_layer=misc_nn_ops.FrozenBatchNorm2d)
        backbone = _resnet_fpn_extractor(backbone, 3)
        model = MaskRCNN(backbone, num_classes=num_classes, min_size=MIN_SIZE, max_size=MAX_SIZE)
        det_utils.overwrite_eps(model, 0.0)
    else:
        f, b, m = LIGHT["fpn"], LIGHT["box"], LIGHT["mask"]
        body = torchvision.models.mobilenet_v2(weights=None).features
        backbone = BackboneWithFPN(body, {"3": "0", "6": "1", "13": "2", "18": "3"}, [24, 32, 96, 1280], f)
        model = MaskRCNN(backbone, None, min_size=MIN_SIZE, max_size=MAX_SIZE,
                         box_head=TwoMLPHead(f * 7 * 7, b), box_predictor=FastRCNNPredictor(b, num_classes),
                         mask_head=MaskRCNNHeads(f, (m, m, m, m), 1),
                         mask_predictor=MaskRCNNPredictor(m, m, num_classes))
    deterministic_fill(model)
    with torch.no_grad():
        for name, s in HEAD_SCALE.items():
            m = model.get_submodule(name)
            m.weight.mul_(s)
            m.bias.mul_(s)
    return model.to(dtype)


def config(model):
    rpn, rh, tr = model.rpn, model.roi_heads, model.transform
    return {
        "min_size": MIN_SIZE, "max_size": MAX_SIZE, "image_mean": tr.image_mean, "image_std": tr.image_std,
        "size_divisible": tr.size_divisible, "frozen_bn_eps": 0.0, "trainable_backbone_layers": 3,
        "anchor_sizes": [list(s) for s in rpn.anchor_generator.sizes],
        "aspect_ratios": [list(a) for a in rpn.anchor_generator.aspect_ratios],
        "rpn_pre_nms_top_n": rpn._pre_nms_top_n, "rpn_post_nms_top_n": rpn._post_nms_top_n,
        "rpn_nms_thresh": rpn.nms_thresh, "rpn_score_thresh": rpn.score_thresh, "rpn_min_size": rpn.min_size,
        "rpn_fg_bg_iou": [rpn.proposal_matcher.high_threshold, rpn.proposal_matcher.low_threshold],
        "rpn_batch_size_per_image": rpn.fg_bg_sampler.batch_size_per_image,
        "rpn_positive_fraction": rpn.fg_bg_sampler.positive_fraction,
        "box_score_thresh": rh.score_thresh, "box_nms_thresh": rh.nms_thresh,
        "box_detections_per_img": rh.detections_per_img,
        "box_fg_bg_iou": [rh.proposal_matcher.high_threshold, rh.proposal_matcher.low_threshold],
        "box_batch_size_per_image": rh.fg_bg_sampler.batch_size_per_image,
        "box_positive_fraction": rh.fg_bg_sampler.positive_fraction,
        "bbox_reg_weights": list(rh.box_coder.weights),
        "box_roi_pool": {"featmap_names": rh.box_roi_pool.featmap_names, "output_size": 7, "sampling_ratio": 2},
        "mask_roi_pool": {"featmap_names": rh.mask_roi_pool.featmap_names, "output_size": 14, "sampling_ratio": 2},
    }


def common_meta(model, num_classes, variant="r50"):
    return {"builder": (BUILDER if variant == "r50" else LIGHT_BUILDER) % num_classes, "config": json.dumps(config(model), sort_keys=True),
            "head_scale": json.dumps(HEAD_SCALE, sort_keys=True),
            "images": json.dumps([{"n": n, "size": [h, w]} for n, h, w in IMAGES]),
            "generator": GENERATOR, "torch": torch.__version__, "torchvision": torchvision.__version__}


def torch_scale(h, w, min_size, max_size):
    """torchvision's scale (transform.py:43-50): float32 arithmetic, returned as a Python float."""
    im = torch.tensor([h, w])
    return torch.min(min_size / torch.min(im).to(torch.float32), max_size / torch.max(im).to(torch.float32)).item()


def rel_err(a, b):
    b = b.double()
    return ((a.double() - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


# --------------------------------------------------------------------------------------------------
# The transform fixture: ops.py case layout (<case>/in/..., <case>/out/..., metadata "<case>", "cases").
def square_transform(images, side, mean, std, centered, size_divisible=32):
    """anima's "square" mode (not torchvision's): normalise as torchvision does, resize (bilinear,
    align_corners=False, explicit output size) so the LONG side is exactly `side` and the short side is
    round-half-up(short * side / long) computed in integers (min 1), then place it in a side x side zero
    canvas: at the top-left (centered=False; image_sizes then work as in torchvision), or centred as
    matterport's utils.resize_image(mode="square") does (top = (side - h) // 2, left = (side - w) // 2);
    then pad the batch to a multiple of size_divisible like torchvision. Returns (batch, sizes, offsets)."""
    canvas_side = int(math.ceil(side / size_divisible) * size_divisible)
    out = torch.zeros(len(images), 3, canvas_side, canvas_side)
    sizes, offsets = [], []
    m = torch.tensor(mean)[:, None, None]
    s = torch.tensor(std)[:, None, None]
    for i, img in enumerate(images):
        h, w = img.shape[-2:]
        long_, short = max(h, w), min(h, w)
        short_out = max(1, (2 * short * side + long_) // (2 * long_))
        oh, ow = (side, short_out) if h >= w else (short_out, side)
        x = (img - m) / s
        y = F.interpolate(x[None], size=(oh, ow), mode="bilinear", align_corners=False)[0]
        top, left = ((side - oh) // 2, (side - ow) // 2) if centered else (0, 0)
        out[i, :, top:top + oh, left:left + ow] = y
        sizes.append([oh, ow])
        offsets.append([top, left])
    return out, torch.tensor(sizes, dtype=torch.int64), torch.tensor(offsets, dtype=torch.int64)


def find_floor_case(min_size, max_size):
    """The first (h, w), h < w, for which torchvision's float32 scale floors h to min_size - 1."""
    for h in range(5, 100):
        for w in range(h + 1, h + 30):
            s = torch_scale(h, w, min_size, max_size)
            if math.floor(h * s) == min_size - 1 and math.floor(w * s) <= max_size:
                return h, w
    raise RuntimeError("no float32 floor case")


def golden_transform():
    tensors, meta, cases = {}, {}, []
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

    def add(name, args, inputs, outputs):
        for k, v in inputs.items():
            tensors["%s/in/%s" % (name, k)] = v.contiguous()
        for k, v in outputs.items():
            tensors["%s/out/%s" % (name, k)] = v.contiguous()
        args = dict(args)
        args.setdefault("dtype", "float32")
        meta[name] = json.dumps(args, sort_keys=True)
        cases.append(name)

    fh, fw = find_floor_case(24, 40)
    tv_cases = [("tv_pair", [(0, 27, 37), (1, 31, 23)], 24, 40),          # downscale (no antialias)
                ("tv_float32_floor", [(0, fh, fw), (1, 13, 17)], 24, 40),  # upscale, float32 floor
                ("tv_max_bound", [(0, 9, 61), (1, 20, 21)], 24, 40),       # max_size binds / near 1

                ("tv_model_sizes", [(n, h, w) for n, h, w in IMAGES], MIN_SIZE, MAX_SIZE)]
    for name, ims, mn, mx in tv_cases:
        imgs = [make_image(n, h, w) for n, h, w in ims]
        t = GeneralizedRCNNTransform(mn, mx, mean, std).eval()
        il, _ = t(imgs)
        scales = torch.tensor([torch_scale(h, w, mn, mx) for _, h, w in ims], dtype=torch.float64)
        inputs = {}  # the images are make_image(n, h, w) of the case's "images" (not stored)
        outs = {"image_sizes": torch.tensor(il.image_sizes, dtype=torch.int64), "scale": scales}
        if name == "tv_model_sizes":  # 3x128x192 per image: a summary only
            b = il.tensors
            outs["mean"] = b.mean(dim=(2, 3))
            outs["batch_shape"] = torch.tensor(list(b.shape), dtype=torch.int64)
            outs["rows"] = b[:, :, [0, 1, 63, 126, 127], :].contiguous()  # rows incl. image 1's last (126)
        else:
            outs["images"] = il.tensors
        add(name, {"op": "rcnn_transform", "mode": "torchvision", "min_size": mn, "max_size": mx,
                   "size_divisible": 32, "image_mean": mean, "image_std": std,
                   "images": [[n, h, w] for n, h, w in ims]}, inputs, outs)

    for centered in (False, True):
        ims = [(0, 27, 37), (1, 21, 13), (2, 9, 61)]
        imgs = [make_image(n, h, w) for n, h, w in ims]
        side = 32
        batch, sizes, offsets = square_transform(imgs, side, mean, std, centered)
        add("square_%s" % ("centered" if centered else "top_left"),
            {"op": "rcnn_transform", "mode": "square", "side": side, "centered": centered, "size_divisible": 32,
             "image_mean": mean, "image_std": std, "images": [[n, h, w] for n, h, w in ims]},
            {},
            {"images": batch, "image_sizes": sizes, "offsets": offsets})

    # training-time target resize: boxes * float32(new/old), masks nearest-resized (transform.py:65-70,186-188)
    img = make_image(1, 31, 23)
    boxes = torch.tensor([[2.5, 3.0, 20.25, 28.0], [0.0, 10.0, 23.0, 31.0]], dtype=torch.float32)
    masks = torch.zeros(2, 31, 23, dtype=torch.uint8)
    masks[0, 3:28, 3:20] = 1
    masks[1, 10:31, 0:23] = 1
    masks[1, 15:20, 5:9] = 0
    t = GeneralizedRCNNTransform(24, 40, mean, std).train()
    il, tg = t([img], [{"boxes": boxes.clone(), "labels": torch.tensor([1, 2]), "masks": masks.clone()}])
    add("target_resize", {"op": "rcnn_transform_target", "mode": "torchvision", "min_size": 24, "max_size": 40,
                          "size_divisible": 32, "image_mean": mean, "image_std": std, "images": [[1, 31, 23]]},
        {"boxes": boxes, "masks": masks},
        {"images": il.tensors, "image_sizes": torch.tensor(il.image_sizes, dtype=torch.int64),
         "boxes": tg[0]["boxes"], "masks": tg[0]["masks"]})
    # postprocess: resize_boxes from the resized size back to the original (transform.py:296-309)
    b = torch.tensor([[0.0, 0.0, 37.0, 40.0], [3.3, 4.7, 20.1, 33.9], [10.0, 12.5, 10.0, 12.5]])
    add("postprocess_boxes", {"op": "resize_boxes", "from": [40, 56], "to": [27, 37]}, {"boxes": b},
        {"boxes": resize_boxes(b, (40, 56), (27, 37))})

    meta.update({"cases": json.dumps(cases), "generator": GENERATOR, "torch": torch.__version__,
                 "torchvision": torchvision.__version__,
                 "square_mode": square_transform.__doc__.replace("\n    ", " ").strip()})
    path = os.path.join(GOLDEN, "maskrcnn_transform.safetensors")
    save_safetensors(path, tensors, meta)
    print("  %-46s %8d bytes  (%d cases; float32-floor case %dx%d)" % (
        os.path.relpath(path, ROOT), os.path.getsize(path), len(cases), fh, fw))


# --------------------------------------------------------------------------------------------------
# Eval
def run_eval(model, images):
    """GeneralizedRCNN.forward (generalized_rcnn.py:74-106) step by step, keeping the intermediates."""
    rec = {}
    body = {}
    hooks = [model.backbone.body.register_forward_hook(lambda m, i, o: body.update(o))]
    orig_filter = model.rpn.filter_proposals

    def filter_rec(*a, **k):
        boxes, scores = orig_filter(*a, **k)
        rec["rpn_boxes"], rec["rpn_scores"] = boxes, scores
        return boxes, scores

    model.rpn.filter_proposals = filter_rec
    box_out = {}
    hooks.append(model.roi_heads.box_predictor.register_forward_hook(lambda m, i, o: box_out.update(out=o)))
    mask_out = {}
    hooks.append(model.roi_heads.mask_predictor.register_forward_hook(lambda m, i, o: mask_out.update(out=o)))
    with torch.no_grad():
        original_sizes = [tuple(im.shape[-2:]) for im in images]
        il, _ = model.transform(images)
        feats = model.backbone(il.tensors)
        proposals, _ = model.rpn(il, feats)
        dets, _ = model.roi_heads(feats, proposals, il.image_sizes)
        dets_net = [{k: v.clone() for k, v in d.items()} for d in dets]
        dets = model.transform.postprocess(dets, il.image_sizes, original_sizes)
        obj, deltas = model.rpn.head(list(feats.values()))
        num_per_level = [o.shape[1] * o.shape[2] * o.shape[3] for o in obj]
        obj, deltas = concat_box_prediction_layers(obj, deltas)
    for h in hooks:
        h.remove()
    model.rpn.filter_proposals = orig_filter
    n = len(images)
    rec.update(il=il, feats=feats, body=body, proposals=proposals, dets=dets, dets_net=dets_net,
               objectness=obj.reshape(n, -1), deltas=deltas.reshape(n, -1, 4), num_per_level=num_per_level,
               class_logits=box_out["out"][0], box_regression=box_out["out"][1], mask_logits=mask_out["out"])
    return rec


def min_iou_margin(boxes, groups, thr):
    """Smallest |IoU - thr| over pairs of boxes in the same group (None if no pair)."""
    best = None
    for g in torch.unique(groups):
        b = boxes[groups == g].double()
        if b.shape[0] < 2:
            continue
        iou = box_ops.box_iou(b, b)
        iu = torch.triu_indices(b.shape[0], b.shape[0], 1)
        v = (iou[iu[0], iu[1]] - thr).abs().min().item()
        best = v if best is None else min(best, v)
    return best


def tie_report(model, rec):
    """Score gaps at every cut point, per image (see the module docstring)."""
    rh, rpn = model.roi_heads, model.rpn
    report = []
    per_img = [p.shape[0] for p in rec["proposals"]]
    boxes_all = rh.box_coder.decode(rec["box_regression"], rec["proposals"])
    scores_all = F.softmax(rec["class_logits"], -1)
    for i, (bx, sc) in enumerate(zip(boxes_all.split(per_img), scores_all.split(per_img))):
        r = {}
        h, w = rec["il"].image_sizes[i]
        bx = box_ops.clip_boxes_to_image(bx, (h, w))[:, 1:].reshape(-1, 4)
        lab = torch.arange(sc.shape[1]).view(1, -1).expand_as(sc)[:, 1:].reshape(-1)
        sc = sc[:, 1:].reshape(-1)
        r["min_abs_score_minus_thresh"] = (sc - rh.score_thresh).abs().min().item()
        keep = torch.where(sc > rh.score_thresh)[0]
        bx, sc, lab = bx[keep], sc[keep], lab[keep]
        keep = box_ops.remove_small_boxes(bx, 1e-2)
        bx, sc, lab = bx[keep], sc[keep], lab[keep]
        r["candidates"] = int(sc.numel())
        r["min_abs_iou_minus_nms_thresh"] = min_iou_margin(bx, lab, rh.nms_thresh)
        keep = box_ops.batched_nms(bx, sc, lab, rh.nms_thresh)
        r["after_nms"] = int(keep.numel())
        s = sc[keep]
        d = rec["dets"][i]["scores"]
        r["detections"] = int(d.numel())
        r["min_score_gap_kept"] = (d[:-1] - d[1:]).min().item() if d.numel() > 1 else None
        r["gap_at_detections_cut"] = (s[rh.detections_per_img - 1] - s[rh.detections_per_img]).item() \
            if s.numel() > rh.detections_per_img else None
        r["distinct_scores_kept"] = int(torch.unique(d).numel())
        # RPN: per-level pre-NMS top-n cut, NMS margin
        obj = rec["objectness"][i]
        start, gaps = 0, []
        for n in rec["num_per_level"]:
            o = obj[start:start + n].sort(descending=True).values
            k = rpn._pre_nms_top_n["testing"]
            gaps.append((o[k - 1] - o[k]).item() if n > k else None)
            start += n
        r["rpn_gap_at_pre_nms_cut_per_level"] = gaps
        rs = rec["rpn_scores"][i]
        r["rpn_proposals"] = int(rs.numel())
        r["rpn_min_score_gap"] = (rs[:-1] - rs[1:]).min().item() if rs.numel() > 1 else None
        report.append(r)
    return report


def rpn_iou_margin(model, rec):
    """Smallest |IoU - 0.7| between same-level RPN candidates that reach NMS (per image)."""
    rpn = model.rpn
    out = []
    anchors = rpn.anchor_generator(rec["il"], list(rec["feats"].values()))
    props = rpn.box_coder.decode(rec["deltas"].reshape(-1, 4), anchors).view(len(anchors), -1, 4)
    obj = rec["objectness"]
    levels = torch.cat([torch.full((n,), j, dtype=torch.int64) for j, n in enumerate(rec["num_per_level"])])
    top = rpn._get_top_n_idx(obj, rec["num_per_level"])
    for i in range(obj.shape[0]):
        b = box_ops.clip_boxes_to_image(props[i][top[i]], rec["il"].image_sizes[i])
        lv = levels[top[i]]
        keep = box_ops.remove_small_boxes(b, rpn.min_size)
        out.append(min_iou_margin(b[keep], lv[keep], rpn.nms_thresh))
    return out


def golden_eval(num_classes, variant="r50"):
    torch.manual_seed(0)
    model = build(num_classes, variant=variant).eval()
    images = [make_image(n, h, w) for n, h, w in IMAGES]
    t0 = time.time()
    rec = run_eval(model, images)
    t_eval = time.time() - t0
    with torch.no_grad():
        ref = model(images)  # the plain call gives the same detections
    for a, b in zip(ref, rec["dets"]):
        for k in ("boxes", "scores", "labels", "masks"):
            assert torch.equal(a[k], b[k]), k
    T, meta = {}, common_meta(model, num_classes, variant)
    il = rec["il"]
    b = il.tensors
    T["input/sizes"] = torch.tensor([[h, w] for _, h, w in IMAGES], dtype=torch.int64)
    T["input/n"] = torch.tensor([n for n, _, _ in IMAGES], dtype=torch.int64)
    T["transform/scale"] = torch.tensor([torch_scale(h, w, MIN_SIZE, MAX_SIZE) for _, h, w in IMAGES],
                                        dtype=torch.float64)
    T["transform/image_sizes"] = torch.tensor(il.image_sizes, dtype=torch.int64)
    T["transform/batch_shape"] = torch.tensor(list(b.shape), dtype=torch.int64)
    T["transform/mean"] = b.mean(dim=(2, 3))
    T["transform/slice"] = b[:, :, :8, :8].clone()
    for i, (h, w) in enumerate(il.image_sizes):
        T["transform/edge/%d" % i] = b[i, :, h - 3:h + 3, w - 3:w + 3].clone()
    for k, v in rec["body"].items():
        T["body/layer%d/mean" % (int(k) + 1)] = v.mean(dim=(2, 3))
    for k, v in rec["feats"].items():
        T["fpn/%s/mean" % k] = v.mean(dim=(2, 3))
        if k == "pool":
            T["fpn/pool/full"] = v.clone()
        else:
            T["fpn/%s/slice" % k] = v[:, :2, :8, :8].clone()
    T["rpn/num_anchors_per_level"] = torch.tensor(rec["num_per_level"], dtype=torch.int64)
    T["rpn/objectness"] = rec["objectness"].clone()
    rows = torch.arange(0, rec["deltas"].shape[1], 7)
    T["rpn/deltas_rows"] = rows
    T["rpn/deltas"] = rec["deltas"][:, rows].clone()
    start = 0
    for i in range(len(IMAGES)):
        T["rpn/proposals/%d" % i] = rec["rpn_boxes"][i].clone()
        T["rpn/scores/%d" % i] = rec["rpn_scores"][i].clone()
        n = rec["proposals"][i].shape[0]
        T["roi/class_logits/%d" % i] = rec["class_logits"][start:start + 16].clone()
        T["roi/box_regression/%d" % i] = rec["box_regression"][start:start + 16].clone()
        start += n
        d = rec["dets"][i]
        T["det/%d/boxes" % i] = d["boxes"].clone()
        T["det/%d/boxes_net" % i] = rec["dets_net"][i]["boxes"].clone()
        T["det/%d/scores" % i] = d["scores"].clone()
        T["det/%d/labels" % i] = d["labels"].clone()
        T["mask/%d/prob28" % i] = rec["dets_net"][i]["masks"][:8].clone()
        T["mask/%d/sum" % i] = d["masks"].double().sum(dim=(1, 2, 3))
        T["mask/%d/pasted" % i] = d["masks"][:2, 0].clone()

    # ---- degenerate-output checks ---------------------------------------------------------------
    for i, d in enumerate(rec["dets"]):
        assert d["boxes"].shape[0] > 0, ("no detection survives score_thresh", num_classes, i)
        assert torch.isfinite(d["boxes"]).all() and torch.isfinite(d["masks"]).all()
        assert torch.unique(d["scores"]).numel() > 0.9 * d["scores"].numel(), "scores tie"
        assert d["scores"].max() < 0.9999, "scores saturate"
        assert (d["masks"].amax(dim=(1, 2, 3)) > 0.5).any() and d["masks"].min() >= 0
    assert not torch.equal(rec["dets"][0]["scores"][:5], rec["dets"][1]["scores"][:5])
    report = tie_report(model, rec)
    for r, m in zip(report, rpn_iou_margin(model, rec)):
        r["rpn_min_abs_iou_minus_nms_thresh"] = m
    meta["tie_report"] = json.dumps(report, sort_keys=True)

    # ---- PyTorch's own float32 error (against the same model in float64) -------------------------
    model64 = build(num_classes, torch.float64, variant).eval()
    rec64 = run_eval(model64, [im.double() for im in images])
    err = {"transform": rel_err(il.tensors, rec64["il"].tensors)}
    for k in rec["feats"]:
        err["fpn/" + k] = rel_err(rec["feats"][k], rec64["feats"][k])
    err["rpn/objectness"] = rel_err(rec["objectness"], rec64["objectness"])
    for i in range(len(IMAGES)):
        a, b64 = rec["rpn_boxes"][i], rec64["rpn_boxes"][i]
        k = min(a.shape[0], b64.shape[0])
        same = int((a[:k].double() - b64[:k]).abs().amax(dim=1).lt(1e-2).long().cumprod(0).sum().item())
        err["rpn/proposals/%d/leading_rows_equal_within_1e-2px" % i] = same
        da, db = rec["dets"][i], rec64["dets"][i]
        err["det/%d/count_f32_f64" % i] = [int(da["scores"].numel()), int(db["scores"].numel())]
        k = min(da["scores"].numel(), db["scores"].numel())
        match = (da["labels"][:k] == db["labels"][:k]) & \
            ((da["boxes"][:k].double() - db["boxes"][:k]).abs().amax(dim=1) < 1e-2)
        lead = int(match.long().cumprod(0).sum().item())
        err["det/%d/leading_detections_equal" % i] = lead
        if lead > 0:
            err["det/%d/boxes_abs_px" % i] = (da["boxes"][:lead].double() - db["boxes"][:lead]).abs().max().item()
            err["det/%d/scores_abs" % i] = (da["scores"][:lead].double() - db["scores"][:lead]).abs().max().item()
            err["mask/%d/prob28_abs" % i] = (rec["dets_net"][i]["masks"][:min(lead, 8)].double() -
                                             rec64["dets_net"][i]["masks"][:min(lead, 8)]).abs().max().item()
    meta["torch_f32_vs_f64"] = json.dumps(err, sort_keys=True)
    meta["tolerances"] = json.dumps({
        "transform": "1e-5 relative to max|x| (bilinear on identical float32 inputs)",
        "fpn/*, body/*": "max(4 x torch_f32_vs_f64, 1e-4) relative to each tensor's max|x| (float32 convs "
                         "summed in a different order; see torch_f32_vs_f64 for PyTorch's own error)",
        "rpn/objectness": "same rule as fpn",
        "rpn/proposals, det/boxes": "0.05 px absolute on rows whose order is decided (tie_report gaps above "
                                    "~1e-5); otherwise compare as sets matched by IoU > 0.99",
        "det/scores, mask/prob28, mask/pasted": "1e-4 absolute",
        "mask/sum": "1e-4 x H0 x W0 absolute",
        "labels, counts, image_sizes": "exact"}, sort_keys=True)
    meta["num_classes"] = str(num_classes)
    meta["notes"] = SPEC
    path = os.path.join(GOLDEN, "maskrcnn_eval_%sc%d.safetensors" % ("" if variant == "r50" else variant + "_",
                                                                    num_classes))
    save_safetensors(path, T, meta)
    line = "  %-46s %8d bytes  eval %.1fs; detections %s; top scores %s" % (
        os.path.relpath(path, ROOT), os.path.getsize(path), t_eval,
        [int(d["scores"].numel()) for d in rec["dets"]],
        ["%.4f" % d["scores"][0].item() for d in rec["dets"]])
    print(line)
    print("    tie report: " + "; ".join(
        "img%d gap_kept %.2e cut %s thr %.2e nms %.2e rpn_nms %.2e" % (
            i, r["min_score_gap_kept"] or 0, "%.2e" % r["gap_at_detections_cut"] if r["gap_at_detections_cut"]
            is not None else "-", r["min_abs_score_minus_thresh"], r["min_abs_iou_minus_nms_thresh"] or 0,
            r["rpn_min_abs_iou_minus_nms_thresh"] or 0) for i, r in enumerate(report)))
    print("    torch f32 vs f64: " + ", ".join("%s=%s" % (k, ("%.1e" % v) if isinstance(v, float) else v)
                                               for k, v in sorted(err.items())))


# --------------------------------------------------------------------------------------------------
# Training
class DeterministicSampler:
    """BalancedPositiveNegativeSampler (_utils.py:11-71) with a fixed choice instead of torch.randperm:
    the num_pos positives (num_neg negatives) with the smallest key fill_uniform(fnv1a64(
    "<tag>/<image>/pos"|"neg"), rank) (ties: lower rank). Records the chosen indices."""

    def __init__(self, batch_size_per_image, positive_fraction, tag):
        self.batch_size_per_image = batch_size_per_image
        self.positive_fraction = positive_fraction
        self.tag = tag
        self.chosen = []

    def pick(self, candidates, k, key):
        if k == 0:
            return candidates[:0]
        u = torch.from_numpy(fill_uniform(fnv1a64(key), 0, candidates.numel()))
        order = torch.sort(u, stable=True).indices[:k]
        return candidates[order].sort().values

    def __call__(self, matched_idxs):
        pos_masks, neg_masks, chosen = [], [], []
        for img, m in enumerate(matched_idxs):
            positive = torch.where(m >= 1)[0]
            negative = torch.where(m == 0)[0]
            num_pos = min(positive.numel(), int(self.batch_size_per_image * self.positive_fraction))
            num_neg = min(negative.numel(), self.batch_size_per_image - num_pos)
            p = self.pick(positive, num_pos, "%s/%d/pos" % (self.tag, img))
            n = self.pick(negative, num_neg, "%s/%d/neg" % (self.tag, img))
            pm = torch.zeros_like(m, dtype=torch.uint8)
            nm = torch.zeros_like(m, dtype=torch.uint8)
            pm[p] = 1
            nm[n] = 1
            pos_masks.append(pm)
            neg_masks.append(nm)
            chosen.append((p, n))
        self.chosen.append(chosen)
        return pos_masks, neg_masks


def make_targets(dtype):
    """Two GT objects per image: boxes, labels in {1, 2}, ellipse masks inscribed in the boxes."""
    spec = [[([10.5, 12.25, 60.0, 70.5], 1), ([50.0, 30.0, 110.75, 85.0], 2)],
            [([5.0, 5.5, 40.25, 50.0], 2), ([30.0, 20.0, 95.0, 70.0], 1)]]
    targets = []
    for (n, h, w), objs in zip(IMAGES, spec):
        yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64) + 0.5,
                                torch.arange(w, dtype=torch.float64) + 0.5, indexing="ij")
        masks = []
        for (x1, y1, x2, y2), _ in objs:
            cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
            masks.append((((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0).to(torch.uint8))
        targets.append({"boxes": torch.tensor([o[0] for o in objs], dtype=dtype),
                        "labels": torch.tensor([o[1] for o in objs], dtype=torch.int64),
                        "masks": torch.stack(masks)})
    return targets


def train_step(dtype, fixed_proposals=None):
    """One training step; returns (saved tensors, recorded internals)."""
    model = build(TRAIN_CLASSES, dtype).train()
    rpn, rh = model.rpn, model.roi_heads
    rpn.fg_bg_sampler = DeterministicSampler(256, 0.5, "rpn")
    rh.fg_bg_sampler = DeterministicSampler(512, 0.25, "roi")
    rec = {}
    orig_assign, orig_loss, orig_filter = rpn.assign_targets_to_anchors, rpn.compute_loss, rpn.filter_proposals
    orig_select = rh.select_training_samples

    def assign(anchors, targets):
        labels, matched = orig_assign(anchors, targets)
        rec["rpn_labels"] = [l.clone() for l in labels]
        return labels, matched

    def compute_loss(objectness, deltas, labels, targets):  # float64 labels (see the docstring)
        return orig_loss(objectness, deltas, [l.to(objectness.dtype) for l in labels], targets)

    def filter_proposals(*a, **k):
        boxes, scores = orig_filter(*a, **k)
        if fixed_proposals is not None:
            boxes = [p.to(dtype) for p in fixed_proposals]
        rec["rpn_proposals"] = [b.clone() for b in boxes]
        return boxes, scores

    def select(proposals, targets):
        out = orig_select(proposals, targets)
        rec["select"] = out
        return out

    rpn.assign_targets_to_anchors, rpn.compute_loss, rpn.filter_proposals = assign, compute_loss, filter_proposals
    rh.select_training_samples = select
    images = [make_image(n, h, w).to(dtype) for n, h, w in IMAGES]
    targets = make_targets(dtype)
    tr_targets = {}
    orig_transform = model.transform.forward

    def transform(ims, tgs=None):
        il, tg = orig_transform(ims, tgs)
        tr_targets["t"] = tg
        return il, tg

    model.transform.forward = transform
    losses = model(images, [{k: v.clone() for k, v in t.items()} for t in targets])
    total = sum(losses.values())
    total.backward()
    S = {}
    for k, v in losses.items():
        assert torch.isfinite(v) and v.item() > 0, k
        S["loss/" + k] = v.detach().reshape(())
    params = dict(model.named_parameters())
    save_grads(params, TRAIN_GRADS, S)
    for f in FROZEN:
        assert params[f].grad is None and not params[f].requires_grad, f
    rec["targets"], rec["tr_targets"] = targets, tr_targets["t"]
    rec["rpn_chosen"] = rpn.fg_bg_sampler.chosen[-1]
    rec["roi_chosen"] = rh.fg_bg_sampler.chosen[-1]
    return S, rec


def golden_train():
    torch.manual_seed(0)
    t0 = time.time()
    S64, rec = train_step(torch.float64)
    t64 = time.time() - t0
    # PyTorch's own float32 step, fed the float64 step's proposals (so both sample the same RoIs)
    S32, rec32 = train_step(torch.float32, fixed_proposals=rec["rpn_proposals"])
    same_rpn = all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
                   for a, b in zip(rec["rpn_chosen"], rec32["rpn_chosen"]))
    same_roi = all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
                   for a, b in zip(rec["roi_chosen"], rec32["roi_chosen"]))
    f32_err = {k: rel_err(S32[k], v) for k, v in S64.items()}
    f32_err["same_rpn_sample"], f32_err["same_roi_sample"] = same_rpn, same_roi

    T = {}
    for k, v in S64.items():
        T["train/" + k] = v
    proposals, matched_idxs, labels, reg_targets = rec["select"]
    for i in range(len(IMAGES)):
        t, tt = rec["targets"][i], rec["tr_targets"][i]
        T["train/target/%d/boxes" % i] = t["boxes"]
        T["train/target/%d/labels" % i] = t["labels"]
        T["train/target/%d/masks" % i] = t["masks"]
        T["train/transformed/%d/boxes" % i] = tt["boxes"].detach().clone()
        T["train/transformed/%d/masks" % i] = tt["masks"].clone()
        T["train/rpn/labels/%d" % i] = rec["rpn_labels"][i].to(torch.int8)
        T["train/rpn/sampled_pos/%d" % i], T["train/rpn/sampled_neg/%d" % i] = rec["rpn_chosen"][i]
        T["train/rpn/proposals/%d" % i] = rec["rpn_proposals"][i]
        pos, neg = rec["roi_chosen"][i]
        T["train/roi/sampled_pos/%d" % i], T["train/roi/sampled_neg/%d" % i] = pos, neg
        T["train/roi/sampled/%d" % i] = torch.cat([pos, neg]).sort().values
        T["train/roi/labels/%d" % i] = labels[i].clone()
        T["train/roi/matched_idxs/%d" % i] = matched_idxs[i].clone()
        T["train/roi/regression_targets/%d" % i] = reg_targets[i].detach().clone()
        p = torch.where(labels[i] > 0)[0][:8]
        T["train/roi/mask_targets/%d" % i] = tv_roi_heads.project_masks_on_boxes(
            tt["masks"], proposals[i][p].detach(), matched_idxs[i][p], 28)
        assert pos.numel() > 0 and neg.numel() > 0
    model = build(TRAIN_CLASSES)
    meta = common_meta(model, TRAIN_CLASSES)
    meta.update({
        "num_classes": str(TRAIN_CLASSES),
        "dtype": "float64 (the float32 fill cast with model.double(); images and targets float64)",
        "train_grads": json.dumps(TRAIN_GRADS), "frozen_params": json.dumps(FROZEN),
        "train_torch_f32_vs_f64": json.dumps(f32_err, sort_keys=True),
        "sampler": DeterministicSampler.__doc__.replace("\n    ", " ").strip(),
        "training_notes": (
            "Loss = sum of the 5 losses; gradients are of that sum. RPN in training: pre_nms_top_n 2000 per "
            "level, post_nms_top_n 2000; its proposals are detached. RoI heads: proposals = cat(rpn proposals, "
            "transformed GT boxes) (roi_heads.py:612-616), Matcher(0.5, 0.5, no low-quality), sampled indices "
            "= torch.where(pos | neg) (ascending; roi_heads.py:603-610); mask head on the positives of the "
            "sampled set in that order. GT masks are resized with nearest (transform.py:65-70) before "
            "project_masks_on_boxes (roi_align aligned=False, sampling -1, 28x28). loss_objectness uses float64 "
            "labels (the docstring's deviation)."),
        "tolerances": json.dumps({
            "float64 anima step": "1e-8 relative to each tensor's max|x| (same inputs, same selection; only "
                                  "summation order differs); feed train/rpn/proposals and the sampled indices",
            "float32 anima step": "max(4 x train_torch_f32_vs_f64[key], 1e-3) relative"}, sort_keys=True),
        "notes": SPEC})
    path = os.path.join(GOLDEN, "maskrcnn_train.safetensors")
    save_safetensors(path, T, meta)
    print("  %-46s %8d bytes  train f64 %.1fs; losses %s" % (
        os.path.relpath(path, ROOT), os.path.getsize(path), t64,
        ", ".join("%s=%.5g" % (k[5:], v.item()) for k, v in S64.items() if k.startswith("loss/"))))
    print("    sampled: rpn pos %s neg %s; roi pos %s neg %s; torch f32 vs f64: losses worst %.1e, grads worst "
          "%.1e, same samples %s/%s" % (
              [int(c[0].numel()) for c in rec["rpn_chosen"]], [int(c[1].numel()) for c in rec["rpn_chosen"]],
              [int(c[0].numel()) for c in rec["roi_chosen"]], [int(c[1].numel()) for c in rec["roi_chosen"]],
              max(v for k, v in f32_err.items() if k.startswith("loss/")),
              max(v for k, v in f32_err.items() if k.startswith("grad/")), same_rpn, same_roi))


def main():
    torch.set_num_threads(1)  # deterministic summation order and a light load
    os.makedirs(GOLDEN, exist_ok=True)
    wanted = sys.argv[1:] or ["transform", "eval", "mnv2", "train"]
    for w in wanted:
        if w == "transform":
            golden_transform()
        elif w == "eval":
            golden_eval(91)
            golden_eval(3)
        elif w == "mnv2":
            golden_eval(3, "mnv2")
        elif w == "train":
            golden_train()
        else:
            sys.exit("unknown fixture %r: expected transform, eval, mnv2 or train" % w)
    total = sum(os.path.getsize(os.path.join(GOLDEN, f)) for f in os.listdir(GOLDEN) if f.startswith("maskrcnn_"))
    print("  maskrcnn_* total %d bytes" % total)


if __name__ == "__main__":
    main()
