"""MetricLearner(module="linear") against scikit-learn's NCA (issue 18, goal 3).

Protocol, per data set: at most 5,000 rows (stratified subsample, seed 0),
70/30 stratified split, standardised on the training split; 5-NN accuracy
on raw features, on scikit-learn's ``NeighborhoodComponentsAnalysis``
(defaults) and on ``MetricLearner(module="linear")`` (defaults); fit times
of both measured in this process on one thread each (torch's and the BLAS
under NCA's numpy), interleaved (the order alternates between repeats; the
minimum of 41 repeats up to 500 training rows, of 3 up to 1,500).  Wall-clock
seconds and their ratio, and the ratio of the CPU seconds of the process
(``time.process_time``), which other jobs on a shared machine disturb less.

KEEL ``letter`` (20,000 rows, 14,000 training rows) is the scale row: each
model is fitted in a fresh child process, which reports its fit time,
accuracy and peak resident memory (``ru_maxrss``).  NCA's child runs under
an address-space cap (``--nca-mem-gib``, default 8) and a time limit
(``--nca-timeout``, default 600 s): its O(n^2) float64 matrices may not
fit; the row then says what happened.

Usage::

    python benchmarks/bench_linear_nca.py --quick   # iris, wine, breast_cancer, contraceptive
    python benchmarks/bench_linear_nca.py           # the suite + letter
    python benchmarks/bench_linear_nca.py --no-letter
    python benchmarks/bench_linear_nca.py --letter-only --nca-max-iter 2
    python benchmarks/bench_linear_nca.py --profile iris wine  # where the time goes

``--profile`` times the parts of ``MetricLearner(module="linear").fit`` (CPU
milliseconds, each part's minimum over 15 fits, one thread) by wrapping the methods of
the fit loop with timers, beside NCA's whole fit: the sum of the module's
forward and the loss's forward and backward passes over all evaluations, the
skorch training steps (the L-BFGS step: its evaluations and its own
per-iteration work), the data validation, the building of module and loss,
and the rest of the loop.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SKLEARN_SETS = ["iris", "wine", "breast_cancer", "digits"]
KEEL_SETS = ["penbased", "satimage", "contraceptive", "splice", "banana", "phoneme",
             "twonorm", "magic"]
QUICK_SETS = ["iris", "wine", "breast_cancer", "contraceptive"]
MAX_ROWS = 5000


def load(name):
    if name in SKLEARN_SETS:
        from sklearn import datasets

        return getattr(datasets, f"load_{name}")(return_X_y=True)
    from _keel import load_keel

    return load_keel(name)


def split(name, max_rows=MAX_ROWS):
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load(name)
    if max_rows is not None and len(X) > max_rows:
        X, _, y, _ = train_test_split(X, y, train_size=max_rows, stratify=y, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y,
                                              random_state=0)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def knn_accuracy(Z_tr, y_tr, Z_te, y_te):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=5).fit(Z_tr, y_tr).score(Z_te, y_te)


def make_model(kind, nca_max_iter=50):
    if kind == "nca":
        from sklearn.neighbors import NeighborhoodComponentsAnalysis

        return NeighborhoodComponentsAnalysis(max_iter=nca_max_iter, random_state=0)
    from skmetric import MetricLearner

    return MetricLearner(module="linear", random_state=0)


def fit_timed(kind, X_tr, y_tr, nca_max_iter=50, cpu=None):
    """``(model, wall seconds)`` of one fit; ``cpu``: a list that gets its CPU seconds.

    Both fits run on one thread: torch's (``torch.set_num_threads(1)``) and
    the BLAS under numpy that NCA uses (``threadpool_limits(1)``).
    """
    from threadpoolctl import threadpool_limits

    model = make_model(kind, nca_max_iter)
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        start, start_cpu = time.perf_counter(), time.process_time()
        model.fit(X_tr, y_tr)
        wall = time.perf_counter() - start
        if cpu is not None:
            cpu.append(time.process_time() - start_cpu)
        return model, wall


def child(kind, name, max_rows, nca_max_iter=50):
    """Fit one model in this (fresh) process; print a JSON line."""
    if kind == "ml":
        import torch

        torch.set_num_threads(1)
    X_tr, X_te, y_tr, y_te = split(name, max_rows)
    model, seconds = fit_timed(kind, X_tr, y_tr, nca_max_iter)
    acc = knn_accuracy(model.transform(X_tr), y_tr, model.transform(X_te), y_te)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    print(json.dumps({"seconds": seconds, "acc": acc, "peak_gib": peak,
                      "n_train": len(X_tr)}))


def run_child(kind, name, max_rows, *, mem_gib=None, timeout=None, nca_max_iter=50):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", kind, name,
           "--max-rows", str(max_rows), "--nca-max-iter", str(nca_max_iter)]

    def limit():
        if mem_gib is not None:
            cap = int(mem_gib * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    start = time.perf_counter()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                             preexec_fn=limit, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"not done after {timeout} s"}
    wall = time.perf_counter() - start
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        err = out.stderr.strip().splitlines()
        last = err[-1] if err else f"exit code {out.returncode}"
        return {"error": f"failed after {wall:.0f} s: {last[:80]}"}
    return json.loads(lines[-1])


def profile(sets, repeats=15):
    import functools

    import torch
    from threadpoolctl import threadpool_limits

    import skmetric._embedding as emb_mod
    import skmetric._training._engine as engine
    import skmetric.losses.nca as nca_mod
    import skmetric.nn._embedders as nn_mod

    torch.set_num_threads(1)
    parts = {}
    parts_order = [
        ("fit", None, None),
        ("  validate X, y", engine.TorchTrainingMixin, "_validate_classification_data"),
        ("  build module and loss", emb_mod.EmbeddingLearnerMixin, "_build_blocks"),
        ("  skorch initialize", engine._EngineNet, "initialize"),
        ("  training loop (skorch)", engine._EngineNet, "partial_fit"),
        ("    callbacks (notify)", engine._EngineNet, "notify"),
        ("    L-BFGS steps", engine._EngineNet, "train_step"),
        ("      evaluations", engine._EngineNet, "_lean_step_single"),
        ("        module forward", nn_mod.ResidualEmbedder, "forward"),
        ("        NCA loss forward", nca_mod.NCALoss, "forward"),
        ("        NCA loss backward", getattr(nca_mod, "_SquaredNCA", None), "backward"),
        ("  collapse check", engine, "embedding_spread"),
    ]

    def timed(func, key):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            start = time.process_time()
            try:
                return func(*args, **kwargs)
            finally:
                parts[key] = parts.get(key, 0.0) + time.process_time() - start
        return wrapper

    def timed_result(func, key):
        # ``_lean_step_single`` returns the function of one evaluation: timed
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            evaluate = func(*args, **kwargs)
            return None if evaluate is None else timed(evaluate, key)
        return wrapper

    saved = []
    for key, owner, name in parts_order:
        if owner is not None and hasattr(owner, name):
            saved.append((owner, name, getattr(owner, name)))
            wrap = timed_result if name == "_lean_step_single" else timed
            setattr(owner, name, wrap(getattr(owner, name), key))
    try:
        for name in sets:
            X_tr, _, y_tr, _ = split(name)
            best, evals = {}, None
            for _ in range(repeats):
                parts.clear()
                cpu = []
                model, _ = fit_timed("ml", X_tr, y_tr, cpu=cpu)
                parts["fit"] = cpu[0]
                with threadpool_limits(1):
                    start = time.process_time()
                    make_model("nca").fit(X_tr, y_tr)
                    parts["NCA fit (scikit-learn)"] = time.process_time() - start
                best = {k: min(v, best.get(k, v)) for k, v in parts.items()}
                opt = model.net_.optimizer_
                evals = opt.state[opt.param_groups[0]["params"][0]]["func_evals"]
            print(f"{name}: {len(X_tr)} rows, {evals} loss evaluations "
                  f"(CPU ms, minimum of {repeats} fits)")
            for key, _, _ in parts_order + [("NCA fit (scikit-learn)", None, None)]:
                print(f"  {key:<30}{best.get(key, 0.0) * 1000:>8.1f}")
    finally:
        for owner, name, func in saved:
            setattr(owner, name, func)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-letter", action="store_true")
    parser.add_argument("--sets", nargs="*")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "SET"))
    parser.add_argument("--max-rows", type=int, default=MAX_ROWS)
    parser.add_argument("--nca-mem-gib", type=float, default=8.0)
    parser.add_argument("--nca-timeout", type=float, default=600.0)
    parser.add_argument("--nca-max-iter", type=int, default=50,
                        help="NCA's max_iter on letter (scikit-learn's default: 50)")
    parser.add_argument("--letter-only", action="store_true")
    parser.add_argument("--profile", nargs="+", metavar="SET",
                        help="time the parts of the linear fit on these sets")
    args = parser.parse_args()
    if args.profile:
        profile(args.profile)
        return
    if args.child:
        child(*args.child, None if args.max_rows <= 0 else args.max_rows,
              args.nca_max_iter)
        return
    if args.letter_only:
        letter(args)
        return

    import torch

    torch.set_num_threads(1)
    sets = args.sets or (QUICK_SETS if args.quick else SKLEARN_SETS + KEEL_SETS)
    # warm-up: first fits pay one-off import and initialisation costs
    X_tr, _, y_tr, _ = split("iris")
    fit_timed("ml", X_tr, y_tr)
    fit_timed("nca", X_tr, y_tr)

    header = (f"{'set':<14}{'n_train':>8}{'d':>5} | {'raw':>6}{'NCA':>7}{'linear':>8} | "
              f"{'NCA s':>8}{'lin s':>8}{'ratio':>7} | {'cpu ratio':>9}")
    print(header)
    print("-" * len(header))
    rows = []
    for name in sets:
        X_tr, X_te, y_tr, y_te = split(name)
        # fits of tens of milliseconds: their minimum over 41 repeats (a
        # loaded machine stretches single runs many times over; with 15, the
        # minima of the 10-20 ms fits of wine moved its ratio between 0.66 and
        # 1.40 from run to run on the quiet machine)
        repeats = 41 if len(X_tr) <= 500 else 3 if len(X_tr) <= 1500 else 1
        times = {"nca": [], "ml": []}
        cpu = {"nca": [], "ml": []}
        models = {}
        for r in range(repeats):
            order = ("nca", "ml") if r % 2 == 0 else ("ml", "nca")
            for kind in order:
                models[kind], seconds = fit_timed(kind, X_tr, y_tr, cpu=cpu[kind])
                times[kind].append(seconds)
        acc = {"raw": knn_accuracy(X_tr, y_tr, X_te, y_te)}
        for kind, model in models.items():
            acc[kind] = knn_accuracy(model.transform(X_tr), y_tr, model.transform(X_te), y_te)
        t_nca, t_ml = min(times["nca"]), min(times["ml"])
        c_ratio = min(cpu["ml"]) / min(cpu["nca"])
        rows.append((acc["raw"], acc["nca"], acc["ml"], t_nca, t_ml, c_ratio))
        print(f"{name:<14}{len(X_tr):>8}{X_tr.shape[1]:>5} | {acc['raw']:>6.3f}"
              f"{acc['nca']:>7.3f}{acc['ml']:>8.3f} | {t_nca:>8.2f}{t_ml:>8.2f}"
              f"{t_ml / t_nca:>7.2f} | {c_ratio:>9.2f}", flush=True)
    mean = np.mean(rows, axis=0)
    print("-" * len(header))
    print(f"{'mean':<27} | {mean[0]:>6.3f}{mean[1]:>7.3f}{mean[2]:>8.3f} | "
          f"{'':>8}{'':>8}{np.exp(np.mean(np.log([r[4] / r[3] for r in rows]))):>7.2f} | "
          f"{np.exp(np.mean(np.log([r[5] for r in rows]))):>9.2f}  (ratios: geometric mean)")
    wins = sum(r[2] >= r[1] for r in rows)
    print(f"linear >= NCA on {wins}/{len(rows)} sets; linear >= raw on "
          f"{sum(r[2] >= r[0] for r in rows)}/{len(rows)}; "
          f"fit time <= NCA's on {sum(r[4] <= r[3] for r in rows)}/{len(rows)} "
          f"(CPU time: {sum(r[5] <= 1 for r in rows)}/{len(rows)})")

    if not (args.quick or args.no_letter):
        print()
        letter(args)


def letter(args):
    print("letter, all 20,000 rows (14,000 train), each fit in a fresh process:")
    X_tr, X_te, y_tr, y_te = split("letter", None)
    print(f"  raw 5-NN accuracy {knn_accuracy(X_tr, y_tr, X_te, y_te):.3f}")
    for kind, label, kwargs in [
        ("ml", "MetricLearner(module='linear')", {}),
        ("nca", f"NCA max_iter={args.nca_max_iter} (cap {args.nca_mem_gib:g} GiB, "
                f"{args.nca_timeout:g} s)",
         {"mem_gib": args.nca_mem_gib, "timeout": args.nca_timeout,
          "nca_max_iter": args.nca_max_iter}),
    ]:
        res = run_child(kind, "letter", 0, **kwargs)
        if "error" in res:
            print(f"  {label:<36} {res['error']}", flush=True)
        else:
            print(f"  {label:<36} accuracy {res['acc']:.3f}  fit {res['seconds']:.1f} s  "
                  f"peak RSS {res['peak_gib']:.2f} GiB", flush=True)


if __name__ == "__main__":
    main()
