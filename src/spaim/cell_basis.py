"""What the data says about the ST cells before any training: cell types and neighbours.

These pieces serve both the cluster-transfer floor (:mod:`spaim.baselines`) and SpaIM's
cell-basis layers (:mod:`spaim.model.networks`, through :func:`build_cell_basis`):

- :func:`cluster_affinity`: each ST cell's correlation with each SC cluster's mean
  profile over the shared (training) genes, each gene z-scored on its own side, so that
  neither sequencing depth nor the platforms' gene-wise scales decide the match;
- :func:`learned_mapping`: SC metacells spread over the ST cells so that every shared
  gene's spatial pattern is reproduced (the gene-wise objective of Tangram), for panels
  where cell-wise correlation across platforms fails;
- :func:`spatial_neighbours`: a row-normalised kNN averaging operator on the coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from spaim.metrics import column_pcc


def zscore_columns(x: np.ndarray) -> np.ndarray:
    """Each column centred and scaled to unit variance in float64 (constant columns left at 0)."""
    x = np.asarray(x, dtype=np.float64)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _zscore_rows(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=1, keepdims=True)
    norm = np.sqrt((x**2).mean(axis=1, keepdims=True))
    return x / np.where(norm > 0, norm, 1.0)


#: Rows per float64 work block of the cells x genes passes below: a slide of 10^6 cells is
#: never copied whole (a float64 copy of 10^6 x 500 would be 4 GB).
_BLOCK_VALUES = 2**22


def _row_blocks(x: np.ndarray):
    step = max(1, _BLOCK_VALUES // max(1, x.shape[1]))
    return (slice(start, min(start + step, x.shape[0])) for start in range(0, x.shape[0], step))


class _Columns:
    """A column subset of a cells x genes array, read block by block (the shape and row slicing the passes need)."""

    def __init__(self, x: np.ndarray, columns: np.ndarray) -> None:
        self.x, self.columns = x, columns
        self.shape = (x.shape[0], len(columns))

    def __getitem__(self, rows: slice) -> np.ndarray:
        return self.x[rows][:, self.columns]


def _column_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations, accumulated in float64 block by block (constant: sd 1)."""
    mean = np.zeros(x.shape[1])
    for rows in _row_blocks(x):
        mean += np.asarray(x[rows], dtype=np.float64).sum(axis=0)
    mean /= x.shape[0]
    var = np.zeros(x.shape[1])
    for rows in _row_blocks(x):
        var += ((np.asarray(x[rows], dtype=np.float64) - mean) ** 2).sum(axis=0)
    sd = np.sqrt(var / x.shape[0])
    return mean, np.where(sd > 0, sd, 1.0)


def _standardise_columns_in_place(x: np.ndarray) -> np.ndarray:
    """:func:`zscore_columns` without a copy: ``x`` (float) is overwritten and returned."""
    mean, sd = _column_moments(x)
    for rows in _row_blocks(x):
        x[rows] = (x[rows] - mean) / sd
    return x


def cluster_affinity(st_log: np.ndarray, profiles: np.ndarray, genes: np.ndarray | None = None) -> np.ndarray:
    """Pearson correlation of every ST cell with every SC cluster over the shared genes.

    Parameters
    ----------
    st_log
        ST cells x genes, log scale.
    profiles
        The same genes x SC clusters (cluster means, log scale).
    genes
        Columns of ``st_log`` (rows of ``profiles``) to use; all by default. Taken block by
        block, so no cells x genes copy is made.

    Returns
    -------
    ST cells x clusters correlations in [-1, 1] (float32).
    """
    genes = np.arange(st_log.shape[1]) if genes is None else np.asarray(genes)
    sc_z = _zscore_rows(zscore_columns(np.asarray(profiles, dtype=np.float64)[genes].T))
    columns = _Columns(st_log, genes)
    mean, sd = _column_moments(columns)
    affinity = np.empty((st_log.shape[0], sc_z.shape[0]), dtype=np.float32)
    for rows in _row_blocks(columns):
        st_z = _zscore_rows((np.asarray(columns[rows], dtype=np.float64) - mean) / sd)
        affinity[rows] = st_z @ sc_z.T / len(genes)
    return affinity


