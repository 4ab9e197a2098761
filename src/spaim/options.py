"""Set-up options of a SpaIM model, and the checks every option goes through, in one place.

:class:`SetupOptions` is the single definition of how an ST/SC pair is prepared; the
model, :func:`spaim.pairing.prepare_pair`, :func:`spaim.cross_validate` and the command
line all build it, so each option is named, typed, defaulted and checked once.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, get_args

from spaim.errors import SpaIMInputError

ProfileStat = Literal["mean", "median"]

#: Largest seed numpy and torch both accept.
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class SetupOptions:
    """How an ST/SC pair is prepared for a SpaIM model; checked when created.

    Attributes
    ----------
    st_layer, sc_layer
        Layers holding raw counts (``None``: ``X``).
    ignore_case
        Match gene names between ST and SC ignoring case.
    strip_gene_names
        Strip leading and trailing whitespace from gene names before matching (without
        it such names are reported and match only names spelled the same way).
    allow_non_integer
        Accept non-integer (already processed, non-negative) values.
    normalize
        Library-size normalise (to the median total) before ``log1p`` (default; ``False``:
        plain ``log1p``, as the paper).
    min_cell_fraction
        Keep SC genes expressed in at least this fraction of SC cells (0 to 1).
    labels_key
        ``sc.obs`` column with cell labels to use instead of Leiden clusters.
    resolution
        Leiden resolution (> 0); ignored with ``n_clusters`` or ``labels_key``.
    n_clusters
        Target number of Leiden clusters (>= 2), searched over resolutions.
    profile_stat
        ``"mean"`` (default) or ``"median"`` (paper) log expression per SC cluster.
    seed
        Seed for clustering, initialisation, batching and augmentation (0 to 2**32 - 1);
        ``random_state`` is accepted as its scanpy-style alias.
    """

    st_layer: str | None = field(default=None, metadata={"cli": "data", "help": "layer of --st holding raw counts (default X)"})
    sc_layer: str | None = field(default=None, metadata={"cli": "data", "help": "layer of --sc holding raw counts (default X)"})
    ignore_case: bool = field(default=False, metadata={"help": "match gene names ignoring case"})
    strip_gene_names: bool = field(default=False, metadata={"help": "strip whitespace around gene names before matching"})
    allow_non_integer: bool = field(default=False, metadata={"help": "accept already-processed (non-integer) values"})
    normalize: bool = field(
        default=True, metadata={"help": "library-size normalise before log1p (default; --no-normalize: plain log1p, as the paper)"}
    )
    min_cell_fraction: float = field(default=0.1, metadata={"help": "keep SC genes expressed in at least this fraction of SC cells (default 0.1)"})
    labels_key: str | None = field(default=None, metadata={"help": "SC obs column with cell labels to use instead of Leiden clusters"})
    resolution: float = field(default=1.0, metadata={"help": "Leiden resolution of the SC clustering (default 1)"})
    n_clusters: int | None = field(default=None, metadata={"help": "target number of SC Leiden clusters"})
    profile_stat: ProfileStat = field(default="mean", metadata={"help": "SC cluster profile statistic (default mean)"})
    seed: int = field(default=0, metadata={"help": "random seed (default 0)"})

    def __post_init__(self) -> None:
        for name in ("st_layer", "sc_layer", "labels_key"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise option_error(name, value, "must be a non-empty name or None", "pass the name as a string")
        for name in ("ignore_case", "strip_gene_names", "allow_non_integer", "normalize"):
            check_bool(name, getattr(self, name))
        # Stored as plain Python numbers (numpy scalars are accepted, and saved models are JSON).
        set_ = object.__setattr__  # the dataclass is frozen
        set_(self, "min_cell_fraction", check_number("min_cell_fraction", self.min_cell_fraction, low=0.0, high=1.0))
        set_(self, "resolution", check_number("resolution", self.resolution, low=0.0, low_open=True))
        if self.n_clusters is not None:
            set_(self, "n_clusters", check_int("n_clusters", self.n_clusters, low=2))
        check_choice("profile_stat", self.profile_stat, ProfileStat)
        set_(self, "seed", check_seed(self.seed))
        self._check_clustering_choice()

    def _check_clustering_choice(self) -> None:
        """Labels replace clustering, and a cluster count replaces the resolution: refuse options that would be ignored."""
        if self.labels_key is not None and (self.n_clusters is not None or self.resolution != 1.0):
            ignored = "n_clusters" if self.n_clusters is not None else "resolution"
            raise SpaIMInputError(
                f"labels_key and {ignored} were both given, but labels replace the Leiden clustering: drop one of them.",
                option=ignored,
            )
        if self.n_clusters is not None and self.resolution != 1.0:
            raise SpaIMInputError(
                "n_clusters and resolution were both given, but n_clusters searches the resolution itself: drop one of them.",
                option="resolution",
            )

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any], where: str = "SpaIM") -> SetupOptions:
        """Options from keyword arguments; unknown names are refused with a suggestion."""
        kwargs = dict(kwargs)
        resolve_seed(kwargs)
        check_known(kwargs, cls.names(), where)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------- checks
def option_error(name: str, value: Any, problem: str, fix: str) -> SpaIMInputError:
    """The one-line error for a bad option; the CLI swaps ``name=`` for the matching flag."""
    return SpaIMInputError(f"{name}={value!r} {problem}: {fix}.", option=name)


def check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise option_error(name, value, "must be True or False", f"pass {name}=True or {name}=False")


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int within ``[low, high]``; bools, floats and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise option_error(name, value, "must be an integer", f"pass a whole number{_range(low, high)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise option_error(name, value, "is out of range", f"pass a whole number{_range(low, high)}")
    return int(value)


def check_number(
    name: str, value: Any, low: float | None = None, high: float | None = None, low_open: bool = False, high_open: bool = False
) -> float:
    """``value`` as a finite float within the given bounds (NaN and infinities refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise option_error(name, value, "must be a number", f"pass a number{_range(low, high, low_open, high_open)}")
    value = float(value)
    too_low = low is not None and (value < low or (low_open and value == low))
    too_high = high is not None and (value > high or (high_open and value == high))
    if not math.isfinite(value) or too_low or too_high:
        raise option_error(name, value, "is out of range", f"pass a finite number{_range(low, high, low_open, high_open)}")
    return value


def check_choice(name: str, value: Any, choices: Any) -> None:
    """``value`` must be one of a ``Literal`` type's values."""
    allowed = get_args(choices)
    if value not in allowed:
        raise option_error(name, value, "is unknown", f"use one of {', '.join(map(repr, allowed))}")


def check_seed(seed: Any, name: str = "seed") -> int:
    return check_int(name, seed, low=0, high=MAX_SEED)


def resolve_seed(kwargs: dict[str, Any]) -> None:
    """Turn scanpy's ``random_state`` into ``seed`` in place (both given must agree)."""
    if "random_state" not in kwargs:
        return
    random_state = kwargs.pop("random_state")
    if "seed" in kwargs and kwargs["seed"] != random_state:
        raise SpaIMInputError(
            f"seed={kwargs['seed']!r} and random_state={random_state!r} disagree: they are the same option, pass only one."
        )
    kwargs["seed"] = random_state


def check_known(kwargs: Mapping[str, Any], known: Collection[str], where: str) -> None:
    """Refuse keyword arguments that ``where`` does not take, suggesting the closest name."""
    unknown = [k for k in kwargs if k not in known]
    if not unknown:
        return
    name = unknown[0]
    close = difflib.get_close_matches(name, list(known), n=1)
    fix = f"did you mean '{close[0]}'?" if close else f"valid options are {', '.join(sorted(known))}"
    raise SpaIMInputError(f"{where}() got an unknown option '{name}': {fix}", option=name)


def _range(low, high, low_open: bool = False, high_open: bool = False) -> str:
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        bounds.append(f"{'<' if high_open else '<='} {high}")
    return " " + " and ".join(bounds) if bounds else ""
