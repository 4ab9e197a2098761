"""The ``spaim`` command line: h5ad in, h5ad (or CSV) out."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from spaim import datasets
from spaim.errors import SpaIMInputError
from spaim._threads import thread_limits
from spaim.io import check_can_write, read_h5ad, write_csv
from spaim.metrics import METRIC_NAMES

#: Subcommands living in their own packages, imported only when used.
PLUGINS = ("spaim.benchmark.cli", "spaim.downstream.cli")


def _add_data_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--st", required=True, help="spatial data (.h5ad, cells x genes, raw counts)")
    g.add_argument("--sc", required=True, help="scRNA-seq reference (.h5ad, cells x genes, raw counts)")
    g.add_argument("--st-layer", help="layer of --st holding raw counts (default X)")
    g.add_argument("--sc-layer", help="layer of --sc holding raw counts (default X)")
    _add_setup_options(p)


def _add_setup_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("preprocessing and model")
    g.add_argument("--ignore-case", action="store_true", help="match gene names ignoring case")
    g.add_argument("--allow-non-integer", action="store_true", help="accept already-processed (non-integer) values")
    g.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=True,
                   help="library-size normalise before log1p (default; --no-normalize: plain log1p, as the paper)")
    g.add_argument("--architecture", choices=("cellbasis", "paper"), default="cellbasis",
                   help="cellbasis (default): cell-wide layers through ST-cell features; paper: as published")
    g.add_argument("--labels-key", help="SC obs column with cell labels to use instead of Leiden clusters")
    g.add_argument("--n-clusters", type=int, help="target number of SC Leiden clusters")
    g.add_argument("--epochs", type=int, default=300, help="maximum training epochs (default 300)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    g.add_argument("--threads", type=int, help="CPU threads for torch, BLAS and numba (default: the CPUs this process may use)")
    g.add_argument("--quiet", action="store_true", help="no progress bars")


def _setup_kwargs(args: argparse.Namespace) -> dict:
    kwargs = dict(
        ignore_case=args.ignore_case,
        allow_non_integer=args.allow_non_integer,
        normalize=args.normalize,
        labels_key=args.labels_key,
        n_clusters=args.n_clusters,
    )
    for layer in ("st_layer", "sc_layer"):
        if getattr(args, layer, None):
            kwargs[layer] = getattr(args, layer)
    return kwargs


def _model_kwargs(args: argparse.Namespace) -> dict:
    return {"architecture": args.architecture}


def _train_kwargs(args: argparse.Namespace) -> dict:
    return dict(max_epochs=args.epochs, device=args.device, progress=not args.quiet)


def _output_kwargs(args: argparse.Namespace) -> dict:
    return dict(chunk_size=args.chunk_size, dtype=args.dtype, force=args.force)


def _requested_genes(args: argparse.Namespace) -> list[str] | None:
    if args.genes and args.genes_file:
        raise SpaIMInputError("give either --genes or --genes-file, not both.")
    if args.genes:
        return [g.strip() for g in args.genes.split(",") if g.strip()]
    if args.genes_file:
        path = Path(args.genes_file)
        if not path.is_file():
            raise SpaIMInputError(f"genes file '{path}' does not exist: check the path.")
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return None


def cmd_impute(args: argparse.Namespace) -> int:
    from spaim.model import SpaIM

    check_can_write(args.out, args.force)
    if args.tiles > 1 and args.save_model:
        raise SpaIMInputError("--save-model saves one model, but --tiles trains one per tile: drop one of them.")
    if args.scheduler and args.tiles < 2:
        raise SpaIMInputError("--scheduler runs tiles on Dask: also pass --tiles N (N >= 2).")
    genes = _requested_genes(args)
    st, sc = read_h5ad(args.st, "ST"), read_h5ad(args.sc, "SC")
    if args.tiles > 1:
        from spaim.tiles import impute_slide

        impute_slide(st, sc, args.tiles, genes, args.out, scheduler=args.scheduler, workers=args.workers, threads=args.threads,
                     seed=args.seed, **_setup_kwargs(args), **_model_kwargs(args), **_train_kwargs(args), **_output_kwargs(args))
        _say(args, f"wrote {args.tiles} tiles of imputed genes for {st.n_obs} cells to {args.out}")
        return 0
    model = SpaIM(st, sc, genes=genes, seed=args.seed, threads=args.threads, **_setup_kwargs(args), **_model_kwargs(args))
    _say(args, f"{model!r}\n{model.data.gene_summary()}")
    model.train(**_train_kwargs(args))
    imputed = model.impute(genes, out=args.out, progress=not args.quiet, **_output_kwargs(args))
    if args.save_model:
        model.save(args.save_model, overwrite=args.force)
    _say(args, f"wrote imputed genes x {st.n_obs} cells to {imputed}")
    return 0


def cmd_cv(args: argparse.Namespace) -> int:
    from spaim.crossval import cross_validate

    check_can_write(args.out, args.force)
    st, sc = read_h5ad(args.st, "ST"), read_h5ad(args.sc, "SC")
    table = cross_validate(st, sc, folds=args.folds, seed=args.seed, progress=not args.quiet, threads=args.threads,
                           **_setup_kwargs(args), **_model_kwargs(args), max_epochs=args.epochs, device=args.device)
    write_csv(table, args.out, force=args.force)
    print(format_summary({"spaim": table}))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from spaim.baselines import knn_predictor
    from spaim.crossval import run_folds, spaim_predictor
    from spaim.pairing import prepare_pair
    from spaim.validation import expression_matrix

    if args.out:
        check_can_write(args.out, args.force)
    st, sc = datasets.load(args.dataset, args.data_dir)
    setup = _setup_kwargs(args) | {"allow_non_integer": True}
    data = prepare_pair(st, sc, seed=args.seed, **setup)
    _say(args, f"{args.dataset}: {st.n_obs} ST cells, {sc.n_obs} SC cells, {data.reference.n_clusters} SC clusters; "
               f"{data.gene_summary()}; {args.folds}-fold cross-validation over shared genes")
    factories = {
        "spaim": lambda: spaim_predictor(seed=args.seed, threads=args.threads, **_model_kwargs(args),
                                         **_train_kwargs(args) | {"progress": False}),
        "knn": lambda: knn_predictor(expression_matrix(sc, "SC", setup.get("sc_layer"), True), sc.var_names, seed=args.seed),
    }
    methods = [m.strip() for m in args.methods.split(",")]
    unknown = sorted(set(methods) - set(factories))
    if unknown:
        raise SpaIMInputError(f"unknown method(s) {unknown} for the demo: choose from {sorted(factories)}.")
    predictors = {m: factories[m]() for m in methods}
    tables, times = {}, {}
    for name, predictor in predictors.items():
        start = time.perf_counter()
        tables[name] = run_folds(data, predictor, args.folds, args.seed, progress=not args.quiet)
        times[name] = time.perf_counter() - start
    print(format_summary(tables, times))
    if args.out:
        combined = pd.concat([t.assign(method=m) for m, t in tables.items()], ignore_index=True)
        write_csv(combined, args.out, force=args.force)
    return 0


def format_summary(tables: dict[str, pd.DataFrame], times: dict[str, float] | None = None) -> str:
    """Median and mean of each metric per method, as aligned text."""
    rows = []
    for method, table in tables.items():
        row = {"method": method, "genes": len(table)}
        for m in METRIC_NAMES:
            row[f"median_{m}"] = table[m].median()
            row[f"mean_{m}"] = table[m].mean()
        if times:
            row["wall_s"] = times[method]
        rows.append(row)
    return pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}")


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text, file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spaim", description="Impute unmeasured spatial transcriptomics genes from an scRNA-seq reference (SpaIM).")
    parser.add_argument("--version", action="version", version=f"spaim {__import__('spaim').__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("impute", help="train on shared genes and impute unmeasured ones (h5ad out)")
    _add_data_options(p)
    p.add_argument("--out", required=True, help="output .h5ad (ST cells x imputed genes, log1p)")
    p.add_argument("--genes", help="comma-separated genes to impute (default: every SC gene not in ST)")
    p.add_argument("--genes-file", help="file with one gene per line to impute")
    p.add_argument("--save-model", help="also save the trained model to this folder")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    g = p.add_argument_group("output and scale")
    g.add_argument("--chunk-size", type=int, help="genes generated and written at a time (default: chunks of about 64 MB)")
    g.add_argument("--dtype", default="float32", choices=("float32", "float16"), help="output values (default float32)")
    g.add_argument("--tiles", type=int, default=1, help="split the slide into this many spatial tiles, one model each (default 1)")
    g.add_argument("--workers", type=int, default=2, help="local Dask worker processes for --tiles (default 2)")
    g.add_argument("--scheduler", help="address of a running Dask scheduler for --tiles (default: a local cluster; 'inline': no Dask, one tile after another)")
    p.set_defaults(func=cmd_impute)

    p = sub.add_parser("cv", help="cross-validate over shared genes (per-gene CSV out)")
    _add_data_options(p)
    p.add_argument("--folds", type=int, default=10, help="number of folds (default 10)")
    p.add_argument("--out", required=True, help="output CSV: gene, fold, pcc, ssim, rmse, js")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(func=cmd_cv)

    p = sub.add_parser("demo", help="cross-validate SpaIM and the kNN baseline on bundled real data")
    p.add_argument("--dataset", default="osmfish_cortex", choices=sorted(datasets.DATASETS), help="default osmfish_cortex")
    p.add_argument("--data-dir", help=f"folder holding the dataset folders (else ${datasets.ENV_VAR}, ../shared/data, cache)")
    p.add_argument("--folds", type=int, default=10, help="number of folds (default 10)")
    p.add_argument("--methods", default="spaim,knn", help="comma-separated: spaim, knn (default both)")
    p.add_argument("--out", help="optional CSV of per-gene results of each method")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    _add_setup_options(p)
    p.set_defaults(func=cmd_demo)

    for module in PLUGINS:
        try:
            importlib.import_module(module).register(sub)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if not hasattr(args, "threads"):  # a plugin verb without --threads
            return args.func(args)
        with thread_limits(args.threads):
            return args.func(args)
    except SpaIMInputError as exc:
        print(f"spaim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
