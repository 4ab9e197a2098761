import subprocess
import sys

CHECK = """
import importlib, pkgutil
import matplotlib
matplotlib.use("svg")
import spaim
for info in pkgutil.walk_packages(spaim.__path__, "spaim."):
    try:
        importlib.import_module(info.name)
    except ModuleNotFoundError as exc:  # optional extras (benchmark peers) may be absent
        if not exc.name or exc.name.startswith("spaim"):
            raise
print(matplotlib.get_backend())
"""


def test_importing_any_module_keeps_the_matplotlib_backend():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "svg"


LIGHT_IMPORT = """
import sys
import spaim
heavy = sorted(m for m in ("matplotlib", "scanpy", "numba") if m in sys.modules)
print(",".join(heavy) or "none")
print(spaim.pl.spatial.__module__, "pl" in dir(spaim), "matplotlib" in sys.modules)
"""


def test_importing_spaim_leaves_the_plotting_stack_until_first_use():
    out = subprocess.run([sys.executable, "-c", LIGHT_IMPORT], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["none", "spaim.pl.spatial", "True", "True"]
