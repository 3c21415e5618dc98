"""Forward+backward time of skmetric's losses vs pytorch-metric-learning's.

Batches of 256 and 1024, embedding size 128, classes of 8 samples (the P x K
batches the estimators draw: 32 and 128 classes), float32, CPU, one process.  Both implementations get the
same tensors (proxy and class weights copied from PML into skmetric), and the
script first checks that the loss values and embedding gradients agree
(max abs differences printed).  Each timing repeats
``loss(emb, labels).backward()`` (miner included where named) after warm-up,
skmetric and PML alternating in rounds, so that load from other processes
hits both alike.

Times are the CPU time of the (single) computing thread by default
(``--clock thread``): on a machine shared with other jobs, wall-clock time
also counts the slices the scheduler gives to other processes, which at a
load of 5 per core swamps a millisecond step; ``--clock wall`` measures
wall-clock time (needed with ``--threads`` other than 1).

"best ratio" is PML's fastest step / skmetric's fastest step (> 1: skmetric
is faster): on a shared machine the fastest repeat is the one least
disturbed.  "paired ratio" gives the spread: PML / skmetric within each
round, as median [first quartile, third quartile].  One thread by default,
so that the ratio measures the implementations rather than OpenMP
scheduling (``--threads 0`` keeps torch's default).

"floor" (proxy, margin-softmax and contrastive losses) is the fastest run
of the matrix products that any implementation of the loss must do, at the
same shapes: the logits product and the two products of its backward (for
contrastive: the Gram matrix and one product back), written into buffers
allocated once.  "PML/floor" is the
ratio a loss made of nothing else would reach: a row whose best ratio
stays below 1.5x is bounded by that.

PML's losses that build a (positive pairs x negative pairs) matrix (NT-Xent,
lifted structure, tuplet margin) or list every triplet (triplet margin,
margin loss) need tens of GB at batch 1024 and are marked "skipped" there;
NT-Xent at batch 256 takes seconds per PML step, so slow PML cases run
fewer repeats (``--slow-repeats``).

"faults" is the minor page faults per timed step, ours / PML's (a fresh
multi-megabyte tensor is new pages once glibc has handed the previous step's
back to the system, which it does when more than about twice its largest
recent block is free at the top of its heap; each fault is kernel time on the
thread's clock).  ``--keep-freed-memory`` sets glibc's trim and mmap
thresholds (``mallopt``) so that freed memory stays in the heap for both
libraries: the ratio of the arithmetic alone, without either side's faults.

Run: ``.venv/bin/python benchmarks/bench_losses.py [--repeats 30] [--threads 1] [--clock thread]
[--batches 256 1024] [--keep-freed-memory]``
"""

import argparse
import ctypes
import resource
import statistics
import time

import torch
from pytorch_metric_learning import losses as pml
from pytorch_metric_learning import miners as pml_miners

from skmetric import losses as skm
from skmetric import miners as skm_miners

D, K = 128, 8
CLOCK = time.perf_counter


def _with_params(ours, theirs, our_attr, their_attr):
    with torch.no_grad():
        getattr(ours, our_attr).copy_(getattr(theirs, their_attr))
    return ours, theirs


