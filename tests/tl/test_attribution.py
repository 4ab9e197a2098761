import copy

import numpy as np
import pytest
import torch

import spaim
from spaim.errors import SpaIMInputError
from spaim.tl.attribution import _FusionTaps, classify, style_input


def test_classify_uses_the_upper_quartile_of_each_score():
    content = np.array([1, 2, 3, 4, 5, 6, 7, 100.0])
    style = np.array([100, -100, 3, 4, 5, 6, 1, 2.0])  # magnitudes are compared
    assert classify(content, style).tolist() == ["style"] * 2 + ["other"] * 4 + ["content"] * 2
    assert classify(content, content).tolist() == ["other"] * 8  # high on both is neither


def test_taps_leave_the_generator_unchanged(trained_model):
    x = torch.from_numpy(trained_model.data.reference.profiles[:5])
    taps = _FusionTaps(trained_model.module, 0)
    with torch.no_grad():
        expected = trained_model.module.generate(x).mean(dim=1)
        assert torch.allclose(taps(x, style_input(trained_model.module, x)), expected, atol=1e-6)


def test_cell_basis_generator_is_tapped_too(small_pair):
    st, sc = small_pair
    model = spaim.SpaIM(st[:, :60].copy(), sc, labels_key="cell_type", widths=(16, 8), architecture="cellbasis")
    model.train(max_epochs=2, validation_fraction=0, progress=False)
    x = torch.from_numpy(model.sc_inputs(model.data.reference.genes[:5]))
    with torch.no_grad():
        assert torch.allclose(_FusionTaps(model.module, 1)(x, style_input(model.module, x)), model.module.generate(x).mean(dim=1), atol=1e-6)
    for layer in model.module.decoder.layers:  # weights at zero ignore content and style: only transfer and biases speak
        torch.nn.init.zeros_(layer.weight)
    table = spaim.tl.attribute(model, model.data.reference.genes[:10].tolist(), n_samples=3)
    assert (table[["content", "style"]].to_numpy() == 0).all()


def test_attribute_scores_every_gene_and_layer_reproducibly(trained_model, tmp_path):
    genes = list(trained_model.data.reference.genes[:40])
    table = spaim.tl.attribute(trained_model, genes, n_samples=5, seed=3)
    assert len(table) == 2 * len(genes) and sorted(table["layer"].unique()) == [1, 2]
    assert np.isfinite(table[["content", "style"]].to_numpy()).all()
    assert table["style"].abs().sum() > 0 and table["content"].abs().sum() > 0
    last = table[table["layer"] == 2]
    assert last["category"].tolist() == classify(last["content"], last["style"]).tolist()
    assert table.equals(spaim.tl.attribute(trained_model, genes, n_samples=5, seed=3))
    fig = spaim.pl.attributions(table, save=tmp_path / "a.png")
    counts = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert counts[0] == f"content ({(last['category'] == 'content').sum()})"
    assert (tmp_path / "a.png").stat().st_size > 0


def test_a_profile_equal_to_the_baseline_gets_no_content_attribution(trained_model):
    model = copy.deepcopy(trained_model)
    model.data.reference.profiles[0] = 0.0
    genes = list(model.data.reference.genes[:2])
    table = spaim.tl.attribute(model, genes, layers=[2], n_samples=5)
    assert table["content"].iloc[0] == 0.0 and table["content"].iloc[1] != 0.0


def test_bad_arguments_are_one_line(trained_model):
    with pytest.raises(SpaIMInputError, match="layers must be between 1 and 2"):
        spaim.tl.attribute(trained_model, layers=[3])
    with pytest.raises(SpaIMInputError, match="not available"):
        spaim.tl.attribute(trained_model, ["NotAGene"])
