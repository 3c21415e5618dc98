"""Forward+backward time of skmetric's losses vs pytorch-metric-learning's.

Batch 256, embedding size 128, 32 classes x 8 samples (the P x K batches the
estimators draw), float32, CPU, one process.  Both implementations get the
same tensors (proxy and class weights copied from PML into skmetric), and the
script first checks that the loss values and embedding gradients agree
(max abs differences printed).  Each timing is the median of several
repeats of ``loss(emb, labels).backward()`` (miner included where named)
after warm-up, skmetric and PML alternating.

"ratio" is PML median time / skmetric median time (> 1: skmetric is
faster); "best ratio" the same with the fastest repeat of each, which is
less sensitive to other processes on the machine.  One thread by default,
so that the ratio measures the implementations rather than OpenMP
scheduling on a shared machine (``--threads 0`` keeps torch's default).

Run: ``.venv/bin/python benchmarks/bench_losses.py [--repeats 30] [--threads 1]``
"""

import argparse
import statistics
import time

import torch
from pytorch_metric_learning import losses as pml
from pytorch_metric_learning import miners as pml_miners

from skmetric import losses as skm
from skmetric import miners as skm_miners

B, D, C = 256, 128, 32


def _with_params(ours, theirs, our_attr, their_attr):
    with torch.no_grad():
        getattr(ours, our_attr).copy_(getattr(theirs, their_attr))
    return ours, theirs


def cases():
    yield "contrastive", skm.ContrastiveLoss(), pml.ContrastiveLoss(), None
    yield "triplet_margin (all)", skm.TripletMarginLoss(), pml.TripletMarginLoss(), None
    yield "triplet_margin swap", skm.TripletMarginLoss(swap=True), pml.TripletMarginLoss(swap=True), None
    yield (
        "triplet + batch_hard",
        skm.TripletMarginLoss(margin=0.2),
        pml.TripletMarginLoss(margin=0.2),
        (skm_miners.BatchHardMiner(), pml_miners.BatchHardMiner()),
    )
    yield "multi_similarity", skm.MultiSimilarityLoss(), pml.MultiSimilarityLoss(), None
    yield (
        "multi_similarity + miner",
        skm.MultiSimilarityLoss(),
        pml.MultiSimilarityLoss(),
        (skm_miners.MultiSimilarityMiner(), pml_miners.MultiSimilarityMiner()),
    )
    yield "circle", skm.CircleLoss(), pml.CircleLoss(), None
    yield (
        "proxy_anchor",
        *_with_params(
            skm.ProxyAnchorLoss(num_classes=C, embedding_size=D),
            pml.ProxyAnchorLoss(C, D), "proxies", "proxies",
        ),
        None,
    )
    yield (
        "arcface",
        *_with_params(
            skm.ArcFaceLoss(num_classes=C, embedding_size=D), pml.ArcFaceLoss(C, D), "W", "W"
        ),
        None,
    )
    yield (
        "normalized_softmax",
        *_with_params(
            skm.NormalizedSoftmaxLoss(num_classes=C, embedding_size=D),
            pml.NormalizedSoftmaxLoss(C, D), "weight", "W",
        ),
        None,
    )


def step(loss, miner, emb, labels):
    emb.grad = None
    indices = miner(emb, labels) if miner is not None else None
    value = loss(emb, labels, indices)
    value.backward()
    return value.detach(), emb.grad


def timed(ours, theirs, emb, labels, repeats):
    """Median times of the two steps, run alternately so that load drifts
    (other processes on the machine) hit both alike."""
    for _ in range(3):
        step(*ours, emb, labels)
        step(*theirs, emb, labels)
    t_ours, t_theirs = [], []
    for _ in range(repeats):
        for fn, out in ((ours, t_ours), (theirs, t_theirs)):
            t0 = time.perf_counter()
            step(*fn, emb, labels)
            out.append(time.perf_counter() - t0)
    return (statistics.median(t_ours), min(t_ours)), (statistics.median(t_theirs), min(t_theirs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    labels = torch.arange(C).repeat_interleave(B // C)[torch.randperm(B)]
    emb = torch.randn(B, D).requires_grad_(True)
    print(
        f"batch {B}, dim {D}, {C} classes x {B // C}, float32, CPU, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"median of {args.repeats}"
    )
    header = (
        f"{'loss':<26} {'skmetric ms':>11} {'PML ms':>9} {'ratio':>7} "
        f"{'best ratio':>10} {'|dvalue|':>9} {'|dgrad|':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, ours, theirs, miners in cases():
        our_miner, their_miner = miners if miners else (None, None)
        v1, g1 = step(ours, our_miner, emb, labels)
        g1 = g1.clone()
        v2, g2 = step(theirs, their_miner, emb, labels)
        dv = (v1 - v2).abs().item()
        dg = (g1 - g2).abs().max().item()
        t_ours, t_theirs = timed(
            (ours, our_miner), (theirs, their_miner), emb, labels, args.repeats
        )
        (t_ours, b_ours), (t_theirs, b_theirs) = t_ours, t_theirs
        print(
            f"{name:<26} {1e3 * t_ours:>11.3f} {1e3 * t_theirs:>9.3f} "
            f"{t_theirs / t_ours:>6.2f}x {b_theirs / b_ours:>9.2f}x {dv:>9.1e} {dg:>9.1e}"
        )


if __name__ == "__main__":
    main()