def cases(B):
    """(name, skmetric loss, PML loss, miners or None, largest batch PML can run)."""
    C = B // K
    big = 1024
    yield "contrastive", skm.ContrastiveLoss(), pml.ContrastiveLoss(), None, big
    yield "triplet_margin (all)", skm.TripletMarginLoss(), pml.TripletMarginLoss(), None, 256
    yield (
        "triplet_margin swap", skm.TripletMarginLoss(swap=True),
        pml.TripletMarginLoss(swap=True), None, 256,
    )
    yield (
        "triplet + batch_hard",
        skm.TripletMarginLoss(margin=0.2),
        pml.TripletMarginLoss(margin=0.2),
        (skm_miners.BatchHardMiner(), pml_miners.BatchHardMiner()),
        big,
    )
    yield "multi_similarity", skm.MultiSimilarityLoss(), pml.MultiSimilarityLoss(), None, big
    yield (
        "multi_similarity + miner",
        skm.MultiSimilarityLoss(),
        pml.MultiSimilarityLoss(),
        (skm_miners.MultiSimilarityMiner(), pml_miners.MultiSimilarityMiner()),
        big,
    )
    yield "circle", skm.CircleLoss(), pml.CircleLoss(), None, big
    yield "lifted_structure", skm.LiftedStructureLoss(), pml.LiftedStructureLoss(), None, 256
    yield (
        "generalized_lifted_struct", skm.GeneralizedLiftedStructureLoss(),
        pml.GeneralizedLiftedStructureLoss(), None, big,
    )
    yield "npairs", skm.NPairsLoss(), pml.NPairsLoss(), None, big
    yield "ntxent", skm.NTXentLoss(), pml.NTXentLoss(), None, 256
    yield "supcon", skm.SupConLoss(), pml.SupConLoss(), None, big
    yield (
        "margin (learn beta)", skm.MarginLoss(), pml.MarginLoss(learn_beta=True), None, 256
    )
    yield "tuplet_margin", skm.TupletMarginLoss(), pml.TupletMarginLoss(), None, 256
    yield (
        "snr_contrastive", skm.SNRContrastiveLoss(),
        pml.SignalToNoiseRatioContrastiveLoss(), None, big,
    )
    yield "tcm", skm.TCMLoss(), pml.ThresholdConsistentMarginLoss(), None, big
    yield (
        "pair_margin miner + contr.",
        skm.ContrastiveLoss(),
        pml.ContrastiveLoss(),
        (skm_miners.PairMarginMiner(), pml_miners.PairMarginMiner()),
        big,
    )
    yield (
        "easy/semihard miner + trip.",
        skm.TripletMarginLoss(margin=0.2),
        pml.TripletMarginLoss(margin=0.2),
        (skm_miners.BatchEasyHardMiner(), pml_miners.BatchEasyHardMiner()),
        big,
    )
    proxy = [
        ("proxy_anchor", skm.ProxyAnchorLoss, pml.ProxyAnchorLoss, "proxies", "proxies", {}),
        ("proxy_nca", skm.ProxyNCALoss, pml.ProxyNCALoss, "proxies", "proxies", {}),
        ("arcface", skm.ArcFaceLoss, pml.ArcFaceLoss, "W", "W", {}),
        ("cosface", skm.CosFaceLoss, pml.CosFaceLoss, "W", "W", {}),
        ("subcenter_arcface", skm.SubCenterArcFaceLoss, pml.SubCenterArcFaceLoss, "W", "W", {}),
        ("sphereface", skm.SphereFaceLoss, pml.SphereFaceLoss, "W", "W", {}),
        ("soft_triple (tau=0)", skm.SoftTripleLoss, pml.SoftTripleLoss, "fc", "fc", {"tau": 0}),
        ("normalized_softmax", skm.NormalizedSoftmaxLoss, pml.NormalizedSoftmaxLoss, "weight",
         "W", {}),
    ]
    for name, ours, theirs, a, b, extra in proxy:
        yield (
            name,
            *_with_params(
                ours(num_classes=C, embedding_size=D, **extra),
                theirs(num_classes=C, embedding_size=D), a, b,
            ),
            None,
            big,
        )


def step(loss, miner, emb, labels):
    emb.grad = None
    indices = miner(emb, labels) if miner is not None else None
    value = loss(emb, labels, indices)
    value.backward()
    return value.detach(), emb.grad


def timed(ours, theirs, emb, labels, repeats, warmup=3):
    """Per-round times of the two steps, run alternately so that load drifts
    (other processes on the machine) hit both alike; the order flips every
    round (ours first, then theirs first), so that neither side always runs
    in the cache the other one's step leaves behind."""
    for _ in range(warmup):
        step(*ours, emb, labels)
        step(*theirs, emb, labels)
    t_ours, t_theirs = [], []
    faults = [0, 0]
    pair = ((ours, t_ours, 0), (theirs, t_theirs, 1))
    for r in range(repeats):
        for fn, out, side in (pair if r % 2 == 0 else pair[::-1]):
            f0 = _faults()
            t0 = CLOCK()
            step(*fn, emb, labels)
            out.append(CLOCK() - t0)
            faults[side] += _faults() - f0
    return t_ours, t_theirs, [f / repeats for f in faults]


def _faults():
    return resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)).ru_minflt


def keep_freed_memory():
    """glibc only: no heap trimming and no mmap below 32 MiB (freed memory stays in the heap)."""
    libc = ctypes.CDLL(None)
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 32 << 20)
                and libc.mallopt(m_trim_threshold, 2**31 - 1))


def quartiles(values):
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return q[0], q[1], q[2]


# vectors per class of the losses with class vectors (the logits product)
VECTORS = {
    "proxy_anchor": 1, "proxy_nca": 1, "arcface": 1, "cosface": 1, "subcenter_arcface": 3,
    "sphereface": 1, "soft_triple (tau=0)": 10, "normalized_softmax": 1,
}


