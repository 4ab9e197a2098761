"""The training plan: mini-batches of genes, Adam, SC-input augmentation, early stopping."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from spaim.errors import SpaIMInputError
from spaim.model.losses import GENERATOR_TARGETS, SIMILARITIES, LossWeights, cosine_loss, spaim_loss
from spaim.model.networks import SpaIMModule


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else CPU; asking for CUDA without it is an error."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SpaIMInputError("device 'cuda' was requested but no CUDA GPU is available: use device='auto' or 'cpu'.")
    if device != "cpu" and not device.startswith("cuda"):
        raise SpaIMInputError(f"device '{device}' is unknown: use 'auto', 'cpu' or 'cuda'.")
    return torch.device(device)


@dataclass
class TrainingPlan:
    """How to train a :class:`SpaIMModule`; every field has the documented default.

    Attributes
    ----------
    max_epochs
        Upper bound on passes over the training genes.
    lr
        Adam learning rate.
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
        ``"cosine"`` (paper) or ``"pearson"`` (genes centred over cells first) in the
        reconstruction, generation and validation losses.
    """

    max_epochs: int = 300
    lr: float = 1e-3
    batch_size: int = 64
    validation_fraction: float = 0.1
    patience: int = 20
    weights: LossWeights = field(default_factory=LossWeights)
    generator_target: str = "measured"
    augment_copies: int = 0
    similarity: str = "cosine"

    def __post_init__(self) -> None:
        if self.similarity not in SIMILARITIES:
            raise SpaIMInputError(f"similarity '{self.similarity}' is unknown: use one of {SIMILARITIES}.")
        if self.generator_target not in GENERATOR_TARGETS:
            raise SpaIMInputError(f"generator_target '{self.generator_target}' is unknown: use one of {GENERATOR_TARGETS}.")
        if self.max_epochs < 1 or self.batch_size < 2:
            raise SpaIMInputError("max_epochs must be >= 1 and batch_size >= 2: raise them.")
        if not 0 <= self.validation_fraction < 1:
            raise SpaIMInputError("validation_fraction must be in [0, 1): pick e.g. 0.1.")


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
        batches[-2] = torch.cat([batches[-2], batches.pop()])
    return batches


def _augment(sc: torch.Tensor, st_rows: torch.Tensor, copies: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """SC inputs with ``copies`` half-zeroed duplicates, and the ST row each one is paired with."""
    if copies == 0:
        return sc, st_rows
    masks = (torch.rand((copies, *sc.shape), generator=generator) >= 0.5).to(sc)
    noisy = (sc.unsqueeze(0) * masks).reshape(-1, sc.shape[1])
    return torch.cat([sc, noisy]), st_rows.repeat(copies + 1)


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
            loss, terms = spaim_loss(module(st_b, sc_b), st_b, plan.weights, plan.generator_target, plan.similarity)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + value * len(batch)
        row = {"epoch": epoch, **{k: v / len(rows_epoch) for k, v in sums.items()}}
        if len(val_idx):
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
        module.load_state_dict(best_state)
    module.eval()
    return pd.DataFrame(history)


@torch.no_grad()
def _keep_state(module: torch.nn.Module, buffer: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    """Copy the module's weights into ``buffer`` (allocated once), so at most one extra copy exists."""
    if buffer is None:
        return {k: v.detach().clone() for k, v in module.state_dict().items()}
    for k, v in module.state_dict().items():
        buffer[k].copy_(v)
    return buffer


@torch.no_grad()
def validation_loss(module: SpaIMModule, st: torch.Tensor, sc: torch.Tensor, similarity: str = "cosine") -> float:
    """Generation loss of held-aside genes against their measured ST profiles."""
    module.eval()
    return float(cosine_loss(module.generate(sc), st, similarity))