def soft_assignment(affinity: np.ndarray, temperature: float) -> np.ndarray:
    """Row-wise softmax of ``affinity / temperature``: each cell's weights over the clusters."""
    logits = affinity / temperature
    logits = logits - logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def spatial_neighbours(coords: np.ndarray, k: int = 8) -> sp.csr_matrix:
    """Cells x cells operator averaging each cell with its ``k`` nearest spatial neighbours.

    Rows sum to 1 (the cell itself included), so ``S @ x`` is a local mean of ``x``.
    """
    n = coords.shape[0]
    k = int(min(k, n - 1))
    if k < 1:
        return sp.identity(n, dtype=np.float32, format="csr")
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(coords).kneighbors(coords)
    rows = np.repeat(np.arange(n), k + 1)
    weights = np.full(n * (k + 1), 1.0 / (k + 1), dtype=np.float32)
    return sp.csr_matrix((weights, (rows, idx.ravel())), shape=(n, n))


#: Softmax temperatures for the soft assignment of ST cells to SC clusters, chosen on validation genes.
TEMPERATURES = (0.02, 0.05, 0.1, 0.2, 0.5)


def _validation_split(n_genes: int, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    order = np.random.default_rng(seed).permutation(n_genes)
    n_val = int(round(n_genes * validation_fraction))
    if n_val < 2 or n_genes - n_val < 3:
        return None
    return order[n_val:], order[:n_val]


#: Adam step of :func:`learned_mapping` (Tangram's), and the epochs at which its candidates are
#: taken: the choice sees each, since a small panel can overfit the mapping within a few dozen
#: epochs; one run of the longest yields them all.
MAPPING_LR = 0.1
MAPPING_EPOCHS = (15, 30, 60)


def learned_mapping(
    st_log: np.ndarray, profiles: np.ndarray, sizes: np.ndarray, genes: np.ndarray | None = None, seed: int = 0,
    epochs: int | Sequence[int] = MAPPING_EPOCHS[-1],
) -> np.ndarray | list[np.ndarray]:
    """ST cells x SC units weights that spread each unit's cells over the ST cells.

    Each SC unit (a metacell of ``sizes`` cells) gets a softmax distribution over the ST
    cells; an ST cell receives ``sum_u size_u * p_u(cell) * profile_u``. The distributions
    are fitted with Adam to maximise the mean, over ``genes``, of the cosine similarity
    between each gene's predicted and measured values across cells (Tangram's gene-wise
    objective, here on metacells: parameters are units x cells). Because every unit must
    land somewhere, no cell type can be ignored, which a per-cell choice allows. Weights
    are scaled to a mean row sum of 1 (a global factor: no correlation changes).

    ``epochs`` is the number of Adam steps; a sequence of them returns the weights after
    each, in its order, from one run.

    The cells x genes prediction is never formed: with ``A`` the units x cells weights, ``S``
    the units x genes profiles and ``T`` the measured values with unit-norm columns, a gene's
    cosine is ``a / n`` with ``a = sum_u S * (A @ T)`` and ``n`` the norm of its column of
    ``A^T S``. The gradient is written out rather than left to autograd (whose graph costs
    about twice as many products and holds several units x cells intermediates):
    ``d(a/n)/dA = S (T / n - A^T S a / n^3)^T`` gene by gene, formed as cells x genes terms
    when genes are fewer than units and through the units x units ``A A^T`` otherwise
    (whichever ran faster on one thread at 40-1,000 genes and 800-5,000 cells).
    """
    import torch

    snapshots = [int(e) for e in np.atleast_1d(epochs)]
    genes = np.arange(st_log.shape[1]) if genes is None else np.asarray(genes)
    target = torch.from_numpy(np.ascontiguousarray(np.asarray(st_log)[:, genes], dtype=np.float32))
    target = target / target.norm(dim=0).clamp_min(1e-8)
    source = torch.from_numpy(np.ascontiguousarray(np.asarray(profiles, dtype=np.float32)[genes].T))
    mass = torch.from_numpy((np.asarray(sizes) / np.mean(sizes)).astype(np.float32))[:, None]
    generator = torch.Generator().manual_seed(seed)
    logits = 0.01 * torch.randn(source.shape[0], target.shape[0], generator=generator)
    optimizer = torch.optim.Adam([logits], lr=MAPPING_LR, fused=True)
    few_genes = source.shape[1] < source.shape[0]

    def slope(agreement, squared_norm):
        # a norm clamped at its floor (a gene no unit expresses) passes no gradient, as under autograd
        norm = squared_norm.clamp_min(1e-16).sqrt()
        return norm, torch.where(squared_norm > 1e-16, agreement / norm.pow(3), torch.zeros_like(norm))

    def gradient(weights):
        """d(mean cosine)/dA (units x cells), times the number of genes; in place where a copy would be cells-wide."""
        agreement = (source * (weights @ target)).sum(dim=0)
        if few_genes:
            spread = weights.T @ source
            norm, tilt = slope(agreement, spread.pow(2).sum(dim=0))
            return source @ spread.mul_(-tilt).add_(target / norm).T
        gram = weights @ weights.T
        norm, tilt = slope(agreement, (source * (gram @ source)).sum(dim=0))
        return ((source / norm) @ target.T).sub_(((source * tilt) @ source.T) @ weights)

    def cells_by_units() -> np.ndarray:
        weights = (torch.softmax(logits, dim=1) * mass).T.numpy()
        return (weights * (weights.shape[0] / weights.sum())).astype(np.float32)

    taken = {0: cells_by_units()} if 0 in snapshots else {}
    for epoch in range(1, max(snapshots) + 1):
        probs = torch.softmax(logits, dim=1)
        # the loss is minus the mean cosine; through A = probs * mass and the softmax to the logits
        on_probs = gradient(probs * mass).mul_(-mass / source.shape[1])
        logits.grad = on_probs.sub_((on_probs * probs).sum(dim=1, keepdim=True)).mul_(probs)
        optimizer.step()
        if epoch in snapshots:
            taken[epoch] = cells_by_units()
    return taken[snapshots[0]] if np.ndim(epochs) == 0 else [taken[e] for e in snapshots]


def _transfer_score(st_log: np.ndarray, profiles: np.ndarray, weights: np.ndarray, val: np.ndarray) -> float:
    return float(np.median(column_pcc(np.asarray(st_log)[:, val], weights @ profiles[val].T)))


def choose_temperature(
    st_log: np.ndarray, profiles: np.ndarray, temperatures=TEMPERATURES, validation_fraction: float = 0.2, seed: int = 0
) -> float:
    """The temperature whose soft cluster transfer best predicts a validation share of the genes.

    Genes (columns of ``st_log``, rows of ``profiles``) are split at random; cells are
    assigned on the fit genes and the validation genes predicted as the weighted mean of
    their cluster profiles; the median PCC over validation genes decides. With too few
    genes to split, the middle temperature is returned.
    """
    split = _validation_split(st_log.shape[1], validation_fraction, seed)
    if split is None:
        return float(np.median(temperatures))
    fit, val = split
    affinity = cluster_affinity(st_log, profiles, fit)
    scores = [_transfer_score(st_log, profiles, soft_assignment(affinity, t), val) for t in temperatures]
    return float(temperatures[int(np.argmax(scores))])


@dataclass(frozen=True)
class Mapping:
    """One way of matching ST cells to SC metacells (:func:`assignment_of`).

    Attributes
    ----------
    kind
        ``"clusters"``: softmax over correlations with the cluster means; ``"metacells"``:
        the same with each metacell; ``"learned"``: :func:`learned_mapping`.
    temperature
        The softmax temperature of a correlation kind (NaN for the learned one).
    epochs
        Adam steps of the learned kind (0 for the others).
    """

    kind: str
    temperature: float = float("nan")
    epochs: int = 0


@dataclass(frozen=True)
class Metacells:
    """SC metacells over the shared genes: profiles (genes x metacells), sizes, and the cluster of each."""

    profiles: np.ndarray
    sizes: np.ndarray
    clusters: np.ndarray

    def cluster_profiles(self) -> np.ndarray:
        """Genes x clusters size-weighted means of the metacell profiles (the clusters' mean profiles)."""
        members = np.eye(self.clusters.max() + 1, dtype=np.float64)[self.clusters] * self.sizes[:, None]
        return (np.asarray(self.profiles, dtype=np.float64) @ (members / members.sum(axis=0))).astype(np.float32)

    def from_clusters(self, weights: np.ndarray) -> np.ndarray:
        """Cells x clusters weights as cells x metacells weights that transfer the same profiles."""
        share = self.sizes / np.bincount(self.clusters, weights=self.sizes)[self.clusters]
        return (weights[:, self.clusters] * share).astype(np.float32)


def assignments_of(
    st_log: np.ndarray, units: Metacells, mappings: Sequence[Mapping], genes: np.ndarray | None = None, seed: int = 0
) -> list[np.ndarray]:
    """ST cells x SC metacells weights from ``genes`` by each of ``mappings``, in their order.

    Mappings of one kind share their work: one correlation per correlation kind (the
    temperatures reuse it), one learned run stopped at each requested step count.
    """
    steps = [m.epochs for m in mappings if m.kind == "learned"]
    learned = iter(learned_mapping(st_log, units.profiles, units.sizes, genes, seed=seed, epochs=steps) if steps else [])
    affinity = {}
    weights = []
    for mapping in mappings:
        if mapping.kind == "learned":
            weights.append(next(learned))
            continue
        if mapping.kind not in affinity:
            profiles = units.cluster_profiles() if mapping.kind == "clusters" else units.profiles
            affinity[mapping.kind] = cluster_affinity(st_log, profiles, genes)
        assigned = soft_assignment(affinity[mapping.kind], mapping.temperature)
        weights.append(units.from_clusters(assigned) if mapping.kind == "clusters" else assigned)
    return weights


def assignment_of(
    st_log: np.ndarray, units: Metacells, mapping: Mapping, genes: np.ndarray | None = None, seed: int = 0
) -> np.ndarray:
    """ST cells x SC metacells weights from ``genes`` by ``mapping``."""
    return assignments_of(st_log, units, [mapping], genes, seed=seed)[0]


#: Cells sampled to choose the mapping and the smoothing on larger slides (a sample judges the
#: candidates as well as the whole slide, and a learned mapping over 10^5 cells costs minutes).
CHOICE_MAX_CELLS = 5_000


def _choice_rows(n_cells: int, seed: int) -> np.ndarray | None:
    """The sorted sample of cells the choices are made on; None (all cells) up to :data:`CHOICE_MAX_CELLS`."""
    if n_cells <= CHOICE_MAX_CELLS:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_cells, CHOICE_MAX_CELLS, replace=False))


