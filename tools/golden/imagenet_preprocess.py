#!/usr/bin/python3
"""Fixture for anima/data/pil_resize.hpp and anima/data/imagenet_transforms.hpp: Pillow's
antialiased bilinear resize and torchvision's ImageNet evaluation transform, on small images.

Run with Debian's interpreter (Pillow 9.4, torchvision 0.14):

    /usr/bin/python3 tools/golden/imagenet_preprocess.py   # writes tests/golden/data/imagenet_preprocess.safetensors

Cases (metadata "cases" lists them; each "<case>" is a JSON object of its arguments):
    resize cases     <case>/in  uint8 [H, W, 3]     <case>/out  uint8 [h, w, 3]
                     = PIL.Image.fromarray(in).resize((w, h), Image.BILINEAR)
    transform cases  <case>/in  uint8 [H, W, 3]     <case>/out  float32 [3, crop, crop]
                     = Compose([Resize(resize), CenterCrop(crop), ToTensor(), Normalize(mean, std)])
                       (Resize left out when resize == 0)
Images are random (torch.manual_seed per case) and smooth-plus-noise, so the filter's weights
matter (pure noise would hide a wrong tap; a smooth ramp would hide a wrong rounding).
"""
import json
import os
import sys
import zlib

import numpy as np
import torch
from PIL import Image
import PIL
import torchvision
from torchvision import transforms as T

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ops import save_safetensors, DATA  # noqa: E402


def image(name, h, w):
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    ys = torch.arange(h, dtype=torch.float64).view(h, 1, 1)
    xs = torch.arange(w, dtype=torch.float64).view(1, w, 1)
    cs = torch.arange(3, dtype=torch.float64).view(1, 1, 3)
    smooth = 128 + 90 * torch.sin(xs * 0.21 + cs) * torch.cos(ys * 0.13 - cs * 0.5)
    noise = torch.randint(-40, 41, (h, w, 3), generator=g).double()
    return (smooth + noise).round().clamp(0, 255).to(torch.uint8)


def main():
    tensors, meta, cases = {}, {}, []

    def resize_case(name, h, w, out_h, out_w):
        im = image(name, h, w)
        out = np.asarray(Image.fromarray(im.numpy(), "RGB").resize((out_w, out_h), Image.BILINEAR))
        tensors[name + "/in"] = im
        tensors[name + "/out"] = torch.from_numpy(out.copy())
        meta[name] = json.dumps({"op": "resize", "width": out_w, "height": out_h})
        cases.append(name)

    def transform_case(name, h, w, resize, crop):
        im = image(name, h, w)
        steps = ([T.Resize(resize)] if resize else []) + [T.CenterCrop(crop), T.ToTensor(),
                                                          T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))]
        out = T.Compose(steps)(Image.fromarray(im.numpy(), "RGB"))
        tensors[name + "/in"] = im
        tensors[name + "/out"] = out.contiguous()
        meta[name] = json.dumps({"op": "transform", "resize": resize, "crop": crop})
        cases.append(name)

    resize_case("down_2_7x", 61, 47, 22, 17)      # both sides reduced by ~2.8: 7-tap filters
    resize_case("down_large", 200, 300, 23, 41)   # wide support (~13 taps), non-integer ratio
    resize_case("up", 13, 9, 31, 20)              # enlarging: plain 2-tap bilinear
    resize_case("mixed", 40, 41, 17, 77)          # one side down, the other up
    resize_case("width_only", 30, 50, 30, 21)     # only the horizontal pass
    resize_case("height_only", 50, 30, 21, 30)    # only the vertical pass
    transform_case("eval_224_like", 120, 90, 64, 56)    # portrait: width is the shorter side
    transform_case("eval_landscape", 77, 133, 40, 33)   # odd margins: round() of x.5 to even
    transform_case("eval_no_resize", 40, 30, 0, 25)     # --resize 0
    transform_case("eval_pad", 20, 26, 0, 24)           # crop larger than the image: zero padding
    transform_case("eval_same_size", 64, 80, 64, 64)    # shorter side already 64: Resize is a no-op

    meta["cases"] = json.dumps(cases)
    meta["generator"] = "tools/golden/imagenet_preprocess.py"
    meta["versions"] = json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__,
                                   "pillow": PIL.__version__})
    path = os.path.join(DATA, "imagenet_preprocess.safetensors")
    save_safetensors(path, tensors, meta)
    print("wrote %s (%d bytes, %d cases)" % (path, os.path.getsize(path), len(cases)))


if __name__ == "__main__":
    main()
