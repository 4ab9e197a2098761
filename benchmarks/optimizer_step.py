"""Time one SpaIM training step (forward, backward, Adam step) with each Adam implementation.

Run by hand: ``python benchmarks/optimizer_step.py [n_cells] [n_genes]``; results are
appended to ``benchmarks/results/optimizer_step.txt``. Motivated the ``fused=True`` choice
in :mod:`spaim.training` (osmFISH-sized problem: 3,405 cells, 30 genes).
"""

import sys
import time
from pathlib import Path

import torch

from spaim.model.losses import LossWeights, spaim_loss
from spaim.model.networks import SpaIMModule


def time_steps(n_cells: int, n_genes: int, adam_kwargs: dict, repeats: int = 20) -> dict[str, float]:
    torch.manual_seed(0)
    module = SpaIMModule(n_cells, 30)
    optimizer = torch.optim.Adam(module.parameters(), 1e-3, **adam_kwargs)
    st, sc = torch.rand(n_genes, n_cells), torch.rand(n_genes, 30)
    totals = {"forward": 0.0, "backward": 0.0, "step": 0.0}
    for i in range(repeats + 2):
        t0 = time.perf_counter()
        loss, _ = spaim_loss(module(st, sc), st, LossWeights())
        t1 = time.perf_counter()
        optimizer.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        if i >= 2:  # the first steps allocate optimiser state
            for key, dt in zip(totals, (t1 - t0, t2 - t1, t3 - t2)):
                totals[key] += dt / repeats
    return totals


if __name__ == "__main__":
    n_cells = int(sys.argv[1]) if len(sys.argv) > 1 else 3405
    n_genes = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    lines = [f"# {time.strftime('%Y-%m-%d %H:%M')} torch {torch.__version__}, {torch.get_num_threads()} threads, {n_cells} cells x {n_genes} genes (ms per step)"]
    for label, kwargs in {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}.items():
        t = time_steps(n_cells, n_genes, kwargs)
        lines.append(f"{label:8s} " + "  ".join(f"{k} {v * 1e3:7.2f}" for k, v in t.items()))
    out = Path(__file__).parent / "results" / "optimizer_step.txt"
    out.parent.mkdir(exist_ok=True)
    with out.open("a") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))
