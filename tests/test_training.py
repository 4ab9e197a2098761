import numpy as np
import pytest
import torch

from spaim.errors import SpaIMInputError
from spaim.model.networks import SpaIMModule
from spaim.training import TrainingPlan, _batches, resolve_device, split_validation, train_module, validation_loss


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    sc = torch.rand(30, 5, generator=g)
    mixing = torch.rand(5, 50, generator=g)
    return sc @ mixing, sc  # ST profiles are a linear function of SC profiles: learnable


def _train(seed=0, **plan):
    torch.manual_seed(seed)
    module = SpaIMModule(50, 5, widths=(32, 16))
    st, sc = _data()
    history = train_module(module, st, sc, TrainingPlan(**plan), seed=seed, progress=False)
    return module, history


def test_training_lowers_the_generation_loss():
    _, history = _train(max_epochs=60, validation_fraction=0)
    assert history.generation.iloc[-1] < 0.5 * history.generation.iloc[0]


def test_fixed_seed_is_deterministic():
    m1, h1 = _train(max_epochs=10)
    m2, h2 = _train(max_epochs=10)
    assert h1.equals(h2)
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)


def test_early_stopping_stops_and_keeps_the_best_epoch():
    _, history = _train(max_epochs=300, patience=3, lr=5e-2)
    assert len(history) < 300
    best, last_improvement = np.inf, 0
    for epoch, loss in enumerate(history.validation):  # improvement means by more than 1e-5
        if loss < best - 1e-5:
            best, last_improvement = loss, epoch
    assert len(history) - 1 - last_improvement == 3


def test_validation_split_and_small_sets():
    rng = np.random.default_rng(0)
    train, val = split_validation(30, 0.1, rng)
    assert len(val) == 3 and len(np.intersect1d(train, val)) == 0
    train, val = split_validation(4, 0.25, rng)
    assert len(val) == 0 and len(train) == 4


@pytest.mark.parametrize("n, size, lengths", [(9, 4, [4, 5]), (65, 64, [65]), (10, 4, [2, 4, 4])])
def test_no_batch_of_one_and_every_gene_once(n, size, lengths):
    batches = _batches(n, size, torch.Generator().manual_seed(0))
    assert sorted(len(b) for b in batches) == lengths
    assert sorted(torch.cat(batches).tolist()) == list(range(n))  # no gene lost or repeated


def test_bad_plans_and_devices():
    with pytest.raises(SpaIMInputError, match="generator_target"):
        TrainingPlan(generator_target="nonsense")
    with pytest.raises(SpaIMInputError, match="unknown"):
        resolve_device("tpu")
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(SpaIMInputError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_the_module_ends_with_its_best_validation_weights():
    module, history = _train(max_epochs=300, patience=3, lr=5e-2)
    st, sc = _data()
    _, val = split_validation(st.shape[0], 0.1, np.random.default_rng(0))
    best = np.inf
    for loss in history.validation:  # the kept epoch: the last to improve by more than 1e-5
        best = loss if loss < best - 1e-5 else best
    assert best != history.validation.iloc[-1]  # later epochs differ, so restoring matters
    assert validation_loss(module, st[val], sc[val], TrainingPlan().similarity) == pytest.approx(best, abs=1e-7)


def test_mixed_precision_changes_results_only_slightly():
    full, h_full = _train(max_epochs=30, validation_fraction=0)
    mixed, h_mixed = _train(max_epochs=30, validation_fraction=0, precision="bfloat16")
    st, sc = _data()
    with torch.no_grad():
        a, b = full.generate(sc), mixed.generate(sc)
    assert all(p.dtype == torch.float32 for p in mixed.parameters()) and b.dtype == torch.float32
    assert not torch.equal(a, b)  # the forward passes did run in bfloat16
    per_gene = torch.nn.functional.cosine_similarity(a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True), dim=1)
    assert per_gene.min() > 0.99
    assert h_mixed.generation.iloc[-1] < 0.5 * h_mixed.generation.iloc[0]
    with pytest.raises(SpaIMInputError, match="precision"):
        TrainingPlan(precision="float16")


def test_a_cell_basis_module_ends_with_its_best_validation_weights_and_its_basis_untouched():
    torch.manual_seed(0)
    module = SpaIMModule(50, 5, widths=(32, 16), n_features=6, n_metacells=4)
    g = torch.Generator().manual_seed(1)
    features, assignment = torch.randn(50, 6, generator=g), torch.rand(50, 4, generator=g)
    module.cells.set_basis(features, assignment)
    st, sc = _data()
    sc = torch.cat([sc, torch.rand(30, 4, generator=g)], dim=1)  # cluster profiles, then metacell profiles
    _, val = split_validation(st.shape[0], 0.1, np.random.default_rng(0))
    similarity = TrainingPlan().similarity
    kept = validation_loss(module, st[val], sc[val], similarity)  # the untrained state competes too
    history = train_module(module, st, sc, TrainingPlan(max_epochs=300, patience=3, lr=5e-2), seed=0, progress=False)
    for loss in history.validation:
        kept = loss if loss < kept - 1e-5 else kept
    assert kept != history.validation.iloc[-1]  # later epochs differ, so restoring matters
    assert validation_loss(module, st[val], sc[val], similarity) == pytest.approx(kept, abs=1e-7)
    assert torch.equal(module.cells.features, features) and torch.equal(module.cells.assignment, assignment)
