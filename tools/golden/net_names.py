#!/usr/bin/python3
"""torchvision's parameter, buffer and module names of the ImageNet nets, for tests/nets/net_names_test.cpp.

Run with Debian's interpreter (torch 1.13 + torchvision 0.14):

    /usr/bin/python3 tools/golden/net_names.py      # writes tests/golden/data/net_names.json

For each configuration (net, num_classes[, width_mult]) the JSON holds, in torchvision's order:
    state_dict   [[name, shape, dtype, kind], ...]   model.state_dict(); kind "p" for the entries of
                                                    model.named_parameters() (same order), "b" for buffers
    modules      [name, ...]                        model.named_modules() (the root is ""); only for
                                                    the first configuration of each net
    num_parameters                                  sum of numel over model.parameters()
No weights: the nets are built with weights=None and only names, shapes and dtypes are written, so
the file is deterministic and small (about 100 KB).
"""
import json
import os

import torch
import torchvision
from torchvision import models

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "data", "net_names.json")

CONFIGS = [
    {"net": "vgg16", "num_classes": 1000},
    {"net": "vgg16_bn", "num_classes": 1000},
    {"net": "resnet50", "num_classes": 1000},
    {"net": "resnet50", "num_classes": 7},
    {"net": "mobilenet_v2", "num_classes": 1000, "width_mult": 1.0},
    {"net": "mobilenet_v2", "num_classes": 7, "width_mult": 0.35},
    {"net": "mobilenet_v2", "num_classes": 10, "width_mult": 1.4},
]

DTYPES = {torch.float32: "float32", torch.int64: "int64"}


def build(cfg):
    kwargs = {"weights": None, "num_classes": cfg["num_classes"]}
    if "width_mult" in cfg:
        kwargs["width_mult"] = cfg["width_mult"]
    return getattr(models, cfg["net"])(**kwargs)


def main():
    torch.manual_seed(0)
    out = {
        "generator": "tools/golden/net_names.py",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "configs": [],
    }
    seen = set()
    for cfg in CONFIGS:
        m = build(cfg)
        entry = dict(cfg)
        params = [k for k, _ in m.named_parameters()]
        sd = m.state_dict()
        # named_parameters() must be state_dict()'s parameter entries in the same order (the test relies on it)
        assert params == [k for k in sd if k in set(params)]
        entry["state_dict"] = [[k, list(v.shape), DTYPES[v.dtype], "p" if k in params else "b"] for k, v in sd.items()]
        if cfg["net"] not in seen:
            entry["modules"] = [k for k, _ in m.named_modules()]
            seen.add(cfg["net"])
        entry["num_parameters"] = sum(p.numel() for p in m.parameters())
        out["configs"].append(entry)
    text = json.dumps(out, separators=(",", ":"))
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, OUT)
    print("wrote", os.path.normpath(OUT), len(text), "bytes")


if __name__ == "__main__":
    main()
