"""MAT's ``RandomMask`` (rectangles + brush strokes with its hole-range loop, fenglinglwb/MAT), and this
library's simple free-form strokes."""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw

from .common import (
    RngLike,
    _as_rng,
    _check_attempts,
    _check_choice,
    _check_size,
    _hole_fraction,
    _setting_and_scale,
    _to_mask,
)

# MAT RandomMask: (tries of rectangles up to half the size, tries of rectangles up to the full size,
# tries of brush strokes); each count is drawn from [0, int(tries * coef)).
# mask_generator_256.py / _512.py ("large") and mask_generator_256_small.py / _512_small.py ("small").
MAT_SETTINGS: dict[tuple[str, int], tuple[int, int, int]] = {
    ("large", 256): (4, 2, 8),
    ("large", 512): (5, 3, 9),
    ("small", 256): (2, 2, 3),
    ("small", 512): (3, 2, 4),
}
# MAT RandomBrush defaults (identical in all four files).
_MAT_BRUSH = {"min_num_vertex": 4, "max_num_vertex": 18, "mean_angle": 2 * math.pi / 5,
              "angle_range": 2 * math.pi / 15, "min_width": 12, "max_width": 48}


def _count(rng: np.random.Generator, tries: int) -> int:
    """``np.random.randint(tries)``; upstream raises for ``tries == 0`` (tiny ``hole_range``), here it is 0."""
    return int(rng.integers(tries)) if tries > 0 else 0


def _mat_fill(hole: np.ndarray, rng: np.random.Generator, max_w: int, max_h: int) -> None:
    """``RandomMask.Fill``: a rectangle that may stick out of the image by up to half its size."""
    height, width = hole.shape
    w, h = int(rng.integers(max_w)), int(rng.integers(max_h))
    half_w, half_h = w // 2, h // 2
    x = int(rng.integers(-half_w, width - w + half_w))
    y = int(rng.integers(-half_h, height - h + half_h))
    hole[max(y, 0):min(y + h, height), max(x, 0):min(x + w, width)] = True