#: Folds of the training genes over which the mapping is chosen.
CHOICE_FOLDS = 5


#: Best-ranked mappings whose assignments are averaged: the ranking's first changes with its random
#: split among near-tied candidates (benchmarks/smoothing_nested.py), their mean does less.
N_MAPPINGS = 2


def choose_mappings(
    st_log: np.ndarray, units: Metacells, temperatures=TEMPERATURES, seed: int = 0, n: int = N_MAPPINGS
) -> tuple[Mapping, ...]:
    """The ``n`` best of :func:`rank_mappings`, whose assignments :func:`mean_assignment` averages.

    Fewer than 10 genes: clusters at the middle temperature alone.
    """
    if st_log.shape[1] < 10:
        return (Mapping("clusters", float(np.median(temperatures))),)
    return tuple(rank_mappings(st_log, units, temperatures=temperatures, seed=seed)[:n])


def mean_assignment(
    st_log: np.ndarray, units: Metacells, mappings: Sequence[Mapping], genes: np.ndarray | None = None, seed: int = 0
) -> np.ndarray:
    """ST cells x SC metacells: the mean of the weights of :func:`assignments_of` over ``mappings``."""
    weights = assignments_of(st_log, units, mappings, genes, seed=seed)
    total = np.asarray(weights[0], dtype=np.float32)  # summed into in place: no third cells x metacells array
    for other in weights[1:]:
        total += other
    return total / len(mappings)


