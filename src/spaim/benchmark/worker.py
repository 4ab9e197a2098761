"""Running one method in its own process, so its wall time and peak memory are its own."""

from __future__ import annotations

import pickle
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

from spaim.benchmark.cache import FoldResult, MethodCache
from spaim.benchmark.inputs import BenchmarkInputs, Fold, build_inputs
from spaim.benchmark.methods import method_class
from spaim.io import read_h5ad


@dataclass(frozen=True)
class Job:
    """Everything the child process needs; it reads the data itself (nothing large is pickled)."""

    method: str
    st_path: str
    sc_path: str
    folds: list[Fold]
    cache: MethodCache
    seed: int = 0
    ignore_case: bool = False
    allow_non_integer: bool = False
    options: dict = field(default_factory=dict)


def start(job: Job) -> subprocess.Popen:
    """Start ``job`` in a fresh interpreter (no memory inherited from this process).

    The child's output (peers print a lot) goes to the method's log, away from the progress bar.
    """
    job.cache.folder.mkdir(parents=True, exist_ok=True)
    job_path = job.cache.folder / "job.pkl"
    job_path.write_bytes(pickle.dumps(job))
    with open(job.cache.log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "spaim.benchmark.worker", str(job_path)], stdout=log, stderr=subprocess.STDOUT)


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started (Linux ``VmHWM``)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # not Linux: ru_maxrss (kilobytes on most systems)

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(job: Job) -> None:
    try:
        _run_folds(job)
    except BaseException as exc:  # any failure of a peer is a result to report, not a crash
        traceback.print_exc()
        job.cache.save_error(_one_line(exc))
        sys.exit(1)


def _run_folds(job: Job) -> None:
    inputs = build_inputs(read_h5ad(job.st_path, "ST"), read_h5ad(job.sc_path, "SC"), job.ignore_case, job.allow_non_integer)
    method = method_class(job.method)(seed=job.seed, **job.options)
    start_time = time.perf_counter()
    method.setup(inputs)
    for fold in job.folds:
        prediction = _checked(method.predict(inputs, fold), inputs, fold)
        now = time.perf_counter()
        # Fold-independent set-up time is charged to the first fold of the run.
        bounds = method.intervals.get(fold.index)
        job.cache.save(fold.index, FoldResult(prediction, now - start_time, peak_rss_mb(), *(bounds or (None, None))))
        start_time = now


def _checked(prediction, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
    prediction = np.asarray(prediction, dtype=np.float32)
    expected = (inputs.st.n_obs, len(fold.test))
    if prediction.shape != expected:
        raise ValueError(f"prediction has shape {prediction.shape}, expected {expected} (ST cells x held-out genes)")
    return prediction


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "no message"
    return f"{type(exc).__name__}: {text}"[:300]


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as fh:
        _run(pickle.load(fh))
