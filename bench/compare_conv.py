#!/usr/bin/env python3
"""Compare anima's conv2d benchmarks with PyTorch on the same shapes, in the same run.

Runs the anima benchmark binaries (bench/conv_bench.cpp -> anima_bench_conv, and on a GPU machine
bench/cuda_conv_bench.cu -> anima_bench_cuda_conv) with --benchmark_format=json, then times
torch.nn.functional.conv2d on every shape they report (parsed back from the benchmark names, see
bench/conv_shapes.hpp), and prints per shape: ours ms, torch ms, ours / torch. A ratio < 1 means
anima is faster.

Fairness: float32, forward, no bias, output allocated by each call on both sides. CPU: torch uses the
same thread count as anima (ANIMA_NUM_THREADS, else nproc; passed to the binary too). CUDA: cuDNN's
TF32 is turned off in torch (anima's cuDNN path uses FMA math) and torch.backends.cudnn.benchmark is
off (both sides use cuDNN's heuristic); times come from CUDA events around each call, the L2 cache
flushed before each on both sides (bench/peer_table.py).
torch times: `--warmup` calls, then the median of `--repeats` timed calls.

Usage (CPU, Debian's torch 1.13):
  /usr/bin/python3 bench/compare_conv.py --cpu-bench BUILD/bench/anima_bench_conv [--quick] [--out FILE]
GPU machine (python3 with CUDA torch):
  python3 bench/compare_conv.py --cpu-bench ... --cuda-bench BUILD/bench/anima_bench_cuda_conv
Options: --filter REGEX (passed to --benchmark_filter), --batches 1,8, --min-time 0.05, --quick
(batch 1 only and fewer torch repeats), --repeats N, --out FILE (also write the table there).
"""
import argparse
import re
import statistics

from peer_table import (iteration_rows, num_threads, print_table, row_ms, run_benchmark_json, torch_times_ms,
                        use_torch_cuda)

NAME_RE = re.compile(r"^BM_conv2d_(?P<impl>[a-z0-9_]+)/(?P<shape>[^/]+)/batch:(?P<batch>\d+)")
SHAPE_RE = re.compile(r"_c(?P<C>\d+)_o(?P<O>\d+)_h(?P<H>\d+)_k(?P<k>\d+)_s(?P<s>\d+)(?:_g(?P<g>\d+))?$")


def run_bench(binary, filt, min_time, threads):
    data = run_benchmark_json(binary, threads, filt, ["--benchmark_min_time=%g" % min_time])
    rows = []
    for b in iteration_rows(data):
        m = NAME_RE.match(b["name"])
        s = SHAPE_RE.search(m.group("shape")) if m else None
        if not m or not s:
            continue
        shape = {k: int(v) for k, v in s.groupdict(default="1").items()}
        rows.append({
            "impl": m.group("impl"), "shape": m.group("shape"), "batch": int(m.group("batch")), "geom": shape,
            "ours_ms": row_ms(b),
        })
    return rows


def torch_time_ms(torch, geom, batch, device, warmup, repeats):
    F = torch.nn.functional
    g = geom
    x = torch.randn(batch, g["C"], g["H"], g["H"], device=device)
    w = torch.randn(g["O"], g["C"] // g["g"], g["k"], g["k"], device=device)
    pad = g["k"] // 2

    def call():
        return F.conv2d(x, w, None, g["s"], pad, 1, g["g"])

    with torch.no_grad():
        times = torch_times_ms(torch, call, device == "cuda", warmup, repeats)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu-bench", help="path of anima_bench_conv")
    ap.add_argument("--cuda-bench", help="path of anima_bench_cuda_conv (GPU machine)")
    ap.add_argument("--filter", default="", help="regex for --benchmark_filter")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--min-time", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="batch 1 only, 3 torch repeats")
    ap.add_argument("--out", help="also write the table to this file")
    args = ap.parse_args()
    if not args.cpu_bench and not args.cuda_bench:
        ap.error("give --cpu-bench and/or --cuda-bench")
    batches = ["1"] if args.quick else [b.strip() for b in args.batches.split(",") if b.strip()]
    repeats = 3 if args.quick else args.repeats
    batch_re = "/batch:(%s)(/|$)" % "|".join(batches)  # names end in /real_time or /manual_time
    filt = "(%s).*%s" % (args.filter, batch_re) if args.filter else ".*" + batch_re

    import torch
    threads = num_threads()
    torch.set_num_threads(threads)
    runs = []
    if args.cpu_bench:
        runs.append(("cpu", args.cpu_bench))
    if args.cuda_bench:
        use_torch_cuda(torch, "--cuda-bench")
        runs.append(("cuda", args.cuda_bench))

    lines = []
    header = "%-52s %5s %-14s %10s %10s %7s" % ("shape", "batch", "impl", "ours ms", "torch ms", "ratio")
    lines.append("anima vs torch %s, %d threads; ratio = ours / torch (< 1: anima faster)" % (torch.__version__, threads))
    for device, binary in runs:
        rows = run_bench(binary, filt, args.min_time, threads)
        cache = {}
        lines.append("")
        lines.append("[%s] %s" % (device, binary))
        lines.append(header)
        ratios = {}
        for r in rows:
            key = (r["shape"], r["batch"])
            if key not in cache:
                cache[key] = torch_time_ms(torch, r["geom"], r["batch"], device, args.warmup, repeats)
            t = cache[key]
            ratio = r["ours_ms"] / t if t > 0 else float("nan")
            ratios.setdefault(r["impl"], []).append(ratio)
            lines.append("%-52s %5d %-14s %10.3f %10.3f %7.2f" % (r["shape"], r["batch"], r["impl"], r["ours_ms"], t, ratio))
        for impl, rs in sorted(ratios.items()):
            lines.append("[%s] %-14s %3d shapes: ratio min %.2f, median %.2f, max %.2f" %
                         (device, impl, len(rs), min(rs), statistics.median(rs), max(rs)))
    print_table(lines, args.out)


if __name__ == "__main__":
    main()
