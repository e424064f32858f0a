#!/usr/bin/python3
"""Golden fixtures for inter-annotator agreement (include/anima/metrics/agreement.hpp and
`anima agreement`), computed by scikit-learn 1.2 (Debian's python3-sklearn).

Run with Debian's interpreter:
  /usr/bin/python3 tools/golden/agreement.py
writes
  tests/golden/data/agreement.safetensors   Cohen's kappa of fixed label pairs:
      <case>/y1, <case>/y2 (int64 [N]), <case>/labels (int64 [K], only where the case passes labels),
      <case>/kappa_none, <case>/kappa_linear, <case>/kappa_quadratic (float64 scalars; NaN where
      sklearn's is nan)
    cases: four (4 emotions, N=200, ~70% agreement), eight (8 classes, N=500), sparse (labels
    1, 4, 9 only: indices, not values, weight the distance), subset (labels given, a fifth value in
    the data left out), perfect (identical lists), constant (one label everywhere: undefined),
    chance (independent lists, N=1000).
  tests/golden/data/agreement/a.json, b.json   two annotators' VIA 2.x files of the same 14 frames:
      B redraws most of A's regions a few pixels off (rects and polygons in separate grid cells,
      so each pair's mask IoU is far above 0.5 and nothing else overlaps), leaves some out, adds
      regions of its own, and relabels emotion about one time in four and character one in ten;
      one frame only A has, one only B has.
  tests/golden/data/agreement/expected.json   what `anima agreement a.json b.json --json` must
      report: the regions paired by construction, sklearn's cohen_kappa_score and confusion_matrix on
      the paired labels, Hooper's C/(A+B-C) and Rolling's 2C/(A+B) from the counts.
"""
import json
import os
import sys

import numpy as np
import torch
from sklearn.metrics import cohen_kappa_score, confusion_matrix

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ops import save_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DATA = os.path.join(ROOT, "tests", "golden", "data")
EMOTIONS = ["happy", "sad", "angry", "surprise"]
CHARACTERS = ["tom", "jerry"]


def kappa_cases(rng):
    cases = {}

    def noisy(n, k, agree):
        y1 = rng.integers(0, k, n)
        y2 = np.where(rng.random(n) < agree, y1, rng.integers(0, k, n))
        return y1, y2

    cases["four"] = (*noisy(200, 4, 0.7), None)
    cases["eight"] = (*noisy(500, 8, 0.6), None)
    y1, y2 = noisy(120, 3, 0.6)
    values = np.array([1, 4, 9])
    cases["sparse"] = (values[y1], values[y2], None)
    y1, y2 = noisy(150, 5, 0.65)
    cases["subset"] = (y1, y2, np.array([0, 1, 2, 3]))
    y1 = rng.integers(0, 4, 60)
    cases["perfect"] = (y1, y1.copy(), None)
    cases["constant"] = (np.full(30, 2), np.full(30, 2), None)
    cases["chance"] = (rng.integers(0, 4, 1000), rng.integers(0, 4, 1000), None)
    tensors = {}
    for name, (y1, y2, labels) in cases.items():
        tensors[f"{name}/y1"] = torch.tensor(y1, dtype=torch.int64)
        tensors[f"{name}/y2"] = torch.tensor(y2, dtype=torch.int64)
        if labels is not None:
            tensors[f"{name}/labels"] = torch.tensor(labels, dtype=torch.int64)
        for w in ("none", "linear", "quadratic"):
            with np.errstate(divide="ignore", invalid="ignore"):
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    k = cohen_kappa_score(y1, y2, labels=labels, weights=None if w == "none" else w)
            tensors[f"{name}/kappa_{w}"] = torch.tensor(float(k), dtype=torch.float64)
    save_safetensors(os.path.join(DATA, "agreement.safetensors"), tensors, {"cases": json.dumps(list(cases))})


def rect(x, y, w, h):
    return {"name": "rect", "x": int(x), "y": int(y), "width": int(w), "height": int(h)}


def polygon(cx, cy, r, rng):
    angles = np.sort(rng.uniform(0, 2 * np.pi, 8))
    radii = r * rng.uniform(0.8, 1.0, 8)
    return {"name": "polygon",
            "all_points_x": [int(round(cx + q * np.cos(a))) for a, q in zip(angles, radii)],
            "all_points_y": [int(round(cy + q * np.sin(a))) for a, q in zip(angles, radii)]}


def shifted(shape, dx, dy):
    s = dict(shape)
    if s["name"] == "rect":
        s["x"] += dx
        s["y"] += dy
    else:
        s["all_points_x"] = [x + dx for x in s["all_points_x"]]
        s["all_points_y"] = [y + dy for y in s["all_points_y"]]
    return s


def via_entry(filename, regions):
    return {"filename": filename, "size": 1000 + len(regions), "regions": regions, "file_attributes": {}}


