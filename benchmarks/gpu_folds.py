"""Run stDiff's folds as one-fold worker processes on a lent GPU machine, and bring them back.

The GPU machine's image has torch, timm and einops but not anndata or scanpy, and the working
tree that travels there is capped (64 MiB, docs included). So the data do not travel as h5ad:
``prepare`` writes, here, the arrays the adapter reads, made by the benchmark's own
``build_inputs`` (SC counts of the shared genes, ST counts, the folds), with their sha256 and the
cache key ``spaim benchmark`` uses for them under run_benchmark.sh's settings (5 folds, seed 0,
non-integer values allowed, stDiff at its defaults). There, ``run`` starts one ``worker`` process
per fold (a lean import of the adapter: the ``spaim`` package's ``__init__`` and anndata are not
needed for it), all at once, and writes each finished fold, as the benchmark's worker would
(``MethodCache.save``: prediction, wall time from set-up to prediction, peak resident memory),
into a tar under OUTDIR as soon as it lands, so a command stopped at its limit still brings back
what finished. ``place`` unpacks the tar into a cache folder here.

Scheduling (``run``): every fold starts at once (the GPU is shared by time slices, and one fold
leaves it idle most of the time); each worker reports its batches, so the driver projects each
fold's end. While a fold of a ``--guard`` dataset would end later than 90 s before ``--end-by``,
the driver pauses (SIGSTOP) the other folds, most remaining work first, and resumes them once the
guard's folds are safe or done; after that it pauses any fold that cannot end in time at its
current rate, so that the others can. A paused fold's wall time includes its pause.

Here:   .venv-bench/bin/python benchmarks/gpu_folds.py prepare .gpu visium_lymphnode osmfish_cortex
There:  python3 benchmarks/gpu_folds.py run .gpu $OUT --end-by EPOCH --jobs visium_lymphnode:0-4,osmfish_cortex:0-4 \
            --guard visium_lymphnode   (PYTHONPATH holding stdiff-sc, installed --no-deps)
Here:   .venv-bench/bin/python benchmarks/gpu_folds.py place FOLDS.tar runs/benchmark/cache
See benchmarks/README.md, "GPU-only peers".
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import types
from pathlib import Path

METHOD, FOLDS, SEED = "stdiff", 5, 0  # benchmarks/run_benchmark.sh's settings, the method at its defaults
EPOCHS, STEPS = 900, 1500  # the adapter's defaults, for the progress totals
GUARD_MARGIN_S = 90  # a guard fold must be projected to end this long before --end-by
COOLDOWN_S = 20  # between two pause/resume decisions, for the rates to settle
POLL_S = 5
SAMPLE_COST = 0.6  # a sampling batch's cost relative to a training batch, until one is measured


def _sha(array) -> str:
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


# ---------------------------------------------------------------------------------------------- here


def prepare(dest: str, datasets: list[str]) -> None:
    """Write DEST/inputs_DATASET.npz and DEST/manifest.json for each dataset (runs in the benchmark environment)."""
    import numpy as np

    from spaim.benchmark.methods.stdiff import _dense
    from spaim.benchmark.protocol import DatasetSpec, method_cache
    from spaim.datasets import sha256

    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").is_file() else {}
    for name in datasets:
        spec = DatasetSpec.bundled(name, allow_non_integer=True)
        inputs = spec.read_inputs()
        folds = inputs.folds(FOLDS, SEED)
        key = method_cache(spec, inputs, folds, METHOD, SEED, {}, "cache").folder.name.split("-", 1)[1]
        # What StDiffMethod.predict reads: SC counts of the shared genes and the ST counts, as its _dense makes them.
        sc = inputs.sc.X[:, inputs.sc.var_names.get_indexer(inputs.genes)]
        sc = sc.toarray() if hasattr(sc, "toarray") else np.asarray(sc)
        st = inputs.st.X.toarray() if hasattr(inputs.st.X, "toarray") else np.asarray(inputs.st.X)
        np.savez_compressed(out / f"inputs_{name}.npz", sc=sc, st=st, genes=np.array(inputs.genes),
                            **{f"test{f.index}": f.test for f in folds}, **{f"train{f.index}": f.train for f in folds})
        manifest[name] = {
            "key": key, "sc_sha": _sha(_dense(sc)), "st_sha": _sha(_dense(st)), "st_cells": int(st.shape[0]),
            "genes": len(inputs.genes), "sc_cells": int(inputs.sc.n_obs),
            "files": {Path(p).name: sha256(Path(p)) for p in (spec.st_path, spec.sc_path)},
        }
        print(name, manifest[name])
    # The package as committed, for the workers there (the working tree may hold unfinished edits).
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    shutil.rmtree(out / "src", ignore_errors=True)
    archive = subprocess.run(["git", "archive", commit, "src/spaim"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(out, filter="data")
    manifest["_src_commit"] = commit
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def place(tar_path: str, cache: str, dest: str = ".gpu") -> None:
    """Unpack the folds in TAR into CACHE/DATASET/stdiff-KEY/ (checking their shapes against the manifest)."""
    import numpy as np

    manifest = json.loads((Path(dest) / "manifest.json").read_text())
    with tarfile.open(tar_path) as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            dataset, folder, name = Path(member.name).parts
            fold = int(name.removeprefix("fold").removesuffix(".npz"))
            assert folder == f"{METHOD}-{manifest[dataset]['key']}", member.name
            data = tar.extractfile(member).read()
            with np.load(io.BytesIO(data)) as npz:
                tests = np.load(Path(dest) / f"inputs_{dataset}.npz")[f"test{fold}"]
                assert npz["prediction"].shape == (manifest[dataset]["st_cells"], len(tests)), member.name
                assert np.isfinite(npz["prediction"]).all(), member.name
                print(f"{member.name}: wall {float(npz['wall_s']):.1f} s, peak {float(npz['peak_mb']):.0f} MB")
            target = Path(cache) / dataset / folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_file():
                print(f"  {target} exists: kept")
                continue
            target.write_bytes(data)


# --------------------------------------------------------------------------------------------- there


def _lean_imports(src: Path) -> None:
    """Import the adapter without the ``spaim`` package's ``__init__`` (scanpy, dask, ...) or anndata.

    anndata, where missing, is a stub whose every name is an empty class: the modules on the
    adapter's import path name it at import time only (annotations, helpers it does not call).
    """
    import importlib.abc
    import importlib.util

    package = types.ModuleType("spaim")
    package.__path__ = [str(src / "spaim")]
    sys.modules.setdefault("spaim", package)
    if importlib.util.find_spec("anndata") is not None:
        return

    class Stub(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return type(name, (), {})

    class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path, target=None):
            if name == "anndata" or name.startswith("anndata."):
                return importlib.util.spec_from_loader(name, self, is_package=True)
            return None

        def create_module(self, spec):
            return Stub(spec.name)

        def exec_module(self, module):
            module.__path__ = []

    sys.meta_path.insert(0, StubFinder())


def worker(dest: str, dataset: str, fold_index: int, cache_root: str, progress: str, options: dict) -> None:
    # The adapter and what it imports as committed when the inputs were prepared (DEST/src), not the working tree's.
    _lean_imports(Path(dest) / "src" if (Path(dest) / "src").is_dir() else Path(__file__).resolve().parents[1] / "src")
    import numpy as np
    import pandas as pd

    from spaim.benchmark.cache import FoldResult, MethodCache
    from spaim.benchmark.inputs import Fold
    from spaim.benchmark.methods import method_class
    from spaim.benchmark.methods import stdiff as adapter
    from spaim.benchmark.worker import _checked, peak_rss_mb

    entry = json.loads((Path(dest) / "manifest.json").read_text())[dataset]
    with np.load(Path(dest) / f"inputs_{dataset}.npz") as data:
        sc, st, genes = data["sc"], data["st"], [str(g) for g in data["genes"]]
        fold = Fold(fold_index, data[f"train{fold_index}"], data[f"test{fold_index}"])
    if (_sha(adapter._dense(sc)), _sha(adapter._dense(st))) != (entry["sc_sha"], entry["st_sha"]):
        sys.exit(f"{dataset}: the arrays differ from the manifest's")
    inputs = types.SimpleNamespace(
        sc=types.SimpleNamespace(X=sc, var_names=pd.Index(genes)), st=types.SimpleNamespace(X=st, n_obs=st.shape[0]), genes=genes,
    )
    counts = {"train": 0, "sample": 0, "train_per": 0, "sample_per": 0}
    last = [0.0]

    def report(force: bool = False) -> None:
        now = time.time()
        if force or now - last[0] >= 2:
            last[0] = now
            Path(progress + ".tmp").write_text(json.dumps({**counts, "t": now}))
            os.replace(progress + ".tmp", progress)

    class Counted:
        """The adapter's loader, counting the batches it yields (same loader, same order, same generator)."""

        def __init__(self, loader, phase):
            self.loader, self.phase = loader, phase
            counts[f"{phase}_per"] = len(loader)

        def __iter__(self):
            for batch in self.loader:
                yield batch
                counts[self.phase] += 1
                report()

        def __len__(self):
            return len(self.loader)

    make_loader = adapter._loader
    adapter._loader = lambda data, cond, bs, shuffle, seed: Counted(make_loader(data, cond, bs, shuffle, seed), "train" if shuffle else "sample")
    report(force=True)
    # As spaim.benchmark.worker._run_folds does for a one-fold job.
    method = method_class(METHOD)(seed=SEED, **options)
    start = time.perf_counter()
    method.setup(inputs)
    prediction = _checked(method.predict(inputs, fold), inputs, fold)
    result = FoldResult(prediction, time.perf_counter() - start, peak_rss_mb())
    report(force=True)
    MethodCache(cache_root, dataset, METHOD, entry["key"]).save(fold.index, result)
    print(f"{dataset} fold {fold.index}: {result.wall_s:.1f} s, peak {result.peak_mb:.0f} MB", flush=True)


