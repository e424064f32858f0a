#!/usr/bin/python3
"""Compare anima's training with PyTorch's on the CPU, in the same run: a whole SGD step of
mobilenet_v2 (batch 32) and resnet50 (batch 16) at 224x224, and the data loader's throughput.

anima: bench/train_bench.cpp -> anima_bench_train (BM_train_step/<net>/batch:<n>, BM_loader/workers:<w>).
PyTorch: torchvision.models.<net>() in train mode, torch.optim.SGD(lr 0.01, momentum 0.9,
weight_decay 1e-4), F.cross_entropy, the same shapes; torchvision.datasets.ImageFolder with
RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize and a DataLoader of batch 32 with
the same number of worker processes over the same JPEG files (64 images of 320x240, written here).
Loader rows: one epoch over the files, after a warm-up epoch (torch's workers persist between epochs).

Fairness: float32; torch.set_num_threads(T) and ANIMA_NUM_THREADS=T (T = --threads, else
ANIMA_NUM_THREADS, else nproc); each row timed on both sides back to back; --repeats timed runs each;
min and median; ratio = anima / torch of the medians (> 1: anima slower; for the loader rows the
ratio of the times too). The load average is printed before and after: run it on a quiet machine.

Usage:
  /usr/bin/python3 bench/compare_train.py --bench BUILD/bench/anima_bench_train [--threads 2]
      [--repeats 3] [--filter mobilenet] [--out FILE]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peer_table import (iteration_rows, num_threads, print_table, row_ms, run_benchmark_json,  # noqa: E402
                        torch_times_ms)

STEPS = [("mobilenet_v2", 32), ("resnet50", 16)]
WORKERS = [1, 2]


def write_images(root, count=64):
    """count 320x240 JPEGs in root/images/ (one class folder, as ImageFolder wants)."""
    import numpy as np
    from PIL import Image
    folder = os.path.join(root, "images")
    os.makedirs(folder)
    rng = np.random.default_rng(0)
    for k in range(count):
        y, x = np.mgrid[0:240, 0:320]
        img = np.stack([(x * (k + 3) // 7 + k * 13) % 256, (y * 5 + k) % 256, rng.integers(0, 256, (240, 320))], -1)
        Image.fromarray(img.astype(np.uint8), "RGB").save(os.path.join(folder, "img%02d.jpg" % k), quality=90)
    return root


def torch_step_ms(torch, net, batch, repeats):
    import torch.nn.functional as F
    import torchvision
    torch.manual_seed(0)
    model = getattr(torchvision.models, net)()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(batch, 3, 224, 224)
    y = torch.tensor([(i * 7919) % 1000 for i in range(batch)])

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return torch_times_ms(torch, step, False, 1, repeats)


def torch_loader_ms(torch, root, workers, repeats):
    import torchvision
    import torchvision.transforms as T
    tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    ds = torchvision.datasets.ImageFolder(root, transform=tf)
    loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True, num_workers=workers,
                                         persistent_workers=True)
    for _ in loader:  # warm-up epoch (starts the workers)
        pass
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in loader:
            pass
        times.append((time.perf_counter() - t0) * 1e3)
    return times, len(ds)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--filter", default="")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import torch
    threads = args.threads or num_threads()
    torch.set_num_threads(threads)
    lines = ["anima vs PyTorch %s / torchvision %s: training on the CPU, %d threads, %d repeats" %
             (torch.__version__, __import__("torchvision").__version__, threads, args.repeats),
             "load average at start: %.2f %.2f %.2f" % os.getloadavg(), "",
             "%-36s %10s %10s %10s %10s %7s  %s" % ("row", "anima min", "anima med", "torch min", "torch med",
                                                   "ratio", "throughput (anima / torch)")]
    with tempfile.TemporaryDirectory() as tmp:
        root = write_images(tmp)
        os.environ["ANIMA_BENCH_IMAGES"] = os.path.join(root, "images")
        rows = [("BM_train_step/%s/batch:%d" % (n, b), n, b) for n, b in STEPS]
        rows += [("BM_loader/workers:%d" % w, None, w) for w in WORKERS]
        for name, net, n in rows:
            if args.filter and args.filter not in name:
                continue
            data = run_benchmark_json(args.bench, threads, "^%s/real_time$" % name.replace("/", "/"),
                                      ["--benchmark_repetitions=%d" % args.repeats, "--benchmark_min_time=0.01"])
            ours = [row_ms(b) for b in iteration_rows(data)]
            if net is not None:
                theirs = torch_step_ms(torch, net, n, args.repeats)
                per = lambda ms: "%.2f img/s" % (n * 1e3 / ms)
            else:
                theirs, count = torch_loader_ms(torch, root, n, args.repeats)
                per = lambda ms, c=count: "%.0f img/s" % (c * 1e3 / ms)
            if not ours:
                lines.append("%-36s (anima row failed or missing)" % name)
                continue
            om, tm = statistics.median(ours), statistics.median(theirs)
            lines.append("%-36s %10.1f %10.1f %10.1f %10.1f %7.2f  %s / %s" % (
                name, min(ours), om, min(theirs), tm, om / tm, per(om), per(tm)))
            print(lines[-1], file=sys.stderr)
    lines += ["", "load average at end: %.2f %.2f %.2f" % os.getloadavg()]
    print_table(lines, args.out)


if __name__ == "__main__":
    main()
