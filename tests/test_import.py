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
