"""Scale benchmark (hand-run, not a test): SpaIM, and Tangram where it fits, on slides of 10^4-10^6 cells.

Synthetic pairs are built from a real bundled pair, keeping its real expression:

- **Reference** (default 10,000 cells x 3,000 genes): each new cell is a binomial half of
  the counts of one real SC cell plus a half of another real cell of the same type (the
  source's ``cell_type``), so types fill out instead of forming one tight cluster per
  resampled cell; the genes are the ST panel plus the SC genes expressed in most cells.
- **Slide** (N cells x 500-gene panel): copies of the real ST cells laid side by side as
  tiles of a larger slide, coordinates jittered by a tenth of the median spacing and counts
  thinned the same way; the panel is the shared genes expressed in most ST cells.

Only ``visium_lymphnode`` has both a 500-gene shared panel and a reference of thousands of
genes (osmFISH has 33 genes, MERFISH 134), so it is the default source; ``--source``
takes another bundled pair with the panel and reference capped at what it has.

Each run is a fresh child process (its peak RSS, wall and CPU are its own); SpaIM runs the defaults (Leiden clustering, 300 epochs at most with early
stopping) and streams the imputed genes to an ``.h5ad``. Rows are appended to
``benchmarks/results/scale.csv`` and ``docs/scale.md`` is rewritten from it.

    .venv/bin/python benchmarks/scale.py --sizes 10000,100000 [--tangram .venv-bench/bin/python]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "scale.csv"
DOC = ROOT / "docs" / "scale.md"


# --------------------------------------------------------------------------- synthetic pairs
def _thin(x: sp.csr_matrix, rng: np.random.Generator, p: float = 0.8) -> sp.csr_matrix:
    x = sp.csr_matrix(x, dtype=np.float32, copy=True)
    x.data = rng.binomial(x.data.astype(np.int64), p).astype(np.float32)
    x.eliminate_zeros()
    return x


def _recombine(x: sp.csr_matrix, labels, n: int, rng: np.random.Generator) -> sp.csr_matrix:
    """``n`` new cells, each half the counts of one real cell plus half of another of the same type.

    Resampled copies of a few hundred cells would form one tight cluster per original cell;
    mixing two cells of a type (binomial halves) keeps real expression but fills each type.
    """
    groups = pd.Series(np.arange(x.shape[0])).groupby(np.asarray(labels) if labels is not None else np.zeros(x.shape[0]))
    members = [g.to_numpy() for _, g in groups]
    sizes = np.array([len(m) for m in members], dtype=float)
    kind = rng.choice(len(members), n, p=sizes / sizes.sum())
    first = np.array([rng.choice(members[k]) for k in kind])
    second = np.array([rng.choice(members[k]) for k in kind])
    return _thin(x[first], rng, 0.5) + _thin(x[second], rng, 0.5)


def _expressed(x) -> np.ndarray:
    return np.asarray((x > 0).mean(axis=0)).ravel()


def build_pair(
    source: str, n_cells: int, panel: int, ref_cells: int, ref_genes: int, seed: int = 0, labels_key: str = "cell_type"
) -> tuple[ad.AnnData, ad.AnnData]:
    """A slide of ``n_cells`` x ``panel`` genes and a reference of ``ref_cells`` x ``ref_genes``."""
    from spaim import datasets
    from spaim.pairing import spatial_coordinates

    rng = np.random.default_rng(seed)
    st0, sc0 = datasets.load(source, download=False)
    st_x, sc_x = sp.csr_matrix(st0.X), sp.csr_matrix(sc0.X)
    shared = st0.var_names.intersection(sc0.var_names)
    st_frac = pd.Series(_expressed(st_x[:, st0.var_names.get_indexer(shared)]), index=shared)
    panel_genes = list(st_frac.sort_values(ascending=False, kind="stable").index[:panel])
    sc_frac = pd.Series(_expressed(sc_x), index=sc0.var_names).drop(panel_genes)
    others = list(sc_frac.sort_values(ascending=False, kind="stable").index[: max(0, ref_genes - len(panel_genes))])
    ref_cols = sc0.var_names.get_indexer(panel_genes + others)
    sc = ad.AnnData(_recombine(sc_x[:, ref_cols], sc0.obs.get(labels_key), ref_cells, rng),
                    var=pd.DataFrame(index=panel_genes + others), obs=pd.DataFrame(index=[f"sc{i}" for i in range(ref_cells)]))
    coords = spatial_coordinates(st0)
    extent = np.ptp(coords, axis=0) * 1.05
    copies = -(-n_cells // st0.n_obs)
    side = int(np.ceil(np.sqrt(copies)))
    copy_of = np.repeat(np.arange(copies), st0.n_obs)[:n_cells]
    cell_of = np.tile(np.arange(st0.n_obs), copies)[:n_cells]
    spacing = np.median(np.abs(np.diff(np.sort(coords[:, 0])))) or 1.0
    xy = coords[cell_of] + np.stack([copy_of % side, copy_of // side], axis=1) * extent
    xy += rng.normal(0, 0.1 * max(spacing, 1e-3 * extent.max()), xy.shape)
    st = ad.AnnData(_thin(st_x[cell_of][:, st0.var_names.get_indexer(panel_genes)], rng),
                    var=pd.DataFrame(index=panel_genes), obs=pd.DataFrame(index=[f"st{i}" for i in range(n_cells)]))
    st.obsm["spatial"] = xy
    return st, sc


# --------------------------------------------------------------------------- child processes
def _peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmHWM:"))


def _reset_peak() -> None:
    """Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def _matmul_gflops(device: str = "cpu", cpu_seconds: float = 1.0) -> float:
    """Float32 matmul flops per second at torch's thread count, measured now (the bound's denominator).

    On the CPU, per CPU-second, not wall: on a shared machine wall time depends on the other
    jobs. On a GPU, per wall second of the card (synchronised).
    """
    import torch

    if device != "cpu":
        a, b = torch.rand(8192, 8192, device=device), torch.rand(8192, 8192, device=device)
        a @ b
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(10):
            a @ b
        torch.cuda.synchronize()
        return 2 * 8192**3 * 10 / (time.perf_counter() - start) / 1e9
    a, b = torch.rand(1024, 2048), torch.rand(2048, 1024)
    a @ b
    n, start = 0, time.process_time()
    while time.process_time() - start < cpu_seconds:
        a @ b
        n += 1
    return 2 * 1024 * 2048 * 1024 * n / (time.process_time() - start) / 1e9


