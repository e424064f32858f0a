#!/usr/bin/python3
"""Compare anima's Mask R-CNN R50-FPN (bench/maskrcnn_bench.cpp -> anima_bench_maskrcnn) with torchvision
0.14's maskrcnn_resnet50_fpn on the CPU, same weights, same images, same thread count, same run.

Rows (anima's names):
  eval/800         one 800x800 image, min_size 800 / max_size 1333: the whole eval forward, and per stage
                   (transform, backbone = body + FPN, rpn, box = box head + predictor + postprocess,
                   mask = mask head + predictor + sigmoid, paste = boxes and masks back into the image)
  eval/square1280  the paper's square mode: anima letterboxes a 720x1280 frame into 1280x1280;
                   torchvision has no such mode and gets the same frame zero-padded to 1280x1280 with
                   min_size = max_size = 1280 (the same 1280x1280 batch, the same work)
  train/800        a training step at batch 2 (two 800x800 images, two objects with elliptic masks each):
                   forward with the five losses and backward (no optimiser step)

Fairness: float32; torch.set_num_threads(T) and ANIMA_NUM_THREADS=T (T = --threads, else
ANIMA_NUM_THREADS, else nproc). Both models are torchvision's freshly initialised weights (torch seed 0,
FrozenBatchNorm2d with eps 0 as maskrcnn_resnet50_fpn builds it for the COCO weights, trainable layers
3), written to a safetensors file that the anima binary loads (ANIMA_BENCH_MASKRCNN_WEIGHTS). The box
score threshold is 0 on both sides so that every image keeps its 100 detections (a random head's
scores are all below the default 0.05, which would leave the mask head and the pasting nothing to do).
Both sides warm up first; --repeats timed runs each (anima: --benchmark_repetitions); min and median.
The load average is printed before and after: run it on a quiet machine.

--memory adds the peak resident memory per row: each row runs once (one warm-up, one timed run) in a
fresh process of its own, anima's benchmark binary and a Python process with torch for the peer, and the
kernel's peak RSS of that process (wait4's ru_maxrss) is reported. The peer's figure includes the Python
interpreter and the torch libraries (a few hundred MB, reported alone as "idle" beside it), as a user's
process would.

Usage:
  /usr/bin/python3 bench/compare_maskrcnn.py --bench BUILD/bench/anima_bench_maskrcnn [--threads 2]
      [--filter eval] [--repeats 5] [--memory] [--out FILE]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools", "golden"))
from peer_table import (iteration_rows, num_threads, print_table, row_ms, run_benchmark_json,  # noqa: E402
                        torch_times_ms)

STAGES = ["transform", "backbone", "rpn", "box", "mask", "paste"]


def pattern_image(torch, n, h, w):
    """The golden tests' formula: |((x (c + 1 + n) + y (3 - c + 2 n)) mod 128) - 64| / 64."""
    c = torch.arange(3).view(3, 1, 1)
    y = torch.arange(h).view(1, h, 1)
    x = torch.arange(w).view(1, 1, w)
    q = (x * (c + 1 + n) + y * (3 - c + 2 * n)) % 128
    return ((q - 64).abs().float() / 64.0).contiguous()


def build_model(torchvision, min_size, max_size):
    from torchvision.models import resnet50
    from torchvision.models.detection import _utils as det_utils
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.models.detection.mask_rcnn import MaskRCNN
    from torchvision.ops import misc as misc_nn_ops
    backbone = resnet50(weights=None, norm_layer=misc_nn_ops.FrozenBatchNorm2d)
    backbone = _resnet_fpn_extractor(backbone, 3)
    model = MaskRCNN(backbone, num_classes=91, min_size=min_size, max_size=max_size, box_score_thresh=0.0)
    det_utils.overwrite_eps(model, 0.0)
    return model


