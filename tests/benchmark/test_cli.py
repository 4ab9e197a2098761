import argparse
import shutil

import pandas as pd
import pytest

from spaim.benchmark import cli
from spaim.errors import SpaIMInputError


def parse(*argv):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    return parser.parse_args(["benchmark", *argv])


def test_benchmark_command_writes_all_outputs(pair_files, run, tmp_path):
    st, sc = pair_files
    out = tmp_path / "out"
    (out).mkdir()
    (out / "cache").symlink_to(run[1])  # the module's runs: knn is reused from the cache
    args = parse("--st", st, "--sc", sc, "--name", "merfish", "--methods", "knn", "--folds", "3", "--out", str(out), "--quiet")
    assert args.func(args) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["method"]) == ["knn", "knn"] and list(summary["scoring"]) == ["normalized", "raw"]
    assert (summary["status"] == "ok").all() and summary["domain_ari"].notna().all()
    per_gene = pd.read_csv(out / "per_gene.csv")
    assert list(per_gene.columns) == ["dataset", "method", "scoring", "fold", "gene", "pcc", "ssim", "rmse", "js"]
    # No SpaIM in this run, so no maps of its best, median and worst genes.
    assert {p.name for p in out.glob("*.png")} == {"boxplots_merfish.png"}
    report = (out / "report.md").read_text()
    assert "boxplots_merfish.png" in report and f"--methods knn --folds 3 --seed 0 --out {out}" in report


@pytest.mark.parametrize("argv", [["--st", "a.h5ad"], ["--dataset", "x", "--st", "a", "--sc", "b"], []])
def test_inconsistent_data_arguments_are_user_errors(argv, tmp_path):
    args = parse(*argv, "--out", str(tmp_path))
    with pytest.raises(SpaIMInputError):
        args.func(args)


def test_options_are_parsed_by_method():
    assert cli._options(["tangram.epochs=200", "stplus.learning_rate=0.01", "x.mode=fast"]) == {
        "tangram": {"epochs": 200}, "stplus": {"learning_rate": 0.01}, "x": {"mode": "fast"}
    }
    with pytest.raises(SpaIMInputError, match="METHOD.KEY=VALUE"):
        cli._options(["epochs=3"])


def test_carry_reruns_the_given_methods_and_keeps_the_earlier_rows_of_the_others(pair_files, run, tmp_path):
    st, sc = pair_files
    data = ["--st", st, "--sc", sc, "--name", "merfish", "--folds", "3", "--quiet"]
    earlier = tmp_path / "earlier"
    shutil.copytree(run[1], earlier / "cache")  # kNN's folds are reused; the shared cache is left as it was
    args = parse(*data, "--methods", "knn,gene_mean", "--out", str(earlier))
    assert args.func(args) == 0
    now = tmp_path / "now"
    args = parse(*data, "--methods", "gene_mean", "--carry", str(earlier), "--out", str(now))
    assert args.func(args) == 0
    before, after = pd.read_csv(earlier / "summary.csv"), pd.read_csv(now / "summary.csv")
    assert list(after["method"]) == list(before["method"])  # the earlier run's order
    knn = after["method"] == "knn"
    pd.testing.assert_frame_equal(after[knn].reset_index(drop=True), before[before["method"] == "knn"].reset_index(drop=True))
    per_gene = pd.read_csv(now / "per_gene.csv")
    assert set(per_gene["method"]) == {"knn", "gene_mean"}
    assert "**Carried rows.**" in (now / "report.md").read_text() and "merfish: knn." in (now / "report.md").read_text()


def test_carry_from_other_folds_is_refused_before_anything_is_written(pair_files, run, tmp_path):
    st, sc = pair_files
    earlier = tmp_path / "earlier"
    shutil.copytree(run[1], earlier / "cache")  # kNN's folds are reused; the shared cache is left as it was
    data = ["--st", st, "--sc", sc, "--name", "merfish", "--methods", "knn", "--quiet"]
    args = parse(*data, "--folds", "3", "--out", str(earlier))
    assert args.func(args) == 0
    args = parse(*data[:-3], "--methods", "gene_mean", "--quiet", "--folds", "2", "--carry", str(earlier), "--out", str(tmp_path / "now"))
    with pytest.raises(SpaIMInputError, match="other genes per fold"):
        args.func(args)
    assert not (tmp_path / "now").exists()
    args = parse(*data, "--carry", str(tmp_path / "nowhere"), "--out", str(tmp_path / "now"))
    with pytest.raises(SpaIMInputError, match="no per_gene.csv or summary.csv"):
        args.func(args)
