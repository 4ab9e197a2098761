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
    units = cell_basis.Metacells(profiles, rng.integers(1, 20, 6).astype(np.float32), np.array([0, 0, 1, 1, 1, 2]))
    coords = rng.random((600, 2))
    return st, units, coords


def test_the_basis_does_not_depend_on_how_many_rows_are_read_at_once(slide, monkeypatch):
    whole = cell_basis.build_cell_basis(*slide, n_pcs=5)
    monkeypatch.setattr(cell_basis, "_BLOCK_VALUES", 50)  # blocks of one row
    blocked = cell_basis.build_cell_basis(*slide, n_pcs=5)
    np.testing.assert_allclose(blocked.features, whole.features, atol=1e-5)
    np.testing.assert_allclose(blocked.assignment, whole.assignment, atol=1e-6)
    assert (blocked.mappings, blocked.smoothing) == (whole.mappings, whole.smoothing)


def test_principal_components_match_scikit_learn_on_z_scored_genes(slide):
    st = slide[0]
    expected = PCA(n_components=5, random_state=0).fit_transform(cell_basis.zscore_columns(st))
    np.testing.assert_allclose(cell_basis._principal_components(st, 5), expected, atol=1e-4)


def test_affinity_over_a_gene_subset_equals_affinity_of_the_subset(slide):
    st, units, _ = slide
    profiles = units.profiles
    genes = np.arange(0, 40, 3)
    np.testing.assert_allclose(
        cell_basis.cluster_affinity(st, profiles, genes), cell_basis.cluster_affinity(st[:, genes], profiles[genes]), atol=1e-6
    )
    assert cell_basis.cluster_affinity(st, profiles).dtype == np.float32


def _typed_slide(seed=0, n_types=4, per_type=3, n_cells=300, n_genes=30):
    """ST cells of known types, and SC metacells (``per_type`` per type) with the types' profiles plus noise."""
    rng = np.random.default_rng(seed)
    types = rng.gamma(1.0, 1.0, (n_genes, n_types))
    clusters = np.repeat(np.arange(n_types), per_type)
    profiles = types[:, clusters] + rng.normal(0, 0.05, (n_genes, n_types * per_type))
    truth = rng.integers(0, n_types, n_cells)
    st = types[:, truth].T + rng.normal(0, 0.1, (n_cells, n_genes))
    return st.astype(np.float32), cell_basis.Metacells(profiles, np.full(n_types * per_type, 10.0), clusters), truth


def test_mappings_of_one_kind_share_their_work_and_give_what_each_gives_alone(monkeypatch):
    st, units, _ = _typed_slide(seed=6)
    genes = np.arange(20)
    mappings = [cell_basis.Mapping("learned", epochs=30), cell_basis.Mapping("clusters", 0.2),
                cell_basis.Mapping("learned", epochs=15), cell_basis.Mapping("clusters", 0.5)]
    alone = [cell_basis.assignment_of(st, units, m, genes, seed=2) for m in mappings]
    runs = []
    learned, affinity = cell_basis.learned_mapping, cell_basis.cluster_affinity
    monkeypatch.setattr(cell_basis, "learned_mapping", lambda *a, **k: runs.append("learned") or learned(*a, **k))
    monkeypatch.setattr(cell_basis, "cluster_affinity", lambda *a, **k: runs.append("affinity") or affinity(*a, **k))
    together = cell_basis.assignments_of(st, units, mappings, genes, seed=2)
    assert sorted(runs) == ["affinity", "learned"]  # one learned run, one correlation for both temperatures
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a, b)
    mean = cell_basis.mean_assignment(st, units, mappings[:2], genes, seed=2)
    np.testing.assert_allclose(mean, (alone[0] + alone[1]) / 2, rtol=1e-6)


def test_cluster_weights_on_metacells_transfer_the_cluster_means():
    _, units, _ = _typed_slide()
    weights = np.random.default_rng(1).dirichlet(np.ones(4), 50)
    np.testing.assert_allclose(units.from_clusters(weights) @ units.profiles.T, weights @ units.cluster_profiles().T, atol=1e-5)
    np.testing.assert_allclose(units.from_clusters(weights).sum(axis=1), 1, atol=1e-6)