def rank_mappings(
    st_log: np.ndarray, units: Metacells, genes: np.ndarray | None = None, temperatures=TEMPERATURES, seed: int = 0
) -> list[Mapping]:
    """Every candidate mapping, best first by how well its transfer predicts held-out genes.

    Candidates: the correlation softmax over clusters and over metacells at each of
    ``temperatures``, and the :func:`learned_mapping` after each of :data:`MAPPING_EPOCHS`.
    Which wins depends on the data: whole cell types suit spots that mix cells, metacells
    suit single cells, and the gene-wise mapping suits platforms whose panels correlate
    poorly cell by cell.

    ``genes`` (columns of ``st_log`` and rows of ``units.profiles``; all by default) are
    split into :data:`CHOICE_FOLDS` folds; each fold is predicted by matching cells on the
    others, and the median PCC over all of them ranks the candidates (every gene votes once:
    a single validation share of a small panel is too noisy to choose by); ties keep the
    candidates' order.
    """
    genes = np.arange(st_log.shape[1]) if genes is None else np.asarray(genes)
    candidates = [Mapping(kind, float(t)) for kind in ("clusters", "metacells") for t in temperatures]
    candidates += [Mapping("learned", epochs=e) for e in MAPPING_EPOCHS]
    scores = np.zeros((len(candidates), len(genes)))
    order = np.random.default_rng(seed).permutation(len(genes))
    correlated = (units.cluster_profiles(), units.profiles)  # the units of the two correlation kinds
    for held in np.array_split(order, CHOICE_FOLDS):
        val, fit = genes[held], genes[np.setdiff1d(order, held)]
        truth = np.asarray(st_log)[:, val]
        predictions = []  # of the fold's genes, candidate by candidate
        for profiles in correlated:
            affinity = cluster_affinity(st_log, profiles, fit)  # once per fold and kind; temperatures reuse it
            predictions += [soft_assignment(affinity, t) @ profiles[val].T for t in temperatures]
        learned = learned_mapping(st_log, units.profiles, units.sizes, fit, seed=seed, epochs=MAPPING_EPOCHS)
        predictions += [weights @ units.profiles[val].T for weights in learned]
        for c, predicted in enumerate(predictions):
            scores[c, held] = column_pcc(truth, predicted)
    return [candidates[c] for c in np.argsort(-np.median(scores, axis=1), kind="stable")]


