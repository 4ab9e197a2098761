"""``spaim benchmark``: run the comparison and write tables, figures and report.md."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from spaim.benchmark.carry import CarriedRows
from spaim.benchmark.plots import metric_boxplots, save, spatial_maps
from spaim.benchmark.protocol import DatasetResult, DatasetSpec, run_benchmark
from spaim.benchmark.report import MARKERS, best_peer, cell_level_table, per_gene_table, summary_table, write_report
from spaim.datasets import DATASETS
from spaim.errors import SpaIMInputError
from spaim.io import atomic_path, write_csv

DEFAULT_METHODS = "spaim,libsize,gene_mean,knn,cluster_transfer,spage,tangram,gimvi,stplus"


def register(subparsers) -> None:
    """Add the ``benchmark`` subcommand to an argparse ``subparsers`` object."""
    p = subparsers.add_parser("benchmark", help="compare SpaIM with peer methods on the same folds of shared genes")
    data = p.add_argument_group("data (either --st and --sc, or --dataset)")
    data.add_argument("--st", help="ST .h5ad (counts in X)")
    data.add_argument("--sc", help="SC reference .h5ad (counts in X)")
    data.add_argument("--name", default="custom", help="dataset name used in the outputs with --st/--sc")
    data.add_argument("--dataset", help=f"bundled dataset name(s), comma-separated, or 'all' ({', '.join(DATASETS)})")
    data.add_argument("--data-dir", help="folder holding the bundled datasets' folders")
    data.add_argument("--ignore-case", action="store_true", help="match gene names ignoring case")
    data.add_argument("--allow-non-integer", action="store_true", help="accept already processed (non-integer) values")
    p.add_argument("--methods", default=DEFAULT_METHODS, help=f"comma-separated (default {DEFAULT_METHODS})")
    p.add_argument("--folds", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--option", action="append", default=[], metavar="METHOD.KEY=VALUE",
                   help="a method option, e.g. tangram.epochs=200 (repeatable; changes that method's cache key)")
    p.add_argument("--timeout", type=float, help="seconds after which a method is stopped on a dataset (reported as failed)")
    p.add_argument("--out", required=True, help="output folder (created); its cache/ lets a rerun resume")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: report from the cache, methods with missing folds marked not finished")
    p.add_argument("--carry", metavar="DIR",
                   help="take the rows of every method not in --methods from an earlier run's output folder (e.g. "
                        "docs/benchmark), checked to hold out the same genes per fold; the report names them")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run the benchmark described by ``args``; the exit code."""
    out = Path(args.out)
    options = _options(args.option)
    datasets = _datasets(args)
    carry = CarriedRows.read(args.carry) if args.carry else None
    results = run_benchmark(  # makes out/cache as results come: a run refused at its checks writes nothing
        datasets, _split(args.methods), args.folds, args.seed, out / "cache",
        options, args.timeout, progress=not args.quiet, run_missing=not args.report_only, carry=carry,
    )
    out.mkdir(parents=True, exist_ok=True)
    write_outputs(results, out, _command(args), args.folds, args.seed, options, args.carry or "")
    return 0


def write_outputs(
    results: list[DatasetResult], out: Path, command: str, folds: int, seed: int, options: dict[str, dict] | None = None,
    carried_from: str = "",
) -> None:
    """``per_gene.csv``, ``summary.csv``, the PNGs and ``report.md`` in ``out`` (each written atomically)."""
    per_gene = per_gene_table(results)
    summary = summary_table(results, per_gene, cell_level_table(results))
    write_csv(per_gene, out / "per_gene.csv", force=True)
    write_csv(summary, out / "summary.csv", force=True)
    figures = {}
    for result in results:
        name = result.spec.name
        figures[name] = []
        if name in set(per_gene["dataset"]):
            figures[name].append(save(metric_boxplots(per_gene, name), out / f"boxplots_{name}.png").name)
            maps = spatial_maps(result, per_gene, best_peer(summary, name), markers=MARKERS)
            if maps is not None:
                figures[name].append(save(maps, out / f"maps_{name}.png").name)
    with atomic_path(out / "report.md", force=True) as tmp:
        write_report(tmp, summary, figures, command, folds, seed, options, per_gene, _carried(results), carried_from)


def _carried(results: list[DatasetResult]) -> dict[str, list[str]]:
    return {r.spec.name: r.carried() for r in results if r.carried()}


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces this run, for the report."""
    words = ["spaim", "benchmark"]
    words += ["--st", args.st, "--sc", args.sc, "--name", args.name] if args.st else ["--dataset", args.dataset]
    words += ["--ignore-case"] * args.ignore_case + ["--allow-non-integer"] * args.allow_non_integer
    words += ["--methods", args.methods, "--folds", str(args.folds), "--seed", str(args.seed)]
    words += [w for item in args.option for w in ("--option", item)]
    if args.timeout is not None:
        words += ["--timeout", f"{args.timeout:g}"]
    if args.carry:
        words += ["--carry", args.carry]
    words += ["--out", args.out]
    return shlex.join(words)


def _datasets(args: argparse.Namespace) -> list[DatasetSpec]:
    if bool(args.st) != bool(args.sc) or bool(args.st) == bool(args.dataset):
        raise SpaIMInputError("give either both --st and --sc, or --dataset NAME: see spaim benchmark --help.")
    flags = {"ignore_case": args.ignore_case, "allow_non_integer": args.allow_non_integer}
    if args.st:
        return [DatasetSpec(args.name, str(args.st), str(args.sc), **flags)]
    names = list(DATASETS) if args.dataset == "all" else _split(args.dataset)
    return [DatasetSpec.bundled(name, args.data_dir, **flags) for name in names]


def _options(items: list[str]) -> dict[str, dict]:
    options: dict[str, dict] = {}
    for item in items:
        key, sep, value = item.partition("=")
        method, dot, name = key.partition(".")
        if not sep or not dot:
            raise SpaIMInputError(f"--option '{item}' is not METHOD.KEY=VALUE: write e.g. tangram.epochs=200.")
        options.setdefault(method, {})[name] = _number(value)
    return options


def _number(value: str) -> int | float | str:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]
