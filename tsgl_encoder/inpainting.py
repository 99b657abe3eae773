"""Inpaint a user's image with a user's mask, at any size: ``tsgl_encoder.inpaint(model, image, mask)``.

``model`` is an *inpainter*: called ``model(image, known)`` with the image ``(B, 3, H, W)`` in [-1, 1] and the
mask ``(B, 1, H, W)`` with 1 = known, it returns the generator's output in [-1, 1] (the MEDFE adapters'
generators are inpainters; ``tsgl_encoder.bench.inpaint.load_inpainter`` makes one of any host's checkpoint).
Its ``size_rule`` attribute (a :class:`SizeRule`; default: multiples of 8) says which sizes it runs at.

Sizes: the image is padded (reflected where it can be, else repeated at the border) to the rule's multiple and
smallest side, run, and cropped back. ``strategy`` for images much larger than the model's training size
(IOPaint's "HD strategy"):

* ``"original"``: the whole image at its own size (memory grows with it);
* ``"resize"``: the whole image resized so its longer side is the training size, inpainted, the result
  resized back;
* ``"crop"``: for each group of holes, a window around their bounding box (plus a margin of half its size,
  at least a quarter of the training size), resized so its longer side is the training size, inpainted, and
  its hole pixels pasted back; time and memory are bounded by the number of hole groups, not the image size;
* ``"auto"`` (default): ``"original"`` when the longer side is at most twice the training size (and fits a
  fixed-size model), else ``"crop"``.

Whatever the strategy, the result is a composite: known pixels come from the input, bit for bit
(:func:`tsgl_encoder.pictures.restore_picture`).
"""

from __future__ import annotations

import math
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .pictures import Picture, read_hole, read_picture, restore_picture

STRATEGIES = ("auto", "original", "resize", "crop")
SMALLEST_INPUT = 8  # images below this side are refused: there is nothing to inpaint from


@dataclass(frozen=True)
class SizeRule:
    """The sizes an inpainter runs at: ``multiple`` of height and width, ``smallest`` side, ``training_size``
    (what ``"resize"`` / ``"crop"`` scale to) and ``fixed`` (a model that runs at exactly ``fixed`` x ``fixed``)."""

    multiple: int = 8
    smallest: int = 0
    training_size: int = 256
    fixed: int | None = None

    def padded(self, height: int, width: int) -> tuple[int, int]:
        """The size an ``height`` x ``width`` input is padded to."""
        if self.fixed is not None:
            return self.fixed, self.fixed
        return tuple(max(self.smallest, math.ceil(side / self.multiple) * self.multiple) for side in (height, width))


def size_rule_of(model: Any) -> SizeRule:
    rule = getattr(model, "size_rule", None)
    return rule if isinstance(rule, SizeRule) else SizeRule()


def _pad(x: Tensor, height: int, width: int) -> Tensor:
    """``x`` padded at the bottom and right to ``height`` x ``width``: reflected where the pad is smaller than
    the side, else repeated."""
    extra_h, extra_w = height - x.shape[-2], width - x.shape[-1]
    mode = "reflect" if extra_h < x.shape[-2] and extra_w < x.shape[-1] else "replicate"
    return F.pad(x, (0, extra_w, 0, extra_h), mode=mode) if extra_h or extra_w else x


@torch.no_grad()
def run_padded(model: Any, image: Tensor, known: Tensor, rule: SizeRule) -> Tensor:
    """The model's output (B, 3, H, W) for ``image`` (B, 3, H, W) in [-1, 1] at its own size (padded, run,
    cropped); the hole is zeroed before padding, so hole pixels never reach the model."""
    height, width = image.shape[-2:]
    target = rule.padded(height, width)
    if min(target) < min(height, width) or (rule.fixed is not None and max(height, width) > rule.fixed):
        raise ValueError(f"this model runs at {rule.fixed}x{rule.fixed} only, got {height}x{width}: use strategy "
                         "'crop' or 'resize'")
    padded_image = _pad(image * known, *target)
    padded_known = _pad(known, *target)
    output = model(padded_image, padded_known)
    return output[..., :height, :width].float().clamp(-1, 1)


def _resize(x: Tensor, height: int, width: int) -> Tensor:
    return F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)


def _scaled_run(model: Any, image: Tensor, known: Tensor, rule: SizeRule) -> Tensor:
    """The output for ``image`` resized so its longer side is the training size (or fits a fixed size)."""
    height, width = image.shape[-2:]
    longest = rule.fixed or rule.training_size
    scale = longest / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    small_known = (_resize(known, *size) > 0.999).to(known.dtype)  # a pixel touched by the hole is a hole
    output = run_padded(model, _resize(image, *size), small_known, rule)
    return _resize(output, height, width)


