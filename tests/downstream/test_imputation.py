import numpy as np
import pytest

from spaim import datasets
from spaim.downstream.imputation import impute_versions
from spaim.errors import SpaIMInputError, SpaIMWarning


@pytest.fixture(scope="module")
def slideseq():
    """Slide-seq: 100 beads, a reference with 6 genes beyond the ST panel."""
    try:
        return datasets.load("slideseq_cerebellum", download=False)
    except SpaIMInputError as exc:
        pytest.skip(str(exc))


def test_versions_hold_held_out_panel_genes_then_new_genes(slideseq):
    st, sc = slideseq
    with pytest.warns(SpaIMWarning, match="no counts in any ST cell"):  # some panel genes are silent in 100 beads
        versions = impute_versions(st, sc, ["knn", "spaim"], folds=2, max_epochs=2)
    counted = {g for g in set(st.var_names) & set(sc.var_names) if st[:, g].X.sum() > 0}
    for name, version in versions.items():
        shared = version.var_names[version.var["measured"]]
        new = version.var_names[~version.var["measured"]]
        assert set(shared) == counted
        assert len(new) > 0 and not set(new) & set(st.var_names) and set(new) <= set(sc.var_names)
        assert version.obs_names.equals(st.obs_names) and "spatial" in version.obsm
        assert np.isfinite(version.X).all() and (version.X >= 0).all()
        # Held-out predictions come from SC, not from the measurement.
        assert not np.allclose(version[:, shared].X, np.log1p(st[:, shared].X)), name


def test_unknown_method(slideseq):
    with pytest.raises(SpaIMInputError, match="unknown method"):
        impute_versions(*slideseq, ["tangram"])
