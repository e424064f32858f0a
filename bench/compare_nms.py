#!/usr/bin/env python3
"""Compare anima's NMS with torchvision.ops.nms on the same boxes, in the same run.

Runs the anima benchmark binary (bench/nms_bench.cpp -> anima_bench_nms, or with --cuda
bench/cuda_nms_bench.cu -> anima_bench_cuda_nms) with --benchmark_format=json (benchmarks BM_nms/<n>
or BM_nms_cuda/<n>), builds the same boxes in Python (the formulas of bench/nms_boxes.hpp,
implemented again below), checks that torchvision keeps the same number of boxes as anima reported,
times torchvision.ops.nms, and prints per size: ours ms, torch ms, ours / torch (< 1: anima faster).

Both sides: float32, IoU threshold 0.7, wall time. CPU: torch runs with the thread count anima is
given (ANIMA_NUM_THREADS, else nproc; NMS is sequential on both sides anyway). CUDA: torch's time
includes torch.cuda.synchronize() after each call (anima's op synchronises: it reads the mask on the
host). Torch: `--warmup` calls, then the median of `--repeats` calls; anima: Google Benchmark's
median over `--reps` repetitions.

Usage (CPU, Debian's torch 1.13 + torchvision 0.14):
  /usr/bin/python3 bench/compare_nms.py --bench BUILD/bench/anima_bench_nms [--out FILE]
GPU machine (python3 with CUDA torch and torchvision):
  python3 bench/compare_nms.py --cuda --bench BUILD/bench/anima_bench_cuda_nms
"""
import argparse
import os
import re
import statistics
import sys

from peer_table import num_threads, print_table, row_ms, run_benchmark_json, torch_times_ms, use_torch_cuda

MASK64 = (1 << 64) - 1
NAME_RE = re.compile(r"^BM_nms(?:_cuda)?/(?P<n>\d+)(?:_median)?$")


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def unit(i):
    return (splitmix64(i) >> 11) * 2.0 ** -53


def bench_boxes(n):
    """bench/nms_boxes.hpp nms_bench_boxes: [n, 4] boxes and [n] scores (lists of doubles)."""
    m = max(1, n // 20)
    boxes, scores = [], []
    for k in range(n):
        o, q = k % m, 4 * (n + k)
        s = 16 + 240 * unit(4 * o + 2)
        cx = 1000 * unit(4 * o) + 0.25 * s * (unit(q) - 0.5)
        cy = 1000 * unit(4 * o + 1) + 0.25 * s * (unit(q + 1) - 0.5)
        w, h = s * (0.7 + 0.6 * unit(q + 2)), s * (0.7 + 0.6 * unit(q + 3))
        boxes.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        scores.append(unit(8 * n + k))
    return boxes, scores


def run_bench(binary, reps, threads):
    flags = ["--benchmark_repetitions=%d" % reps, "--benchmark_report_aggregates_only=true"]
    data = run_benchmark_json(binary, threads, "^BM_nms(_cuda)?/", flags)
    rows = {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            sys.exit("%s: %s" % (b["name"], b.get("error_message", "")))
        if b.get("aggregate_name", "median") != "median":
            continue
        m = NAME_RE.match(b["name"].split("/real_time")[0])
        if m:
            rows[int(m.group("n"))] = (row_ms(b), b.get("kept"))
    return data.get("context", {}), rows


def torch_time_ms(torch, tv, boxes, scores, device, warmup, repeats):
    def call():
        keep = tv.ops.nms(boxes, scores, 0.7)
        if device == "cuda":
            torch.cuda.synchronize()
        return keep

    times = torch_times_ms(torch, call, False, warmup, repeats)
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="anima_bench_nms (CPU) or anima_bench_cuda_nms (--cuda)")
    ap.add_argument("--cuda", action="store_true", help="time both on cuda:0")
    ap.add_argument("--reps", type=int, default=5, help="anima: Google Benchmark repetitions (median)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", help="also write the table to this file")
    args = ap.parse_args()

    import torch
    import torchvision as tv

    device = "cuda" if args.cuda else "cpu"
    if args.cuda:
        use_torch_cuda(torch, "--cuda")
    threads = num_threads()
    torch.set_num_threads(threads)
    context, ours = run_bench(args.bench, args.reps, threads)
    lines = ["NMS, float32, IoU threshold 0.7, RPN-like boxes (bench/nms_boxes.hpp), %s, %d thread(s)" % (device, threads),
             "torch %s, torchvision %s; anima: %s (median of %d), torch: median of %d after %d warm-up"
             % (torch.__version__, tv.__version__, os.path.basename(args.bench), args.reps, args.repeats, args.warmup),
             "host: %s, %s CPUs, load avg %s" % (context.get("host_name", "?"), context.get("num_cpus", "?"),
                                                  " ".join("%.1f" % x for x in os.getloadavg())),
             "",
             "%8s %8s %12s %12s %12s %10s" % ("boxes", "kept", "anima ms", "torch ms", "torch min", "ours/torch")]
    for n in sorted(ours):
        ms, kept = ours[n]
        b, s = bench_boxes(n)
        boxes = torch.tensor(b, dtype=torch.float32, device=device)
        scores = torch.tensor(s, dtype=torch.float32, device=device)
        torch_kept = tv.ops.nms(boxes, scores, 0.7).numel()
        if kept is not None and int(kept) != torch_kept:
            print("warning: n=%d anima kept %d boxes, torchvision %d" % (n, int(kept), torch_kept), file=sys.stderr)
        tmed, tmin = torch_time_ms(torch, tv, boxes, scores, device, args.warmup, args.repeats)
        lines.append("%8d %8d %12.3f %12.3f %12.3f %10.2f" % (n, torch_kept, ms, tmed, tmin, ms / tmed))
    print_table(lines, args.out)


if __name__ == "__main__":
    main()