def _epoch_flops(model) -> float:
    """Flops of one training epoch (forward and backward of every batch, and the validation forward)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from spaim.model.losses import spaim_loss

    plan = model.train_params
    genes = np.arange(len(model.data.shared_st))[: plan["batch_size"]]
    st = torch.from_numpy(model.data.st_log_by_gene(genes, model.data.st_size_factors())).to(model.device)
    sc = torch.from_numpy(model.sc_inputs([model.data.shared_sc[i] for i in genes])).to(model.device)
    model.module.train()
    with FlopCounterMode(display=False) as counter:
        loss, _ = spaim_loss(model.module(st, sc), st, _weights(plan), plan["generator_target"])
        loss.backward()
    per_gene = counter.get_total_flops() / len(genes)
    model.module.zero_grad(set_to_none=True)
    n_genes = len(model.data.shared_st)
    return per_gene * n_genes * (1 + plan["augment_copies"])


def _weights(plan: dict):
    from spaim.model.losses import LossWeights

    return LossWeights(plan["content"], plan["style"], plan["reconstruction"], plan["generation"])


class _Phases:
    """Wall seconds, CPU seconds and peak RSS of each named phase of a child process."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        _reset_peak()
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.values |= {f"{name}_s": time.perf_counter() - wall, f"{name}_cpu_s": time.process_time() - cpu,
                        f"{name}_peak_mb": _peak_rss_mb()}