def hole_groups(hole: np.ndarray, cell: int) -> list[tuple[int, int, int, int]]:
    """Bounding boxes ``(top, left, bottom, right)`` of the holes, grouped on a grid of ``cell`` pixels
    (8-connected cells with a hole form a group)."""
    height, width = hole.shape
    rows, cols = math.ceil(height / cell), math.ceil(width / cell)
    grid = np.zeros((rows * cell, cols * cell), dtype=bool)
    grid[:height, :width] = hole
    occupied = grid.reshape(rows, cell, cols, cell).any(axis=(1, 3))
    seen, boxes = np.zeros_like(occupied), []
    for start in zip(*np.nonzero(occupied), strict=True):
        if seen[start]:
            continue
        queue, cells = deque([start]), []
        seen[start] = True
        while queue:
            r, c = queue.popleft()
            cells.append((r, c))
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    nr, nc = r + dr, c + dc
                    if 0 <= nr < rows and 0 <= nc < cols and occupied[nr, nc] and not seen[nr, nc]:
                        seen[nr, nc] = True
                        queue.append((nr, nc))
        ys, xs = zip(*cells, strict=True)
        boxes.append((min(ys) * cell, min(xs) * cell, min(height, (max(ys) + 1) * cell),
                      min(width, (max(xs) + 1) * cell)))
    return boxes


