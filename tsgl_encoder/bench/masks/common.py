"""What every mask generator shares: seeds or generators, size and argument checks, hole maps -> masks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

RngLike = int | np.random.Generator
MaskFn = Callable[[int, int, np.random.Generator], torch.Tensor]


def _as_rng(rng_or_seed: RngLike, name: str = "rng_or_seed") -> np.random.Generator:
    if isinstance(rng_or_seed, np.random.Generator):
        return rng_or_seed
    if isinstance(rng_or_seed, bool) or not isinstance(rng_or_seed, int | np.integer):
        raise TypeError(f"{name} must be a non-negative int seed or a numpy.random.Generator, "
                        f"got {type(rng_or_seed).__name__} {rng_or_seed!r}")
    if rng_or_seed < 0:
        raise ValueError(f"{name} must be a non-negative int seed or a numpy.random.Generator, got {rng_or_seed}")
    return np.random.default_rng(int(rng_or_seed))


def _check_size(height: int, width: int) -> None:
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 8:
            raise ValueError(f"{name} must be an integer >= 8 (masks are at least 8x8), got {value!r}")


def _check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")


def _setting_and_scale(height: int, width: int, setting: int | None) -> tuple[int, float]:
    side = min(height, width)
    if setting is None:
        setting = 256 if side <= 384 else 512
    _check_choice("setting", setting, (256, 512, None))
    return setting, side / setting


def _check_attempts(max_attempts: int) -> None:
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise ValueError(f"max_attempts must be an integer >= 1, got {max_attempts!r}")


def _hole_fraction(hole: np.ndarray) -> float:
    return int(np.count_nonzero(hole)) / hole.size


def _to_mask(hole: np.ndarray) -> torch.Tensor:
    """Boolean ``(H, W)`` hole map -> float32 ``(1, H, W)`` mask with 1 = known."""
    return torch.from_numpy(np.logical_not(hole).astype(np.float32))[None]
