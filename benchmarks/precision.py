"""Mixed precision against float32 (hand-run, meant for a CUDA GPU): per-gene accuracy and training time.

On real bundled pairs, every shared gene is held out once (K folds). Each fold's model is
set up once (SC reference, cell basis) and trained twice from the same initial weights,
with ``precision="float32"`` and ``"bfloat16"``, on the chosen device; the held-out genes are
scored as in cross-validation (PCC on the library-size-normalised log1p scale). Both
architectures are run: with the default one, early stopping often keeps the untrained
state (plain transfer), so the ``paper`` architecture, whose every output comes from the
trained network, shows what the precision does to a trained model.

Then the training epoch alone is timed on a synthetic slide (random values, the shapes of
the scale benchmark's 100k-cell pair: 500 genes, 77 clusters, 200 metacells), both
precisions, both architectures.

    python benchmarks/precision.py [--device cuda] [--datasets osmfish_cortex,...] [--cells 100000]
    python benchmarks/precision.py --report   # rewrite docs/precision.md from the CSVs

Writes ``benchmarks/results/precision_per_gene.csv``, ``precision_fits.csv``,
``precision_epoch.csv`` and ``docs/precision.md``.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "precision.md"
PRECISIONS = ("float32", "bfloat16")
ARCHITECTURES = ("cellbasis", "paper")


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _device_name(device: torch.device) -> str:
    return f"cuda ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "cpu"


def real_pairs(datasets_: list[str], folds: int, device: torch.device, threads: int):
    """Per-gene PCC and per-fit training time of both precisions on real pairs."""
    from spaim import datasets
    from spaim.benchmark.methods.spaim import kept_untrained_transfer
    from spaim.crossval import fold_arrays, make_folds
    from spaim.metrics import score_genes
    from spaim.model.imputer import SpaIM
    from spaim.pairing import prepare_pair

    genes_rows, fit_rows = [], []
    for name in datasets_:
        st, sc = datasets.load(name, download=False)
        data = prepare_pair(st, sc, seed=0)
        for k, test in enumerate(make_folds(len(data.shared_st), folds, 0)):
            train, measured = fold_arrays(data, test)
            held_out = [data.shared_sc[i] for i in test]
            for architecture in ARCHITECTURES:
                start = SpaIM.from_paired_data(data.subset(train), architecture=architecture, seed=0, threads=threads)
                for precision in PRECISIONS:
                    model = copy.deepcopy(start)
                    _synchronise(device)
                    clock = time.perf_counter()
                    model.train(device=str(device), progress=False, precision=precision)
                    _synchronise(device)
                    seconds = time.perf_counter() - clock
                    fit_rows.append({"dataset": name, "architecture": architecture, "fold": k, "precision": precision,
                                     "train_s": seconds, "epochs": len(model.history), "kept_untrained": kept_untrained_transfer(model),
                                     "device": _device_name(device)})
                    table = score_genes(measured, model.predict(held_out), [data.shared_st[i] for i in test])
                    genes_rows.append(table[["gene", "pcc"]].assign(dataset=name, architecture=architecture, fold=k,
                                                                    precision=precision))
                print(f"{name} fold {k} {architecture}: {fit_rows[-2]['train_s']:.1f} s / {fit_rows[-1]['train_s']:.1f} s",
                      flush=True)
    return pd.concat(genes_rows, ignore_index=True), pd.DataFrame(fit_rows)


def epoch_times(cells: int, device: torch.device, epochs: int = 3) -> pd.DataFrame:
    """Seconds per training epoch on a synthetic slide, per architecture and precision."""
    from spaim.model.networks import SpaIMModule
    from spaim.training import TrainingPlan, train_module

    genes, clusters, metacells, pcs = 500, 77, 200, 20
    generator = torch.Generator().manual_seed(0)
    st = torch.rand(genes, cells, generator=generator)
    rows = []
    for architecture in ARCHITECTURES:
        basis = architecture == "cellbasis"
        n_features = 2 * (metacells + pcs) if basis else None
        sc = torch.rand(genes, clusters + (metacells if basis else 0), generator=generator)
        for precision in PRECISIONS:
            torch.manual_seed(0)
            module = SpaIMModule(cells, clusters, n_features=n_features, n_metacells=metacells if basis else 0)
            if basis:
                module.cells.set_basis(torch.rand(cells, n_features, generator=generator),
                                       torch.rand(cells, metacells, generator=generator))
            plan = TrainingPlan(max_epochs=epochs, validation_fraction=0.0, precision=precision)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            train_module(module, st, sc, TrainingPlan(max_epochs=1, validation_fraction=0.0, precision=precision),
                         device=device, progress=False)  # warm-up: kernels chosen, memory allocated
            _synchronise(device)
            clock = time.perf_counter()
            train_module(module, st, sc, plan, device=device, progress=False)
            _synchronise(device)
            rows.append({"cells": cells, "architecture": architecture, "precision": precision,
                         "s_per_epoch": (time.perf_counter() - clock) / epochs,
                         "gpu_peak_mb": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else np.nan,
                         "device": _device_name(device)})
            print(rows[-1], flush=True)
            del module
    return pd.DataFrame(rows)


def write_doc() -> None:
    from spaim._markdown import markdown_table, write_keeping_findings

    genes = pd.read_csv(RESULTS / "precision_per_gene.csv")
    fits = pd.read_csv(RESULTS / "precision_fits.csv")
    wide = genes.pivot_table(index=["dataset", "architecture", "fold", "gene"], columns="precision", values="pcc")
    wide["diff"] = wide["bfloat16"] - wide["float32"]
    summary = wide.groupby(["dataset", "architecture"]).agg(
        genes=("diff", "size"), median_pcc_float32=("float32", "median"), median_pcc_bfloat16=("bfloat16", "median"),
        median_abs_diff=("diff", lambda d: d.abs().median()), max_abs_diff=("diff", lambda d: d.abs().max()),
    )
    time_by = fits.pivot_table(index=["dataset", "architecture"], columns="precision", values="train_s", aggfunc="sum")
    summary["train_s_float32"] = time_by["float32"]
    summary["train_s_bfloat16"] = time_by["bfloat16"]
    kept = fits[fits.precision == "float32"].groupby(["dataset", "architecture"])["kept_untrained"]
    summary["folds_untrained_kept"] = kept.sum().astype(int).astype(str) + " of " + kept.size().astype(str)
    lines = [
        "# Mixed precision (`precision=\"bfloat16\"`) against float32",
        "",
        "Hand-run with `benchmarks/precision.py` (how: its docstring); rows in `benchmarks/results/precision_*.csv`.",
        f"Device: {', '.join(sorted(fits['device'].unique()))}. Every shared gene held out once ({fits['fold'].nunique()} folds); each fold's",
        "model set up once and trained from the same initial weights in both precisions; PCC of held-out",
        "genes on the library-size-normalised log1p scale. `folds_untrained_kept`: folds where early",
        "stopping kept the untrained state of the default architecture (plain transfer, which the",
        "precision cannot change).",
        "",
        markdown_table(summary.reset_index()),
        "",
    ]
    epoch_csv = RESULTS / "precision_epoch.csv"
    if epoch_csv.exists():
        lines += ["Training epoch alone on a synthetic slide (random values; 500 genes, 77 clusters, 200 metacells):", "",
                  markdown_table(pd.read_csv(epoch_csv)), ""]
    write_keeping_findings(DOC, "\n".join(lines))
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--datasets", default="osmfish_cortex,seqfish_visp_cortex,merfish_hypothalamus")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cells", type=int, default=100_000, help="synthetic slide for the epoch timing (0: skip)")
    parser.add_argument("--threads", type=int, help="CPU threads of the set-up (default: all this process may use)")
    parser.add_argument("--report", action="store_true", help="only rewrite docs/precision.md from the CSVs")
    args = parser.parse_args()
    if not args.report:
        from spaim.training import resolve_device

        device = resolve_device(args.device)
        if args.cells:
            epoch_times(args.cells, device).to_csv(RESULTS / "precision_epoch.csv", index=False)
        if args.datasets:
            genes, fits = real_pairs(args.datasets.split(","), args.folds, device, args.threads)
            genes.to_csv(RESULTS / "precision_per_gene.csv", index=False)
            fits.to_csv(RESULTS / "precision_fits.csv", index=False)
    write_doc()


if __name__ == "__main__":
    main()
