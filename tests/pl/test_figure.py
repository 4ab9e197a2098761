import io

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from spaim.pl._figure import save_figure, spatial_scatter


def test_saved_figures_are_palette_pngs_that_look_like_the_render(tmp_path):
    rng = np.random.default_rng(0)
    xy, values = rng.random((500, 2)), rng.random(500)

    def draw():
        fig, ax = plt.subplots(figsize=(3, 3))
        spatial_scatter(ax, xy, values, "a gradient of 500 values")
        return fig

    rendered = io.BytesIO()
    draw().savefig(rendered, format="png", dpi=100, bbox_inches="tight")
    save_figure(draw(), tmp_path / "f.png")
    saved = Image.open(tmp_path / "f.png")
    assert saved.mode == "P"
    reference = np.asarray(Image.open(rendered).convert("RGB"), dtype=int)
    difference = np.abs(np.asarray(saved.convert("RGB"), dtype=int) - reference)
    assert difference.shape == reference.shape and np.percentile(difference, 99) <= 12 and difference.mean() < 1
    assert (tmp_path / "f.png").stat().st_size < rendered.getbuffer().nbytes
    plt.close("all")
