#!/usr/bin/python3
"""Golden fixture for anima's classification metrics (include/anima/metrics), computed by
scikit-learn 1.2 (Debian's python3-sklearn) on fixed predictions.

Run with Debian's interpreter:
  /usr/bin/python3 tools/golden/metrics.py      # writes tests/golden/data/metrics.safetensors

Cases (labels 0..K-1, scores an N x K matrix of probabilities, predictions its argmax):
  four      K=4, N=240: the four emotions, a classifier right about 70% of the time, scores with
            two decimals (many ties).
  ties      K=3, N=60: scores rounded to 0.1 (heavy ties); class 2 is never predicted (precision
            0 by zero_division), the predictions are not the argmax there.
  binary    K=2, N=50: two classes.
For each case <c>, float64 unless noted:
  <c>/y_true, <c>/y_pred (int64 [N]), <c>/scores [N, K]
  <c>/precision, recall, f1 [K], support (int64 [K])       precision_recall_fscore_support
  <c>/accuracy, <c>/{macro,weighted,micro}_{precision,recall,f1}   scalars
  <c>/ovr_accuracy [K]       per class (TP + TN) / N (accuracy of the one-vs-rest decision)
  <c>/confusion (int64 [K, K]), <c>/confusion_{true,pred,all} [K, K]  confusion_matrix(normalize=...)
  <c>/pr/<k>/{precision,recall,thresholds}   precision_recall_curve(y_true == k, scores[:, k])
  <c>/pr/micro/{...}                          on the flattened one-hot labels and scores
  <c>/ap [K], <c>/ap_micro, <c>/ap_macro      average_precision_score
  <c>/roc/<k>/{fpr,tpr,thresholds}            roc_curve (drop_intermediate=True)
  <c>/roc/micro/{...}
  <c>/auc [K], <c>/auc_micro, <c>/auc_macro   roc_auc_score on the one-hot labels (macro: mean of the classes)
  <c>/top<k>                                  top_k_accuracy_score(k) for k = 1, 2 (and 3 if K > 3)
"""
import os
import sys

import numpy as np
import torch
from sklearn import metrics
from sklearn.preprocessing import label_binarize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ops import save_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "data",
                   "metrics.safetensors")


def make_case(rng, n, k, accuracy, decimals, never_predicted=None):
    y_true = np.arange(n) % k
    rng.shuffle(y_true)
    logits = rng.normal(0.0, 1.0, (n, k))
    right = rng.random(n) < accuracy
    logits[np.arange(n), y_true] += np.where(right, 2.5, 0.0)
    scores = np.exp(logits)
    scores /= scores.sum(axis=1, keepdims=True)
    scores = np.round(scores, decimals)
    y_pred = np.argmax(scores, axis=1)
    if never_predicted is not None:
        other = (never_predicted + 1) % k
        y_pred[y_pred == never_predicted] = other
    return y_true.astype(np.int64), y_pred.astype(np.int64), scores


def f64(x):
    return torch.tensor(np.ascontiguousarray(x, dtype=np.float64))


def add_case(out, name, y_true, y_pred, scores):
    k = scores.shape[1]
    labels = list(range(k))
    out[name + "/y_true"] = torch.tensor(y_true)
    out[name + "/y_pred"] = torch.tensor(y_pred)
    out[name + "/scores"] = f64(scores)
    p, r, f, s = metrics.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    out[name + "/precision"], out[name + "/recall"], out[name + "/f1"] = f64(p), f64(r), f64(f)
    out[name + "/support"] = torch.tensor(s.astype(np.int64))
    out[name + "/accuracy"] = f64(metrics.accuracy_score(y_true, y_pred))
    for avg in ("macro", "weighted", "micro"):
        p, r, f, _ = metrics.precision_recall_fscore_support(y_true, y_pred, labels=labels, average=avg,
                                                             zero_division=0)
        out[f"{name}/{avg}_precision"], out[f"{name}/{avg}_recall"], out[f"{name}/{avg}_f1"] = f64(p), f64(r), f64(f)
    cm = metrics.confusion_matrix(y_true, y_pred, labels=labels)
    out[name + "/confusion"] = torch.tensor(cm.astype(np.int64))
    for norm in ("true", "pred", "all"):
        out[f"{name}/confusion_{norm}"] = f64(metrics.confusion_matrix(y_true, y_pred, labels=labels,
                                                                         normalize=norm))
    mcm = metrics.multilabel_confusion_matrix(y_true, y_pred, labels=labels)
    out[name + "/ovr_accuracy"] = f64([(m[0, 0] + m[1, 1]) / len(y_true) for m in mcm])

    onehot = label_binarize(y_true, classes=labels)
    if k == 2:
        onehot = np.hstack([1 - onehot, onehot])
    columns = [(str(c), onehot[:, c], scores[:, c]) for c in range(k)]
    columns.append(("micro", onehot.ravel(), scores.ravel()))
    ap, auc = [], []
    for key, truth, score in columns:
        pr = metrics.precision_recall_curve(truth, score)
        for part, v in zip(("precision", "recall", "thresholds"), pr):
            out[f"{name}/pr/{key}/{part}"] = f64(v)
        roc = metrics.roc_curve(truth, score)
        for part, v in zip(("fpr", "tpr", "thresholds"), roc):
            out[f"{name}/roc/{key}/{part}"] = f64(v)
        if key != "micro":
            ap.append(metrics.average_precision_score(truth, score))
            auc.append(metrics.roc_auc_score(truth, score))
    out[name + "/ap"], out[name + "/auc"] = f64(ap), f64(auc)
    out[name + "/ap_micro"] = f64(metrics.average_precision_score(onehot, scores, average="micro"))
    out[name + "/ap_macro"] = f64(metrics.average_precision_score(onehot, scores, average="macro"))
    out[name + "/auc_micro"] = f64(metrics.roc_auc_score(onehot, scores, average="micro"))
    # One-vs-rest macro AUC: the mean of the per-class AUCs (the multilabel path: the rounded scores
    # no longer sum to exactly 1, which multi_class="ovr" insists on).
    out[name + "/auc_macro"] = f64(metrics.roc_auc_score(onehot, scores, average="macro"))
    for top in (1, 2, 3):
        if top < k or top == 1:
            if k == 2:  # sklearn's binary path thresholds a single score column: give it the argmax rule
                hits = np.argsort(scores, axis=1, kind="mergesort")[:, ::-1][:, :top] == y_true[:, None]
                out[f"{name}/top{top}"] = f64(hits.any(axis=1).mean())
            else:
                out[f"{name}/top{top}"] = f64(metrics.top_k_accuracy_score(y_true, scores, k=top, labels=labels))


def main():
    rng = np.random.default_rng(20261206)
    out = {}
    add_case(out, "four", *make_case(rng, 240, 4, 0.7, 2))
    add_case(out, "ties", *make_case(rng, 60, 3, 0.6, 1, never_predicted=2))
    add_case(out, "binary", *make_case(rng, 50, 2, 0.6, 2))
    meta = {"generator": "tools/golden/metrics.py", "sklearn": __import__("sklearn").__version__}
    save_safetensors(OUT, out, meta)
    print(f"wrote {len(out)} tensors to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
