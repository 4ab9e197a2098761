"""Epoch time of SpaIM training before and after scanpy's clustering path.

scanpy's numba kernels can change the OpenMP thread count torch uses; spaim restores it
(:func:`spaim._threads.preserve_torch_threads`). Run by hand, ideally as
``OMP_NUM_THREADS=1 python benchmarks/torch_threads.py``; results are appended to
``benchmarks/results/threads.txt``.
"""

import time
from pathlib import Path

import torch

from spaim import datasets
from spaim.model.networks import SpaIMModule
from spaim.preprocessing import leiden_clusters
from spaim.training import TrainingPlan, train_module


def epoch_seconds(epochs: int = 2) -> float:
    torch.manual_seed(0)
    module = SpaIMModule(1000, 11)
    start = time.perf_counter()
    train_module(module, torch.rand(558, 1000), torch.rand(558, 11), TrainingPlan(max_epochs=epochs), progress=False)
    return (time.perf_counter() - start) / epochs


if __name__ == "__main__":
    lines = [f"# {time.strftime('%Y-%m-%d %H:%M')} Visium-sized problem (1,000 cells, 558 genes), s per epoch"]
    epoch_seconds(1)  # warm-up
    lines.append(f"before clustering: {epoch_seconds():.3f} s, {torch.get_num_threads()} torch threads")
    _, sc = datasets.load("merfish_hypothalamus")
    leiden_clusters(sc.X)
    lines.append(f"after clustering:  {epoch_seconds():.3f} s, {torch.get_num_threads()} torch threads")
    out = Path(__file__).parent / "results" / "threads.txt"
    out.parent.mkdir(exist_ok=True)
    with out.open("a") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))
