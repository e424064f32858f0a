#!/usr/bin/python3
"""Golden fixtures for anima's detection ops, computed by torchvision 0.14.

Run with Debian's interpreter (torch 1.13 + torchvision 0.14):

    /usr/bin/python3 tools/golden/detection.py      # writes tests/golden/data/detection_*.safetensors

It runs the three generators beside it, each also runnable alone:
    detection_boxes.py   anchors, box coder, box_iou / clip / remove_small_boxes, Matcher, nms,
                         batched_nms (with ties)              -> detection_boxes.safetensors
    detection_roi.py     roi_align (aligned both ways, sampling_ratio -1/0/2, boxes partly outside,
                         degenerate boxes, gradients), roi_pool, MultiScaleRoIAlign
                                                              -> detection_roi.safetensors
    detection_losses.py  torchvision's RPN and RoI-heads loss functions on fixed inputs (with
                         gradients), project_masks_on_boxes, paste_masks_in_image
                                                              -> detection_losses.safetensors
Each file follows the case layout of tools/golden/ops.py (<case>/in/..., <case>/out..., metadata).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import detection_boxes  # noqa: E402
import detection_losses  # noqa: E402
import detection_roi  # noqa: E402
from ops import DATA  # noqa: E402


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else DATA
    for module in (detection_boxes, detection_roi, detection_losses):
        module.generate(out_dir)


if __name__ == "__main__":
    main()
