import numpy as np
import pytest
from sklearn.decomposition import PCA

from spaim import cell_basis


@pytest.fixture
def slide():
    rng = np.random.default_rng(0)
    st = np.log1p(rng.poisson(rng.gamma(1.0, 2.0, (1, 40)), (600, 40))).astype(np.float32)
    st[:, 3] = 1.0  # a constant gene
    profiles = rng.random((40, 6))
    coords = rng.random((600, 2))
    return st, profiles, coords


def test_the_basis_does_not_depend_on_how_many_rows_are_read_at_once(slide, monkeypatch):
    whole = cell_basis.build_cell_basis(*slide, n_pcs=5)
    monkeypatch.setattr(cell_basis, "_BLOCK_VALUES", 50)  # blocks of one row
    blocked = cell_basis.build_cell_basis(*slide, n_pcs=5)
    np.testing.assert_allclose(blocked.features, whole.features, atol=1e-5)
    np.testing.assert_allclose(blocked.assignment, whole.assignment, atol=1e-6)
    assert (blocked.temperature, blocked.smoothing) == (whole.temperature, whole.smoothing)


def test_principal_components_match_scikit_learn_on_z_scored_genes(slide):
    st = slide[0]
    expected = PCA(n_components=5, random_state=0).fit_transform(cell_basis.zscore_columns(st))
    np.testing.assert_allclose(cell_basis._principal_components(st, 5), expected, atol=1e-4)


def test_affinity_over_a_gene_subset_equals_affinity_of_the_subset(slide):
    st, profiles, _ = slide
    genes = np.arange(0, 40, 3)
    np.testing.assert_allclose(
        cell_basis.cluster_affinity(st, profiles, genes), cell_basis.cluster_affinity(st[:, genes], profiles[genes]), atol=1e-6
    )
    assert cell_basis.cluster_affinity(st, profiles).dtype == np.float32
