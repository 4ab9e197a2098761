"""The training plan: mini-batches of genes, Adam, SC-input augmentation, early stopping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from spaim.errors import SpaIMInputError
from spaim.model.losses import GENERATOR_TARGETS, SIMILARITIES, LossWeights, cosine_loss, spaim_loss
from spaim.model.networks import SpaIMModule
from spaim.options import check_choice, check_int, check_known, check_number, option_error

GeneratorTarget = Literal[GENERATOR_TARGETS]  # one definition of the choices, in the losses
Similarity = Literal[SIMILARITIES]
#: Number types of the training's forward passes: ``"bfloat16"`` runs them under autocast
#: (weights, optimiser and outputs stay float32); meant for GPUs, see docs/precision.md.
Precision = Literal["float32", "bfloat16"]
#: Loss weights as :meth:`spaim.SpaIM.train` spells them.
WEIGHT_KEYS = {f"{f.name}_weight": f.name for f in fields(LossWeights)}
#: Most extra augmented copies per gene and epoch (each one is a full copy of the training genes).
MAX_AUGMENT_COPIES = 20


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else CPU; asking for CUDA without it is an error."""
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise SpaIMInputError(f"device={device!r} is not a device name: use 'auto', 'cpu' or 'cuda'.", option="device")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SpaIMInputError("device 'cuda' was requested but no CUDA GPU is available: use device='auto' or 'cpu'.", option="device")
    if device != "cpu" and not device.startswith("cuda"):
        raise SpaIMInputError(f"device={device!r} is unknown: use 'auto', 'cpu' or 'cuda'.", option="device")
    return torch.device(device)


#: Adam step of :meth:`spaim.SpaIM.train` when ``lr`` is not given, per architecture: the cell
#: basis's gated, relative departure (:func:`spaim.model.networks.relative_departure`) learns
#: at 3e-3 (chosen on validation genes nested in the benchmark's training folds,
#: ``benchmarks/gated_departure_nested.py``); the paper's network, trained from scratch, at
#: 1e-3 (``benchmarks/tune_defaults.py`` round 10).
ARCHITECTURE_LR = {"cellbasis": 3e-3, "paper": 1e-3}


@dataclass
class TrainingPlan:
    """How to train a :class:`SpaIMModule`; every field has the documented default.

    Attributes
    ----------
    max_epochs
        Upper bound on passes over the training genes.
    lr
        Adam learning rate (:meth:`spaim.SpaIM.train` defaults to its architecture's,
        :data:`ARCHITECTURE_LR`).
    batch_size
        Genes per mini-batch.
    validation_fraction
        Share of training genes held aside to decide early stopping (0 disables it).
    patience
        Epochs without improvement of the validation generation loss before stopping.
    weights
        Weight of each of the four losses.
    generator_target
        What the generator's output is compared with: the autoencoder's
        ``"reconstruction"`` (paper), the ``"measured"`` ST profile, or ``"both"``.
    augment_copies
        Extra copies of each training gene per epoch with half its SC profile zeroed.
    similarity
        ``"pearson"`` (default: genes centred over cells first, ours) or ``"cosine"``
        (paper) in the reconstruction, generation and validation losses.
    precision
        ``"float32"`` (default) or ``"bfloat16"``: mixed precision for the forward passes
        and losses of training (autocast; weights, Adam state and imputation stay float32).
        It changes results within a measured bound; on the one GPU measured (an H200) it was
        not faster for this network (docs/precision.md).
    """

    max_epochs: int = 300
    lr: float = 1e-3
    batch_size: int = 64
    validation_fraction: float = 0.1
    patience: int = 20
    weights: LossWeights = field(default_factory=LossWeights)
    generator_target: GeneratorTarget = "measured"
    augment_copies: int = 0
    similarity: Similarity = "pearson"
    precision: Precision = "float32"

    def __post_init__(self) -> None:
        # Checked, and stored as plain Python numbers (the settings of a saved model are JSON).
        self.max_epochs = check_int("max_epochs", self.max_epochs, low=1)
        self.lr = check_number("lr", self.lr, low=0.0, high=1.0, low_open=True)
        self.batch_size = check_int("batch_size", self.batch_size, low=2)
        self.validation_fraction = check_number("validation_fraction", self.validation_fraction, low=0.0, high=1.0, high_open=True)
        self.patience = check_int("patience", self.patience, low=1)
        check_choice("generator_target", self.generator_target, GeneratorTarget)
        check_choice("similarity", self.similarity, Similarity)
        check_choice("precision", self.precision, Precision)
        self.augment_copies = check_int("augment_copies", self.augment_copies, low=0, high=MAX_AUGMENT_COPIES)
        if not isinstance(self.weights, LossWeights):
            raise SpaIMInputError(f"weights must be a LossWeights, got {type(self.weights).__name__}: use spaim.model.losses.LossWeights.")
        self.weights = LossWeights(**{name: check_number(key, getattr(self.weights, name), low=0.0) for key, name in WEIGHT_KEYS.items()})
        if self.weights.generation == 0:
            raise option_error("generation_weight", 0.0, "switches off the loss that trains imputation", "keep it > 0")

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any], where: str = "train") -> TrainingPlan:
        """A plan from :meth:`spaim.SpaIM.train`'s keyword arguments (loss weights as ``*_weight``)."""
        check_known(kwargs, plan_keys(), where)
        weights = LossWeights(**{WEIGHT_KEYS[k]: v for k, v in kwargs.items() if k in WEIGHT_KEYS})
        return cls(weights=weights, **{k: v for k, v in kwargs.items() if k not in WEIGHT_KEYS})