def _mat_brush(rng: np.random.Generator, height: int, width: int, tries: int, scale: float) -> np.ndarray:
    """``RandomBrush``: polylines of 4-17 vertices with zig-zag angles around 2*pi/5, PIL-drawn."""
    b = _MAT_BRUSH
    average_radius = math.sqrt(height * height + width * width) / 8
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(_count(rng, tries)):
        num_vertex = int(rng.integers(b["min_num_vertex"], b["max_num_vertex"]))
        angle_min = b["mean_angle"] - rng.uniform(0, b["angle_range"])
        angle_max = b["mean_angle"] + rng.uniform(0, b["angle_range"])
        angles = rng.uniform(angle_min, angle_max, num_vertex)
        angles[0::2] = 2 * math.pi - angles[0::2]
        vertices = [(int(rng.integers(0, width)), int(rng.integers(0, height)))]
        radii = np.clip(rng.normal(average_radius, average_radius // 2, num_vertex), 0, 2 * average_radius)
        for angle, r in zip(angles.tolist(), radii.tolist(), strict=True):
            new_x = min(max(vertices[-1][0] + r * math.cos(angle), 0), width)
            new_y = min(max(vertices[-1][1] + r * math.sin(angle), 0), height)
            vertices.append((int(new_x), int(new_y)))
        stroke = max(1, int(rng.uniform(b["min_width"] * scale, b["max_width"] * scale)))
        draw.line(vertices, fill=255, width=stroke)
        for vx, vy in vertices:
            draw.ellipse((vx - stroke // 2, vy - stroke // 2, vx + stroke // 2, vy + stroke // 2), fill=255)
    hole = np.asarray(canvas) > 0
    if rng.random() > 0.5:
        hole = hole[::-1]
    if rng.random() > 0.5:
        hole = hole[:, ::-1]
    return hole


def mat_mask(height: int, width: int, rng_or_seed: RngLike, hole_range: tuple[float, float] = (0.0, 1.0),
             kind: str = "large", *, setting: int | None = None, scale_counts: bool = True,
             max_attempts: int = 1000) -> torch.Tensor:
    """A MAT mask (rectangles + brush strokes), ``(1, H, W)`` float32, 1 = known, 0 = hole.

    Follows ``RandomMask`` of fenglinglwb/MAT, ``datasets/mask_generator_{256,512}.py`` ("large") and
    ``datasets/mask_generator_{256,512}_small.py`` ("small"); see :data:`MAT_SETTINGS`. With
    ``coef = min(hole_range[0] + hole_range[1], 1)``, it draws ``randint(int(a * coef))`` rectangles of
    sides below half the image, ``randint(int(b * coef))`` of sides below the full image, and
    ``randint(int(c * coef))`` brush strokes (4-17 vertices, width 12-47 px at 256 and 512), then redraws the
    whole mask until ``hole_range[0] < hole < hole_range[1]`` (strict, as upstream; the default (0, 1)
    only rejects empty and all-hole masks).

    Upstream's ``coef`` makes a narrow, low ``hole_range`` impossible: when every ``int(n * coef)`` is at
    most 1 nothing is drawn (upstream then crashes in ``randint(0)`` or loops forever), and this raises a
    :class:`ValueError`. ``scale_counts=False`` keeps the counts of the (0, 1) default (``coef = 1``) and
    reaches any ``hole_range`` by rejection alone.

    Args:
        height, width: mask size (>= 8); non-square sizes use per-axis rectangle limits and the diagonal.
        rng_or_seed: int seed or ``numpy.random.Generator``.
        hole_range: accepted open interval of hole ratios, ``0 <= low < high <= 1``.
        kind: "large" or "small".
        setting: 256 or 512; ``None`` picks the one nearer to ``min(H, W)``. Brush widths are scaled
            by ``min(H, W) / setting``.
        scale_counts: apply upstream's ``coef`` to the counts (default, as upstream).
        max_attempts: redraws before a :class:`RuntimeError`.
    """
    _check_size(height, width)
    _check_choice("kind", kind, ("large", "small"))
    try:
        low, high = (float(v) for v in hole_range)
    except (TypeError, ValueError):
        raise ValueError(f"hole_range must be a pair (low, high) with 0 <= low < high <= 1, "
                         f"got {hole_range!r}") from None
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"hole_range must be a pair (low, high) with 0 <= low < high <= 1, got {hole_range!r}")
    _check_attempts(max_attempts)
    rng = _as_rng(rng_or_seed)
    setting, scale = _setting_and_scale(height, width, setting)
    half_tries, full_tries, brush_tries = MAT_SETTINGS[(kind, setting)]
    coef = min(low + high, 1.0) if scale_counts else 1.0
    if max(int(n * coef) for n in (half_tries, full_tries, brush_tries)) <= 1:
        raise ValueError(f"hole_range={hole_range!r} gives MAT's coef = min(low + high, 1) = {coef:g}, for which "
                         f"RandomMask(kind={kind!r}, setting={setting}) draws no rectangle and no stroke; "
                         f"use a range with a larger low + high, or scale_counts=False")
    for _ in range(max_attempts):
        hole = np.zeros((height, width), dtype=bool)
        for _ in range(_count(rng, int(half_tries * coef))):
            _mat_fill(hole, rng, width // 2, height // 2)
        for _ in range(_count(rng, int(full_tries * coef))):
            _mat_fill(hole, rng, width, height)
        hole |= _mat_brush(rng, height, width, int(brush_tries * coef), scale)
        if low < _hole_fraction(hole) < high:
            return _to_mask(hole)
    raise RuntimeError(f"mat_mask(kind={kind!r}, setting={setting}) drew no mask with {low} < hole < {high} "
                       f"in {max_attempts} attempts at {height}x{width}")


# ------------------------------------------------------------------------------------------------ brush
def brush_stroke_mask(
    height: int, width: int, seed: int, num_strokes: tuple[int, int] = (2, 5),
    max_vertices: int = 8, max_width: int | None = None,
) -> torch.Tensor:
    """``(1, H, W)`` float mask of random thick polylines (hole = 0), deterministic in ``seed``.

    This library's own simple generator (not a published algorithm); ``seed`` may also be a
    ``numpy.random.Generator``.
    """
    _check_size(height, width)
    rng = _as_rng(seed, "seed")
    max_width = max_width or max(4, min(height, width) // 8)
    canvas = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.integers(num_strokes[0], num_strokes[1] + 1)):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        stroke_width = int(rng.integers(max(2, max_width // 3), max_width + 1))
        points = [(x, y)]
        for _ in range(rng.integers(2, max_vertices + 1)):
            angle = rng.uniform(0, 2 * math.pi)
            length = rng.uniform(0.05, 0.25) * min(height, width)
            x = float(np.clip(x + length * math.cos(angle), 0, width - 1))
            y = float(np.clip(y + length * math.sin(angle), 0, height - 1))
            points.append((x, y))
        draw.line(points, fill=0, width=stroke_width, joint="curve")
        for px, py in points:  # round caps
            r = stroke_width / 2
            draw.ellipse((px - r, py - r, px + r, py + r), fill=0)
    return torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 255.0)[None]