def bench_target(torch, h, w):
    boxes = [[0.1 * w, 0.12 * h, 0.5 * w, 0.6 * h], [0.45 * w, 0.3 * h, 0.92 * w, 0.85 * h]]
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64) + 0.5, torch.arange(w, dtype=torch.float64) + 0.5,
                            indexing="ij")
    masks = []
    for x1, y1, x2, y2 in boxes:
        cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
        masks.append((((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0).to(torch.uint8))
    return {"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": torch.tensor([1, 2]),
            "masks": torch.stack(masks)}


def timed_eval(torch, model, images, stages):
    """torchvision's GeneralizedRCNN.forward in eval mode, stage by stage (roi_heads.py:745-820)."""
    from torchvision.models.detection.roi_heads import maskrcnn_inference
    rh = model.roi_heads
    t = time.perf_counter()
    original_sizes = [tuple(im.shape[-2:]) for im in images]
    il, _ = model.transform(images)
    stages["transform"].append(time.perf_counter() - t)
    t = time.perf_counter()
    features = model.backbone(il.tensors)
    stages["backbone"].append(time.perf_counter() - t)
    t = time.perf_counter()
    proposals, _ = model.rpn(il, features)
    stages["rpn"].append(time.perf_counter() - t)
    t = time.perf_counter()
    x = rh.box_predictor(rh.box_head(rh.box_roi_pool(features, proposals, il.image_sizes)))
    boxes, scores, labels = rh.postprocess_detections(x[0], x[1], proposals, il.image_sizes)
    stages["box"].append(time.perf_counter() - t)
    t = time.perf_counter()
    mask_logits = rh.mask_predictor(rh.mask_head(rh.mask_roi_pool(features, boxes, il.image_sizes)))
    masks = maskrcnn_inference(mask_logits, labels)
    stages["mask"].append(time.perf_counter() - t)
    t = time.perf_counter()
    dets = [{"boxes": b, "scores": s, "labels": l, "masks": m} for b, s, l, m in zip(boxes, scores, labels, masks)]
    dets = model.transform.postprocess(dets, il.image_sizes, original_sizes)
    stages["paste"].append(time.perf_counter() - t)
    return dets


def torch_eval(torch, torchvision, weights_sd, min_size, max_size, image, warmup, repeats):
    model = build_model(torchvision, min_size, max_size)
    model.load_state_dict(weights_sd)
    model.eval()
    stages = {s: [] for s in STAGES}
    totals = []
    with torch.no_grad():
        for _ in range(warmup):
            timed_eval(torch, model, [image], {s: [] for s in STAGES})
        for _ in range(repeats):
            t = time.perf_counter()
            dets = timed_eval(torch, model, [image], stages)
            totals.append((time.perf_counter() - t) * 1e3)
    return totals, {s: statistics.median(v) * 1e3 for s, v in stages.items()}, int(dets[0]["boxes"].shape[0])


def torch_train(torch, torchvision, weights_sd, side, warmup, repeats):
    model = build_model(torchvision, 800, 1333)
    model.load_state_dict(weights_sd)
    model.train()
    images = [pattern_image(torch, 0, side, side), pattern_image(torch, 1, side, side)]
    targets = [bench_target(torch, side, side), bench_target(torch, side, side)]

    def step():
        model.zero_grad(set_to_none=True)
        losses = model(images, [dict(t) for t in targets])
        sum(losses.values()).backward()

    return torch_times_ms(torch, step, False, warmup, repeats)


def save_weights(torch, sd, path):
    from ops import save_safetensors  # tools/golden/ops.py
    save_safetensors(path, {k: v.detach().contiguous() for k, v in sd.items()}, {"source": "compare_maskrcnn.py"})


def peak_rss_mb(cmd, env=None):
    """Runs cmd to completion; returns its peak resident set size in MB (the kernel's ru_maxrss)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit("%s exited with %d" % (" ".join(cmd), proc.returncode))
    return usage.ru_maxrss / 1024.0


def peer_row_once(row, threads, weights_pt):
    """The child process of --memory for the peer: one warm-up and one run of `row` (or nothing: "idle")."""
    import torch
    import torchvision
    torch.set_num_threads(threads)
    if row == "idle":
        return
    sd = torch.load(weights_pt)
    if row == "eval/800":
        torch_eval(torch, torchvision, sd, 800, 1333, pattern_image(torch, 0, 800, 800), 1, 1)
    elif row == "eval/square1280":
        frame = torch.zeros(3, 1280, 1280)
        frame[:, :720, :] = pattern_image(torch, 0, 720, 1280)
        torch_eval(torch, torchvision, sd, 1280, 1280, frame, 1, 1)
    elif row == "train/800":
        torch_train(torch, torchvision, sd, 800, 1, 1)
    else:
        raise SystemExit("unknown row " + row)


def memory_lines(bench, rows, threads, sd, tmp, torch):
    """Peak RSS per row: anima's binary and the peer, each row in a fresh process."""
    weights_pt = os.path.join(tmp, "maskrcnn_random.pt")
    torch.save(sd, weights_pt)
    env = dict(os.environ, ANIMA_NUM_THREADS=str(threads))
    def peer_cmd(row):
        return [sys.executable, os.path.abspath(__file__), "--bench", bench, "--threads", str(threads),
                "--peer-row-once", row, "--peer-weights", weights_pt]

    idle = peak_rss_mb(peer_cmd("idle"))
    lines = ["", "peak resident memory, MB (each row alone in a fresh process; torch idle: %.0f MB)" % idle,
             "%-16s %10s %10s %9s" % ("row", "anima", "torch", "ratio")]
    for r in rows:
        ours = peak_rss_mb([bench, "--benchmark_filter=^BM_maskrcnn/%s(/|$)" % re.escape(r), "--benchmark_repetitions=1",
                            "--benchmark_min_time=0.001"], env)
        peer = peak_rss_mb(peer_cmd(r))
        lines.append("%-16s %10.0f %10.0f %9.2f" % (r, ours, peer, ours / peer))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", required=True, help="the anima_bench_maskrcnn binary")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--filter", default="", help="regex over the row names (eval/800, eval/square1280, train/800)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--memory", action="store_true", help="add the peak resident memory of each row")
    ap.add_argument("--peer-row-once", default=None, help=argparse.SUPPRESS)  # --memory's child process
    ap.add_argument("--peer-weights", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    threads = args.threads or num_threads()
    if args.peer_row_once is not None:
        peer_row_once(args.peer_row_once, threads, args.peer_weights)
        return

    import torch
    import torchvision
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    load_before = os.getloadavg()
    sd = build_model(torchvision, 800, 1333).state_dict()
    rows = [r for r in ["eval/800", "eval/square1280", "train/800"] if re.search(args.filter, r)]
    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "maskrcnn_random.safetensors")
        save_weights(torch, sd, weights)
        os.environ["ANIMA_BENCH_MASKRCNN_WEIGHTS"] = weights
        data = run_benchmark_json(args.bench, threads, "|".join(re.escape(r) for r in rows),
                                  ["--benchmark_repetitions=%d" % args.repeats, "--benchmark_min_time=0.001"])
        memory = memory_lines(args.bench, rows, threads, sd, tmp, torch) if args.memory else []
    ours, our_stages, our_dets = {}, {}, {}
    for b in iteration_rows(data):
        name = b["name"].split("BM_maskrcnn/")[-1].split("/repeats")[0].split("/real_time")[0]
        ours.setdefault(name, []).append(row_ms(b))
        for s in STAGES:
            if s + "_ms" in b:
                our_stages.setdefault(name, {}).setdefault(s, []).append(b[s + "_ms"])
        if "detections" in b:
            our_dets[name] = int(b["detections"])

    peer, peer_stages, peer_dets = {}, {}, {}
    if "eval/800" in rows:
        peer["eval/800"], peer_stages["eval/800"], peer_dets["eval/800"] = torch_eval(
            torch, torchvision, sd, 800, 1333, pattern_image(torch, 0, 800, 800), args.warmup, args.repeats)
    if "eval/square1280" in rows:
        frame = torch.zeros(3, 1280, 1280)
        frame[:, :720, :] = pattern_image(torch, 0, 720, 1280)
        peer["eval/square1280"], peer_stages["eval/square1280"], peer_dets["eval/square1280"] = torch_eval(
            torch, torchvision, sd, 1280, 1280, frame, args.warmup, args.repeats)
    if "train/800" in rows:
        peer["train/800"] = torch_train(torch, torchvision, sd, 800, args.warmup, args.repeats)
    load_after = os.getloadavg()

    lines = ["Mask R-CNN R50-FPN, CPU, float32, %d threads; anima vs torch %s / torchvision %s; %d repeats" % (
        threads, torch.__version__, torchvision.__version__, args.repeats),
        "load average before %.2f %.2f %.2f, after %.2f %.2f %.2f" % (load_before + load_after), "",
        "%-16s %10s %10s %10s %10s %9s %9s" % ("row", "anima min", "anima med", "torch min", "torch med",
                                               "min ratio", "med ratio")]
    for r in rows:
        if r not in ours or r not in peer:
            lines.append("%-16s (missing: anima %s, torch %s)" % (r, r in ours, r in peer))
            continue
        a, p = ours[r], peer[r]
        lines.append("%-16s %10.1f %10.1f %10.1f %10.1f %9.2f %9.2f" % (
            r, min(a), statistics.median(a), min(p), statistics.median(p), min(a) / min(p),
            statistics.median(a) / statistics.median(p)))
    for r in rows:
        if r in our_stages and r in peer_stages:
            lines += ["", "%s per stage, median ms (detections: anima %s, torch %s)" % (
                r, our_dets.get(r, "?"), peer_dets.get(r, "?")),
                "%-10s %10s %10s %9s" % ("stage", "anima", "torch", "ratio")]
            for s in STAGES:
                a = statistics.median(our_stages[r][s])
                p = peer_stages[r][s]
                lines.append("%-10s %10.1f %10.1f %9.2f" % (s, a, p, a / p if p > 0 else float("nan")))
    print_table(lines + memory, args.out)


if __name__ == "__main__":
    main()
