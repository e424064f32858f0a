#!/usr/bin/env python3
"""Compare anima's whole-network inference with torchvision's and ONNX Runtime's, in the same run.

Runs an anima benchmark binary (bench/nets_bench.cpp -> anima_bench_nets on the CPU,
bench/cuda_nets_bench.cu -> anima_bench_cuda_nets with --cuda) with --benchmark_format=json and
--benchmark_repetitions, then times torchvision's same network (torchvision.models.<net>(), default
initialisation, eval(), torch.no_grad()) on an input of the same shape, and prints per net and batch:
our min and median ms, torch's min and median ms, and ratio = ours / torch of the medians
(> 1: anima is slower).

With --ort DIR (CPU only), ONNX Runtime is timed too: the peer a user would pick for CPU inference.
DIR holds its CPU build from npm (`mkdir -p DIR && cd DIR && npm install --ignore-scripts
onnxruntime-node`; the install script only fetches GPU extras). Each torchvision net is exported with
torch.onnx.export (opset 13, dynamic batch; --onnx-dir keeps the files, else a temporary folder) and
run by bench/ort_time.js under node with the same thread count (intra-op threads = T, one inter-op
thread, sequential, all graph optimisations). The table then also has, for anima and ONNX Runtime, the
spread (max / min of the repetitions) and the peak resident memory of the process that ran the row
(anima: the benchmark binary on that one row; ONNX Runtime: the node process), and both ratios:
ours / ORT and ours / torch. ONNX Runtime is a benchmark peer only, never a dependency of anima.

Benchmarks are named BM_net/<net>/batch:<n> (CPU) and BM_net_cuda/<net>/batch:<n> (CUDA); the
input is [n, 3, 224, 224] (inception_v3: [n, 3, 299, 299]), float32, eval mode, no autograd; weights
are each side's default initialisation (the time of a dense forward does not depend on the values).

Each (net, batch) is timed on every side back to back (anima's repetitions, then ONNX Runtime's, then
torch's), so a shared machine's load hits all alike; the load average at the start and end is written
too.
Fairness: CPU: torch.set_num_threads(T) with T = --threads, else ANIMA_NUM_THREADS, else nproc; the
anima binary gets ANIMA_NUM_THREADS=T. Both sides: warm-up calls first, then `--repeats` timed
forwards (anima: --benchmark_repetitions=R, each repetition at least one forward, min_time small).
CUDA: cuDNN TF32 off in torch (anima's cuDNN path uses FMA math), cudnn.benchmark off (both sides use
cuDNN's heuristic); torch times come from CUDA events around each forward, anima's likewise, the L2
cache flushed before each forward on both sides (bench/peer_table.py).

Usage:
  /usr/bin/python3 bench/compare_nets.py --bench BUILD/bench/anima_bench_nets --threads 2 \
      --filter 'resnet50|mobilenet_v2' --batches 1 [--out FILE]
  /usr/bin/python3 bench/compare_nets.py --bench build/bench/anima_bench_nets --threads 2 --repeats 10 \
      --ort build/peers/ort --out bench/results/<date>_<machine>_nets_vs_ort_torch.txt
  GPU machine (python3 with CUDA torch):
  python3 bench/compare_nets.py --cuda --bench BUILD/bench/anima_bench_cuda_nets [--out FILE]
On a shared machine whose cores are oversubscribed, torch's OpenMP threads spinning at barriers can
make torch ten times slower; --omp-passive (OMP_WAIT_POLICY=PASSIVE) avoids that (the table says
which policy torch ran with). anima's thread pool does not spin.
Options: --omp-passive, --filter REGEX over net names (vgg16, resnet50, mobilenet_v2, inception_v3), --batches 1,8,
--repeats N (every side), --warmup N (torch and ONNX Runtime), --note TEXT (a line written into the table),
--node PATH (node for ONNX Runtime).
"""
import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time

from peer_table import (iteration_rows, num_threads, print_table, row_ms, run_benchmark_json, run_with_peak_rss,
                        torch_times_ms, use_torch_cuda)

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
    return times, data.get("context", {}), data.get("max_rss_kb", 0)