def floor_time(name, B, repeats):
    """Fastest run of the matrix products the loss cannot avoid (None if not listed),
    into buffers written before (no page faults on fresh outputs)."""
    x = torch.randn(B, D)
    if name in VECTORS:
        W = torch.randn(B // K * VECTORS[name], D)
        G = torch.randn(B, W.shape[0])
        out = torch.empty_like(G), torch.empty_like(x), torch.empty_like(W)

        def run():
            torch.mm(x, W.T, out=out[0])
            torch.mm(G, W, out=out[1])
            torch.mm(G.T, x, out=out[2])
    elif name == "contrastive":
        S = torch.randn(B, B)
        out = torch.empty_like(S), torch.empty_like(x)

        def run():
            torch.mm(x, x.T, out=out[0])
            torch.mm(S, x, out=out[1])
    else:
        return None
    for _ in range(3):
        run()
    times = []
    for _ in range(repeats):
        t0 = CLOCK()
        run()
        times.append(CLOCK() - t0)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--slow-repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--only", nargs="*", default=None, help="case names to run")
    parser.add_argument("--clock", choices=["thread", "wall"], default="thread")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="glibc keeps freed memory (no page faults on fresh tensors)")
    args = parser.parse_args()
    if args.keep_freed_memory and not keep_freed_memory():
        parser.error("--keep-freed-memory needs glibc's mallopt")
    global CLOCK
    CLOCK = time.thread_time if args.clock == "thread" else time.perf_counter
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"dim {D}, classes of {K}, float32, CPU, {torch.get_num_threads()} threads, "
        f"{args.clock} clock, "
        f"torch {torch.__version__}, fastest of {args.repeats} rounds ({args.slow_repeats} when "
        "a PML step takes over 0.5 s); times in ms are the fastest step"
        + ("; glibc keeps freed memory" if args.keep_freed_memory else "")
    )
    header = (
        f"{'batch':>5} {'loss':<28} {'skmetric ms':>11} {'PML ms':>9} {'best ratio':>10} "
        f"{'paired ratio':>20} {'floor ms':>9} {'PML/floor':>9} {'|dvalue|':>9} {'|dgrad|':>9} "
        f"{'faults':>11}"
    )
    print(header)
    print("-" * len(header))
    for B in args.batches:
        torch.manual_seed(0)
        labels = torch.arange(B // K).repeat_interleave(K)[torch.randperm(B)]
        emb = torch.randn(B, D).requires_grad_(True)
        for name, ours, theirs, miners, pml_max in cases(B):
            if args.only and name not in args.only:
                continue
            our_miner, their_miner = miners if miners else (None, None)
            torch.manual_seed(1)
            v1, g1 = step(ours, our_miner, emb, labels)
            g1 = g1.clone()
            if B > pml_max:
                t = timed_one((ours, our_miner), emb, labels, args.repeats)
                print(
                    f"{B:>5} {name:<28} {1e3 * t:>11.3f} {'skipped':>9} "
                    f"{'(PML: too much memory)':>30}", flush=True,
                )
                continue
            torch.manual_seed(1)
            t0 = CLOCK()
            v2, g2 = step(theirs, their_miner, emb, labels)
            slow = CLOCK() - t0 > 0.5
            dv = (v1 - v2).abs().item()
            dg = (g1 - g2).abs().max().item()
            t_ours, t_theirs, faults = timed(
                (ours, our_miner), (theirs, their_miner), emb, labels,
                args.slow_repeats if slow else args.repeats, warmup=1 if slow else 3,
            )
            b_ours, b_theirs = min(t_ours), min(t_theirs)
            q1, q2, q3 = quartiles([b / a for a, b in zip(t_ours, t_theirs)])
            floor = floor_time(name, B, args.repeats)
            floor_cols = (
                f"{1e3 * floor:>9.3f} {b_theirs / floor:>8.2f}x" if floor else f"{'':>9} {'':>9}"
            )
            print(
                f"{B:>5} {name:<28} {1e3 * b_ours:>11.3f} {1e3 * b_theirs:>9.3f} "
                f"{b_theirs / b_ours:>9.2f}x {q2:>6.2f}x [{q1:.2f}, {q3:.2f}] "
                f"{floor_cols} {dv:>9.1e} {dg:>9.1e} {faults[0]:>5.0f}/{faults[1]:<5.0f}",
                flush=True,
            )


def timed_one(fn, emb, labels, repeats):
    for _ in range(3):
        step(*fn, emb, labels)
    times = []
    for _ in range(repeats):
        t0 = CLOCK()
        step(*fn, emb, labels)
        times.append(CLOCK() - t0)
    return min(times)


if __name__ == "__main__":
    main()
