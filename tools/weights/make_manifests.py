#!/usr/bin/python3
"""Manifests of torchvision's official checkpoints for the nets anima implements.

Run with Debian's interpreter, which has torch 1.13 and torchvision 0.14 (nothing is downloaded):

    /usr/bin/python3 tools/weights/make_manifests.py     # writes weights/manifests/*.json and
                                                          # weights/imagenet_classes.txt

For every weights enum entry torchvision 0.14 has for vgg16, vgg16_bn, resnet50, mobilenet_v2,
inception_v3 and maskrcnn_resnet50_fpn, one JSON file weights/manifests/<net>.<ENTRY>.json:

    net            anima's / torchvision's builder name ("resnet50")
    weights        the enum entry ("ResNet50_Weights.IMAGENET1K_V2")
    file, url      the official file name and download URL
    sha256_prefix  the hash in the file name: the first 8 hex digits of the file's sha256, as
                   torchvision's download check (check_hash) compares them
    num_params     parameters (not buffers), equal to torchvision's meta["num_params"] (asserted)
    num_classes    outputs of the classifier (1000 ImageNet classes, 91 COCO categories)
    optional       name suffixes a file may lack: "num_batches_tracked" (files saved before torch
                   0.4.1 do not have it; BatchNorm fills it in on load)
    tensors        [{"name", "shape", "dtype"}] for every state_dict entry, in state_dict order

The state_dict is that of the torchvision architecture built the way its builder builds it when it
loads these weights, without downloading them:
  * vgg16 IMAGENET1K_FEATURES: the same architecture and names as IMAGENET1K_V1 (1000-way classifier);
    the file's classifier values are NaN (torchvision's meta: only `features` is valid).
  * inception_v3: aux_logits=True, init_weights=False (the file holds the AuxLogits head).
  * maskrcnn_resnet50_fpn: num_classes=91 and the backbone's BatchNorm replaced by
    FrozenBatchNorm2d (weight, bias, running_mean, running_var; no num_batches_tracked), as
    torchvision does whenever weights are given; the backbone has no avgpool/fc.
"""
import json
import os

import torch
import torchvision
from torchvision.models import detection
from torchvision.models import (Inception_V3_Weights, MobileNet_V2_Weights, ResNet50_Weights, VGG16_BN_Weights,
                                VGG16_Weights)
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.ops import misc as misc_nn_ops

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "weights", "manifests")

DTYPE = {torch.float32: "float32", torch.float64: "float64", torch.int64: "int64", torch.float16: "float16"}


def maskrcnn():
    backbone = torchvision.models.resnet50(weights=None, norm_layer=misc_nn_ops.FrozenBatchNorm2d)
    backbone = _resnet_fpn_extractor(backbone, 3)
    return detection.MaskRCNN(backbone, num_classes=91)


NETS = [
    ("vgg16", VGG16_Weights, lambda w: torchvision.models.vgg16(weights=None, init_weights=False)),
    ("vgg16_bn", VGG16_BN_Weights, lambda w: torchvision.models.vgg16_bn(weights=None, init_weights=False)),
    ("resnet50", ResNet50_Weights, lambda w: torchvision.models.resnet50(weights=None)),
    ("mobilenet_v2", MobileNet_V2_Weights, lambda w: torchvision.models.mobilenet_v2(weights=None)),
    ("inception_v3", Inception_V3_Weights,
     lambda w: torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)),
    ("maskrcnn_resnet50_fpn", detection.MaskRCNN_ResNet50_FPN_Weights, lambda w: maskrcnn()),
]


def sha256_prefix(url):
    stem = os.path.basename(url).rsplit(".", 1)[0]  # "vgg16_features-amdegroot-88682ab5"
    prefix = stem.rsplit("-", 1)[1]
    assert len(prefix) >= 8 and all(c in "0123456789abcdef" for c in prefix), url
    return prefix


def manifest(net, enum, entry, model):
    sd = model.state_dict()
    num_params = sum(p.numel() for p in model.parameters())
    assert num_params == entry.meta["num_params"], (net, entry, num_params, entry.meta["num_params"])
    categories = entry.meta.get("categories")
    return {
        "net": net,
        "weights": "%s.%s" % (enum.__name__, entry.name),
        "file": os.path.basename(entry.url),
        "url": entry.url,
        "sha256_prefix": sha256_prefix(entry.url),
        "num_params": num_params,
        "num_classes": len(categories) if categories else 1000,
        "num_tensors": len(sd),
        "optional": ["num_batches_tracked"],
        "generator": "tools/weights/make_manifests.py (torchvision %s)" % torchvision.__version__,
        "tensors": [{"name": k, "shape": list(v.shape), "dtype": DTYPE[v.dtype]} for k, v in sd.items()],
    }


def write_json(path, obj):
    # One tensor per line: readable in a diff, small on disk.
    tensors = obj.pop("tensors")
    head = json.dumps(obj, indent=1)[:-2]
    lines = ",\n  ".join(json.dumps(t, separators=(", ", ": ")) for t in tensors)
    text = head + ',\n "tensors": [\n  ' + lines + "\n ]\n}\n"
    json.loads(text)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    os.makedirs(OUT, exist_ok=True)
    for net, enum, build in NETS:
        for entry in enum:
            with torch.no_grad():
                model = build(entry)
            m = manifest(net, enum, entry, model)
            name = "%s.%s.json" % (net, entry.name)
            write_json(os.path.join(OUT, name), m)
            print("%-40s %4d tensors %11d params  %s" % (name, m["num_tensors"], m["num_params"], m["file"]))
    categories = ResNet50_Weights.IMAGENET1K_V1.meta["categories"]
    assert len(categories) == 1000
    with open(os.path.join(ROOT, "weights", "imagenet_classes.txt"), "w") as f:
        f.write("\n".join(categories) + "\n")


if __name__ == "__main__":
    main()