def torch_net(torchvision, net):
    m = torchvision.models
    if net == "inception_v3":
        # aux_logits as our factory's default; eval() returns the logits only. init_weights=True is the
        # default (truncated normal), as our default initialisation.
        return m.inception_v3(weights=None, aux_logits=True, init_weights=True)
    return getattr(m, net)(weights=None)


def input_size(net):
    return 299 if net == "inception_v3" else 224


def export_onnx(torch, torchvision, net, folder):
    """torchvision's net (default initialisation, eval) as ONNX in folder/<net>.onnx: opset 13, the batch
    dimension dynamic. Returns the path; an existing file is reused."""
    path = os.path.join(folder, net + ".onnx")
    if not os.path.exists(path):
        model = torch_net(torchvision, net).eval()
        x = torch.randn(1, 3, input_size(net), input_size(net))
        tmp = path + ".tmp"
        with torch.no_grad():
            torch.onnx.export(model, x, tmp, opset_version=13, input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        os.replace(tmp, path)
    return path


def ort_times_ms(node, module_dir, model, net, batch, threads, warmup, repeats):
    """ONNX Runtime's times (ms) for model at this batch, its version and its process's peak RSS (KiB)."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ort_time.js")
    size = input_size(net)
    out, _ = run_with_peak_rss([node, script, module_dir, model, str(batch), str(size), str(threads),
                                str(warmup), str(repeats)])
    result = json.loads(out.decode().strip().splitlines()[-1])
    return result["times_ms"], result["version"], result["max_rss_kb"]


def torch_net_times_ms(torch, torchvision, net, batch, device, warmup, repeats):
    model = torch_net(torchvision, net).eval().to(device)
    size = input_size(net)
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
    ap.add_argument("--ort", help="folder with node_modules/onnxruntime-node: time ONNX Runtime too (CPU)")
    ap.add_argument("--onnx-dir", help="where the exported ONNX models are kept (default: a temporary folder)")
    ap.add_argument("--node", default="node", help="node, to run ONNX Runtime (default: node on PATH)")
    ap.add_argument("--out", help="also write the table to this file")
    args = ap.parse_args()

    nets = [n for n in NETS if not args.filter or re.search(args.filter, n)]
    if not nets:
        ap.error("--filter %r matches none of %s" % (args.filter, ", ".join(NETS)))
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    if args.ort and args.cuda:
        ap.error("--ort times ONNX Runtime's CPU build: not with --cuda")
    if args.ort and not os.path.isdir(os.path.join(args.ort, "node_modules", "onnxruntime-node")):
        ap.error("--ort %s: no node_modules/onnxruntime-node there (npm install --ignore-scripts onnxruntime-node)"
                 % args.ort)
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

    onnx_dir = args.onnx_dir
    temp = None
    if args.ort and not onnx_dir:
        temp = tempfile.TemporaryDirectory(prefix="anima_onnx_")
        onnx_dir = temp.name
    if onnx_dir:
        os.makedirs(onnx_dir, exist_ok=True)

    t_start = time.time()
    lines = []
    peers = "torch %s / torchvision %s" % (torch.__version__, torchvision.__version__)
    if args.ort:
        peers = "ONNX Runtime (onnxruntime-node %s) and " + peers
    lines.append("anima vs %s, whole-network inference (eval, no grad, float32), %s, %s"
                 % (peers, device.upper(),
                    ("%d threads on every side" % threads) if device == "cpu" else torch.cuda.get_device_name(0)))
    lines.append("timing: anima %d repetitions (Google Benchmark, wall time), %s %d warm-up + %d timed forwards;"
                 " ratio = ours median / peer median (> 1: anima is slower)"
                 % (args.repeats, "ORT and torch" if args.ort else "torch", args.warmup, args.repeats))
    if args.ort:
        lines.append("spread = max / min of the repetitions; RSS = peak resident memory (MiB) of the process"
                     " that ran the row (anima: the benchmark binary on that row; ORT: node)")
    lines.append("torch OpenMP wait policy: %s" % os.environ.get("OMP_WAIT_POLICY", "unset (libgomp default: spin, then sleep)"))
    if args.note:
        lines.append("note: " + args.note)
    load0 = os.getloadavg()
    lines.append("")
    if args.ort:
        lines.append("%-13s %5s %9s %9s %6s %6s %9s %9s %6s %6s %9s %9s %8s %8s" % (
            "net", "batch", "ours min", "ours med", "spread", "RSS", "ORT min", "ORT med", "spread", "RSS",
            "torch min", "torch med", "ours/ORT", "ours/pt"))
    else:
        lines.append("%-14s %5s %11s %11s %11s %11s %7s" % ("net", "batch", "ours min", "ours med", "torch min",
                                                            "torch med", "ratio"))
    ratios = []
    ort_ratios = []
    ort_version = "?"
    context = {}
    for net in nets:
        for batch in batches:
            # One (net, batch) at a time, every side in turn, so all run under the same machine load.
            ours, context, ours_rss = run_bench(args.bench, "^%s/%s/batch:%d(/|$)" % (prefix, net, batch),
                                                args.repeats, threads)
            if (net, batch) not in ours:
                lines.append("%-14s %5d   (no anima result)" % (net, batch))
                continue
            o = ours[(net, batch)]
            if args.ort:
                model = export_onnx(torch, torchvision, net, onnx_dir)
                r, ort_version, ort_rss = ort_times_ms(args.node, args.ort, model, net, batch, threads,
                                                       args.warmup, args.repeats)
            t = torch_net_times_ms(torch, torchvision, net, batch, device, args.warmup, args.repeats)
            ratio = statistics.median(o) / statistics.median(t)
            ratios.append(ratio)
            if args.ort:
                ort_ratio = statistics.median(o) / statistics.median(r)
                ort_ratios.append(ort_ratio)
                lines.append("%-13s %5d %9.1f %9.1f %6.2f %6.0f %9.1f %9.1f %6.2f %6.0f %9.1f %9.1f %8.2f %8.2f" % (
                    net, batch, min(o), statistics.median(o), max(o) / min(o), ours_rss / 1024, min(r),
                    statistics.median(r), max(r) / min(r), ort_rss / 1024, min(t), statistics.median(t),
                    ort_ratio, ratio))
            else:
                lines.append("%-14s %5d %8.2f ms %8.2f ms %8.2f ms %8.2f ms %7.2f" % (
                    net, batch, min(o), statistics.median(o), min(t), statistics.median(t), ratio))
            print(lines[-1], file=sys.stderr)
    if args.ort:
        lines[0] = lines[0] % ort_version
    lines.insert(1, "host: %s, %s CPUs (%s); anima binary: %s; each (net, batch): anima's repetitions, then %s"
                 % (platform.node() or "?", context.get("num_cpus", "?"), platform.processor() or platform.machine(),
                    args.bench, "ORT's, then torch's" if args.ort else "torch's"))
    if ratios:
        lines.append("")
        if ort_ratios:
            lines.append("ours / ORT over %d rows: min %.2f, median %.2f, max %.2f; rows at or under 1.0: %d"
                         % (len(ort_ratios), min(ort_ratios), statistics.median(ort_ratios), max(ort_ratios),
                            sum(1 for x in ort_ratios if x <= 1.0)))
        lines.append("%s over %d rows: min %.2f, median %.2f, max %.2f (whole run %.0f s)"
                     % ("ours / torch" if ort_ratios else "ratio", len(ratios), min(ratios),
                        statistics.median(ratios), max(ratios), time.time() - t_start))
    load1 = os.getloadavg()
    lines.append("load average (1, 5, 15 min) at start %.2f %.2f %.2f, at end %.2f %.2f %.2f" % (load0 + load1))
    print_table(lines, args.out)
    if temp:
        temp.cleanup()


if __name__ == "__main__":
    main()
