"""The ``spaim`` command line: h5ad in, h5ad (or CSV) out."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import sys
import time
import typing
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import pandas as pd

from spaim import datasets
from spaim._threads import thread_limits
from spaim.errors import SpaIMInputError, SpaIMWarning
from spaim.io import check_can_write, os_error_message, read_h5ad, write_csv, write_h5ad
from spaim.metrics import METRIC_NAMES
from spaim.model.imputer import OFFSETS
from spaim.model.networks import ARCHITECTURES
from spaim.options import SetupOptions, check_int, check_number
from spaim.sdata import read_st
from spaim.training import TrainingPlan, resolve_device

#: Subcommands living in their own packages, imported only when used.
PLUGINS = ("spaim.benchmark.cli", "spaim.downstream.cli")


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage itself stays in ``--help``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_data_options(p: argparse.ArgumentParser, slides: bool = False) -> None:
    g = p.add_argument_group("data")
    if slides:
        g.add_argument("--st", required=True, nargs="+", help="spatial data: one or more slides (.h5ad, or SpatialData "
                                                               ".zarr), cells x genes, raw counts")
    else:
        g.add_argument("--st", required=True, help="spatial data (.h5ad, or SpatialData .zarr), cells x genes, raw counts")
    g.add_argument("--table-key", help="table of a SpatialData --st holding the counts (needed when it has several)")
    g.add_argument("--sc", required=True, help="scRNA-seq reference (.h5ad, cells x genes, raw counts)")
    _add_option_flags(g, data=True)
    _add_setup_options(p)


def _add_option_flags(group, data: bool) -> None:
    """One flag per :class:`SetupOptions` field (``--st-layer`` for ``st_layer``), typed from the field."""
    hints = typing.get_type_hints(SetupOptions)
    for f in dataclasses.fields(SetupOptions):
        if (f.metadata.get("cli") == "data") != data:
            continue
        flag, kind = "--" + f.name.replace("_", "-"), hints[f.name]
        if kind is bool:  # on by default: --flag / --no-flag
            action = argparse.BooleanOptionalAction if f.default else "store_true"
            group.add_argument(flag, action=action, default=f.default, help=f.metadata["help"])
        elif typing.get_origin(kind) is typing.Literal:
            group.add_argument(flag, choices=typing.get_args(kind), default=f.default, help=f.metadata["help"])
        else:
            number = next((t for t in (int, float) if t in (kind, *typing.get_args(kind))), str)
            group.add_argument(flag, type=number, default=f.default, help=f.metadata["help"])


def _add_setup_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("preprocessing and model")
    _add_option_flags(g, data=False)
    g.add_argument("--architecture", choices=ARCHITECTURES, default="cellbasis",
                   help="cellbasis (default): cell-wide layers through ST-cell features; paper: as published")
    g.add_argument("--offset", choices=OFFSETS, default="lowest",
                   help="lowest (default): each imputed gene's lowest cell reads 0; none: the generator's values as they come")
    g.add_argument("--epochs", type=int, default=300, help="maximum training epochs (default 300)")
    g.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    g.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                   help="number type of training's forward passes: bfloat16 = mixed precision, for GPUs (default float32)")
    g.add_argument("--threads", type=int, help="CPU threads for torch, BLAS and numba (default: the CPUs this process may use)")
    g.add_argument("--quiet", action="store_true", help="no progress bars")


def _setup_options(args: argparse.Namespace, **override) -> SetupOptions:
    """The set-up options given on the command line, checked (flags absent from a verb keep their defaults)."""
    given = {name: getattr(args, name) for name in SetupOptions.names() if hasattr(args, name)}
    return SetupOptions(**given | override)


def _model_kwargs(args: argparse.Namespace) -> dict:
    return {"architecture": args.architecture, "offset": args.offset}


def _train_kwargs(args: argparse.Namespace) -> dict:
    """Training keywords from the command line, checked before any data are read."""
    plan = dict(max_epochs=args.epochs, precision=args.precision)
    TrainingPlan.from_kwargs(plan)
    resolve_device(args.device)
    return plan | dict(device=args.device, progress=not args.quiet)


def _output_kwargs(args: argparse.Namespace) -> dict:
    return dict(chunk_size=args.chunk_size, dtype=args.dtype, force=args.force)


def _requested_genes(args: argparse.Namespace) -> list[str] | None:
    if args.genes is not None and args.genes_file:
        raise SpaIMInputError("--genes and --genes-file were both given: keep either one of them.")
    if args.genes is not None:
        genes = [g.strip() for g in args.genes.split(",") if g.strip()]
        source = "--genes"
    elif args.genes_file:
        path = Path(args.genes_file)
        if not path.is_file():
            raise SpaIMInputError(f"genes file '{path}' does not exist or is not a file: check the path.")
        genes = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        source = f"genes file '{path}'"
    else:
        return None
    if not genes:
        raise SpaIMInputError(f"{source} names no gene: list genes to impute, or leave it out to impute every unmeasured gene.")
    return genes


def cmd_impute(args: argparse.Namespace) -> int:
    from spaim.model import SpaIM
    from spaim.model.imputer import check_model_destination

    if args.workers is not None and args.workers < 1:
        raise SpaIMInputError(f"--workers {args.workers}: give a positive number of Dask worker processes, e.g. --workers 2.")
    _check_confidence_options(args)
    if len(args.st) > 1 or args.cv_folds:
        return _impute_slides(args)
    st_path = args.st[0]
    check_can_write(args.out, args.force, inputs=[st_path, args.sc])
    if args.tiles > 1 and args.save_model:
        raise SpaIMInputError("--save-model saves one model, but --tiles trains one per tile: drop one of them.")
    if (args.scheduler or args.workers) and args.tiles < 2:
        flag = "--scheduler" if args.scheduler else "--workers"
        raise SpaIMInputError(f"{flag} runs tiles (or several --st slides) on Dask: also pass --tiles N (N >= 2).")
    if args.save_model:
        if Path(args.save_model).resolve() == Path(args.out).resolve():
            raise SpaIMInputError("--save-model and --out name the same path: give the model its own folder.")
        check_model_destination(args.save_model, args.force, flag="--force")
    options = _setup_options(args)
    train = _train_kwargs(args)
    genes = _requested_genes(args)
    st, sc = read_st(st_path, args.table_key), read_h5ad(args.sc, "SC")
    if args.tiles > 1:
        from spaim.tiles import impute_slide

        impute_slide(st, sc, args.tiles, genes, args.out, scheduler=args.scheduler, workers=args.workers or 2, threads=args.threads,
                     **options.to_dict(), **_model_kwargs(args), **train, **_output_kwargs(args))
        _say(args, f"wrote {args.tiles} tiles of imputed genes for {st.n_obs} cells to {args.out}")
        return 0
    model = SpaIM(st, sc, genes=genes, options=options, threads=args.threads, **_model_kwargs(args))
    n_genes = len(model.genes_to_impute(genes))  # nothing to impute, or a duplicate: refused before training
    n_panel = len(model.data.shared_st)
    if not args.no_confidence and args.confidence_folds > n_panel:
        raise SpaIMInputError(f"--confidence-folds {args.confidence_folds} is more than the {n_panel} shared genes: "
                              f"use at most {n_panel} folds, or --no-confidence.")
    _say(args, f"{model!r}\n{model.data.gene_summary()}")
    model.train(**train)
    if not args.no_confidence:
        model.calibrate(folds=args.confidence_folds, ensemble=args.confidence_ensemble,
                        coverage=None if args.no_intervals else args.coverage, progress=not args.quiet)
    model.impute(genes, out=args.out, min_confidence=args.min_confidence, progress=not args.quiet, **_output_kwargs(args))
    if args.save_model:
        try:
            model.save(args.save_model, overwrite=args.force)
        except BaseException:
            Path(args.out).unlink(missing_ok=True)  # all or nothing: no output without the model asked for
            raise
    if args.min_confidence is not None:  # the file holds the genes that reached the threshold
        import h5py

        with h5py.File(args.out, "r") as f:
            n_genes = f["X"].shape[1]
    _say(args, f"wrote {n_genes} imputed genes x {model.data.n_cells} cells to {args.out}")
    return 0


def _impute_slides(args: argparse.Namespace) -> int:
    """``impute`` over several slides (one reference), or with per-slide panel cross-validation."""
    from spaim.model.imputer import check_model_destination
    from spaim.slides import impute_slides

    several = len(args.st) > 1
    names = [Path(p).stem for p in args.st] if several else ["st"]
    if len(set(names)) != len(names):
        raise SpaIMInputError(f"the --st files must have distinct names (got {names}): rename or link them.")
    if several:
        outputs = _slide_outputs(Path(args.out), names, args.force)
    else:
        outputs = {"st": check_can_write(args.out, args.force, inputs=[*args.st, args.sc])}
    models = {n: Path(args.save_model) / n if several else Path(args.save_model) for n in names} if args.save_model else {}
    if several and args.save_model:
        check_model_destination(args.save_model, args.force, flag="--force")  # the folder holding one model per slide
    for path in models.values():
        if path.parent.is_dir():
            check_model_destination(path, args.force, flag="--force")
    options, train, genes = _setup_options(args), _train_kwargs(args), _requested_genes(args)
    slides = {name: read_st(path, args.table_key) for name, path in zip(names, args.st)}
    sc = read_h5ad(args.sc, "SC")
    # Several slides run as Dask tasks when asked for (--workers N: a local cluster; --scheduler: that cluster).
    dask = {"scheduler": args.scheduler or (None if args.workers else "inline"), "workers": args.workers or 2}
    result = impute_slides(slides, sc, genes, folds=args.cv_folds, options=options, **dask, **_model_kwargs(args), **train)
    for name, model in result.models.items():
        _say(args, f"{name}: {model!r}\n{model.data.gene_summary()}")
    if several:
        Path(args.out).mkdir(exist_ok=True)
    for name, imputed in result.imputed.items():
        write_h5ad(imputed, outputs[name], force=args.force)
        if name in models:
            models[name].parent.mkdir(exist_ok=True)
            result.models[name].save(models[name], overwrite=args.force)
        _say(args, f"wrote {imputed.n_vars} imputed genes x {imputed.n_obs} cells to {outputs[name]}")
    if result.scores is not None:
        if several:
            write_csv(result.scores, Path(args.out) / "cv.csv", force=args.force)
        print(format_summary({name: t for name, t in result.scores.groupby("slide", sort=False)}))
    return 0


def _slide_outputs(out: Path, names: list[str], force: bool) -> dict[str, Path]:
    """One ``NAME.h5ad`` per slide in folder ``out``, checked before any work."""
    if out.exists() and not out.is_dir():
        raise SpaIMInputError(f"with several --st slides --out is a folder, but '{out}' is a file: name a folder.")
    if not out.parent.exists():
        raise SpaIMInputError(f"output folder '{out.parent}' does not exist: create it first.")
    paths = {name: out / f"{name}.h5ad" for name in names}
    taken = [str(p) for p in [*paths.values(), out / "cv.csv"] if p.exists()]
    if taken and not force:
        raise SpaIMInputError(f"output '{taken[0]}' already exists: choose another folder or pass --force.")
    return paths

def _check_confidence_options(args: argparse.Namespace) -> None:
    if args.min_confidence is not None and args.no_confidence:
        raise SpaIMInputError("--min-confidence needs the confidence: drop --no-confidence.")
    if not 0 < args.coverage < 1:
        raise SpaIMInputError(f"--coverage {args.coverage} must be strictly between 0 and 1: e.g. 0.9.")
    if args.min_confidence is not None:
        check_number("min_confidence", args.min_confidence)
    check_int("confidence_folds", args.confidence_folds, low=2)
    check_int("confidence_ensemble", args.confidence_ensemble, low=1)
    # Tiles and several slides train models without calibrating them: a threshold would filter nothing.
    uncalibrated = "--tiles" if args.tiles > 1 else "--cv-folds" if args.cv_folds else "several --st slides" if len(args.st) > 1 else None
    if args.min_confidence is not None and uncalibrated:
        raise SpaIMInputError(f"--min-confidence needs a calibrated model, which {uncalibrated} does not make: "
                              f"impute one slide without it, or drop --min-confidence.")


def cmd_cv(args: argparse.Namespace) -> int:
    from spaim.crossval import cross_validate

    check_can_write(args.out, args.force, inputs=[args.st, args.sc])
    options = _setup_options(args)
    train = _train_kwargs(args)
    st, sc = read_st(args.st, args.table_key), read_h5ad(args.sc, "SC")
    table = cross_validate(st, sc, folds=args.folds, progress=not args.quiet, confidence=not args.no_confidence,
                           threads=args.threads, **options.to_dict(), **_model_kwargs(args),
                           **{k: v for k, v in train.items() if k != "progress"})
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
    options = _setup_options(args, allow_non_integer=True)
    train = _train_kwargs(args)
    st, sc = datasets.load(args.dataset, args.data_dir)
    data = prepare_pair(st, sc, options)
    _say(args, f"{args.dataset}: {st.n_obs} ST cells, {sc.n_obs} SC cells, {data.reference.n_clusters} SC clusters; "
               f"{data.gene_summary()}; {args.folds}-fold cross-validation over shared genes")
    factories = {
        "spaim": lambda: spaim_predictor(seed=args.seed, threads=args.threads, **_model_kwargs(args), **train | {"progress": False}),
        "knn": lambda: knn_predictor(expression_matrix(sc, "SC", options.sc_layer, True), sc.var_names, seed=args.seed),
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
    parser = _OneLineParser(
        prog="spaim",
        description="Impute unmeasured spatial transcriptomics genes from an scRNA-seq reference (SpaIM).",
        epilog="Exit codes: 0 done; 2 refused (bad input, option or output path, or an OS error such as a full disk "
        "or a permission), nothing written; 130 interrupted (Ctrl-C), nothing written; 1 internal error "
        "(rerun with --debug for the traceback).",
    )
    parser.add_argument("--version", action="version", version=f"spaim {__import__('spaim').__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of unexpected errors (may follow the command too)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("impute", help="train on shared genes and impute unmeasured ones (h5ad out)")
    _add_data_options(p, slides=True)
    p.add_argument("--out", required=True, help="output .h5ad (ST cells x imputed genes, log1p); "
                                                "with several --st slides a folder of SLIDE.h5ad files")
    p.add_argument("--cv-folds", type=int, default=0, help="also cross-validate each slide's panel with this many folds "
                                                           "and print the scores (default 0: skip)")
    p.add_argument("--genes", help="comma-separated genes to impute (default: every SC gene not in ST)")
    p.add_argument("--genes-file", help="file with one gene per line to impute")
    p.add_argument("--save-model", help="also save the trained model to this folder")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    g = p.add_argument_group("confidence (var['confidence'], layers 'lower'/'upper'; see spaim.confidence)")
    g.add_argument("--no-confidence", action="store_true", help="skip the cross-validation behind confidence and intervals (faster)")
    g.add_argument("--min-confidence", type=float, help="write only genes with at least this confidence (estimated PCC)")
    g.add_argument("--coverage", type=float, default=0.9, help="coverage of the per-cell intervals (default 0.9)")
    g.add_argument("--no-intervals", action="store_true", help="no interval layers (saves two cells x genes arrays)")
    g.add_argument("--confidence-folds", type=int, default=5,
                   help="folds over the panel genes behind confidence and intervals (default 5; each fold trains the models below)")
    g.add_argument("--confidence-ensemble", type=int, default=2,
                   help="models per fold differing only in seed (default 2; 1 trains half as many, without seed_agreement)")
    g = p.add_argument_group("output and scale")
    g.add_argument("--chunk-size", type=int, help="genes generated and written at a time (default: chunks of about 64 MB)")
    g.add_argument("--dtype", default="float32", choices=("float32", "float16"), help="output values (default float32)")
    g.add_argument("--tiles", type=int, default=1, help="split the slide into this many spatial tiles, one model each (default 1)")
    g.add_argument("--workers", type=int, help="local Dask worker processes for --tiles (default 2), or to run several --st slides in parallel")
    g.add_argument("--scheduler", help="address of a running Dask scheduler for --tiles or several --st slides (default: a local cluster "
                   "for tiles, none for slides unless --workers; 'inline': no Dask, one after another)")
    p.set_defaults(func=cmd_impute)

    p = sub.add_parser("cv", help="cross-validate over shared genes (per-gene CSV out)")
    _add_data_options(p)
    p.add_argument("--folds", type=int, default=10, help="number of folds (default 10)")
    p.add_argument("--out", required=True, help="output CSV: gene, fold, pcc, ssim, rmse, js, confidence")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--no-confidence", action="store_true", help="no confidence column")
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
    """Run a command; every expected failure is one line on stderr and a documented exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed in one line
        return exc.code if isinstance(exc.code, int) else 2
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        try:
            with thread_limits(args.threads) if hasattr(args, "threads") else contextlib.nullcontext():
                return args.func(args)
        except SpaIMInputError as exc:
            _error(_in_cli_terms(exc, parser, args.command))
            return 2
        except OSError as exc:
            _error(os_error_message(exc))
            return 2
        except KeyboardInterrupt:
            _error("interrupted; nothing was written.", prefix="spaim: ")
            return 130
        except Exception as exc:
            if debug:
                raise
            _error(f"internal error ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}): "
                   "rerun with --debug for the traceback and report it.")
            return 1


def _error(message: str, prefix: str = "spaim: error: ") -> None:
    print(prefix + " ".join(message.split()), file=sys.stderr)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    text = " ".join(str(message).split())
    label = "warning" if issubclass(category, SpaIMWarning) else f"warning ({category.__name__})"
    print(f"spaim: {label}: {text}", file=sys.stderr)


def _in_cli_terms(exc: SpaIMInputError, parser: argparse.ArgumentParser, command: str) -> str:
    """The error message with the keyword at fault (``max_epochs=0``) spelled as its flag (``--epochs 0``)."""
    message = str(exc)
    if exc.option is None:
        return message
    flags = {}
    for action in parser._subparsers._group_actions[0].choices[command]._actions:  # the verb's own flags
        if action.option_strings:
            flags[action.dest] = action.option_strings[-1]
    flag = flags.get(_CLI_DEST.get(exc.option, exc.option))
    return message.replace(f"{exc.option}=", f"{flag} ", 1) if flag else message


#: API keywords whose flag's destination has another name.
_CLI_DEST = {"max_epochs": "epochs"}


if __name__ == "__main__":
    sys.exit(main())