def test_learned_mapping_sends_each_cell_the_profile_of_its_type():
    st, units, truth = _typed_slide()
    weights = cell_basis.learned_mapping(st, units.profiles, units.sizes, seed=0)
    by_type = weights.reshape(len(st), 4, 3).sum(axis=2)  # metacells are numbered type by type
    assert (by_type.argmax(axis=1) == truth).mean() > 0.9
    np.testing.assert_allclose(weights.sum(axis=1).mean(), 1, atol=1e-5)
    np.testing.assert_array_equal(weights, cell_basis.learned_mapping(st, units.profiles, units.sizes, seed=0))


def _autograd_mapping(st, profiles, sizes, steps, seed=0):
    """Tangram's gene-wise cosine objective on metacells, differentiated by autograd: the reference."""
    import torch

    target = torch.from_numpy(st.astype(np.float32))
    target = target / target.norm(dim=0).clamp_min(1e-8)
    source = torch.from_numpy(profiles.T.astype(np.float32))
    mass = torch.from_numpy((sizes / sizes.mean()).astype(np.float32))[:, None]
    logits = (0.01 * torch.randn(source.shape[0], target.shape[0], generator=torch.Generator().manual_seed(seed)))
    logits.requires_grad_()
    optimizer = torch.optim.Adam([logits], lr=cell_basis.MAPPING_LR)
    for _ in range(steps):
        predicted = (torch.softmax(logits, dim=1) * mass).T @ source  # cells x genes
        loss = -torch.nn.functional.cosine_similarity(predicted, target, dim=0).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    weights = (torch.softmax(logits, dim=1) * mass).T.detach().numpy()
    return weights * (weights.shape[0] / weights.sum())


@pytest.mark.parametrize("n_units", [3, 24])  # more genes than units, then fewer: the two ways of forming the gradient
def test_learned_mapping_follows_the_cosine_objective_as_autograd_does(n_units):
    rng = np.random.default_rng(1)
    st = np.log1p(rng.poisson(2.0, (150, 12))).astype(np.float32)
    profiles, sizes = rng.gamma(0.5, size=(12, n_units)), rng.integers(1, 30, n_units).astype(np.float64)
    profiles[0] = 0.0  # a gene no unit expresses
    ours = cell_basis.learned_mapping(st, profiles, sizes, epochs=(1, 10))
    for steps, weights in zip((1, 10), ours):
        np.testing.assert_allclose(weights, _autograd_mapping(st, profiles, sizes, steps), rtol=1e-4, atol=1e-7)


def test_learned_mapping_snapshots_are_the_shorter_runs():
    st, units, _ = _typed_slide()
    early, late = cell_basis.learned_mapping(st, units.profiles, units.sizes, epochs=(5, 20))
    np.testing.assert_array_equal(early, cell_basis.learned_mapping(st, units.profiles, units.sizes, epochs=5))
    np.testing.assert_array_equal(late, cell_basis.learned_mapping(st, units.profiles, units.sizes, epochs=20))
    assert not np.allclose(early, late)


def test_the_mapping_is_chosen_by_how_well_it_predicts_held_out_genes(monkeypatch):
    st, units, truth = _typed_slide(seed=2, n_genes=40)
    st_noisy = st + np.random.default_rng(4).normal(0, 2.0, st.shape).astype(np.float32)  # correlation now errs
    exact = units.from_clusters(np.eye(4, dtype=np.float32)[truth])  # every cell on the metacells of its own type

    snapshots = len(cell_basis.MAPPING_EPOCHS)
    monkeypatch.setattr(cell_basis, "learned_mapping", lambda *args, **kwargs: [exact] * snapshots)
    assert cell_basis.choose_mappings(st_noisy, units)[0].kind == "learned"
    uniform = np.full((len(st), 12), 1 / 12, dtype=np.float32)
    monkeypatch.setattr(cell_basis, "learned_mapping", lambda *args, **kwargs: [uniform] * snapshots)
    assert cell_basis.choose_mappings(st_noisy, units)[0].kind in ("clusters", "metacells")


