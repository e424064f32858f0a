#!/usr/bin/python3
"""Names and shapes of torchvision 0.14's Inception3, for tests/nets/inception_v3_test.cpp.

    /usr/bin/python3 tools/golden/inception_v3_names.py   # writes tests/golden/data/inception_v3_names.json

For each configuration (num_classes, aux_logits, transform_input) the file holds:
    "state_dict":  [[name, [shape...]], ...] in state_dict() order (parameters and buffers)
    "parameters":  [name, ...] in named_parameters() order
    "outputs":     {"eval": shape of model.eval()(x), "train": [logits shape, aux shape or null]}
                   for x = zeros([2, 3, 299, 299]) (train mode on a batch of 2 so BatchNorm has
                   more than one value per channel)
Weights are not stored (whole-net numbers are the golden helper's fixture).
"""
import json
import os

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "golden", "data", "inception_v3_names.json"))


def describe(num_classes, aux_logits, transform_input):
    torch.manual_seed(0)
    m = torchvision.models.inception_v3(weights=None, num_classes=num_classes, aux_logits=aux_logits,
                                        transform_input=transform_input, init_weights=False)
    x = torch.zeros(2, 3, 299, 299)
    with torch.no_grad():
        m.eval()
        y_eval = m(x)
        m.train()
        y_train = m(x)
    if isinstance(y_train, tuple):  # InceptionOutputs(logits, aux_logits)
        train = [list(y_train[0].shape), list(y_train[1].shape) if y_train[1] is not None else None]
    else:
        train = [list(y_train.shape), None]
    return {
        "num_classes": num_classes, "aux_logits": aux_logits, "transform_input": transform_input,
        "state_dict": [[k, list(v.shape)] for k, v in m.state_dict().items()],
        "parameters": [k for k, _ in m.named_parameters()],
        "outputs": {"eval": list(y_eval.shape), "train": train},
    }


def main():
    doc = {
        "generator": "tools/golden/inception_v3_names.py",
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "configs": [describe(1000, True, False), describe(10, False, True)],
    }
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, OUT)
    print("wrote %s (%d bytes)" % (OUT, os.path.getsize(OUT)))


if __name__ == "__main__":
    main()
