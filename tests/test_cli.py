import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from spaim.cli import main

FAST = ["--epochs", "3", "--quiet", "--labels-key", "cell_type"]
CHEAP_CONFIDENCE = ["--confidence-folds", "2", "--confidence-ensemble", "1"]  # impute only: 2 fold models, not 10 and a companion


@pytest.fixture()
def files(small_pair, tmp_path):
    st, sc = small_pair
    st[:, :60].copy().write_h5ad(tmp_path / "st.h5ad")
    sc.write_h5ad(tmp_path / "sc.h5ad")
    return tmp_path


def test_impute_writes_requested_genes(files, small_pair):
    _, sc = small_pair
    frequent = sc.var_names[(sc.X > 0).mean(0) >= 0.1]
    genes = [g for g in frequent if g not in set(sc.var_names[:60])][:3]
    out = files / "out.h5ad"
    assert main(["impute", "--st", str(files / "st.h5ad"), "--sc", str(files / "sc.h5ad"), "--out", str(out),
                 "--genes", ",".join(genes), *FAST]) == 0
    imputed = ad.read_h5ad(out)
    assert list(imputed.var_names) == genes and imputed.n_obs == 300
    assert imputed.var["confidence"].notna().all() and {"lower", "upper"} <= set(imputed.layers)
    assert imputed.var["seed_agreement"].notna().all()  # the default ensemble: two seeds per fold


def test_impute_genes_file_and_saved_model(files, small_pair):
    _, sc = small_pair
    (files / "genes.txt").write_text(f"{sc.var_names[120]}\n\n{sc.var_names[121]}\n")  # kept: requested
    out = files / "out.h5ad"
    args = ["impute", "--st", str(files / "st.h5ad"), "--sc", str(files / "sc.h5ad"), "--out", str(out),
            "--genes-file", str(files / "genes.txt"), "--save-model", str(files / "model"), "--no-confidence",
            "--precision", "bfloat16", "--offset", "none", *FAST]
    assert main(args) == 0
    imputed = ad.read_h5ad(out)
    assert imputed.n_vars == 2 and (files / "model" / "module.pt").exists()
    assert "confidence" not in imputed.var
    settings = json.loads((files / "model" / "settings.json").read_text())
    assert settings["train_params"]["precision"] == "bfloat16"  # the flags reached training and the model
    assert settings["module_params"]["offset"] == "none" and np.all(np.asarray(imputed.X).min(axis=0) > 0)


def test_impute_min_confidence_keeps_only_trusted_genes(files, small_pair, capsys):
    _, sc = small_pair
    genes = list(sc.var_names[60:70])
    base = ["impute", "--st", str(files / "st.h5ad"), "--sc", str(files / "sc.h5ad"), "--genes", ",".join(genes), *FAST,
            *CHEAP_CONFIDENCE]
    assert main([*base, "--out", str(files / "all.h5ad"), "--no-intervals"]) == 0
    everything = ad.read_h5ad(files / "all.h5ad")
    assert "lower" not in everything.layers
    assert everything.var["seed_agreement"].isna().all()  # --confidence-ensemble 1: one seed, nothing to agree with
    threshold = float(np.median(everything.var["confidence"]))
    assert main([*base, "--out", str(files / "kept.h5ad"), "--min-confidence", str(threshold)]) == 0
    kept = ad.read_h5ad(files / "kept.h5ad")
    assert list(kept.var_names) == list(everything.var_names[everything.var["confidence"] >= threshold])
    assert 0 < kept.n_vars < len(genes)
    assert main([*base, "--out", str(files / "x.h5ad"), "--min-confidence", "0.3", "--no-confidence"]) == 2
    assert main([*base, "--out", str(files / "x.h5ad"), "--coverage", "90"]) == 2
    assert "--no-confidence" in capsys.readouterr().err and not (files / "x.h5ad").exists()


