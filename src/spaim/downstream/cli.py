"""``spaim downstream``: L–R pairs, DEGs, spatial domains and maps, measured vs imputed, into a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from spaim import datasets
from spaim.errors import SpaIMInputError
from spaim.io import read_h5ad
from spaim.pairing import spatial_coordinates


def register(subparsers) -> None:
    """Add the ``downstream`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "downstream",
        help="compare measured and imputed data by L–R pairs, DEGs and spatial domains",
        description="Either give imputed files (--imputed, --imputed-other) or let the command impute with "
        "SpaIM and the kNN baseline (--sc or --dataset). Writes CSVs, PNGs and report.md into --out.",
    )
    src = p.add_argument_group("data")
    src.add_argument("--dataset", choices=sorted(datasets.DATASETS), help="a bundled real dataset instead of --st/--sc")
    src.add_argument("--data-dir", help=f"folder holding the dataset folders (else ${datasets.ENV_VAR}, ../shared/data)")
    src.add_argument("--st", help="measured spatial data (.h5ad, raw counts)")
    src.add_argument("--st-layer", help="layer of --st holding raw counts (default X)")
    src.add_argument("--sc", help="scRNA-seq reference (.h5ad, raw counts): impute with SpaIM and kNN here")
    src.add_argument("--imputed", help="imputed data (.h5ad, log1p, e.g. from 'spaim impute'), named 'spaim'")
    src.add_argument("--imputed-other", action="append", default=[], metavar="NAME=FILE",
                     help="another method's imputation (log1p .h5ad); repeatable")
    src.add_argument("--labels-key", help="ST obs column of cell types (else Leiden clusters of the measured data)")
    src.add_argument("--normalize", action="store_true", help="library-size normalise measured counts before log1p")
    src.add_argument("--allow-non-integer", action="store_true", help="accept already-processed (non-integer) values")
    imp = p.add_argument_group("imputation (with --sc or --dataset)")
    imp.add_argument("--methods", default="spaim,knn", help="comma-separated, from spaim,knn (default both)")
    imp.add_argument("--folds", type=int, default=10, help="cross-validation folds for panel genes (default 10)")
    imp.add_argument("--epochs", type=int, default=300, help="SpaIM maximum training epochs (default 300)")
    ana = p.add_argument_group("analyses")
    ana.add_argument("--resource", default="auto", help="liana L–R resource (default: consensus, or mouseconsensus for mouse genes)")
    ana.add_argument("--lr-method", default="spearman", choices=["spearman", "pearson"])
    ana.add_argument("--lr-pvalue", default="analytic", choices=["analytic", "permutation"])
    ana.add_argument("--lr-alpha", type=float, default=0.05, help="FDR threshold for L–R pairs (default 0.05)")
    ana.add_argument("--min-r", type=float, default=0.1, help="minimal correlation of a significant pair (default 0.1)")
    ana.add_argument("--spatial", action="store_true", help="add liana's spatial bivariate Moran's R to the L–R tables")
    ana.add_argument("--deg-alpha", type=float, default=0.05, help="adjusted p threshold for DEGs (default 0.05)")
    ana.add_argument("--min-log2fc", type=float, default=1.0, help="log2 fold change threshold for DEGs (default 1)")
    ana.add_argument("--genes", help="comma-separated genes for the measured vs imputed maps")
    ana.add_argument("--title", help="report title")
    p.add_argument("--carry", metavar="DIR",
                   help="add the versions of an earlier report (its output folder) that this run does not analyse, "
                        "checked to be of the same cells, groups and measured-data results")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--force", action="store_true", help="write into a non-empty output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spaim.downstream.carry import carry_versions, check_folder
    from spaim.downstream.report import analyse, write_report

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.force:
        raise SpaIMInputError(f"output folder '{out}' is not empty: choose another or pass --force.")
    if args.carry:
        check_folder(args.carry)
    st, imputed = _inputs(args)
    result = analyse(st, imputed, labels_key=args.labels_key, st_layer=args.st_layer, normalize=args.normalize,
                     allow_non_integer=args.allow_non_integer,
                     resource=args.resource, lr_method=args.lr_method, lr_pvalue=args.lr_pvalue, lr_alpha=args.lr_alpha,
                     min_r=args.min_r, spatial=args.spatial, deg_alpha=args.deg_alpha, min_log2fc=args.min_log2fc, seed=args.seed)
    if args.carry:
        result = carry_versions(result, args.carry)
    genes = [g.strip() for g in args.genes.split(",") if g.strip()] if args.genes else None
    write_report(result, out, title=args.title or f"Downstream analyses: {args.dataset or Path(args.st).stem}", map_genes=genes, force=True)
    print(f"wrote {out / 'report.md'}")
    return 0


def _inputs(args: argparse.Namespace):
    """The measured ST data and ``{name: imputed AnnData}``, read or computed."""
    if bool(args.dataset) == bool(args.st):
        raise SpaIMInputError("give exactly one of --dataset and --st.")
    if args.dataset:
        st, sc = datasets.load(args.dataset, args.data_dir)
    else:
        st, sc = read_h5ad(args.st, "ST"), (read_h5ad(args.sc, "SC") if args.sc else None)
    if args.spatial and spatial_coordinates(st) is None:
        raise SpaIMInputError(
            "--spatial needs ST coordinates, and the ST data has none (obsm['spatial'] or obs x/y columns): "
            "add them, or leave out --spatial."
        )
    given = _given_imputations(args)
    if given:
        return st, given
    if sc is None:
        raise SpaIMInputError("nothing to compare: give --imputed/--imputed-other, or --sc (or --dataset) to impute here.")
    from spaim.downstream.imputation import impute_versions

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    return st, impute_versions(st, sc, methods, folds=args.folds, seed=args.seed, max_epochs=args.epochs,
                               allow_non_integer=args.allow_non_integer, **({"st_layer": args.st_layer} if args.st_layer else {}))


def _given_imputations(args: argparse.Namespace) -> dict:
    named = [f"spaim={args.imputed}"] if args.imputed else []
    out = {}
    for item in [*named, *args.imputed_other]:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise SpaIMInputError(f"--imputed-other '{item}' must look like NAME=FILE.")
        if name in out or name == "raw":
            raise SpaIMInputError(f"imputation name '{name}' is used twice or reserved: pick unique names other than 'raw'.")
        out[name] = read_h5ad(path, f"imputed ({name})")
    return out