def via_pair(rng):
    """Two annotators' files and the pairs (image, a index, b index) by construction."""
    a, b, pairs = {}, {}, []
    cells = [(x, y) for y in range(3) for x in range(4)]  # 4 x 3 grid of 100-px cells
    for i in range(14):
        name = f"frame_{i:03d}.png"
        order = rng.permutation(len(cells))
        n_a = int(rng.integers(1, 5))
        regions_a, regions_b = [], []
        for j in range(n_a):
            cx, cy = cells[order[j]]
            if rng.random() < 0.5:
                shape = rect(cx * 100 + 20, cy * 100 + 20, rng.integers(45, 70), rng.integers(45, 70))
            else:
                shape = polygon(cx * 100 + 50, cy * 100 + 50, rng.uniform(28, 40), rng)
            emotion = EMOTIONS[rng.integers(0, 4)]
            character = CHARACTERS[rng.integers(0, 2)]
            regions_a.append({"shape_attributes": shape,
                              "region_attributes": {"emotion": emotion, "character": character}})
            if rng.random() < 0.85:  # B draws it too, a little off
                e2 = emotion if rng.random() < 0.75 else EMOTIONS[rng.integers(0, 4)]
                c2 = character if rng.random() < 0.9 else CHARACTERS[rng.integers(0, 2)]
                regions_b.append({"shape_attributes": shifted(shape, int(rng.integers(-3, 4)), int(rng.integers(-3, 4))),
                                  "region_attributes": {"emotion": e2, "character": c2}})
                pairs.append((name, j, len(regions_b) - 1))
        if rng.random() < 0.4:  # a region only B drew, in a free cell
            cx, cy = cells[order[n_a]]
            regions_b.append({"shape_attributes": rect(cx * 100 + 25, cy * 100 + 25, 50, 50),
                              "region_attributes": {"emotion": EMOTIONS[rng.integers(0, 4)],
                                                    "character": CHARACTERS[rng.integers(0, 2)]}})
        if i != 13:
            a[name + str(1000 + len(regions_a))] = via_entry(name, regions_a)
        if i != 12:
            b[name + str(1000 + len(regions_b))] = via_entry(name, regions_b)
    for name in ("frame_012.png", "frame_013.png"):
        pairs = [p for p in pairs if p[0] != name]
    return a, b, pairs


def expected_report(a, b, pairs):
    by_name_a = {e["filename"]: e["regions"] for e in a.values()}
    by_name_b = {e["filename"]: e["regions"] for e in b.values()}
    regions_a = sum(len(r) for r in by_name_a.values())
    regions_b = sum(len(r) for r in by_name_b.values())
    out = {"images": {"both": len(set(by_name_a) & set(by_name_b)),
                      "only_a": sorted(set(by_name_a) - set(by_name_b)),
                      "only_b": sorted(set(by_name_b) - set(by_name_a))},
           "regions": {"a": regions_a, "b": regions_b, "matched": len(pairs),
                       "unmatched_a": regions_a - len(pairs), "unmatched_b": regions_b - len(pairs)},
           "attributes": {},
           "pairs": sorted([{"image": n, "a": i, "b": j} for n, i, j in pairs],
                           key=lambda p: (p["image"], p["a"]))}
    for attr in ("emotion", "character"):
        all_a = [r["region_attributes"][attr] for rs in by_name_a.values() for r in rs]
        all_b = [r["region_attributes"][attr] for rs in by_name_b.values() for r in rs]
        labels = sorted(set(all_a) | set(all_b))
        y1 = [by_name_a[n][i]["region_attributes"][attr] for n, i, j in pairs]
        y2 = [by_name_b[n][j]["region_attributes"][attr] for n, i, j in pairs]
        agreed = sum(p == q for p, q in zip(y1, y2))
        cm = confusion_matrix(y1, y2, labels=labels)
        per_class = []
        for k, label in enumerate(labels):
            ak, bk, ck = all_a.count(label), all_b.count(label), int(cm[k, k])
            per_class.append({"label": label, "a": ak, "b": bk, "agreed": ck,
                              "hooper": ck / (ak + bk - ck), "rolling": 2 * ck / (ak + bk)})
        out["attributes"][attr] = {
            "labels": labels,
            "kappa": float(cohen_kappa_score(y1, y2, labels=labels)),
            "observed_agreement": agreed / len(pairs),
            "agreed": agreed,
            "hooper": agreed / (regions_a + regions_b - agreed),
            "rolling": 2 * agreed / (regions_a + regions_b),
            "per_class": per_class,
            "confusion": cm.tolist()}
    return out


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def main():
    rng = np.random.default_rng(20261206)
    kappa_cases(rng)
    folder = os.path.join(DATA, "agreement")
    os.makedirs(folder, exist_ok=True)
    a, b, pairs = via_pair(rng)
    write_json(os.path.join(folder, "a.json"), a)
    write_json(os.path.join(folder, "b.json"), b)
    write_json(os.path.join(folder, "expected.json"), expected_report(a, b, pairs))


if __name__ == "__main__":
    main()
