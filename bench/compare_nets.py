#!/usr/bin/env python3
"""Compare anima's whole-network inference with torchvision's, in the same run.

Runs an anima benchmark binary (bench/nets_bench.cpp -> anima_bench_nets on the CPU,
bench/cuda_nets_bench.cu -> anima_bench_cuda_nets with --cuda) with --benchmark_format=json and
--benchmark_repetitions, then times torchvision's same network (torchvision.models.<net>(), default
initialisation, eval(), torch.no_grad()) on an input of the same shape, and prints per net and batch:
our min and median ms, torch's min and median ms, and ratio = ours / torch of the medians
(> 1: anima is slower).

Benchmarks are named BM_net/<net>/batch:<n> (CPU) and BM_net_cuda/<net>/batch:<n> (CUDA); the
input is [n, 3, 224, 224] (inception_v3: [n, 3, 299, 299]), float32, eval mode, no autograd; weights
are each side's default initialisation (the time of a dense forward does not depend on the values).

Each (net, batch) is timed on both sides back to back (anima's repetitions, then torch's), so a
shared machine's load hits both alike; the load average at the start and end is written too.
Fairness: CPU: torch.set_num_threads(T) with T = --threads, else ANIMA_NUM_THREADS, else nproc; the
anima binary gets ANIMA_NUM_THREADS=T. Both sides: warm-up calls first, then `--repeats` timed
forwards (anima: --benchmark_repetitions=R, each repetition at least one forward, min_time small).
CUDA: cuDNN TF32 off in torch (anima's cuDNN path uses FMA math), cudnn.benchmark off (both sides use
cuDNN's heuristic); torch times come from CUDA events around each forward, anima's likewise, the L2
cache flushed before each forward on both sides (bench/peer_table.py).

Usage:
  /usr/bin/python3 bench/compare_nets.py --bench BUILD/bench/anima_bench_nets --threads 2 \
      --filter 'resnet50|mobilenet_v2' --batches 1 [--out FILE]
  GPU machine (python3 with CUDA torch):
  python3 bench/compare_nets.py --cuda --bench BUILD/bench/anima_bench_cuda_nets [--out FILE]
On a shared machine whose cores are oversubscribed, torch's OpenMP threads spinning at barriers can
make torch ten times slower; --omp-passive (OMP_WAIT_POLICY=PASSIVE) avoids that (the table says
which policy torch ran with). anima's thread pool does not spin.
Options: --omp-passive, --filter REGEX over net names (vgg16, resnet50, mobilenet_v2, inception_v3), --batches 1,8,
--repeats N (both sides), --warmup N (torch), --note TEXT (a line written into the table).
"""
import argparse
import os
import platform
import re
import statistics
import sys
import time

from peer_table import (iteration_rows, num_threads, print_table, row_ms, run_benchmark_json, torch_times_ms,
                        use_torch_cuda)

NAME_RE = re.compile(r"^BM_net(?P<cuda>_cuda)?/(?P<net>[a-z0-9_]+)/batch:(?P<batch>\d+)")
NETS = ["vgg16", "resnet50", "mobilenet_v2", "inception_v3"]


def run_bench(binary, filt, repeats, threads):
    flags = ["--benchmark_repetitions=%d" % repeats, "--benchmark_min_time=0.001"]
    data = run_benchmark_json(binary, threads, filt, flags)
    times = {}
    for b in iteration_rows(data):
        m = NAME_RE.match(b["name"])
        if not m:
            continue
        key = (m.group("net"), int(m.group("batch")))
        times.setdefault(key, []).append(row_ms(b))
    return times, data.get("context", {})


def torch_net(torchvision, net):
    m = torchvision.models
    if net == "inception_v3":
        # aux_logits as our factory's default; eval() returns the logits only. init_weights=True is the
        # default (truncated normal), as our default initialisation.
        return m.inception_v3(weights=None, aux_logits=True, init_weights=True)
    return getattr(m, net)(weights=None)


