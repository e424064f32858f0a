#!/usr/bin/env python3
"""Compare anima's RoIAlign benchmarks with torchvision.ops.roi_align / MultiScaleRoIAlign, same shapes,
same thread count, same run.

Runs the anima benchmark binary (bench/roi_align_bench.cpp -> anima_bench_roi_align, and with --cuda
bench/cuda_roi_align_bench.cu -> anima_bench_cuda_roi_align) with --benchmark_format=json and
--benchmark_repetitions, then times torchvision on every case it reports: forward, and forward +
backward (x.grad of a fixed upstream gradient). The shapes and boxes mirror bench/roi_align_shapes.hpp
(single: one [2,256,50,50] map, 1024 RoIs, 14x14; box: FPN maps 200/100/50/25, 1000 RoIs, 7x7; mask:
the same maps, 2x512 RoIs, 14x14; sampling 2, aligned False). Prints per case and implementation: ours
min / median ms, torch min / median ms, and the ratios ours/torch of the minima and of the medians
(< 1: anima is faster). CUDA impl names: v1 / v2 (fwd); v1_atomic, v2_atomic, v2_deterministic (the
default: gather backward, no atomics, plan built on the host), v2_deterministic_device (the same gather,
plan built on the device), v2_fixed_point (fwdbwd); kernels alone: fwd_v1, fwd_v2, bwd_atomic_v1,
bwd_fixed_point, bwd_gather, bwd_gather_device (every name is parsed by NAME_RE / KERNEL_RE below).

Fairness: float32; CPU: torch.set_num_threads(N) with N = ANIMA_NUM_THREADS (else nproc), which the
anima binary gets too; CUDA: times from CUDA events around each call after a synchronize, the L2 cache
flushed before each call on both sides (bench/peer_table.py); both sides allocate their outputs per
call. torchvision 0.14's CPU roi_align is single-threaded whatever N is.

Usage (this machine, Debian's torch 1.13 + torchvision 0.14):
  /usr/bin/python3 bench/compare_roi_align.py --bench BUILD/bench/anima_bench_roi_align [--out FILE]
GPU machine (python3 with CUDA torch 2.x):
  python3 bench/compare_roi_align.py --cuda --bench BUILD/bench/anima_bench_cuda_roi_align
Options: --filter REGEX, --repeats N (torch timed calls and anima --benchmark_repetitions, default 5),
--min-time S (anima, default 0.1), --out FILE (also write the table there).
"""
import argparse
import math
import re
import statistics
import sys
import time

from peer_table import (iteration_rows, num_threads, row_ms, run_benchmark_json, torch_times_ms, use_torch_cuda,
                        write_table)

NAME_RE = re.compile(r"^BM_(?:cuda_)?roi_align/(?P<case>[a-z]+)/(?P<impl>[a-z0-9_]+)/(?P<pass>fwdbwd|fwd)")
KERNEL_RE = re.compile(r"^BM_cuda_roi_align_kernel/(?P<case>[a-z]+)/(?P<kernel>[a-z0-9_]+)")

CASES = {  # mirrors bench/roi_align_shapes.hpp
    "single": dict(maps=[50], channels=256, batch=2, per_image=512, out=14, sampling=2),
    "box": dict(maps=[200, 100, 50, 25], channels=256, batch=2, per_image=500, out=7, sampling=2),
    "mask": dict(maps=[200, 100, 50, 25], channels=256, batch=2, per_image=512, out=14, sampling=2),
}


def mix32(h):
    h &= 0xFFFFFFFF
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def bench_boxes(image, count):
    out = []
    for j in range(count):
        u = [mix32(((j * 2654435761) & 0xFFFFFFFF) + m * 40503 + image * 97) / 4294967296.0 for m in range(4)]
        size, ratio = 16.0 * 2.0 ** (5.6 * u[0]), 2.0 ** (2.0 * u[1] - 1.0)
        w, h, cx, cy = size * math.sqrt(ratio), size / math.sqrt(ratio), 800.0 * u[2], 800.0 * u[3]
        out.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    return out