#: Shares of each cell's neighbourhood mean mixed into its cluster assignment, chosen on validation genes.
SMOOTHING = (0.0, 0.5, 1.0)
#: Share of each cell's mean over its nearest cells in expression mixed into its weights before
#: the spatial choice: chosen on validation genes nested in the benchmark's training folds
#: (benchmarks/expression_smoothing_model_nested.py: median PCC up on all five datasets).
EXPRESSION_SMOOTHING = 0.5
#: Cells (itself included) averaged by :func:`expression_neighbours`.
EXPRESSION_NEIGHBOURS = 15
#: Cells that :func:`expression_neighbours` searches among on larger slides (a random sample), so
#: that the search grows with the number of cells rather than its square.
NEIGHBOUR_MAX_CELLS = 20_000


def expression_neighbours(pcs: np.ndarray, k: int = EXPRESSION_NEIGHBOURS, seed: int = 0) -> sp.csr_matrix:
    """Cells x cells operator averaging each cell over its ``k`` nearest cells in principal-component space.

    Cells of one type that lie apart share no spatial neighbours; pooling a cell's weights
    with the cells most like it in the panel denoises the weights of cells with few counts
    without blurring tissue borders (as MAGIC pools expression). Up to
    :data:`NEIGHBOUR_MAX_CELLS` cells the neighbours are the nearest cells, the cell itself
    first; beyond, the nearest among that many cells sampled at random. Rows sum to 1.
    """
    n = pcs.shape[0]
    anchors = np.arange(n)
    if n > NEIGHBOUR_MAX_CELLS:
        anchors = np.sort(np.random.default_rng(seed).choice(n, NEIGHBOUR_MAX_CELLS, replace=False))
    k = int(min(k, len(anchors)))
    _, idx = NearestNeighbors(n_neighbors=k).fit(pcs[anchors]).kneighbors(pcs)
    weights = np.full(n * k, 1.0 / k, dtype=np.float32)
    return sp.csr_matrix((weights, (np.repeat(np.arange(n), k), anchors[idx.ravel()])), shape=(n, n))


