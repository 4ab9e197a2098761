"""Hostile but realistic input, through the command line and the API.

Every refusal must: exit with its documented code (API: raise SpaIMInputError), print one
line that names the problem and a fix, leave no output behind, and leave the inputs as they
were. Cases that still give a usable result must say so in one warning line. The data are
small and synthetic, and nearly every case is refused before any training.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from spaim import SpaIM, cross_validate
from spaim.cli import main
from spaim.errors import SpaIMInputError, SpaIMWarning
from spaim.pairing import prepare_pair

N_SHARED, N_SC_ONLY = 40, 20
FAST = ["--epochs", "2", "--quiet", "--labels-key", "cell_type"]
CHEAP_CONFIDENCE = ["--confidence-folds", "2", "--confidence-ensemble", "1"]  # impute only: 2 fold models, not 10 and a companion
NO_LABELS = "<cluster the reference>"  # a case's extra arguments: leave out --labels-key


def make_pair(n_st: int = 60, n_sc: int = 90, n_shared: int = N_SHARED, n_sc_only: int = N_SC_ONLY, seed: int = 0):
    """An ST panel of ``n_shared`` genes and a labelled SC reference of those plus ``n_sc_only`` more."""
    rng = np.random.default_rng(seed)
    genes = [f"Gene{i}" for i in range(n_shared + n_sc_only)]
    rates = rng.gamma(2.0, 1.0, (3, len(genes)))
    sc_types, st_types = rng.integers(0, 3, n_sc), rng.integers(0, 3, n_st)
    sc = ad.AnnData(
        rng.poisson(rates[sc_types]).astype(np.float32),
        obs=pd.DataFrame({"cell_type": pd.Categorical([f"t{t}" for t in sc_types])}, index=[f"c{i}" for i in range(n_sc)]),
        var=pd.DataFrame(index=genes),
    )
    st = ad.AnnData(
        rng.poisson(2 * rates[st_types][:, :n_shared]).astype(np.float32),
        obs=pd.DataFrame(index=[f"s{i}" for i in range(n_st)]),
        var=pd.DataFrame(index=genes[:n_shared]),
    )
    st.obsm["spatial"] = rng.uniform(0, 100, (n_st, 2))
    return st, sc


@pytest.fixture()
def pair():
    return make_pair()


# ------------------------------------------------------------------ helpers
def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _assert_one_line_with_fix(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    assert re.search(r": \S.*\S", lines[0].split("error: ", 1)[-1]), f"no fix named: {lines[0]}"
    return lines[0]


def _same(a: ad.AnnData, b: ad.AnnData) -> bool:
    x, y = (m.toarray() if sp.issparse(m) else np.asarray(m) for m in (a.X, b.X))
    return (
        np.array_equal(x, y, equal_nan=True)
        and a.obs.equals(b.obs)
        and a.var.equals(b.var)
        and list(a.obsm) == list(b.obsm)
        and list(a.layers) == list(b.layers)
    )


# ------------------------------------------------------------- command line
def _bad(st=None, sc=None):
    """A mutation of the written inputs: functions of (st, sc) returning new (st, sc)."""
    return lambda s, c: (st(s) if st else s, sc(c) if sc else c)


def _set(adata, value, where=(0, 0)):
    out = adata.copy()
    out.X[where] = value
    return out


def _zeros(adata):
    out = adata.copy()
    out.X = np.zeros_like(out.X)
    return out


def _labels(adata, values):
    out = adata.copy()
    out.obs["cell_type"] = values
    return out


def _renamed(adata, names):
    out = adata.copy()
    out.var_names = names
    return out


CLI_REFUSALS = {
    # data
    "st-nan": (_bad(st=lambda s: _set(s, np.nan)), [], "NaN or infinite"),
    "sc-inf": (_bad(sc=lambda c: _set(c, np.inf)), [], "NaN or infinite"),
    "st-negative": (_bad(st=lambda s: _set(s, -2)), [], "negative values"),
    "st-non-integer": (_bad(st=lambda s: _set(s, 0.5)), [], "non-integer"),
    "st-duplicate-genes": (_bad(st=lambda s: _renamed(s, ["Gene0"] * 2 + list(s.var_names[2:]))), [], "duplicate gene names"),
    "sc-duplicate-cells": (_bad(sc=lambda c: c[[0, 0, *range(1, c.n_obs)]].copy()), [], "duplicate cell names"),
    "no-shared-gene": (_bad(st=lambda s: _renamed(s, [f"x{i}" for i in range(s.n_vars)])), [], "share no gene names"),
    "two-shared-genes": (_bad(st=lambda s: _renamed(s, [*s.var_names[:2], *(f"x{i}" for i in range(s.n_vars - 2))])), [],
                         "share only 2 expressed gene"),
    "st-all-zero": (_bad(st=_zeros), [], "holds only zeros"),
    "st-three-cells": (_bad(st=lambda s: s[:3].copy()), [], "needs at least 10"),
    "sc-all-zero": (_bad(sc=_zeros), [], "holds only zeros"),
    "st-shared-genes-silent": (_bad(st=lambda s: _silent_shared(s)), [], "no counts in any gene shared"),
    "sc-one-cell": (_bad(sc=lambda c: c[:1].copy()), [NO_LABELS], "too few to cluster"),
    "sc-cells-all-alike": (_bad(sc=lambda c: _tiled(c)), [NO_LABELS], "barely differ"),
    "sc-one-label": (_bad(sc=lambda c: _labels(c, ["t0"] * c.n_obs)), [], "single label"),
    "sc-missing-labels": (_bad(sc=lambda c: _labels(c, [None, *c.obs["cell_type"].iloc[1:]])), [], "1 missing label"),
    "st-coordinates-nan": (_bad(st=lambda s: _nan_coordinates(s)), [], "coordinates hold NaN"),
    "labels-key-absent": (None, ["--labels-key", "celltype"], "no obs column 'celltype'"),
    "st-layer-absent": (None, ["--st-layer", "counts"], "no layer 'counts'"),
    # options
    "seed-negative": (None, ["--seed", "-1"], "--seed -1"),
    "epochs-zero": (None, ["--epochs", "0"], "--epochs 0"),
    "epochs-not-a-number": (None, ["--epochs", "many"], "invalid int value"),
    "min-cell-fraction-above-one": (None, ["--min-cell-fraction", "1.5"], "--min-cell-fraction 1.5"),
    "resolution-negative": (None, ["--resolution", "-1"], "--resolution -1"),
    "resolution-nan": (None, ["--resolution", "nan"], "--resolution nan"),
    "one-cluster-asked": (None, ["--n-clusters", "1"], "--n-clusters 1"),
    "labels-and-n-clusters": (None, ["--n-clusters", "4"], "labels replace the Leiden clustering"),
    "n-clusters-and-resolution": (None, [NO_LABELS, "--n-clusters", "4", "--resolution", "2"], "searches the resolution itself"),
    "st-is-a-folder": (None, ["--st", "folder"], "is not a file"),
    "more-clusters-than-cells": (None, [NO_LABELS, "--n-clusters", "1000"], "exceeds the 90 SC cells"),
    "profile-stat-unknown": (None, ["--profile-stat", "mode"], "invalid choice"),
    "device-unknown": (None, ["--device", "tpu"], "--device 'tpu'"),
    "confidence-one-fold": (None, ["--confidence-folds", "1"], "--confidence-folds 1"),
    "confidence-more-folds-than-genes": (None, ["--confidence-folds", "41"], "more than the 40 shared genes"),
    "confidence-no-ensemble": (None, ["--confidence-ensemble", "0"], "--confidence-ensemble 0"),
    "min-confidence-with-tiles": (None, ["--min-confidence", "0.2", "--tiles", "2"], "which --tiles does not make"),
    # genes
    "genes-empty": (None, ["--genes", " , "], "names no gene"),
    "genes-duplicated": (None, ["--genes", "Gene50,Gene51,Gene50"], "more than once"),
    "genes-absent": (None, ["--genes", "NotAGene"], "not in the SC reference"),
    "genes-and-file": (None, ["--genes", "Gene50", "--genes-file", "g.txt"], "were both given"),
    "genes-file-absent": (None, ["--genes-file", "absent.txt"], "does not exist"),
    "nothing-to-impute": (_bad(sc=lambda c: c[:, :N_SHARED].copy()), [], "nothing to impute"),
    # files
    "st-file-absent": (None, ["--st", "absent.h5ad"], "does not exist"),
    "st-not-h5ad": (None, ["--st", "junk.h5ad"], "not a readable .h5ad"),
    "out-is-a-folder": (None, ["--out", "folder"], "is an existing folder"),
    "out-exists": (None, ["--out", "old.h5ad"], "already exists"),
    "out-folder-absent": (None, ["--out", "absent/out.h5ad"], "does not exist"),
    "out-is-the-input": (None, ["--out", "st.h5ad", "--force"], "is also an input"),
    "save-model-is-the-output": (None, ["--save-model", "out.h5ad"], "name the same path"),
    "save-model-on-a-file": (None, ["--save-model", "old.h5ad"], "is an existing file"),
    "save-model-over-a-model": (None, ["--save-model", "model"], "already holds a saved model: choose another folder or pass --force"),
}


def _nan_coordinates(st):
    out = st.copy()
    out.obsm["spatial"][0, 0] = np.nan
    return out


def _tiled(sc):
    """SC whose cells are all copies of the first one."""
    out = sc.copy()
    out.X = np.tile(sc.X[:1], (sc.n_obs, 1))
    return out


def _silent_shared(st):
    """ST whose shared genes have no counts (its only counts are in genes SC lacks)."""
    out = ad.AnnData(np.zeros((st.n_obs, st.n_vars + 1), np.float32), obs=st.obs.copy(),
                     var=pd.DataFrame(index=[*st.var_names, "OnlyInST"]))
    out.X[:, -1] = 3
    return out


@pytest.fixture()
def files(pair, tmp_path):
    st, sc = pair
    st.write_h5ad(tmp_path / "st.h5ad")
    sc.write_h5ad(tmp_path / "sc.h5ad")
    (tmp_path / "junk.h5ad").write_text("not an h5ad file")
    (tmp_path / "old.h5ad").write_text("precious")
    (tmp_path / "g.txt").write_text("Gene50\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "model").mkdir()
    for name in ("settings.json", "module.pt", "reference.npz", "history.csv"):
        (tmp_path / "model" / name).write_text("an earlier model")
    return tmp_path


def _impute_args(folder: Path, extra: list[str]) -> list[str]:
    args = {"--st": "st.h5ad", "--sc": "sc.h5ad", "--out": "out.h5ad"}
    for flag in list(args):
        if flag in extra:
            i = extra.index(flag)
            args[flag], extra = extra[i + 1], extra[:i] + extra[i + 2 :]
    paths = [x for flag, value in args.items() for x in (flag, str(folder / value))]
    extra = [str(folder / e) if e in ("g.txt", "absent.txt", "old.h5ad", "model", "folder", "out.h5ad") else e for e in extra]
    fast = FAST if NO_LABELS not in extra and "--labels-key" not in extra else FAST[:3]
    return ["impute", *paths, *fast, *CHEAP_CONFIDENCE, *[e for e in extra if e != NO_LABELS]]


@pytest.mark.parametrize("case", sorted(CLI_REFUSALS))
def test_cli_refuses_in_one_line_and_writes_nothing(case, files, capsys, monkeypatch):
    mutate, extra, expected = CLI_REFUSALS[case]
    if mutate is not None:
        st, sc = mutate(ad.read_h5ad(files / "st.h5ad"), ad.read_h5ad(files / "sc.h5ad"))
        st.write_h5ad(files / "st.h5ad")
        sc.write_h5ad(files / "sc.h5ad")
    monkeypatch.setattr("spaim.model.imputer.train_module", _no_training)
    before = _digest(files)
    code = main(_impute_args(files, extra))
    line = _assert_one_line_with_fix(capsys.readouterr().err)
    assert code == 2 and expected in line, line
    assert _digest(files) == before  # no output, inputs and earlier outputs untouched


def _no_training(*args, **kwargs):
    raise AssertionError("a refusal must come before training")


# cases that need their own set-up
def test_cli_ctrl_c_is_one_line_exit_130_and_writes_nothing(files, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("spaim.model.imputer.train_module", interrupted)
    before = _digest(files)
    code = main(_impute_args(files, []))
    err = capsys.readouterr().err
    assert code == 130 and err.strip() == "spaim: interrupted; nothing was written."
    assert _digest(files) == before


def test_cli_ctrl_c_while_writing_leaves_no_file(files, capsys, monkeypatch):
    def interrupted(self, path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(ad.AnnData, "write_h5ad", interrupted)
    before = _digest(files)
    assert main(_impute_args(files, [])) == 130
    assert capsys.readouterr().err.strip() == "spaim: interrupted; nothing was written."
    assert _digest(files) == before


def test_cli_disk_full_while_writing_is_one_line(files, capsys, monkeypatch):
    def full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(ad.AnnData, "write_h5ad", full)
    before = _digest(files)
    code = main(_impute_args(files, []))
    line = _assert_one_line_with_fix(capsys.readouterr().err)
    assert code == 2 and "No space left on device" in line and "free disk space" in line
    assert _digest(files) == before  # the partial temporary file is gone too


def test_cli_failed_model_save_leaves_no_output(files, capsys, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(files / "m" / "module.pt"))

    monkeypatch.setattr("spaim.model.imputer.torch.save", denied)
    code = main(_impute_args(files, ["--save-model", str(files / "m")]))
    line = _assert_one_line_with_fix(capsys.readouterr().err)
    assert code == 2 and "Permission denied" in line and "permissions" in line
    assert not (files / "out.h5ad").exists() and not (files / "m" / "module.pt").exists()


def test_cli_unexpected_error_is_one_line_and_debug_shows_the_traceback(files, capsys, monkeypatch):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("spaim.model.imputer.train_module", bug)
    assert main(_impute_args(files, [])) == 1
    line = _assert_one_line_with_fix(capsys.readouterr().err)
    assert "internal error" in line and "--debug" in line
    with pytest.raises(ZeroDivisionError):
        main([*_impute_args(files, []), "--debug"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--folds", "1"], "--folds 1"),
        (["--folds", "100"], "only 40 shared genes for 100 folds"),
        (["--folds", "2", "--epochs", "-5"], "--epochs -5"),
    ],
)
def test_cv_refusals(files, capsys, monkeypatch, args, expected):
    monkeypatch.setattr("spaim.model.imputer.train_module", _no_training)
    before = _digest(files)
    code = main(["cv", "--st", str(files / "st.h5ad"), "--sc", str(files / "sc.h5ad"), "--out", str(files / "cv.csv"), *FAST, *args])
    line = _assert_one_line_with_fix(capsys.readouterr().err)
    assert code == 2 and expected in line
    assert _digest(files) == before


def test_downstream_spatial_without_coordinates_is_refused_first(files, pair, capsys, monkeypatch):
    st, _ = pair
    bare = st.copy()
    del bare.obsm["spatial"]
    bare.write_h5ad(files / "bare.h5ad")
    st.write_h5ad(files / "imputed.h5ad")
    monkeypatch.setattr("spaim.downstream.report.analyse", _no_training)
    before = _digest(files)
    code = main(["downstream", "--st", str(files / "bare.h5ad"), "--imputed", str(files / "imputed.h5ad"), "--spatial",
                 "--out", str(files / "down")])
    line = _assert_one_line_with_fix(capsys.readouterr().err)
    assert code == 2 and "--spatial needs ST coordinates" in line
    assert _digest(files) == before


# ----------------------------------------------------------- usable, with a warning
@pytest.mark.parametrize(
    ("mutate", "extra", "warning"),
    [
        (lambda s, c: (_renamed(s, [" Gene0", *s.var_names[1:]]), c), [], "leading or trailing whitespace"),
        (lambda s, c: (s[:, :15].copy(), c), [], "share only 15 expressed genes"),
        (lambda s, c: (_set(s, 0, (slice(0, 3), slice(None))), c), [], "3 of 60 ST cells have no counts"),
        (lambda s, c: (_set(s, 0, (slice(None), slice(0, 2))), c), [], "2 shared gene(s) have no counts"),
    ],
    ids=["whitespace-names", "few-shared-genes", "empty-st-cells", "silent-st-genes"],
)
def test_cli_warns_in_one_line_where_the_result_is_usable(files, capsys, mutate, extra, warning):
    st, sc = mutate(ad.read_h5ad(files / "st.h5ad"), ad.read_h5ad(files / "sc.h5ad"))
    st.write_h5ad(files / "st.h5ad")
    sc.write_h5ad(files / "sc.h5ad")
    assert main(_impute_args(files, ["--genes", "Gene50", *extra])) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if warning in line]
    assert len(warnings) == 1 and warnings[0].startswith("spaim: warning: ") and re.search(r": \S", warnings[0][16:])
    assert ad.read_h5ad(files / "out.h5ad").n_vars == 1


def test_whitespace_names_are_stripped_only_when_asked(pair):
    st, sc = pair
    padded = _renamed(st, [f" {g} " for g in st.var_names])
    with pytest.warns(SpaIMWarning, match="whitespace"), pytest.raises(SpaIMInputError, match="share no gene names"):
        prepare_pair(padded, sc, labels_key="cell_type")
    data = prepare_pair(padded, sc, labels_key="cell_type", strip_gene_names=True)
    assert data.match.n_shared == N_SHARED and list(padded.var_names) == [f" {g} " for g in st.var_names]


# -------------------------------------------------------------------------- API
API_SETUP_REFUSALS = {
    "unknown-option": (dict(resolutoin=1.0), "did you mean 'resolution'"),
    "training-option-at-set-up": (dict(lr=1e-3), "'lr' is a training option: pass it to model.train()"),
    "seed-negative": (dict(seed=-1), "seed=-1 is out of range"),
    "seed-float": (dict(seed=1.5), "seed=1.5 must be an integer"),
    "seed-and-random-state-disagree": (dict(seed=1, random_state=2), "disagree"),
    "resolution-nan": (dict(resolution=float("nan")), "resolution=nan"),
    "min-cell-fraction-negative": (dict(min_cell_fraction=-0.1), "min_cell_fraction=-0.1"),
    "n-clusters-one": (dict(n_clusters=1), "n_clusters=1"),
    "profile-stat-unknown": (dict(profile_stat="mode"), "profile_stat='mode' is unknown"),
    "flag-not-bool": (dict(normalize="yes"), "normalize='yes' must be True or False"),
    "norm-unknown": (dict(norm="group"), "norm='group' is unknown"),
    "widths-zero": (dict(widths=(0,)), "widths=(0,)"),
    "widths-not-a-list": (dict(widths=64), "widths=64"),
    "genes-one-string": (dict(genes="Gene50"), "is one string"),
    "architecture-unknown": (dict(architecture="unet"), "architecture='unet' is unknown"),
    "style-input-unknown": (dict(style_input="noise"), "style_input='noise' is unknown"),    "offset-unknown": (dict(offset="zero"), "offset='zero' is unknown"),
}


@pytest.mark.parametrize("case", sorted(API_SETUP_REFUSALS))
def test_api_set_up_refusals(case, pair, monkeypatch):
    kwargs, expected = API_SETUP_REFUSALS[case]
    st, sc = pair
    st0, sc0 = st.copy(), sc.copy()
    monkeypatch.setattr("spaim.preprocessing.leiden_clusters", _no_training)  # refused before clustering
    with pytest.raises(SpaIMInputError) as info:
        SpaIM(st, sc, **kwargs)
    _assert_one_line_with_fix(str(info.value))
    assert expected in str(info.value)
    assert _same(st, st0) and _same(sc, sc0)


API_TRAINING_REFUSALS = {
    "lr-negative": (dict(lr=-1e-3), "lr=-0.001 is out of range"),
    "lr-nan": (dict(lr=float("nan")), "lr=nan"),
    "lr-string": (dict(lr="1e-3"), "lr='1e-3' must be a number"),
    "patience-negative": (dict(patience=-1), "patience=-1"),
    "augment-copies-negative": (dict(augment_copies=-1), "augment_copies=-1"),
    "augment-copies-fraction": (dict(augment_copies=0.5), "augment_copies=0.5 must be an integer"),
    "batch-size-one": (dict(batch_size=1), "batch_size=1"),
    "validation-fraction-one": (dict(validation_fraction=1.0), "validation_fraction=1.0"),
    "max-epochs-bool": (dict(max_epochs=True), "max_epochs=True must be an integer"),
    "generator-target-unknown": (dict(generator_target="x"), "generator_target='x' is unknown"),
    "weight-nan": (dict(style_weight=float("nan")), "style_weight=nan"),
    "generation-weight-zero": (dict(generation_weight=0), "generation_weight=0.0"),
    "unknown-training-option": (dict(learning_rate=1e-3), "unknown option 'learning_rate'"),
    "device-unknown": (dict(device="tpu"), "device='tpu' is unknown"),
    "similarity-unknown": (dict(similarity="euclid"), "similarity='euclid' is unknown"),
}


@pytest.mark.parametrize("case", sorted(API_TRAINING_REFUSALS))
def test_api_training_refusals(case, pair, monkeypatch):
    kwargs, expected = API_TRAINING_REFUSALS[case]
    monkeypatch.setattr("spaim.model.imputer.train_module", _no_training)
    model = SpaIM(*pair, labels_key="cell_type", widths=(8, 4))
    with pytest.raises(SpaIMInputError) as info:
        model.train(progress=False, **kwargs)
    _assert_one_line_with_fix(str(info.value))
    assert expected in str(info.value) and not model.is_trained


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [(dict(bogus=1), "unknown option 'bogus'"), (dict(lr=-1.0), "lr=-1.0"), (dict(norm="x"), "norm='x'"), (dict(folds=1), "folds=1")],
)
def test_cross_validate_checks_every_option_before_clustering(pair, monkeypatch, kwargs, expected):
    monkeypatch.setattr("spaim.preprocessing.leiden_clusters", _no_training)
    with pytest.raises(SpaIMInputError, match=re.escape(expected)):
        cross_validate(*pair, **kwargs)


@pytest.fixture()
def trained(pair):
    st, sc = pair
    return SpaIM(st[:, : N_SHARED - 5].copy(), sc, labels_key="cell_type", widths=(8, 4)).train(max_epochs=2, progress=False)


@pytest.mark.parametrize(
    ("genes", "expected"),
    [([], "no genes requested"), (["Gene50", "Gene50"], "duplicates"), (["Nope"], "not available"), ("Gene50", "one string")],
)
def test_impute_refusals(trained, genes, expected):
    with pytest.raises(SpaIMInputError, match=expected):
        trained.impute(genes)


def test_nothing_to_impute_is_refused(pair):
    st, sc = pair
    model = SpaIM(st, sc[:, :N_SHARED].copy(), labels_key="cell_type", widths=(8, 4))
    with pytest.raises(SpaIMInputError, match="nothing to impute"):
        model.genes_to_impute()


def test_imputed_output_is_marked_log1p_like_scanpy(trained):
    out = trained.impute(["Gene50"])
    assert out.uns["log1p"] == {"base": None}


def test_load_refuses_other_values_under_the_same_cell_names(trained, pair, tmp_path):
    st, sc = pair
    st_train = st[:, : N_SHARED - 5].copy()
    trained.save(tmp_path / "m")
    assert SpaIM.load(tmp_path / "m", st_train, sc).is_trained
    other_slide = st_train.copy()
    other_slide.X = other_slide.X[::-1].copy()  # same barcodes, other values
    with pytest.raises(SpaIMInputError, match="ST counts differ"):
        SpaIM.load(tmp_path / "m", other_slide, sc)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda m: (m / "settings.json").write_text("{not json"), "is damaged"),
        (lambda m: (m / "module.pt").write_bytes(b"\x00garbage"), "is damaged"),
        (lambda m: (m / "reference.npz").write_bytes(b"garbage"), "is damaged"),
        (lambda m: _edit_settings(m, lambda s: s["setup_params"].update(resolution=-1)), "invalid settings"),
        (lambda m: _edit_settings(m, lambda s: s.pop("st_fingerprint")), "is damaged"),
    ],
    ids=["settings-not-json", "weights-garbage", "reference-garbage", "settings-bad-option", "settings-missing-key"],
)
def test_load_refuses_a_damaged_model(trained, pair, tmp_path, damage, expected):
    st, sc = pair
    trained.save(tmp_path / "m")
    damage(tmp_path / "m")
    with pytest.raises(SpaIMInputError) as info:
        SpaIM.load(tmp_path / "m", st[:, : N_SHARED - 5].copy(), sc)
    _assert_one_line_with_fix(str(info.value))
    assert expected in str(info.value)


def _edit_settings(folder: Path, edit) -> None:
    settings = json.loads((folder / "settings.json").read_text())
    edit(settings)
    (folder / "settings.json").write_text(json.dumps(settings))


def test_save_refuses_a_file_and_an_existing_model(trained, tmp_path):
    (tmp_path / "f").write_text("a file")
    with pytest.raises(SpaIMInputError, match="is an existing file"):
        trained.save(tmp_path / "f")
    trained.save(tmp_path / "m")
    with pytest.raises(SpaIMInputError, match="pass overwrite=True"):
        trained.save(tmp_path / "m")
