import argparse

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