def child_spaim(st_path: str, sc_path: str, out: str, threads: int, epochs: int | None, calibrate: bool = False) -> dict:
    from spaim import SpaIM
    from spaim._threads import thread_limits

    phase = _Phases()
    with phase("read"):
        st, sc = ad.read_h5ad(st_path), ad.read_h5ad(sc_path)
    with phase("setup"):
        model = SpaIM(st, sc, threads=threads)
    with phase("train"):
        model.train(progress=False, **({"max_epochs": epochs} if epochs else {}))
    if calibrate:  # the CLI's default: confidence and 90% intervals, described and written with each chunk
        with phase("calibrate"):
            model.calibrate(progress=False)
    genes = model.default_genes()
    with phase("impute"):
        model.impute(genes, out=out)
    with phase("impute_half"):  # the output's memory should not depend on the number of genes
        model.impute(genes[: len(genes) // 2], out=out, force=True)
    n_epochs = len(model.history)
    device = str(model.device)
    with thread_limits(threads):
        gflops = _matmul_gflops(device)
        flops = _epoch_flops(model)
    t = phase.values
    gpu = {}
    if device != "cpu":  # the card's time is wall time
        import torch

        gpu = {"device": f"{device} ({torch.cuda.get_device_name()})", "gpu_peak_mb": torch.cuda.max_memory_allocated() / 2**20,
               "device_s_per_epoch": t["train_s"] / n_epochs}
    return {
        "clusters": int(model.data.reference.n_clusters), "imputed_genes": len(genes), "epochs": n_epochs,
        "params_M": sum(p.numel() for p in model.module.parameters()) / 1e6,
        "s_per_epoch": t["train_s"] / n_epochs, "cpu_s_per_epoch": t["train_cpu_s"] / n_epochs,
        "bound_s_per_epoch": flops / (gflops * 1e9), "gflops": gflops,
        "mapping": model.module_params.get("mapping"), "calibrated": calibrate, **gpu, **t,
    }


#: ``tangram.map_cells_to_space``'s default number of epochs (a peer runs at its own defaults).
TANGRAM_EPOCHS = 1000


def child_tangram(st_path: str, sc_path: str, out: str, threads: int, epochs: int | None) -> dict:
    import scanpy as scp
    import tangram as tg
    import torch

    torch.set_num_threads(threads)
    st, sc = ad.read_h5ad(st_path), ad.read_h5ad(sc_path)
    panel = list(st.var_names)
    imputed = [g for g in sc.var_names if g not in set(panel)]
    for a in (st, sc):
        scp.pp.normalize_total(a)
        scp.pp.log1p(a)
    tg.pp_adatas(sc, st, genes=panel)
    t = time.perf_counter()
    mapping = tg.map_cells_to_space(sc, st, mode="cells", density_prior="rna_count_based", num_epochs=epochs or TANGRAM_EPOCHS,
                                    device="cpu", random_state=0, verbose=False)
    train = time.perf_counter() - t
    projected = tg.project_genes(mapping, sc)
    projected[:, [g.lower() for g in imputed]].copy().write_h5ad(out)
    return {"epochs": epochs or TANGRAM_EPOCHS, "imputed_genes": len(imputed), "s_per_epoch": train / (epochs or TANGRAM_EPOCHS), "train_s": train}


def run_child(method: str, python: str, st_path: Path, sc_path: Path, threads: int, epochs: int | None, timeout: float,
              calibrate: bool = False) -> dict:
    out = st_path.parent / f"{method}_out.h5ad"
    cmd = [python, __file__, "--child", method, str(st_path), str(sc_path), str(out), str(threads), str(epochs or 0),
           *(["--calibrate"] if calibrate else [])]
    env = os.environ | {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                        "OPENBLAS_NUM_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        status = "ok" if proc.returncode == 0 else f"failed: {stderr.strip().splitlines()[-1] if stderr.strip() else proc.returncode}"
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        status = f"timeout after {timeout:.0f} s"
    row = {"method": method, "status": status, "wall_s": time.perf_counter() - start}
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if lines:
        row |= json.loads(lines[-1])
    out.unlink(missing_ok=True)
    return row


# --------------------------------------------------------------------------- report
COLUMNS = {
    "cells": "cells", "method": "method", "status": "status", "threads": "threads", "load": "load",
    "clusters": "SC clusters", "mapping": "mapping", "epochs": "epochs", "wall_s": "wall s", "cpu_s": "CPU s", "peak_mb": "peak MB",
    "setup_s": "set-up s", "setup_cpu_s": "set-up CPU s", "train_s": "train s", "train_cpu_s": "train CPU s",
    "calibrated": "calibrated", "calibrate_s": "calibrate s", "calibrate_peak_mb": "calibrate peak MB",
    "impute_s": "impute s", "impute_peak_mb": "impute peak MB", "impute_tenth_peak_mb": "impute 1/10 genes peak MB", "impute_half_peak_mb": "impute 1/2 genes peak MB",
    "cpu_s_per_epoch": "CPU s/epoch", "bound_s_per_epoch": "bound s/epoch", "params_M": "params M", "note": "note",
}
#: Extra columns of GPU rows: the card, its peak allocated memory, and per-epoch time on the card (wall).
GPU_COLUMNS = {"device": "device", "gpu_peak_mb": "GPU peak MB", "device_s_per_epoch": "GPU s/epoch"}


def write_doc(table: pd.DataFrame) -> None:
    from spaim._markdown import markdown_table, write_keeping_findings

    table = table.assign(load=table["host"].str.extract(r"load ([0-9.]+)", expand=False))
    lines = [
        "# Scale: SpaIM on slides of 10^4-10^6 cells",
        "",
        "Hand-run with `benchmarks/scale.py` (how the synthetic pairs are built: its docstring);",
        "raw rows in `benchmarks/results/scale.csv`. Each row is one fresh process: wall (from its",
        "start to its exit), its CPU seconds (`getrusage`) and its peak RSS (`VmHWM`, also per",
        "phase: read, set-up, train, impute) are that process's own. `bound` is the epoch's matmul",
        "flops (torch's flop counter, forward and backward) over the float32 matmul flops per",
        "CPU-second measured in the same process, to compare with CPU s/epoch; `load` is the machine's 1-minute load average (2 cores).",
        "",
    ]
    on_gpu = table["device"].fillna("cpu").str.startswith("cuda") if "device" in table else pd.Series(False, index=table.index)
    for (arch, pair), part in table[~on_gpu].groupby(["architecture", "pair"], sort=False):
        lines += [f"## {arch} architecture; slide x {pair}", "",
                  markdown_table(part[[c for c in COLUMNS if c in part]].rename(columns=COLUMNS)), ""]
        ok = part[part["status"] == "ok"].pivot_table(index=["when", "cells"], columns="method", values=["wall_s", "peak_mb"])
        if "tangram" in ok.columns.get_level_values(1) and "spaim" in ok.columns.get_level_values(1):
            ratios = pd.DataFrame({"wall spaim/Tangram": ok["wall_s"]["spaim"] / ok["wall_s"]["tangram"],
                                   "peak spaim/Tangram": ok["peak_mb"]["spaim"] / ok["peak_mb"]["tangram"]}).dropna()
            lines += ["Ratios from the same run (same synthetic pair, one after the other):", "",
                      markdown_table(ratios.reset_index()), ""]
    lines += ["## GPU", ""]
    if on_gpu.any():
        gpu = table[on_gpu]
        columns = {**GPU_COLUMNS, **COLUMNS}
        lines += ["Set-up (clustering, cell basis) runs on the host's CPU; training and imputation on the card. `bound` is",
                  "the epoch's flops over the card's float32 matmul rate measured in the same process; `GPU s/epoch` is",
                  "the training wall time per epoch.", ""]
        for pair, part in gpu.groupby("pair", sort=False):
            lines += [f"Slide x {pair}:", "", markdown_table(part[[c for c in columns if c in part]].rename(columns=columns)), ""]
    else:
        lines += ["Not measured yet: no CUDA GPU was lent to the runs above. `device=\"auto\"` uses CUDA when present.", ""]
    write_keeping_findings(DOC, "\n".join(lines))


# --------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000", help="comma-separated numbers of ST cells")
    parser.add_argument("--source", default="visium_lymphnode")
    parser.add_argument("--panel", type=int, default=500)
    parser.add_argument("--ref-cells", type=int, default=10_000)
    parser.add_argument("--ref-genes", type=int, default=3_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, help="cap SpaIM's epochs (default: its own default)")
    parser.add_argument("--tangram", help="python of a venv with tangram-sc (benchmarks/README.md) to run Tangram too")
    parser.add_argument("--tangram-epochs", type=int, default=TANGRAM_EPOCHS, help="default: Tangram's own")
    parser.add_argument("--tangram-max-cells", type=int, default=50_000, help="skip Tangram above this many cells (memory)")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--note", default="", help="free text stored with the rows (e.g. machine load)")
    parser.add_argument("--calibrate", action="store_true", help="calibrate SpaIM (confidence and intervals) before imputing")
    args = parser.parse_args()
    import torch

    arch = os.environ.get("SPAIM_ARCH_LABEL", "default")
    for n in map(int, args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="spaim-scale-") as folder:
            t = time.perf_counter()
            st, sc = build_pair(args.source, n, args.panel, args.ref_cells, args.ref_genes)
            st_path, sc_path = Path(folder) / "st.h5ad", Path(folder) / "sc.h5ad"
            st.write_h5ad(st_path)
            sc.write_h5ad(sc_path)
            info = {"cells": n, "pair": f"{st.n_vars}-gene panel, {sc.n_obs} x {sc.n_vars} reference ({args.source})",
                    "build_s": time.perf_counter() - t}
            del st, sc
            rows = [run_child("spaim", sys.executable, st_path, sc_path, args.threads, args.epochs, args.timeout, args.calibrate)]
            if args.tangram and n <= args.tangram_max_cells:
                rows.append(run_child("tangram", args.tangram, st_path, sc_path, args.threads, args.tangram_epochs, args.timeout))
        stamp = time.strftime("%Y-%m-%d %H:%M")
        for row in rows:
            row |= info | {"when": stamp, "threads": args.threads, "host": f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
                           "architecture": arch, "note": args.note, "torch": torch.__version__}
            print(json.dumps(row), flush=True)
        table = pd.concat([*([pd.read_csv(RESULTS)] if RESULTS.exists() else []), pd.DataFrame(rows)], ignore_index=True)
        RESULTS.parent.mkdir(exist_ok=True)
        table.to_csv(RESULTS, index=False)
        write_doc(table)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        method, st_path, sc_path, out, threads, epochs = sys.argv[2:8]
        child = {"spaim": child_spaim, "tangram": child_tangram}[method]
        result = child(st_path, sc_path, out, int(threads), int(epochs) or None, **({"calibrate": True} if sys.argv[8:] == ["--calibrate"] else {}))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        phase_peaks = [v for k, v in result.items() if k.endswith("_peak_mb")]
        result["cpu_s"] = usage.ru_utime + usage.ru_stime
        result["peak_mb"] = max([*phase_peaks, _peak_rss_mb()])
        print(json.dumps(result), flush=True)
    else:
        main()
