"""Where a loss's forward + backward spends its time: torch.profiler, CPU, one thread.

Profiles skmetric's and pytorch-metric-learning's step (``loss(emb, labels).backward()``)
on the bench_losses.py cases (batch B, dimension 128, classes of 8, PML's class
vectors copied into skmetric) and prints, for each, the operators by self CPU time.

Run: ``.venv/bin/python benchmarks/profile_losses.py [--batches 256 1024] [--only cosface ...]
[--steps 20] [--rows 15]``
"""

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from bench_losses import cases, step

K = 8


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--only", nargs="*", default=[
        "subcenter_arcface", "soft_triple (tau=0)", "cosface", "normalized_softmax"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rows", type=int, default=15)
    parser.add_argument("--skip-pml", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for B in args.batches:
        torch.manual_seed(0)
        labels = torch.arange(B // K).repeat_interleave(K)[torch.randperm(B)]
        emb = torch.randn(B, 128).requires_grad_(True)
        for name, ours, theirs, _, _ in cases(B):
            if name not in args.only:
                continue
            for who, loss in (("skmetric", ours), ("PML", theirs)):
                if who == "PML" and args.skip_pml:
                    continue
                for _ in range(3):
                    step(loss, None, emb, labels)
                with profile(activities=[ProfilerActivity.CPU]) as prof:
                    for _ in range(args.steps):
                        step(loss, None, emb, labels)
                total = sum(e.self_cpu_time_total for e in prof.key_averages()) / args.steps
                print(f"\n=== batch {B}, {name}, {who}: {total / 1e3:.3f} ms per step "
                      f"(profiled, {args.steps} steps) ===")
                print(prof.key_averages().table(
                    sort_by="self_cpu_time_total", row_limit=args.rows,
                    max_name_column_width=45))


if __name__ == "__main__":
    main()
