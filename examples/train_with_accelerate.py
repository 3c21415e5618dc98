"""
Train MetricLearner through Hugging Face Accelerate
===================================================

Runs as is on a CPU with one process (``python examples/train_with_accelerate.py``)
and, unchanged, on several GPUs or machines::

    accelerate config                        # once: GPUs, mixed precision
    accelerate launch --num_processes 4 examples/train_with_accelerate.py

Each process trains on its shard of every batch and the gradients are
averaged; only the main process prints.  Needs the ``accelerate`` extra
(``pip install "skmetric[accelerate]"``).
"""

import argparse

from accelerate import Accelerator
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from skmetric import MetricLearner


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train MetricLearner through Accelerate.")
    parser.add_argument("--mixed-precision", default="no", choices=["no", "fp16", "bf16"])
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)

    accelerator = Accelerator(mixed_precision=args.mixed_precision)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    learner = MetricLearner(
        max_epochs=args.epochs, accelerator=accelerator, random_state=0
    ).fit(X_train, y_train)
    if accelerator.is_main_process:
        knn = KNeighborsClassifier(n_neighbors=5).fit(learner.transform(X_train), y_train)
        acc = knn.score(learner.transform(X_test), y_test)
        print(f"{accelerator.num_processes} process(es) on {accelerator.device}, "
              f"mixed precision {args.mixed_precision!r}: held-out 5-NN accuracy {acc:.3f}")


if __name__ == "__main__":
    main()