def run_bench(binary, filt, min_time, repeats, threads):
    flags = ["--benchmark_min_time=%g" % min_time, "--benchmark_repetitions=%d" % repeats]
    data = run_benchmark_json(binary, threads, filt, flags)
    rows = {}
    for b in iteration_rows(data, report_errors=False):
        m = NAME_RE.match(b["name"])
        k = KERNEL_RE.match(b["name"])
        if k:  # kernels alone (CUDA bench): no torch peer, printed as they are
            key = (k.group("case"), k.group("kernel"), "kernel")
        elif not m:
            continue
        else:
            key = (m.group("case"), m.group("impl"), m.group("pass"))
        rows.setdefault(key, []).append(row_ms(b))
    return rows


def torch_times(torch, tv, case, backward, device, repeats):
    c = CASES[case]
    gen = torch.Generator().manual_seed(1)
    maps = [torch.randn(c["batch"], c["channels"], s, s, generator=gen).to(device) for s in c["maps"]]
    boxes = [torch.tensor(bench_boxes(i, c["per_image"]), dtype=torch.float32, device=device) for i in range(c["batch"])]
    k = c["batch"] * c["per_image"]
    gy = torch.randn(k, c["channels"], c["out"], c["out"], generator=gen).to(device)
    pooler = tv.ops.MultiScaleRoIAlign([str(i) for i in range(len(maps))], c["out"], c["sampling"])

    def call():
        xs = [m.detach().requires_grad_(backward) for m in maps]
        if len(xs) == 1:
            y = tv.ops.roi_align(xs[0], boxes, [c["out"], c["out"]], 1.0 / 16.0, c["sampling"], False)
        else:
            y = pooler({str(i): x for i, x in enumerate(xs)}, boxes, [(800, 800)] * c["batch"])
        if backward:
            y.backward(gy)
        return y

    return torch_times_ms(torch, call, device == "cuda", 1, repeats)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="anima_bench_roi_align (or anima_bench_cuda_roi_align with --cuda)")
    ap.add_argument("--cuda", action="store_true")
    ap.add_argument("--filter", default="")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.1)
    ap.add_argument("--out", default="")
    a = ap.parse_args()

    import torch
    import torchvision as tv

    threads = num_threads()
    torch.set_num_threads(threads)
    device = "cuda" if a.cuda else "cpu"
    if a.cuda:
        use_torch_cuda(torch, "--cuda")
    ours = run_bench(a.bench, a.filter, a.min_time, a.repeats, threads)
    lines = []

    def emit(s=""):
        print(s)
        lines.append(s)

    emit("RoIAlign: anima vs torchvision %s (torch %s), %s, %d thread(s), float32, %s" % (
        tv.__version__, torch.__version__, device, threads, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
    emit("times in ms over %d repeats; ratio = ours / torch (< 1: anima faster)" % a.repeats)
    emit("%-7s %-20s %-7s %9s %9s %9s %9s %8s %8s" % ("case", "impl", "pass", "ours_min", "ours_med", "torch_min",
                                                       "torch_med", "r_min", "r_med"))
    torch_cache = {}
    kernels = sorted((k for k in ours if k[2] == "kernel"), key=lambda k: (list(CASES).index(k[0]), k[1]))
    for (case, impl, pss) in sorted((k for k in ours if k[2] != "kernel"),
                                    key=lambda k: (list(CASES).index(k[0]), k[2], k[1])):
        key = (case, pss)
        if key not in torch_cache:
            torch_cache[key] = torch_times(torch, tv, case, pss == "fwdbwd", device, a.repeats)
        t = torch_cache[key]
        o = ours[(case, impl, pss)]
        emit("%-7s %-20s %-7s %9.2f %9.2f %9.2f %9.2f %8.3f %8.3f" % (
            case, impl, pss, min(o), statistics.median(o), min(t), statistics.median(t), min(o) / min(t),
            statistics.median(o) / statistics.median(t)))
    if kernels:
        emit()
        emit("kernels alone (anima only; the case's finest map with all its RoIs):")
        emit("%-7s %-20s %9s %9s" % ("case", "kernel", "min_ms", "med_ms"))
        for key in kernels:
            o = ours[key]
            emit("%-7s %-20s %9.4f %9.4f" % (key[0], key[1], min(o), statistics.median(o)))
    if a.out:
        write_table(a.out, lines)


if __name__ == "__main__":
    sys.exit(main())