class Job:
    def __init__(self, dataset: str, fold: int, guard: bool, work: Path, entry: dict, options: dict):
        self.dataset, self.fold, self.guard, self.entry = dataset, fold, guard, entry
        self.name = f"{dataset}-fold{fold}"
        self.progress = work / "progress" / f"{self.name}.json"
        self.log = work / "logs" / f"{self.name}.log"
        self.epochs, self.steps = options.get("epochs", EPOCHS), options.get("diffusion_steps", STEPS)
        self.process: subprocess.Popen | None = None
        self.state = "waiting"  # running, paused, done, failed
        self.began = self.ended = None
        self.paused_s, self.paused_at, self.last_action = 0.0, None, -1e9
        self.history: list[tuple[float, int, int]] = []  # (time, train batches, sample batches) while running
        self.rates = {"train": None, "sample": None}

    def read(self, now: float) -> dict:
        try:
            counts = json.loads(self.progress.read_text())
        except (OSError, ValueError):
            return {}
        if self.state == "running" and counts.get("train_per"):
            if not self.history or counts.get("t", now) > self.history[-1][0]:
                self.history.append((counts.get("t", now), counts["train"], counts["sample"]))
            self.history = [h for h in self.history if now - h[0] <= 30]
            if len(self.history) >= 3 and self.history[-1][0] - self.history[0][0] >= 10:
                (t0, a0, b0), (t1, a1, b1) = self.history[0], self.history[-1]
                if a1 > a0 and b1 == b0:
                    self.rates["train"] = (a1 - a0) / (t1 - t0)
                if b1 > b0 and a1 == a0:
                    self.rates["sample"] = (b1 - b0) / (t1 - t0)
        return counts

    def remaining_s(self, counts: dict, sample_cost: float) -> float | None:
        """Projected seconds to the end at the current rates (None until a rate is known)."""
        if not counts.get("train_per"):
            return None
        train_left = self.epochs * counts["train_per"] - counts["train"]
        sample_left = self.steps * math.ceil(self.entry["st_cells"] / max(1, self._batch(counts))) - counts["sample"]
        r_train, r_sample = self.rates["train"], self.rates["sample"]
        if r_sample is None and r_train:
            r_sample = r_train / sample_cost
        if r_sample is None or (train_left > 0 and not r_train):
            return None
        return (train_left / r_train if train_left > 0 else 0) + sample_left / r_sample

    def _batch(self, counts: dict) -> int:
        return 2048 if self.entry["genes"] < 512 else 512  # the adapter's rule

    def work_left(self, counts: dict) -> float:
        """Remaining work in training batches (sampling batches weighted), for ordering."""
        if not counts.get("train_per"):
            return float("inf")
        train_left = self.epochs * counts["train_per"] - counts["train"]
        sample_left = self.steps * math.ceil(self.entry["st_cells"] / self._batch(counts)) - counts["sample"]
        return train_left + SAMPLE_COST * sample_left