def plan_keys() -> tuple[str, ...]:
    """Every keyword :meth:`TrainingPlan.from_kwargs` accepts."""
    return (*(f.name for f in fields(TrainingPlan) if f.name != "weights"), *WEIGHT_KEYS)


def split_validation(n_genes: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of training and validation genes; no validation when too few genes for it."""
    n_val = int(round(n_genes * fraction))
    order = rng.permutation(n_genes)
    if fraction == 0 or n_val < 1 or n_genes - n_val < 4:
        return np.sort(order), np.array([], dtype=int)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled gene batches; a trailing batch of one joins the previous (BatchNorm needs two)."""
    order = torch.randperm(n, generator=generator)
    batches = list(order.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        last = batches.pop()
        batches[-1] = torch.cat([batches[-1], last])
    return batches


def _augment(sc: torch.Tensor, st_rows: torch.Tensor, copies: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """SC inputs with ``copies`` half-zeroed duplicates, and the ST row each one is paired with."""
    if copies == 0:
        return sc, st_rows
    masks = (torch.rand((copies, *sc.shape), generator=generator) >= 0.5).to(sc)
    noisy = (sc.unsqueeze(0) * masks).reshape(-1, sc.shape[1])
    return torch.cat([sc, noisy]), st_rows.repeat(copies + 1)


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """The autocast context of ``precision`` on ``device`` (a no-op for float32)."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")


def train_module(
    module: SpaIMModule,
    st: torch.Tensor,
    sc: torch.Tensor,
    plan: TrainingPlan,
    seed: int = 0,
    device: torch.device = torch.device("cpu"),
    progress: bool = True,
) -> pd.DataFrame:
    """Train ``module`` in place on genes x cells ``st`` and genes x clusters ``sc``.

    Returns
    -------
    The loss history, one row per epoch. The module ends with the weights of its best
    validation epoch (or of the last epoch when there is no validation split).
    """
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    train_idx, val_idx = split_validation(st.shape[0], plan.validation_fraction, rng)
    # Batches index rows of ``st`` itself: no copy of the training genes x cells.
    train_rows, sc_train = torch.from_numpy(train_idx), sc[train_idx]
    st_val, sc_val = st[val_idx].to(device), sc[val_idx].to(device)
    # The fused kernel makes the optimiser step ~3x faster on CPU (benchmarks/optimizer_step.py).
    module.to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=plan.lr, fused=True)
    history, best_state, best_val, since_best = [], None, np.inf, 0
    if len(val_idx):  # the untrained state competes too (the cell basis starts from cluster transfer)
        best_val, best_state = validation_loss(module, st_val, sc_val, plan.similarity), _keep_state(module, None)
    bar = tqdm(range(plan.max_epochs), desc="SpaIM training", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        module.train()
        sc_epoch, rows_epoch = _augment(sc_train, train_rows, plan.augment_copies, generator)
        sums: dict[str, float] = {}
        for batch in _batches(len(rows_epoch), plan.batch_size, generator):
            st_b, sc_b = st[rows_epoch[batch]].to(device), sc_epoch[batch].to(device)
            with autocast(device, plan.precision):
                loss, terms = spaim_loss(module(st_b, sc_b), st_b, plan.weights, plan.generator_target, plan.similarity)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + value * len(batch)
        row = {"epoch": epoch, **{k: v / len(rows_epoch) for k, v in sums.items()}}
        if len(val_idx):  # in float32: early stopping compares epochs on the scale imputation uses
            row["validation"] = validation_loss(module, st_val, sc_val, plan.similarity)
            if row["validation"] < best_val - 1e-5:
                best_val, since_best = row["validation"], 0
                best_state = _keep_state(module, best_state)
            else:
                since_best += 1
        history.append(row)
        bar.set_postfix(generation=f"{row['generation']:.4f}", validation=f"{row.get('validation', np.nan):.4f}")
        if since_best >= plan.patience:
            break
    if best_state is not None:
        _restore_state(module, best_state)
    module.eval()
    return pd.DataFrame(history)


@torch.no_grad()
def _keep_state(module: SpaIMModule, buffer: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    """Copy what training changes into ``buffer`` (allocated once), so at most one extra copy of it exists.

    The cell basis is left out: training never writes it, and at 10^5 cells its copy would
    be a quarter of a gigabyte, made again at every better epoch.
    """
    state = {k: v for k, v in module.state_dict().items() if k not in module.constant_state()}
    if buffer is None:
        return {k: v.detach().clone() for k, v in state.items()}
    for k, v in state.items():
        buffer[k].copy_(v)
    return buffer


@torch.no_grad()
def _restore_state(module: SpaIMModule, kept: dict[str, torch.Tensor]) -> None:
    state = module.state_dict()  # views of the module's own tensors
    for k, v in kept.items():
        state[k].copy_(v)


@torch.no_grad()
def validation_loss(module: SpaIMModule, st: torch.Tensor, sc: torch.Tensor, similarity: str = "cosine") -> float:
    """Generation loss of held-aside genes against their measured ST profiles."""
    module.eval()
    return float(cosine_loss(module.generate(sc), st, similarity))
