#!/usr/bin/python3
"""Golden fixture for anima's training transforms (include/anima/data/image_transforms.hpp): the
outputs of torchvision 0.14's functional transforms on PIL images (Pillow 9.x) with fixed parameters.

Run with Debian's interpreter:
  /usr/bin/python3 tools/golden/transforms.py    # writes tests/golden/data/transforms.safetensors

Inputs (uint8 [H, W, 3]): "noise" (37 x 29 random pixels, every hue and saturation) and "gradient"
(40 x 24, smooth ramps with grey and saturated areas). For each input <in> and case <name>,
"<in>/<name>" holds torchvision's output as uint8 [H, W, 3]; the cases (parameters in the names):
  crop_inside  F.crop(top 3, left 5, height 11, width 13);  crop_outside  F.crop(-4, 20, 30, 25)
  resized_crop F.resized_crop(3, 5, 20, 17, [16, 12]) (bilinear; size [height, width])
  hflip        F.hflip
  brightness_<f>, contrast_<f>, saturation_<f>, hue_<f>   F.adjust_* with factor f
"""
import os
import sys

import numpy as np
import torch
import torchvision.transforms.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ops import save_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "data",
                   "transforms.safetensors")

FACTORS = {
    "brightness": [0.0, 0.5, 1.3, 2.5],
    "contrast": [0.0, 0.4, 1.7],
    "saturation": [0.0, 0.6, 1.8],
    "hue": [-0.5, -0.3, -0.05, 0.1, 0.45],
}


def inputs():
    rng = np.random.default_rng(20261206)
    noise = rng.integers(0, 256, size=(29, 37, 3), dtype=np.uint8)
    y, x = np.mgrid[0:24, 0:40]
    gradient = np.stack([x * 6, y * 10, (x + y) * 4 % 256], axis=-1).astype(np.uint8)
    gradient[:6, :8] = 128  # a grey patch: saturation 0, hue undefined
    return {"noise": noise, "gradient": gradient}


def main():
    out = {}
    for name, array in inputs().items():
        img = Image.fromarray(array, "RGB")
        out[name] = torch.from_numpy(array.copy())
        cases = {
            "crop_inside": F.crop(img, 3, 5, 11, 13),
            "crop_outside": F.crop(img, -4, 20, 30, 25),
            "resized_crop": F.resized_crop(img, 3, 5, 20, 17, [16, 12]),
            "hflip": F.hflip(img),
        }
        for fn, factors in FACTORS.items():
            for f in factors:
                cases[f"{fn}_{f}"] = getattr(F, "adjust_" + fn)(img, f)
        for case, result in cases.items():
            assert result.mode == "RGB", (case, result.mode)
            out[f"{name}/{case}"] = torch.from_numpy(np.asarray(result, dtype=np.uint8).copy())
    save_safetensors(OUT, out, {"generator": "tools/golden/transforms.py",
                                "factors": str(FACTORS)})
    print(f"wrote {len(out)} tensors to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