def run(dest: str, out: str, end_by: float, jobs_arg: str, guard: list[str], options: dict, python: str) -> None:
    out_dir, work = Path(out), Path("/tmp/gpu_folds")
    shutil.rmtree(work, ignore_errors=True)
    for sub in ("progress", "logs", "cache"):
        (work / sub).mkdir(parents=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    log_fh = open(out_dir / "driver.log", "a", buffering=1)
    t_zero = time.time()

    def log(message: str) -> None:
        line = f"[{time.time() - t_zero:6.1f}s] {message}"
        print(line, flush=True)
        log_fh.write(line + "\n")

    manifest = json.loads((Path(dest) / "manifest.json").read_text())
    jobs: list[Job] = []
    for part in jobs_arg.split(","):
        dataset, folds = part.split(":")
        lo, _, hi = folds.partition("-")
        for k in range(int(lo), int(hi or lo) + 1):
            jobs.append(Job(dataset, k, dataset in guard, work, manifest[dataset], options))
    log(f"end by {end_by - t_zero:.0f} s from now; jobs {[j.name for j in jobs]}; guard {guard}; options {options}")
    log(_smi(full=True))
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    for job in jobs:
        with open(job.log, "wb") as fh:
            job.process = subprocess.Popen(
                [python, __file__, "worker", dest, job.dataset, str(job.fold), str(work / "cache"), str(job.progress), json.dumps(options)],
                stdout=fh, stderr=subprocess.STDOUT, env=env,
            )
        job.state, job.began = "running", time.time()
    log(f"started {len(jobs)} workers")

    def pack() -> None:
        tmp = work / "folds.tar"
        with tarfile.open(tmp, "w") as tar:
            for path in sorted((work / "cache").rglob("fold*.npz")):
                tar.add(path, arcname=str(path.relative_to(work / "cache")))
        shutil.copy(tmp, out_dir / "folds.tar.tmp")
        os.replace(out_dir / "folds.tar.tmp", out_dir / "folds.tar")

    def pause(job: Job, why: str) -> None:
        job.process.send_signal(signal.SIGSTOP)
        job.state, job.paused_at, job.last_action, job.history = "paused", time.time(), time.time(), []
        log(f"pause {job.name}: {why}")

    def resume(job: Job, why: str) -> None:
        job.process.send_signal(signal.SIGCONT)
        job.paused_s += time.time() - job.paused_at
        job.state, job.paused_at, job.last_action, job.history = "running", None, time.time(), []
        log(f"resume {job.name}: {why}")

    last_action, last_table, stopping = 0.0, 0.0, False
    while True:
        now = time.time()
        counts = {job.name: job.read(now) for job in jobs}
        for job in jobs:
            if job.state in ("running", "paused") and job.process.poll() is not None:
                job.ended = now
                done = (work / "cache" / job.dataset / f"{METHOD}-{job.entry['key']}" / f"fold{job.fold}.npz").is_file()
                job.state = "done" if job.process.returncode == 0 and done else "failed"
                log(f"{job.name} {job.state} (exit {job.process.returncode}) after {now - job.began:.1f} s, paused {job.paused_s:.0f} s"
                    + ("" if done else ": " + job.log.read_text()[-600:].replace("\n", " | ")))
                if done:
                    pack()
        live = [j for j in jobs if j.state in ("running", "paused")]
        if not live or stopping:
            break
        if now >= end_by:
            log(f"end: stopping {[j.name for j in live]}")
            for job in live:
                if job.state == "paused":
                    job.paused_s += time.time() - job.paused_at
                    job.process.send_signal(signal.SIGCONT)
                job.process.kill()
            for job in live:
                job.process.wait()
            stopping = True
            continue
        # Cost of a sampling batch relative to a training batch, per dataset, where a fold has shown both.
        ratios: dict[str, list[float]] = {}
        for job in jobs:
            if job.rates["train"] and job.rates["sample"]:
                ratios.setdefault(job.dataset, []).append(job.rates["train"] / job.rates["sample"])
        cost = {d: sorted(r)[len(r) // 2] for d, r in ratios.items()}
        eta = {}
        for job in live:
            left = job.remaining_s(counts[job.name], cost.get(job.dataset, SAMPLE_COST))
            eta[job.name] = None if left is None else now + left
        if now - last_table >= 30:
            last_table = now
            rows = []
            for job in jobs:
                c = counts[job.name]
                e = eta.get(job.name)
                rows.append(f"{job.name} {job.state} train {c.get('train', 0)}/{job.epochs * c.get('train_per', 0)} "
                            f"sample {c.get('sample', 0)} eta {'-' if e is None else f'{e - t_zero:.0f}'}")
            log("; ".join(rows) + f"; sample cost {cost}; " + _smi())
        if now - last_action >= COOLDOWN_S and now - t_zero >= 45:
            guards = [j for j in live if j.guard]
            others_running = [j for j in live if not j.guard and j.state == "running"]
            others_paused = [j for j in live if not j.guard and j.state == "paused"]
            by_work = lambda j: j.work_left(counts[j.name])  # noqa: E731
            if guards:
                known = [eta[j.name] for j in guards if eta[j.name] is not None]
                worst = max(known) if len(known) == len(guards) else None
                if worst is not None and worst > end_by - GUARD_MARGIN_S and others_running:
                    pause(max(others_running, key=by_work), f"guard projected to end at {worst - t_zero:.0f} s")
                    last_action = now
                elif worst is not None and worst < end_by - GUARD_MARGIN_S - 120 and others_paused:
                    resume(min(others_paused, key=by_work), f"guard projected to end at {worst - t_zero:.0f} s")
                    last_action = now
            else:
                late = [j for j in others_running if eta[j.name] is not None and eta[j.name] > end_by - 15]
                victim = max(others_running, key=by_work) if others_running else None
                if late and len(others_running) > 1 and victim in late:
                    pause(victim, f"projected to end at {eta[victim.name] - t_zero:.0f} s, after the end")
                    last_action = now
                elif others_paused and all(eta[j.name] is not None and eta[j.name] < end_by - 60 for j in others_running):
                    job = min(others_paused, key=by_work)
                    left = job.remaining_s(counts[job.name], cost.get(job.dataset, SAMPLE_COST))
                    if not others_running or (left is not None and now + left < end_by - 45):
                        resume(job, "room left" if others_running else "nothing else running")
                        last_action = now
        time.sleep(POLL_S)
    for job in jobs:
        e = job.ended or time.time()
        log(f"summary {job.name}: {job.state}, {e - job.began:.1f} s since start, paused {job.paused_s:.0f} s, progress {counts.get(job.name)}")
    pack()
    with tarfile.open(out_dir / "logs.tar.gz", "w:gz") as tar:
        tar.add(work / "logs", arcname="logs")
        tar.add(work / "progress", arcname="progress")
    log(_smi(full=True))
    log("packed")


def _smi(full: bool = False) -> str:
    command = ["nvidia-smi"] if full else ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used,power.draw", "--format=csv,noheader"]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"nvidia-smi: {exc}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("dest")
    p.add_argument("datasets", nargs="+")
    p = sub.add_parser("place")
    p.add_argument("tar")
    p.add_argument("cache")
    p.add_argument("--dest", default=".gpu")
    p = sub.add_parser("run")
    p.add_argument("dest")
    p.add_argument("out")
    p.add_argument("--end-by", type=float, required=True, help="epoch seconds: unfinished workers are stopped then")
    p.add_argument("--jobs", required=True, help="DATASET:FIRST-LAST,... in priority order")
    p.add_argument("--guard", default="", help="comma-separated datasets whose folds must finish")
    p.add_argument("--options", default="{}", help="adapter options as JSON (only for tests: they change the cache key)")
    p.add_argument("--python", default=sys.executable)
    p = sub.add_parser("worker")
    for name in ("dest", "dataset", "fold", "cache_root", "progress", "options"):
        p.add_argument(name)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.dest, args.datasets)
    elif args.command == "place":
        place(args.tar, args.cache, args.dest)
    elif args.command == "run":
        run(args.dest, args.out, args.end_by, args.jobs, [g for g in args.guard.split(",") if g], json.loads(args.options), args.python)
    else:
        worker(args.dest, args.dataset, int(args.fold), args.cache_root, args.progress, json.loads(args.options))


if __name__ == "__main__":
    main()