def test_ranking_some_genes_ignores_the_others():
    st, units, _ = _typed_slide(seed=3, n_genes=40)
    genes = np.arange(0, 40, 2)
    noise = np.random.default_rng(5).normal(0, 3.0, st.shape).astype(np.float32)
    other_genes_changed = np.where(np.isin(np.arange(40), genes), st, st + noise)
    ranked = cell_basis.rank_mappings(st, units, genes, seed=1)
    assert ranked == cell_basis.rank_mappings(other_genes_changed, units, genes, seed=1)
    assert len(ranked) == len(set(ranked)) == 2 * len(cell_basis.TEMPERATURES) + len(cell_basis.MAPPING_EPOCHS)
    assert cell_basis.choose_mappings(st, units, seed=1) == tuple(cell_basis.rank_mappings(st, units, seed=1)[:2])


def test_large_slides_choose_on_a_sample_of_cells_and_map_every_cell(monkeypatch):
    st, units, truth = _typed_slide(seed=5, n_cells=900, n_genes=30)
    coords = np.column_stack([truth + np.random.default_rng(0).normal(0, 0.3, 900), np.zeros(900)])
    seen = []
    choose = cell_basis.choose_mappings
    monkeypatch.setattr(cell_basis, "choose_mappings", lambda st_log, *a, **k: seen.append(len(st_log)) or choose(st_log, *a, **k))
    monkeypatch.setattr(cell_basis, "CHOICE_MAX_CELLS", 300)
    basis = cell_basis.build_cell_basis(st, units, coords, n_pcs=3)
    assert seen == [300] and basis.assignment.shape == (900, 12)
    by_type = basis.assignment.reshape(900, 4, 3).sum(axis=2)
    assert (by_type.argmax(axis=1) == truth).mean() > 0.9


def test_expression_neighbours_pool_cells_of_a_kind_wherever_they_lie():
    rng = np.random.default_rng(0)
    kind = rng.integers(0, 2, 300)  # two kinds, mixed over the slide
    pcs = (kind[:, None] * 10.0 + rng.normal(size=(300, 4))).astype(np.float32)
    pool = cell_basis.expression_neighbours(pcs)
    assert np.allclose(pool.sum(axis=1), 1) and np.all(pool.diagonal() > 0)  # a mean that holds the cell itself
    assert pool.getnnz(axis=1).max() == cell_basis.EXPRESSION_NEIGHBOURS
    np.testing.assert_allclose(pool @ np.eye(2)[kind], np.eye(2)[kind])  # every neighbour of a cell is of its kind


def test_expression_neighbours_of_a_large_slide_are_found_among_sampled_cells(monkeypatch):
    monkeypatch.setattr(cell_basis, "NEIGHBOUR_MAX_CELLS", 50)
    pcs = np.random.default_rng(1).normal(size=(400, 3)).astype(np.float32)
    pool = cell_basis.expression_neighbours(pcs, seed=3)
    assert np.allclose(pool.sum(axis=1), 1) and len(np.unique(pool.indices)) <= 50
    assert (pool != cell_basis.expression_neighbours(pcs, seed=3)).nnz == 0  # the sample follows the seed


def test_the_basis_pools_each_cells_weights_with_its_expression_neighbours(slide, monkeypatch):
    pooled = cell_basis.build_cell_basis(*slide, n_pcs=5)
    monkeypatch.setattr(cell_basis, "EXPRESSION_SMOOTHING", 0.0)
    own = cell_basis.build_cell_basis(*slide, n_pcs=5)
    assert pooled.mappings == own.mappings and pooled.smoothing == own.smoothing  # chosen before pooling
    # pooling is a mean over cells: it keeps each cell's total weight and narrows the spread between cells
    np.testing.assert_allclose(pooled.assignment.sum(axis=1), own.assignment.sum(axis=1), rtol=1e-4)
    assert pooled.assignment.std(axis=0).mean() < own.assignment.std(axis=0).mean()
