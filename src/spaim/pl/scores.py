"""How well the model did: cross-validation scores per gene and the training history."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd

from spaim.errors import SpaIMInputError
from spaim.metrics import METRIC_NAMES
from spaim.pl._figure import SavePath, panels, save_figure

_LOWER_IS_BETTER = ("rmse", "js")


def cv_scores(
    table: pd.DataFrame,
    metrics: Sequence[str] = METRIC_NAMES,
    groupby: str | None = None,
    title: str | None = None,
    save: SavePath = None,
) -> plt.Figure:
    """Boxplots of per-gene scores, one panel per metric (outliers not drawn).

    Parameters
    ----------
    table
        One row per gene, a column per metric: :func:`spaim.cross_validate`'s output, or a
        benchmark's ``per_gene.csv`` (with a ``method`` column to group by).
    metrics
        Metric columns to draw.
    groupby
        Column with one box per value (e.g. ``"method"``); one box over all rows when ``None``.
    title
        Figure title.
    save
        Also write the figure as a PNG there (and close it).

    Returns
    -------
    The figure.
    """
    metrics = list(metrics)
    missing = [c for c in [*metrics, *([groupby] if groupby else [])] if c not in table.columns]
    if missing:
        raise SpaIMInputError(f"the score table lacks column(s) {missing}: pass spaim.cross_validate's per-gene table.")
    groups = list(dict.fromkeys(table[groupby])) if groupby else [None]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        rows = [table if g is None else table[table[groupby] == g] for g in groups]
        ax.boxplot([r[metric].dropna().to_numpy() for r in rows], showfliers=False)
        ax.set_xticks(range(1, len(groups) + 1), [str(g) if g is not None else f"{len(table)} genes" for g in groups],
                      rotation=45 if groupby else 0, ha="right" if groupby else "center")
        ax.set_title(metric.upper() + (" (lower is better)" if metric in _LOWER_IS_BETTER else ""))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, save)


def history(model_or_history, save: SavePath = None) -> plt.Figure:
    """Each loss term per epoch (one panel each), validation loss included when recorded.

    Parameters
    ----------
    model_or_history
        A trained :class:`spaim.SpaIM` or its ``history`` table.
    save
        Also write the figure as a PNG there (and close it).

    Returns
    -------
    The figure.
    """
    table = getattr(model_or_history, "history", model_or_history)
    if not isinstance(table, pd.DataFrame) or "epoch" not in table:
        raise SpaIMInputError("no training history to plot: train the model first (model.train()) or pass model.history.")
    terms = [c for c in table.columns if c != "epoch"]
    fig, axes = panels(len(terms), size=2.8)
    for ax, term in zip(axes.flat, terms):
        ax.plot(table["epoch"], table[term], lw=1.2)
        ax.set(title=term, xlabel="epoch", ylabel="loss")
    fig.tight_layout()
    return save_figure(fig, save)
