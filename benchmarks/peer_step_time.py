"""Time per training step of the peers too slow for the CPU benchmark (SpatialScope, stDiff), at their defaults.

Each is timed on the smallest bundled pair (Slide-seq cerebellum: 100 ST beads, 475 SC
cells) with the model, batch size and optimiser of its own training script, and the
number of steps its defaults ask for gives the projected training time per fold, set
against the benchmark's ``--timeout``. Run by hand with the benchmark environment, e.g.
``OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/peer_step_time.py [spatialscope|stdiff] [STEPS]``;
results are appended to ``benchmarks/results/peer_step_time.txt``. Wall time is inflated on a
busy machine; the CPU time per step is the figure to compare.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

from spaim.benchmark.methods.peer_source import source_folder
from spaim.datasets import load

TIMEOUT_S = 3600  # the benchmark's --timeout, per method and dataset
TIMED_STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def _timed(step, n: int = TIMED_STEPS) -> tuple[float, float]:
    """Mean wall and CPU seconds of ``step()`` over ``n`` calls, after one warm-up call."""
    step()
    wall, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(n):
        step()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (time.perf_counter() - wall) / n, (after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime) / n


def spatialscope(sc_x: np.ndarray, labels: np.ndarray) -> tuple[str, float, float, int]:
    """One step of Train_scRef.py's loop: SCGradNN defaults, Adam(lr=1e-4), batch 256, 232 noise levels."""
    np.product = np.prod  # SpatialScope uses np.product, removed in numpy 2
    sys.path.insert(0, str(source_folder("SpatialScope") / "src"))
    sys.argv = sys.argv[:1]
    import Train_scRef
    from SCGrad import SCGradNN

    x = np.log1p(sc_x) if sc_x.max() > 30 else sc_x  # Train_scRef.py's own rule
    codes = np.unique(labels, return_inverse=True)[1]
    mu = np.stack([x[codes == k].mean(axis=0) for k in range(codes.max() + 1)])
    data = torch.tensor(x - mu[codes], dtype=torch.float32)
    model = SCGradNN(input_dim1=x.shape[1], factors=[3, 4, 5, 1], down_block_dim=[32, 128, 256, 512])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    sigmas = torch.tensor(np.exp(np.linspace(np.log(100), np.log(0.01), 232)), dtype=torch.float32)
    batch = 256

    def step():
        index = torch.randint(0, len(data), (batch,))
        model.zero_grad()
        loss = Train_scRef.anneal_dsm_score_estimation_ddpm_uncond(
            model, data[index], torch.tensor(mu[codes[index.numpy()]], dtype=torch.float32),
            torch.randint(0, len(sigmas), (batch,)), sigmas, anneal_power=1.0, loss_type="L1",
        )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1)
        optimizer.step()

    wall, cpu = _timed(step)
    steps = int(10000 * len(data) / batch)  # --epoch 10000 (its default), iterations = epoch * n / bs
    return "SpatialScope Train_scRef.py (SCGradNN, bs 256, 10000 epochs)", wall, cpu, steps


def stdiff(sc_x: np.ndarray) -> tuple[str, float, float, int]:
    """One epoch of stDiff's training (the package's own loop) at test-stDiff.py's defaults."""
    from spaim.benchmark.methods import stdiff as adapter

    adapter._stub_training_helpers()
    from model.stDiff_model import DiT_stDiff
    from model.stDiff_train import normal_train_stDiff

    x = adapter._scaled(np.vstack([sc_x, sc_x + 10.0]))
    genes = x.shape[1]
    batch, hidden = (2048, 512) if genes < 512 else (512, 1024)
    mask = np.ones(genes, dtype=np.float32)
    mask[: genes // 5] = 0  # one fold of five held out
    model = DiT_stDiff(input_size=genes, hidden_size=hidden, depth=6, num_heads=16, classes=6, mlp_ratio=4.0, dit_type="dit")
    loader = adapter._loader(x * 2 - 1, x * mask * 2 - 1, batch, shuffle=True, seed=0)

    def epoch():
        normal_train_stDiff(model, dataloader=loader, lr=adapter.LEARNING_RATE, num_epoch=1, diffusion_step=1500,
                            device=torch.device("cpu"), pred_type="noise", mask=mask, is_tqdm=False)

    wall, cpu = _timed(epoch)
    return f"stDiff normal_train_stDiff (DiT depth 6, hidden {hidden}, batch {batch}; one epoch = one step here)", wall, cpu, 900


if __name__ == "__main__":
    st, sc = load("slideseq_cerebellum", download=False)
    sc_x = np.asarray(sc.X.toarray() if hasattr(sc.X, "toarray") else sc.X, dtype=np.float64)
    shared = sc.var_names.intersection(st.var_names)
    lines = [f"# {time.strftime('%Y-%m-%d %H:%M')} slideseq_cerebellum, torch threads {torch.get_num_threads()}, "
             f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, load average {os.getloadavg()[0]:.1f}"]
    runs = {"spatialscope": lambda: spatialscope(sc_x, np.asarray(sc.obs["cell_type"])),
            "stdiff": lambda: stdiff(sc_x[:, sc.var_names.get_indexer(shared)])}
    chosen = sys.argv[1:2] or list(runs)
    for run in (runs[name] for name in chosen):
        name, wall, cpu, steps = run()
        lines.append(f"{name}: {wall:.3f} s wall, {cpu:.3f} s CPU per step; {steps} steps at its defaults "
                     f"-> {cpu * steps / 3600:.1f} h of CPU time ({wall * steps / 3600:.1f} h at this wall time) "
                     f"for one fold's training (benchmark limit {TIMEOUT_S} s per dataset, 5 folds)")
        print(lines[-1], flush=True)
    out = Path(__file__).parent / "results" / "peer_step_time.txt"
    with open(out, "a") as fh:
        fh.write("\n".join(lines) + "\n")
