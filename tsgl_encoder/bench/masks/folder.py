"""Masks from a folder of files: the NVIDIA irregular masks (the 256 papers' protocol, the official TSGL's too),
a standard set, or a user's own.

* :class:`FolderMasks` samples **training** masks: a random file per call, then the augmentations of the
  NVIDIA-mask papers: a random horizontal and vertical flip, a rotation by a multiple of 90 degrees and a
  dilation of the hole by 0 .. ``max_dilation`` 3x3 steps, resized (nearest) to the training size; all drawn
  from the generator it is given, so a seeded run draws the same masks.
* :func:`folder_eval_sets` gives the fixed **evaluation** sets: every file, resized (nearest) to the evaluation
  size and binned by its hole ratio there (``"0-10%"`` .. ``"50-60%"``, the NVIDIA test set's bins, and
  ``"60-100%"``).

Files are read by :func:`tsgl_encoder.pictures.read_hole` (8 / 16 / 1-bit, 0/1, RGBA), white = hole unless
``polarity="hole-black"``; a folder whose masks are mostly hole under the chosen polarity gets a warning
naming the other one.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...pictures import open_picture, read_hole
from ..data import IMAGE_SUFFIXES
from .sets import SCORE_BINS, bin_label

POLARITIES = ("hole-white", "hole-black")


def mask_files(folder: str | Path) -> list[Path]:
    """The image files directly inside ``folder`` (sorted); refuses a missing or empty folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"mask folder {str(folder)!r} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"mask folder {str(folder)!r} holds no {'/'.join(IMAGE_SUFFIXES)} files")
    return files


def read_hole_file(path: Path, polarity: str, threshold: float = 0.5) -> np.ndarray:
    """The hole (bool ``(H, W)``) of one mask file; ``ValueError`` naming the file when it cannot be read."""
    if polarity not in POLARITIES:
        raise ValueError(f"mask polarity must be one of {POLARITIES}, got {polarity!r}")
    return read_hole(open_picture(path), polarity, threshold, name=str(path))


def _resized_known(hole: np.ndarray, height: int, width: int) -> torch.Tensor:
    """``(1, H, W)`` float, 1 = known, resized with nearest neighbours."""
    known = torch.from_numpy(~hole).float()[None, None]
    return F.interpolate(known, size=(height, width), mode="nearest")[0]


def _warn_if_mostly_hole(ratios: list[float], folder: Path, polarity: str) -> None:
    if ratios and float(np.median(ratios)) > 0.5:
        other = POLARITIES[1 - POLARITIES.index(polarity)]
        warnings.warn(f"masks in {str(folder)!r} are mostly hole when read as {polarity} (median "
                      f"{np.median(ratios):.0%}): if they mark the hole the other way, use {other}", stacklevel=3)


class FolderMasks:
    """A mask generator (``(height, width, rng) -> (1, H, W)``, 1 = known) sampling a folder's files."""

    def __init__(self, folder: str | Path, polarity: str = "hole-white", max_dilation: int = 2,
                 threshold: float = 0.5) -> None:
        if not isinstance(max_dilation, int) or max_dilation < 0:
            raise ValueError(f"max_dilation must be an int >= 0, got {max_dilation!r}")
        self.folder, self.files = Path(folder), mask_files(folder)
        self.polarity, self.max_dilation, self.threshold = polarity, max_dilation, threshold
        sample = self.files[:: max(1, len(self.files) // 16)]  # a look at up to ~16 files, here, not mid-training
        _warn_if_mostly_hole([float(read_hole_file(p, polarity, threshold).mean()) for p in sample], self.folder,
                             polarity)

    def __call__(self, height: int, width: int, rng: np.random.Generator) -> torch.Tensor:
        hole = read_hole_file(self.files[int(rng.integers(len(self.files)))], self.polarity, self.threshold)
        if rng.random() < 0.5:
            hole = hole[:, ::-1]
        if rng.random() < 0.5:
            hole = hole[::-1]
        hole = np.rot90(hole, int(rng.integers(4)))
        steps = int(rng.integers(self.max_dilation + 1))
        hole_map = torch.from_numpy(np.ascontiguousarray(hole)).float()[None, None]
        for _ in range(steps):
            hole_map = F.max_pool2d(hole_map, 3, stride=1, padding=1)
        return _resized_known(hole_map[0, 0].numpy() > 0.5, height, width)

    def __repr__(self) -> str:
        return f"FolderMasks({str(self.folder)!r}, {len(self.files)} files, {self.polarity})"


def folder_eval_sets(folder: str | Path, height: int, width: int, polarity: str = "hole-white",
                     threshold: float = 0.5) -> dict[str, torch.Tensor]:
    """``{bin label: (N, 1, H, W) masks}`` of every file, binned by its hole ratio at ``height`` x ``width``
    (bins in :data:`~tsgl_encoder.bench.masks.SCORE_BINS` order; empty bins left out)."""
    bins: dict[str, list[torch.Tensor]] = {}
    ratios = []
    for path in mask_files(folder):
        known = _resized_known(read_hole_file(path, polarity, threshold), height, width)
        ratio = float(1 - known.mean())
        ratios.append(ratio)
        bins.setdefault(bin_label(ratio), []).append(known)
    _warn_if_mostly_hole(ratios, Path(folder), polarity)
    order = [bin_label(low) for low, _ in SCORE_BINS]
    return {label: torch.stack(bins[label]) for label in sorted(bins, key=order.index)}


__all__ = ["POLARITIES", "FolderMasks", "folder_eval_sets", "mask_files", "read_hole_file"]
