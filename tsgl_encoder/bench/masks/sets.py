"""The named generators, hole ratios, and the fixed evaluation sets (per hole-ratio bin; per image)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import torch

from .common import MaskFn, RngLike, _as_rng, _check_attempts, _check_size
from .lama import lama_mask
from .mat import brush_stroke_mask, mat_mask

HOLE_RATIO_BINS: tuple[tuple[float, float], ...] = ((0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6))
"""Default hole-ratio bins of :func:`eval_mask_set`, half-open ``[low, high)``."""

SCORE_BINS: tuple[tuple[float, float], ...] = ((0.0, 0.1), *HOLE_RATIO_BINS, (0.6, 1.0))
"""Bins of the scores' per-bin table: the NVIDIA irregular mask test set's 0-10% .. 50-60%, and the rest."""


def bin_label(ratio: float, bins: Sequence[tuple[float, float]] = SCORE_BINS) -> str | None:
    """The label (``"20-30%"``) of the half-open bin holding ``ratio`` (the last bin includes its top)."""
    for index, (low, high) in enumerate(bins):
        if low <= ratio < high or (index == len(bins) - 1 and ratio == high):
            return _bin_key(low, high)
    return None

MASK_GENERATORS: dict[str, MaskFn] = {
    "lama_thin": partial(lama_mask, kind="thin"),
    "lama_medium": partial(lama_mask, kind="medium"),
    "lama_thick": partial(lama_mask, kind="thick"),
    "mat_large": partial(mat_mask, kind="large"),
    "mat_small": partial(mat_mask, kind="small"),
    "brush": brush_stroke_mask,
}
"""Named mask generators, each ``(height, width, rng) -> (1, H, W)`` tensor."""


def create_mask_generator(name: str, **kwargs: Any) -> MaskFn:
    """The generator called ``name`` in :data:`MASK_GENERATORS`, with ``kwargs`` bound (e.g.
    ``create_mask_generator("mat_large", hole_range=(0.3, 0.4))``)."""
    if not isinstance(name, str) or name not in MASK_GENERATORS:
        raise ValueError(f"name must be one of {sorted(MASK_GENERATORS)} (unknown mask generator), got {name!r}")
    generator = MASK_GENERATORS[name]
    return partial(generator, **kwargs) if kwargs else generator


def hole_ratio(mask: torch.Tensor | np.ndarray) -> float | torch.Tensor:
    """Fraction of hole pixels (value < 0.5, or ``False`` for bool masks).

    A single mask ``(H, W)`` or ``(1, H, W)`` gives a ``float``; a batch ``(N, 1, H, W)`` gives a float64
    tensor of shape ``(N,)``.
    """
    # numpy, not torch ops: counting is exact either way, and this stays fast on a busy CPU
    array = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    hole = np.logical_not(array) if array.dtype == bool else array < 0.5
    if hole.ndim == 4:
        return torch.from_numpy(np.count_nonzero(hole.reshape(len(hole), -1), axis=1) / hole[0].size)
    if hole.ndim in (2, 3):
        return int(np.count_nonzero(hole)) / hole.size
    raise ValueError(f"mask must have shape (H, W), (1, H, W) or (N, 1, H, W), got {tuple(hole.shape)}")


def _bin_key(low: float, high: float) -> str:
    return f"{round(low * 100, 6):g}-{round(high * 100, 6):g}%"


def _check_bins(bins: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    expected = "a non-empty sequence of (low, high) pairs with 0 <= low < high <= 1, sorted and not overlapping"
    try:
        pairs = [(float(low), float(high)) for low, high in bins]
    except (TypeError, ValueError):
        raise ValueError(f"bins must be {expected}, got {bins!r}") from None
    ok = bool(pairs) and all(0.0 <= low < high <= 1.0 for low, high in pairs)
    ok = ok and all(pairs[i][1] <= pairs[i + 1][0] for i in range(len(pairs) - 1))
    if not ok:
        raise ValueError(f"bins must be {expected}, got {bins!r}")
    return pairs


def eval_mask_set(height: int, width: int, per_bin: int, seed: RngLike, generator: str | MaskFn = "mat_large", *,
                  bins: Sequence[tuple[float, float]] = HOLE_RATIO_BINS,
                  max_attempts: int | None = None) -> dict[str, torch.Tensor]:
    """A fixed evaluation set: ``per_bin`` masks for each hole-ratio bin, for CTSDG-style per-ratio tables.

    Masks are drawn one after another from ``generator`` (a :data:`MASK_GENERATORS` name or a callable
    ``(height, width, rng) -> (1, H, W)``) with a single RNG seeded by ``seed``; each goes to the bin
    ``[low, high)`` holding its :func:`hole_ratio` until that bin is full (rejection sampling), so the set
    is a deterministic function of its arguments.

    Returns:
        ``{"10-20%": (per_bin, 1, H, W), ...}`` in the order of ``bins``.

    Raises:
        RuntimeError: naming the bins still short after ``max_attempts`` draws (default
            ``200 * per_bin * len(bins)``), e.g. a bin above 50% with a LaMa generator.
    """
    _check_size(height, width)
    if isinstance(per_bin, bool) or not isinstance(per_bin, int) or per_bin < 1:
        raise ValueError(f"per_bin must be an integer >= 1, got {per_bin!r}")
    pairs = _check_bins(bins)
    if isinstance(generator, str):
        draw_mask, label = create_mask_generator(generator), generator
    elif callable(generator):
        draw_mask, label = generator, getattr(generator, "__name__", repr(generator))
    else:
        raise ValueError(f"generator must be a name in {sorted(MASK_GENERATORS)} or a callable, got {generator!r}")
    if max_attempts is None:
        max_attempts = 200 * per_bin * len(pairs)
    _check_attempts(max_attempts)
    rng = _as_rng(seed, "seed")
    keys = [_bin_key(low, high) for low, high in pairs]
    filled: dict[str, list[torch.Tensor]] = {key: [] for key in keys}
    missing = per_bin * len(pairs)
    for _ in range(max_attempts):
        mask = draw_mask(height, width, rng)
        ratio = hole_ratio(mask)
        for key, (low, high) in zip(keys, pairs, strict=True):
            if low <= ratio < high:
                if len(filled[key]) < per_bin:
                    filled[key].append(mask)
                    missing -= 1
                break
        if missing == 0:
            return {key: torch.stack(masks) for key, masks in filled.items()}
    short = ", ".join(f"{key} ({len(masks)}/{per_bin})" for key, masks in filled.items() if len(masks) < per_bin)
    raise RuntimeError(f"eval_mask_set: could not fill hole-ratio bin(s) {short} with generator {label!r} "
                       f"at {height}x{width} in {max_attempts} draws")


# --------------------------------------------------------------------------- named, per-image evaluation masks
MASK_SETS: tuple[str, ...] = ("lama_thin", "lama_medium", "lama_thick", "mat_small", "mat_large",
                              *(f"ratio_{_bin_key(low, high)[:-1]}" for low, high in HOLE_RATIO_BINS))
"""Names of the fixed evaluation mask sets: LaMa's thin / medium / thick, MAT's small / large, and one per
hole-ratio bin (``ratio_10-20`` .. ``ratio_50-60``: MAT-large masks whose hole ratio lies in the bin)."""


def fixed_mask(name: str, index: int, height: int, width: int, seed: int = 0,
               max_attempts: int = 10_000) -> torch.Tensor:
    """Mask ``index`` of the set ``name`` (see :data:`MASK_SETS`): ``(1, H, W)``, 1 = known.

    Each mask is drawn from its own RNG, seeded by ``(seed, index)``, so image ``i`` of any data set
    gets the same hole whatever the number of images: every method scored on the set inpaints exactly
    the same holes. Ratio-bin masks are redrawn from that RNG until their hole ratio lies in the bin.
    """
    if name not in MASK_SETS:
        raise ValueError(f"name must be one of {list(MASK_SETS)} (mask sets), got {name!r}")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(f"index must be a non-negative int, got {index!r}")
    _check_size(height, width)
    rng = np.random.default_rng([int(seed), index])
    if not name.startswith("ratio_"):
        return create_mask_generator(name)(height, width, rng)
    low, high = (float(v) / 100 for v in name.removeprefix("ratio_").split("-"))
    for _ in range(max_attempts):
        mask = mat_mask(height, width, rng, kind="large")
        if low <= hole_ratio(mask) < high:
            return mask
    raise RuntimeError(f"fixed_mask: no {name} mask at {height}x{width} in {max_attempts} draws (index {index})")