def test_cv_writes_the_per_gene_table(files, capsys):
    out = files / "cv.csv"
    assert main(["cv", "--st", str(files / "st.h5ad"), "--sc", str(files / "sc.h5ad"), "--folds", "3", "--out", str(out), *FAST]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["gene", "fold", "pcc", "ssim", "rmse", "js", "confidence"] and len(table) == 60
    assert table["confidence"].between(-1, 1).all()
    assert "median_pcc" in capsys.readouterr().out


def test_existing_output_needs_force(files, capsys):
    out = files / "cv.csv"
    out.write_text("precious")
    args = ["cv", "--st", str(files / "st.h5ad"), "--sc", str(files / "sc.h5ad"), "--folds", "3", "--out", str(out), *FAST]
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err and out.read_text() == "precious"
    assert main([*args, "--force"]) == 0 and out.read_text() != "precious"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda st: st.X.__setitem__((0, 0), np.nan), "NaN or infinite"),
        (lambda st: st.X.__setitem__((0, 0), -3), "negative values"),
        (lambda st: st.X.__setitem__((0, 0), 0.25), "non-integer"),
        (lambda st: setattr(st, "var_names", ["g"] * st.n_vars), "duplicate gene names"),
        (lambda st: setattr(st, "var_names", [f"x{i}" for i in range(st.n_vars)]), "share no gene names"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(files, capsys, mutate, message):
    st = ad.read_h5ad(files / "st.h5ad")
    mutate(st)
    st.write_h5ad(files / "bad.h5ad")
    out = files / "out.h5ad"
    code = main(["impute", "--st", str(files / "bad.h5ad"), "--sc", str(files / "sc.h5ad"), "--out", str(out), *FAST])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and sorted(p.name for p in files.iterdir()) == ["bad.h5ad", "sc.h5ad", "st.h5ad"]


def test_unreadable_file_and_absent_gene(files, capsys):
    (files / "junk.h5ad").write_text("junk")
    assert main(["impute", "--st", str(files / "junk.h5ad"), "--sc", str(files / "sc.h5ad"), "--out", str(files / "o.h5ad"), *FAST]) == 2
    assert "not a readable .h5ad" in capsys.readouterr().err
    assert main(["impute", "--st", str(files / "st.h5ad"), "--sc", str(files / "sc.h5ad"), "--out", str(files / "o.h5ad"),
                 "--genes", "NotAGene", *FAST]) == 2
    assert "not in the SC reference" in capsys.readouterr().err
    assert not (files / "o.h5ad").exists()


def test_demo_runs_on_bundled_data(capsys):
    assert main(["demo", "--dataset", "merfish_hypothalamus", "--folds", "3", "--epochs", "3", "--quiet", "--labels-key", "cell_type"]) == 0
    out = capsys.readouterr().out
    assert "spaim" in out and "knn" in out and "median_pcc" in out


def test_impute_streams_float16_in_chunks_with_threads(files, small_pair):
    _, sc = small_pair
    genes = list(sc.var_names[60:80])
    out = files / "out.h5ad"
    assert main(["impute", "--st", str(files / "st.h5ad"), "--sc", str(files / "sc.h5ad"), "--out", str(out),
                 "--genes", ",".join(genes), "--chunk-size", "6", "--dtype", "float16", "--threads", "1", *FAST,
                 *CHEAP_CONFIDENCE]) == 0
    imputed = ad.read_h5ad(out)
    assert imputed.X.dtype == np.float16 and list(imputed.var_names) == genes and np.isfinite(imputed.X).all()
    lower, upper = (np.asarray(imputed.layers[k]) for k in ("lower", "upper"))  # the intervals in X's dtype
    assert lower.dtype == upper.dtype == np.float16 and np.all(lower <= upper) and np.isfinite(upper).all()


def test_impute_in_tiles(files, capsys, small_pair):
    genes = list(small_pair[1].var_names[60:62])
    out = files / "tiles.h5ad"
    base = ["impute", "--st", str(files / "st.h5ad"), "--sc", str(files / "sc.h5ad"), "--out", str(out), *FAST]
    assert main([*base, "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    assert "also pass --tiles" in capsys.readouterr().err
    assert main([*base, "--workers", "2"]) == 2
    assert "--workers runs tiles" in capsys.readouterr().err
    assert main([*base, "--tiles", "2", "--workers", "0"]) == 2
    assert "positive number of Dask worker" in capsys.readouterr().err
    assert main([*base, "--tiles", "2", "--save-model", str(files / "m")]) == 2
    assert "--save-model" in capsys.readouterr().err
    assert main([*base, "--tiles", "2", "--threads", "0"]) == 2
    assert "threads=0" in capsys.readouterr().err
    assert main([*base, "--tiles", "2", "--scheduler", "inline", "--genes", ",".join(genes)]) == 0
    assert ad.read_h5ad(out).var_names.tolist() == genes and not (files / "m").exists()
