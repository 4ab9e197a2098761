import pandas as pd
import pytest

import spaim
from spaim.errors import SpaIMInputError


def test_cv_scores_draws_one_box_per_group_and_metric(tmp_path):
    table = pd.DataFrame({"gene": list("abcdef"), "method": ["spaim"] * 3 + ["knn"] * 3,
                          "pcc": [0.1, 0.5, 0.9, 0.2, 0.3, 0.4], "ssim": 0.5, "rmse": 1.0, "js": 0.1})
    fig = spaim.pl.cv_scores(table, groupby="method", title="t", save=tmp_path / "cv.png")
    assert len(fig.axes) == 4 and [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["spaim", "knn"]
    levels = {round(float(line.get_ydata()[0]), 6) for line in fig.axes[0].lines if len(set(line.get_ydata())) == 1}
    assert levels == {0.1, 0.5, 0.9, 0.2, 0.3, 0.4}  # caps at the extremes and each group's median
    assert (tmp_path / "cv.png").stat().st_size > 0
    with pytest.raises(SpaIMInputError, match="lacks column"):
        spaim.pl.cv_scores(table.drop(columns="js"))


def test_history_has_a_panel_per_loss_term(trained_model, tmp_path):
    fig = spaim.pl.history(trained_model, save=tmp_path / "h.png")
    terms = [c for c in trained_model.history.columns if c != "epoch"]
    assert [ax.get_title() for ax in fig.axes[: len(terms)]] == terms
    assert list(fig.axes[0].lines[0].get_ydata()) == list(trained_model.history[terms[0]])
    with pytest.raises(SpaIMInputError, match="train the model first"):
        spaim.pl.history(None)