def choose_smoothing(
    st_log: np.ndarray, profiles: np.ndarray, assignment_of, neighbours: sp.csr_matrix, validation_fraction: float = 0.2,
    seed: int = 0,
) -> float:
    """How much of the neighbours' mean assignment to mix into each cell's own (``SMOOTHING``).

    ``assignment_of(genes)`` gives the cells' soft assignment from those genes. Spatial
    averaging helps where cells of a type cluster in space and single-cell assignments are
    noisy; validation genes decide, and 0 (none) wins ties.
    """
    split = _validation_split(st_log.shape[1], validation_fraction, seed + 1)
    if split is None:
        return 0.0
    fit, val = split
    own = assignment_of(fit)
    local = np.asarray(neighbours @ own)
    scores = [_transfer_score(st_log, profiles, (1 - lam) * own + lam * local, val) for lam in SMOOTHING]
    return float(SMOOTHING[int(np.argmax(scores))])


def _principal_components(st_log: np.ndarray, n_pcs: int) -> np.ndarray:
    """Scores of the leading ``n_pcs`` principal components of the per-gene z-scored cells (float32).

    PCA through the genes x genes correlation matrix, accumulated block by block: memory is
    genes^2 plus the scores, whatever the number of cells. Signs follow scikit-learn's
    convention (each component's largest loading positive), so the scores equal
    ``PCA(n_pcs).fit_transform(zscore_columns(st_log))``.
    """
    mean, sd = _column_moments(st_log)
    gram = np.zeros((st_log.shape[1], st_log.shape[1]))
    for rows in _row_blocks(st_log):
        z = (np.asarray(st_log[rows], dtype=np.float64) - mean) / sd
        gram += z.T @ z
    eigenvalues, vectors = np.linalg.eigh(gram)
    components = vectors[:, np.argsort(eigenvalues)[::-1][:n_pcs]]
    largest = np.abs(components).argmax(axis=0)
    components *= np.sign(components[largest, np.arange(n_pcs)])
    scores = np.empty((st_log.shape[0], n_pcs), dtype=np.float32)
    for rows in _row_blocks(st_log):
        scores[rows] = ((np.asarray(st_log[rows], dtype=np.float64) - mean) / sd) @ components
    return scores


