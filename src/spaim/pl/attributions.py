"""The content vs style attribution scatter of :func:`spaim.tl.attribute`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from spaim.errors import SpaIMInputError
from spaim.pl._figure import SavePath, panels, save_figure

_COLOURS = {"content": "tab:blue", "style": "tab:orange", "other": "lightgrey"}


def attributions(table: pd.DataFrame, label: int = 5, save: SavePath = None) -> plt.Figure:
    """Each gene's content (x) vs style (y) attribution magnitude, coloured by category, one panel per layer.

    Parameters
    ----------
    table
        :func:`spaim.tl.attribute`'s output.
    label
        Name the ``label`` genes of each category with the largest score.
    save
        Also write the figure as a PNG there (and close it).

    Returns
    -------
    The figure.
    """
    needed = {"gene", "layer", "content", "style", "category"}
    if not needed <= set(table.columns):
        raise SpaIMInputError(f"the table lacks {sorted(needed - set(table.columns))}: pass spaim.tl.attribute's output.")
    layers = sorted(table["layer"].unique())
    fig, axes = panels(len(layers), size=4.2)
    last = max(layers)
    for ax, k in zip(axes.flat, layers):
        rows = table[table["layer"] == k]
        x, y = rows["content"].abs().to_numpy(), rows["style"].abs().to_numpy()
        for category, colour in _COLOURS.items():
            pick = (rows["category"] == category).to_numpy()
            ax.scatter(x[pick], y[pick], s=8, c=colour, linewidths=0, label=f"{category} ({pick.sum()})")
            if category != "other":
                score = (y if category == "style" else x)[pick]
                for i in np.flatnonzero(pick)[np.argsort(-score, kind="stable")[:label]]:
                    ax.annotate(rows["gene"].iloc[i], (x[i], y[i]), fontsize=6)
        ax.axvline(np.quantile(x, 0.75), color="black", lw=0.6, ls="--")
        ax.axhline(np.quantile(y, 0.75), color="black", lw=0.6, ls="--")
        depth = "last" if k == last else "intermediate"
        ax.set(xlabel="|content attribution|", ylabel="|style attribution|", title=f"ReST layer {k} ({depth})")
        ax.legend(fontsize=7, markerscale=1.5)
    fig.tight_layout()
    return save_figure(fig, save)
