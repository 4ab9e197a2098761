import argparse
import shutil
from pathlib import Path

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


def _report_from(cache, out: Path, *argv):
    """``spaim benchmark --report-only`` over a copy of the module's cache (kNN ran, SpaGE failed): no method runs."""
    shutil.copytree(cache, out / "cache")
    args = parse(*argv, "--name", "merfish", "--report-only", "--quiet", "--out", str(out))
    assert args.func(args) == 0


def test_carry_keeps_the_earlier_rows_of_the_methods_not_given(pair_files, run, tmp_path):
    st, sc = pair_files
    _report_from(run[1], tmp_path / "earlier", "--st", st, "--sc", sc, "--methods", "knn,spage", "--folds", "3")
    now = tmp_path / "now"
    _report_from(run[1], now, "--st", st, "--sc", sc, "--methods", "spage", "--folds", "3", "--carry", str(tmp_path / "earlier"))
    before, after = pd.read_csv(tmp_path / "earlier" / "summary.csv"), pd.read_csv(now / "summary.csv")
    assert list(after["method"]) == list(before["method"])  # the earlier run's order
    knn = after["method"] == "knn"
    pd.testing.assert_frame_equal(after[knn].reset_index(drop=True), before[before["method"] == "knn"].reset_index(drop=True))
    assert set(pd.read_csv(now / "per_gene.csv")["method"]) == {"knn"}  # spage failed: no per-gene rows
    report = (now / "report.md").read_text()
    assert "**Carried rows.**" in report and "merfish: knn." in report


def test_carry_from_other_folds_is_refused_before_anything_is_written(pair_files, run, tmp_path):
    st, sc = pair_files
    _report_from(run[1], tmp_path / "earlier", "--st", st, "--sc", sc, "--methods", "knn", "--folds", "3")
    common = ["--st", st, "--sc", sc, "--name", "merfish", "--methods", "spage", "--quiet", "--out", str(tmp_path / "now")]
    args = parse(*common, "--folds", "2", "--carry", str(tmp_path / "earlier"))
    with pytest.raises(SpaIMInputError, match="other genes per fold"):
        args.func(args)
    assert not (tmp_path / "now").exists()
    args = parse(*common, "--carry", str(tmp_path / "nowhere"))
    with pytest.raises(SpaIMInputError, match="no per_gene.csv or summary.csv"):
        args.func(args)
