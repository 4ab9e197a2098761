"""One default SpaIM fit on a bundled dataset, for timing a whole process (hand-run, not a test).

    OMP_NUM_THREADS=1 python benchmarks/fit_cost.py osmfish_cortex

Set-up (SC clustering, metacells, cell basis) and training on every shared gene with the
package defaults, one thread; prints the set-up and training seconds. Time it from outside
(``/usr/bin/time -v``) for CPU and peak memory, and pair two checkouts through PYTHONPATH
to compare versions on the same machine in one run (docs/results.md quotes such a pairing).
"""

import sys
import time

import spaim
from spaim import datasets


def main(name: str) -> None:
    st, sc = datasets.load(name, download=False)
    start = time.perf_counter()
    model = spaim.SpaIM(st, sc, allow_non_integer=True, threads=1)
    built = time.perf_counter()
    model.train(progress=False)
    print(f"{name}: set-up {built - start:.1f} s, training {time.perf_counter() - built:.1f} s, "
          f"{sum(p.numel() for p in model.module.parameters())} parameters ({spaim.__file__})")


if __name__ == "__main__":
    main(sys.argv[1])