def torch_net_times_ms(torch, torchvision, net, batch, device, warmup, repeats):
    model = torch_net(torchvision, net).eval().to(device)
    size = 299 if net == "inception_v3" else 224
    x = torch.randn(batch, 3, size, size, device=device)
    with torch.no_grad():
        return torch_times_ms(torch, lambda: model(x), device == "cuda", warmup, repeats)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="anima_bench_nets (or anima_bench_cuda_nets with --cuda)")
    ap.add_argument("--cuda", action="store_true", help="GPU mode: time torch on CUDA, read BM_net_cuda rows")
    ap.add_argument("--filter", default="", help="regex over net names, e.g. 'resnet50|mobilenet_v2'")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads for both sides (default: ANIMA_NUM_THREADS or nproc)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--omp-passive", action="store_true",
                    help="set OMP_WAIT_POLICY=PASSIVE for torch (its OpenMP threads sleep at barriers instead of "
                         "spinning: far faster for torch on an oversubscribed, shared machine)")
    ap.add_argument("--note", default="", help="a line added to the table (the machine's state, say)")
    ap.add_argument("--out", help="also write the table to this file")
    args = ap.parse_args()

    nets = [n for n in NETS if not args.filter or re.search(args.filter, n)]
    if not nets:
        ap.error("--filter %r matches none of %s" % (args.filter, ", ".join(NETS)))
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    threads = args.threads or num_threads()
    prefix = "BM_net_cuda" if args.cuda else "BM_net"

    if args.omp_passive:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # read when torch's OpenMP runtime starts: before the import
    import torch
    import torchvision
    torch.set_num_threads(threads)
    device = "cpu"
    if args.cuda:
        use_torch_cuda(torch, "--cuda")
        device = "cuda"

    t_start = time.time()
    lines = []
    lines.append("anima vs torch %s / torchvision %s, whole-network inference (eval, no grad, float32), %s, %s"
                 % (torch.__version__, torchvision.__version__, device.upper(),
                    ("%d threads on both sides" % threads) if device == "cpu" else torch.cuda.get_device_name(0)))
    lines.append("timing: anima %d repetitions (Google Benchmark, wall time), torch %d warm-up + %d timed forwards;"
                 " ratio = ours median / torch median (> 1: anima slower)" % (args.repeats, args.warmup, args.repeats))
    lines.append("torch OpenMP wait policy: %s" % os.environ.get("OMP_WAIT_POLICY", "unset (libgomp default: spin, then sleep)"))
    if args.note:
        lines.append("note: " + args.note)
    load0 = os.getloadavg()
    lines.append("")
    lines.append("%-14s %5s %11s %11s %11s %11s %7s" % ("net", "batch", "ours min", "ours med", "torch min",
                                                        "torch med", "ratio"))
    ratios = []
    context = {}
    for net in nets:
        for batch in batches:
            # One (net, batch) at a time, ours then torch's, so both run under the same machine load.
            ours, context = run_bench(args.bench, "^%s/%s/batch:%d(/|$)" % (prefix, net, batch), args.repeats, threads)
            if (net, batch) not in ours:
                lines.append("%-14s %5d   (no anima result)" % (net, batch))
                continue
            o = ours[(net, batch)]
            t = torch_net_times_ms(torch, torchvision, net, batch, device, args.warmup, args.repeats)
            ratio = statistics.median(o) / statistics.median(t)
            ratios.append(ratio)
            lines.append("%-14s %5d %8.2f ms %8.2f ms %8.2f ms %8.2f ms %7.2f" % (
                net, batch, min(o), statistics.median(o), min(t), statistics.median(t), ratio))
            print(lines[-1], file=sys.stderr)
    lines.insert(1, "host: %s, %s CPUs (%s); anima binary: %s; each (net, batch): anima's repetitions, then torch's"
                 % (platform.node() or "?", context.get("num_cpus", "?"), platform.processor() or platform.machine(),
                    args.bench))
    if ratios:
        lines.append("")
        lines.append("ratio over %d rows: min %.2f, median %.2f, max %.2f (whole run %.0f s)"
                     % (len(ratios), min(ratios), statistics.median(ratios), max(ratios), time.time() - t_start))
    load1 = os.getloadavg()
    lines.append("load average (1, 5, 15 min) at start %.2f %.2f %.2f, at end %.2f %.2f %.2f" % (load0 + load1))
    print_table(lines, args.out)


if __name__ == "__main__":
    main()