@dataclass
class CellBasis:
    """Fixed ST-cell features that SpaIM's cell-wide layers are expressed through.

    Attributes
    ----------
    features
        Cells x features, each column centred and scaled to unit variance: the weights on
        the SC metacells, the leading principal components of the ST cells, and both
        averaged over each cell's spatial neighbours (when coordinates are given).
    assignment
        Cells x SC metacells weights, for the transfer path.
    mappings
        The mappings whose assignments ``assignment`` averages, chosen on validation genes.
    smoothing
        Share of the spatial neighbours' mean assignment mixed into ``assignment``, chosen
        on validation genes (0 without coordinates).
    """

    features: np.ndarray
    assignment: np.ndarray
    mappings: tuple[Mapping, ...]
    smoothing: float = 0.0

    @property
    def n_features(self) -> int:
        return self.features.shape[1]

    def rows(self, rows: np.ndarray) -> CellBasis:
        """The basis of some of the cells (e.g. a spatial tile), their features as in the whole slide."""
        return replace(self, features=self.features[rows], assignment=self.assignment[rows])


def build_cell_basis(
    st_log: np.ndarray,
    units: Metacells,
    coords: np.ndarray | None = None,
    n_pcs: int = 20,
    n_neighbours: int = 8,
    seed: int = 0,
) -> CellBasis:
    """The :class:`CellBasis` of ST cells from their shared genes and the SC metacells.

    Parameters
    ----------
    st_log
        ST cells x shared (training) genes, log scale.
    units
        The SC metacells over the same genes.
    coords
        Cell coordinates; ``None`` leaves out the spatially averaged features.
    n_pcs
        Principal components of the per-gene z-scored ST cells (capped by the data).
    n_neighbours
        Spatial neighbours averaged over (see :func:`spatial_neighbours`).

    The mapping and the smoothing are chosen on at most :data:`CHOICE_MAX_CELLS` cells
    (their spatial neighbours then found among the sample); the chosen mapping is made
    on every cell. Its weights are then pooled over each cell's nearest cells in expression
    (:data:`EXPRESSION_SMOOTHING`, :func:`expression_neighbours`), and the spatial share
    chosen on the unpooled weights mixes in their spatial mean, as validated.
    """
    rows = _choice_rows(st_log.shape[0], seed)
    st_choice = st_log if rows is None else np.asarray(st_log[rows])
    mappings = choose_mappings(st_choice, units, seed=seed)
    assignment = mean_assignment(st_log, units, mappings, seed=seed)
    n_pcs = int(min(n_pcs, st_log.shape[1] - 1, st_log.shape[0] - 1))
    pcs = _principal_components(st_log, n_pcs) if n_pcs >= 1 else None
    if pcs is not None and EXPRESSION_SMOOTHING > 0:
        pooled = np.asarray(expression_neighbours(pcs, seed=seed) @ assignment)
        assignment = ((1 - EXPRESSION_SMOOTHING) * assignment + EXPRESSION_SMOOTHING * pooled).astype(np.float32)
    blocks = [assignment] if pcs is None else [assignment, pcs]
    smoothing = 0.0
    if coords is not None:
        xy = np.asarray(coords, dtype=np.float64)
        neighbours = spatial_neighbours(xy, n_neighbours)
        blocks += [np.asarray(neighbours @ b, dtype=np.float32) for b in list(blocks)]
        near = neighbours if rows is None else spatial_neighbours(xy[rows], n_neighbours)
        smoothing = choose_smoothing(
            st_choice, units.profiles, lambda genes: mean_assignment(st_choice, units, mappings, genes, seed=seed),
            near, seed=seed,
        )
        assignment = ((1 - smoothing) * assignment + smoothing * np.asarray(neighbours @ assignment)).astype(np.float32)
    features = _standardise_columns_in_place(np.hstack(blocks).astype(np.float32, copy=False))
    return CellBasis(features=features, assignment=assignment, mappings=mappings, smoothing=smoothing)
