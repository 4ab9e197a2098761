"""Gene features: each describes what it claims, without any ST measurement of the gene."""

from __future__ import annotations

import numpy as np

from spaim.confidence.features import FEATURES, gene_features, reference_pcc


def _panel(rng, n=12, k=5):
    return rng.gamma(2.0, 1.0, size=(n, k))


def test_flat_gene_has_no_spread_and_specific_gene_has_more():
    rng = np.random.default_rng(0)
    panel = _panel(rng)
    profiles = np.array([[1.0, 1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 4.0, 0.0, 0.0]])
    pred = rng.gamma(2.0, 1.0, size=(50, 2))
    table = gene_features(profiles, np.ones(5), panel, np.linspace(0, 1, len(panel)), [pred])
    assert list(table.columns) == list(FEATURES)
    assert table.loc[0, "sc_spread"] == 0 and table.loc[1, "sc_spread"] > 1
    assert table.loc[0, "sc_active_clusters"] == 1 and table.loc[1, "sc_active_clusters"] == 0.2
    assert table["seed_agreement"].isna().all()  # one prediction: nothing to agree with


def test_similarity_and_neighbour_pcc_come_from_the_most_similar_panel_genes():
    rng = np.random.default_rng(1)
    panel = _panel(rng)
    pcc = np.linspace(0, 1, len(panel))
    copies = panel[[3, 9]] * 2 + 0.5  # same shape as panel genes 3 and 9
    pred = rng.gamma(2.0, 1.0, size=(50, 2))
    table = gene_features(copies, np.ones(5), panel, pcc, [pred])
    assert np.all(table["profile_similarity"] < 1 + 1e-9)
    # the copy of a high-PCC gene inherits a higher neighbour PCC than the copy of a low one
    assert table.loc[1, "neighbour_pcc"] > table.loc[0, "neighbour_pcc"]
    # excluding the gene's own copy lowers its similarity
    exclude = np.zeros((2, len(panel)), bool)
    exclude[0, 3] = exclude[1, 9] = True
    excluded = gene_features(copies, np.ones(5), panel, pcc, [pred], exclude=exclude)
    assert np.all(excluded["profile_similarity"] < table["profile_similarity"])


def test_seed_agreement_is_high_for_matching_predictions_and_low_for_unrelated_ones():
    rng = np.random.default_rng(2)
    first = rng.gamma(2.0, 1.0, size=(200, 2))
    second = np.column_stack([first[:, 0] + rng.normal(0, 0.05, 200), rng.gamma(2.0, 1.0, 200)])
    table = gene_features(_panel(rng, k=5)[:2], np.ones(5), _panel(rng), np.zeros(12), [first, second])
    assert table.loc[0, "seed_agreement"] > 0.9 and abs(table.loc[1, "seed_agreement"]) < 0.3


def test_reference_pcc_is_high_for_a_gene_the_panel_determines_and_low_for_noise():
    rng = np.random.default_rng(2)
    states = np.repeat(np.arange(6), 20)  # 120 metacells in 6 cell states
    centres = rng.normal(0, 3, size=(6, 20))
    panel = (centres[states] + rng.normal(0, 0.3, size=(120, 20))).T  # 20 panel genes x 60 metacells
    determined = 2 * centres[states, 4] + rng.normal(0, 0.3, 120)  # follows the states the panel sees
    noise = rng.normal(0, 1, 120)  # unrelated to them
    table = gene_features(np.zeros((2, 5)), np.ones(5), _panel(rng), np.zeros(12), [rng.gamma(2.0, 1.0, (50, 2))],
                          metacells=np.vstack([determined, noise]), panel_metacells=panel)
    assert table.loc[0, "reference_pcc"] > 0.8
    assert abs(table.loc[1, "reference_pcc"]) < 0.4


def test_reference_pcc_leaves_out_the_excluded_panel_genes():
    rng = np.random.default_rng(3)
    panel = rng.normal(size=(10, 40))  # no shared structure: only a gene's own copy can predict it
    copy = panel[[2]].copy()
    kept = reference_pcc(copy, panel)
    exclude = np.zeros((1, 10), bool)
    exclude[0, 2] = True
    left_out = reference_pcc(copy, panel, exclude)
    assert kept[0] > left_out[0] + 0.2
    assert np.isnan(gene_features(np.zeros((1, 5)), np.ones(5), _panel(rng), np.zeros(12), [rng.gamma(2.0, 1.0, (50, 1))])
                    ["reference_pcc"]).all()  # no metacells given
