"""Where a loss's forward + backward spends its time: torch.profiler, CPU, one thread.

Profiles skmetric's and pytorch-metric-learning's step (``loss(emb, labels).backward()``)
on the bench_losses.py cases (batch B, dimension 128, classes of 8, PML's class
vectors copied into skmetric) and prints, for each, the operators by self CPU time.

``--count`` prints, for each loss, the number of aten operators dispatched in the
forward and in the backward pass (views and scalar reads included; under a
TorchDispatchMode, so a composite operator counts as the kernels it runs) and the
autograd nodes of the graph, skmetric's next to PML's: on a millisecond step
at batch 256 the per-operator cost (dispatch, allocation, autograd), not the
arithmetic, sets most of the time.

``--per-op-min`` profiles each step on its own and keeps, for every operator
call of the step, its fastest self time over the steps (then sums them per
operator): on a machine shared with other jobs a preempted call inflates one
step, not the minimum, so the breakdown holds at a high load.  The first
line gives the sum over all calls, comparable between the two libraries.

Run: ``.venv/bin/python benchmarks/profile_losses.py [--batches 256 1024] [--only cosface ...]
[--steps 20] [--rows 15] [--per-op-min | --count]``
"""

import argparse
from collections import Counter, defaultdict

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils._python_dispatch import TorchDispatchMode

from bench_losses import cases, step

K = 8


def per_op_min(loss, emb, labels, steps):
    """(total, [(operator, summed fastest self time in us, calls per step)])."""
    runs = []
    for _ in range(steps):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step(loss, None, emb, labels)
        runs.append([(e.name, e.self_cpu_time_total) for e in prof.events()])
    # steps whose call sequence differs (rare) are left out
    length = max(set(map(len, runs)), key=[len(r) for r in runs].count)
    runs = [r for r in runs if len(r) == length]
    per_op = defaultdict(lambda: [0.0, 0])
    for i in range(length):
        name = runs[0][i][0]
        per_op[name][0] += min(r[i][1] for r in runs)
        per_op[name][1] += 1
    rows = sorted(((n, t, c) for n, (t, c) in per_op.items()), key=lambda r: -r[1])
    return sum(r[1] for r in rows), rows


class _CountOps(TorchDispatchMode):
    """Counts the aten operators dispatched while active, by name."""

    def __init__(self):
        super().__init__()
        self.ops = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def _graph_nodes(value):
    """Autograd nodes reachable from ``value.grad_fn`` (AccumulateGrad included)."""
    seen, stack = set(), [value.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(n for n, _ in node.next_functions)
    return seen


def count_ops(loss, emb, labels):
    """(forward ops Counter, backward ops Counter, autograd node names)."""
    emb.grad = None
    with _CountOps() as fwd:
        value = loss(emb, labels)
    nodes = sorted(type(n).__name__ for n in _graph_nodes(value))
    with _CountOps() as bwd:
        value.backward()
    return fwd.ops, bwd.ops, nodes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--only", nargs="*", default=[
        "subcenter_arcface", "soft_triple (tau=0)", "cosface", "normalized_softmax"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rows", type=int, default=15)
    parser.add_argument("--skip-pml", action="store_true")
    parser.add_argument("--count", action="store_true",
                        help="count the aten operators and autograd nodes of a step")
    parser.add_argument("--per-op-min", action="store_true",
                        help="fastest self time of each call over the steps (load-robust)")
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
                if args.count:
                    fwd, bwd, nodes = count_ops(loss, emb, labels)
                    print(f"batch {B:>5} {name:<22} {who:<8} forward {sum(fwd.values()):>3} ops, "
                          f"backward {sum(bwd.values()):>3} ops, {len(nodes):>2} autograd nodes")
                    if args.rows:
                        print(f"    forward:  {dict(fwd.most_common(args.rows))}")
                        print(f"    backward: {dict(bwd.most_common(args.rows))}")
                        print(f"    nodes:    {dict(Counter(nodes))}")
                    continue
                if args.per_op_min:
                    total, rows = per_op_min(loss, emb, labels, args.steps)
                    print(f"\n=== batch {B}, {name}, {who}: {total / 1e3:.3f} ms per step "
                          f"(sum of each call's fastest self time over {args.steps} steps) ===")
                    for op, t, calls in rows[:args.rows]:
                        print(f"  {op[:48]:<48} {t:9.1f} us  x{calls}")
                    continue
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
