"""Run every benchmark script of this folder in turn (``make bench``).

Each script runs its anchor (pytorch-metric-learning, scikit-learn, faiss...)
in its own process on the same data and prints the ratios.  Pass script
names to run only those: ``python benchmarks/run_all.py bench_losses``.
"""

import subprocess
import sys
import time
from pathlib import Path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    here = Path(__file__).resolve().parent
    scripts = sorted(here.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if s.stem in argv or s.name in argv]
    failed = []
    for script in scripts:
        print(f"\n===== {script.name} =====", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.run([sys.executable, str(script)]).returncode
        print(f"===== {script.name}: exit {rc}, {time.perf_counter() - t0:.0f} s", flush=True)
        if rc:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