def _windows(hole: np.ndarray, rule: SizeRule) -> list[tuple[int, int, int, int]]:
    """Windows around the hole groups, with margins, merged while they overlap."""
    height, width = hole.shape
    windows = []
    for top, left, bottom, right in hole_groups(hole, max(8, rule.training_size // 8)):
        margin = max(rule.training_size // 4, max(bottom - top, right - left) // 2)
        windows.append((max(0, top - margin), max(0, left - margin), min(height, bottom + margin),
                        min(width, right + margin)))
    merged = True
    while merged:
        merged = False
        for i in range(len(windows)):
            for j in range(i + 1, len(windows)):
                a, b = windows[i], windows[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    windows[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del windows[j]
                    merged = True
                    break
            if merged:
                break
    return windows


def _cropped_run(model: Any, image: Tensor, known: Tensor, rule: SizeRule) -> Tensor:
    """Each window around a group of holes inpainted at the training size; returns the composite."""
    result = image.clone()
    hole = (known[0, 0] < 0.5).cpu().numpy()
    for top, left, bottom, right in _windows(hole, rule):
        window = (..., slice(top, bottom), slice(left, right))
        output = _scaled_run(model, result[window], known[window], rule)
        result[window] = torch.where(known[window] > 0.5, result[window], output)
    return result


def choose_strategy(height: int, width: int, rule: SizeRule) -> str:
    """``"original"`` when the longer side is at most twice the training size (and fits a fixed size), else
    ``"crop"``."""
    if rule.fixed is not None:
        return "original" if max(height, width) <= rule.fixed else "crop"
    return "original" if max(height, width) <= 2 * rule.training_size else "crop"


def inpaint_tensor(model: Any, image: Tensor, known: Tensor, strategy: str = "auto", bf16: bool = False) -> Tensor:
    """The composite ``(B, 3, H, W)`` in [-1, 1] (known pixels from ``image``) of ``image`` in [-1, 1] with the
    mask ``known`` ``(B, 1, H, W)`` (1 = known), on the model's device."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    height, width = image.shape[-2:]
    if min(height, width) < SMALLEST_INPUT:
        raise ValueError(f"image must be at least {SMALLEST_INPUT}x{SMALLEST_INPUT} pixels, got {height}x{width}")
    rule = size_rule_of(model)
    strategy = choose_strategy(height, width, rule) if strategy == "auto" else strategy
    device = next(iter(model.parameters())).device if hasattr(model, "parameters") else image.device
    image, known = image.to(device).float(), known.to(device).float()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
    with autocast, torch.no_grad():
        if strategy == "crop":
            return torch.cat([_cropped_run(model, image[i : i + 1], known[i : i + 1], rule)
                              for i in range(image.shape[0])])
        output = run_padded(model, image, known, rule) if strategy == "original" else _scaled_run(
            model, image, known, rule)
    return torch.where(known > 0.5, image, output.float())


def inpaint(model: Any, image: Any, mask: Any, *, mask_polarity: str = "auto", threshold: float = 0.5,
            strategy: str = "auto", bf16: bool = False) -> Any:
    """``image`` with the hole of ``mask`` inpainted by ``model`` (an inpainter, see the module docstring).

    ``image``: a PIL image or numpy array as stored (any mode, 8 or 16 bits; returned in the same form, known
    pixels untouched), or a tensor ``(3, H, W)`` / ``(B, 3, H, W)`` in [-1, 1] (returned as a tensor). ``mask``:
    a PIL image or array as stored (``mask_polarity``, ``threshold``: :func:`tsgl_encoder.pictures.read_hole`),
    or a tensor ``(1, H, W)`` / ``(B, 1, H, W)`` with 1 = known (the library's convention).
    """
    if isinstance(image, Tensor):
        return _inpaint_tensors(model, image, mask, strategy, bf16)
    picture, hole = _prepare(image, mask, mask_polarity, threshold)
    return _finish(picture, hole, inpaint_tensor(model, *_as_tensors(picture, hole), strategy, bf16)[0])


def inpaint_pictures(model: Any, pairs: list[tuple[Any, Any]], *, mask_polarity: str = "auto",
                     threshold: float = 0.5, strategy: str = "auto", bf16: bool = False) -> list[Any]:
    """:func:`inpaint` for several ``(image, mask)`` pairs of PIL images or arrays; pairs of one size run as one
    batch. Each entry of the result is the inpainted image, or the ``ValueError`` / ``TypeError`` its pair
    raised (a mask of another size, a mask of the other polarity, ...), so one bad pair stops nothing."""
    results: list[Any] = [None] * len(pairs)
    groups: dict[tuple[int, int], list] = {}
    for index, (image, mask) in enumerate(pairs):
        try:
            picture, hole = _prepare(image, mask, mask_polarity, threshold)
        except (ValueError, TypeError) as error:
            results[index] = error
            continue
        groups.setdefault(hole.shape, []).append((index, picture, hole))
    for members in groups.values():
        tensors = [_as_tensors(picture, hole) for _, picture, hole in members]
        try:
            batch = inpaint_tensor(model, torch.cat([t[0] for t in tensors]), torch.cat([t[1] for t in tensors]),
                                   strategy, bf16)
        except ValueError as error:
            for index, _, _ in members:
                results[index] = error
            continue
        for (index, picture, hole), output in zip(members, batch, strict=True):
            results[index] = _finish(picture, hole, output)
    return results


def _prepare(image: Any, mask: Any, mask_polarity: str, threshold: float) -> tuple[Picture, np.ndarray]:
    picture = read_picture(image, "image")
    if isinstance(mask, Tensor):
        raise TypeError("mask must be a PIL image or numpy array when image is one (a tensor mask goes with a "
                        "tensor image), got a tensor")
    hole = read_hole(mask, mask_polarity, threshold, "mask")
    if hole.shape != picture.rgb.shape[:2]:
        raise ValueError(f"mask is {hole.shape[1]}x{hole.shape[0]} but image is "
                         f"{picture.rgb.shape[1]}x{picture.rgb.shape[0]} (width x height)")
    return picture, hole


def _as_tensors(picture: Picture, hole: np.ndarray) -> tuple[Tensor, Tensor]:
    image = torch.from_numpy(picture.rgb).permute(2, 0, 1)[None] * 2 - 1  # (1, 3, H, W) in [-1, 1]
    return image, torch.from_numpy(~hole).float()[None, None]  # (1, 1, H, W), 1 = known


def _finish(picture: Picture, hole: np.ndarray, result: Tensor) -> Any:
    inpainted = ((result.permute(1, 2, 0).cpu().numpy() + 1) / 2).clip(0, 1)  # (H, W, 3) in [0, 1]
    return restore_picture(picture, inpainted, hole)


def _inpaint_tensors(model: Any, image: Tensor, mask: Any, strategy: str, bf16: bool) -> Tensor:
    if not isinstance(mask, Tensor):
        raise TypeError(f"mask must be a tensor (1 = known) when image is a tensor, got {type(mask).__name__}")
    single = image.ndim == 3
    image, mask = (image[None], mask[None]) if single else (image, mask)
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"image must be (3, H, W) or (B, 3, H, W), got {tuple(image.shape)}")
    if mask.shape != (image.shape[0], 1, *image.shape[-2:]):
        raise ValueError(f"mask must be (B, 1, H, W) = {(image.shape[0], 1, *image.shape[-2:])} with 1 = known, got "
                         f"{tuple(mask.shape)}")
    result = inpaint_tensor(model, image, mask.float(), strategy, bf16).to(image.device, image.dtype)
    return result[0] if single else result


__all__ = ["SMALLEST_INPUT", "STRATEGIES", "SizeRule", "choose_strategy", "hole_groups", "inpaint", "inpaint_pictures",
           "inpaint_tensor", "run_padded", "size_rule_of"]
