"""Seeded hole masks for inpainting (1 = known pixel, 0 = hole), following published generators.

Every mask is a float32 ``(1, H, W)`` tensor with values in {0, 1}. Every generator takes a seed
(a non-negative ``int``) or a :class:`numpy.random.Generator` (which it advances), so the same seed
gives the same mask on every platform. Drawing uses ``PIL.ImageDraw`` and numpy; OpenCV is not needed.

Families
--------
* :func:`lama_mask`: LaMa's evaluation masks ("thin", "medium", "thick" at 256 and 512), i.e. the
  ``MixedMaskGenerator`` of ``saicinpainting/training/data/masks.py`` (github.com/advimman/lama) with
  the irregular-stroke / box parameters of ``configs/data_gen/random_{thin,medium,thick}_{256,512}.yaml``
  and the ``max_tamper_area: 0.5`` rejection of ``bin/gen_mask_dataset.py``.
* :func:`mat_mask`: MAT's ``RandomMask`` (rectangles + brush strokes, with its hole-range loop) from
  ``datasets/mask_generator_{256,512}.py`` ("large") and ``datasets/mask_generator_{256,512}_small.py``
  ("small") of github.com/fenglinglwb/MAT.
* :func:`brush_stroke_mask`: this library's simple free-form strokes (not a published algorithm).
* :func:`eval_mask_set`: fixed evaluation sets per hole-ratio bin (10-20% ... 50-60%), for the
  CTSDG-style tables that report metrics per hole ratio.

:data:`MASK_GENERATORS` / :func:`create_mask_generator` give every family as a callable
``(height, width, rng) -> (1, H, W) tensor``, the ``mask_fn`` expected by :mod:`tsgl_encoder.bench.data`.

Sizes. The published settings exist for 256 and 512. ``setting=None`` picks the one nearer to the
*shorter* side ``min(H, W)`` (256 up to 384, else 512): LaMa draws its evaluation masks on images whose
shorter side is resized to 256 / 512, so a non-square image uses the setting of its shorter side.
Absolute pixel sizes (LaMa stroke lengths, widths, box sizes and margins; MAT brush widths) are
multiplied by ``min(H, W) / setting``, which is exactly 1 at 256 and 512, so those sizes follow upstream
unchanged. Sizes already relative to the image (MAT rectangles and stroke radius) need no scaling.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

__all__ = [
    "HOLE_RATIO_BINS",
    "LAMA_EVAL_SETTINGS",
    "MASK_GENERATORS",
    "MASK_SETS",
    "MAT_SETTINGS",
    "MaskFn",
    "brush_stroke_mask",
    "create_mask_generator",
    "eval_mask_set",
    "fixed_mask",
    "hole_ratio",
    "lama_mask",
    "mat_mask",
]

RngLike = int | np.random.Generator
MaskFn = Callable[[int, int, np.random.Generator], torch.Tensor]

HOLE_RATIO_BINS: tuple[tuple[float, float], ...] = ((0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6))
"""Default hole-ratio bins of :func:`eval_mask_set`, half-open ``[low, high)``."""

# LaMa eval-set parameters, from configs/data_gen/random_{kind}_{size}.yaml (mask_generator_kwargs).
# "strokes": irregular_kwargs (draw_method LINE); "boxes": box_kwargs; probabilities are normalised by
# MixedMaskGenerator, which draws ONE of the two families per mask.
LAMA_EVAL_SETTINGS: dict[tuple[str, int], dict[str, Any]] = {
    ("thin", 256): {
        "irregular_proba": 1.0, "box_proba": 0.0, "boxes": None,
        "strokes": {"min_times": 4, "max_times": 50, "max_width": 10, "max_angle": 4, "max_len": 40},
    },
    ("medium", 256): {
        "irregular_proba": 1.0, "box_proba": 0.3,
        "strokes": {"min_times": 4, "max_times": 5, "max_width": 50, "max_angle": 4, "max_len": 100},
        "boxes": {"margin": 0, "bbox_min_size": 10, "bbox_max_size": 50, "min_times": 1, "max_times": 5},
    },
    ("thick", 256): {
        "irregular_proba": 1.0, "box_proba": 0.3,
        "strokes": {"min_times": 1, "max_times": 5, "max_width": 100, "max_angle": 4, "max_len": 200},
        "boxes": {"margin": 10, "bbox_min_size": 30, "bbox_max_size": 150, "min_times": 1, "max_times": 3},
    },
    ("thin", 512): {
        "irregular_proba": 1.0, "box_proba": 0.0, "boxes": None,
        "strokes": {"min_times": 4, "max_times": 70, "max_width": 20, "max_angle": 4, "max_len": 100},
    },
    ("medium", 512): {
        "irregular_proba": 1.0, "box_proba": 0.3,
        "strokes": {"min_times": 4, "max_times": 10, "max_width": 100, "max_angle": 4, "max_len": 200},
        "boxes": {"margin": 0, "bbox_min_size": 30, "bbox_max_size": 150, "min_times": 1, "max_times": 5},
    },
    ("thick", 512): {
        "irregular_proba": 1.0, "box_proba": 0.3,
        "strokes": {"min_times": 1, "max_times": 5, "max_width": 250, "max_angle": 4, "max_len": 450},
        "boxes": {"margin": 10, "bbox_min_size": 30, "bbox_max_size": 300, "min_times": 1, "max_times": 4},
    },
}

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


# ----------------------------------------------------------------------------------------------- helpers
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


def _draw_round_segment(draw: ImageDraw.ImageDraw, p0: tuple[float, float], p1: tuple[float, float],
                        width: float) -> None:
    """A thick segment with round caps, as ``cv2.line(..., thickness=width)`` draws it.

    OpenCV's thick lines are ``2 * ceil(width / 2) + 1`` pixels across with round end caps; this line width
    and a cap radius of ``ceil(width / 2) - 0.5`` give the same area within about 2% (IoU ~0.93-0.97
    against OpenCV over LaMa's width ranges).
    """
    half = max(1, math.ceil(width / 2))
    draw.line([p0, p1], fill=255, width=2 * half + 1)
    r = half - 0.5
    for x, y in (p0, p1):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)


# ------------------------------------------------------------------------------------------------- LaMa
def _lama_strokes(rng: np.random.Generator, height: int, width: int, p: dict[str, int], scale: float) -> np.ndarray:
    """``make_random_irregular_mask`` (DrawMethod.LINE) as called by ``RandomIrregularMaskGenerator``.

    Without a ramp (evaluation), the generator passes ``max_times + 1`` on, so the number of strokes is
    uniform in ``[min_times, max_times + 1]``. Each stroke: a random start, 1-5 segments; segment angle
    ``0.01 + randint(max_angle)`` radians (mirrored to ``2*pi - angle`` for even strokes), length
    ``10 + randint(max_len)``, width ``5 + randint(max_width)``; end points truncated and clipped to the image.
    """
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    times = int(rng.integers(p["min_times"], p["max_times"] + 2))
    for i in range(times):
        x, y = int(rng.integers(width)), int(rng.integers(height))
        for _ in range(1 + int(rng.integers(5))):
            angle = 0.01 + int(rng.integers(p["max_angle"]))
            if i % 2 == 0:
                angle = 2 * math.pi - angle
            length = (10 + int(rng.integers(p["max_len"]))) * scale
            brush_width = (5 + int(rng.integers(p["max_width"]))) * scale
            end_x = min(max(int(x + length * math.sin(angle)), 0), width)
            end_y = min(max(int(y + length * math.cos(angle)), 0), height)
            _draw_round_segment(draw, (x, y), (end_x, end_y), brush_width)
            x, y = end_x, end_y
    return np.asarray(canvas) > 0


def _lama_boxes(rng: np.random.Generator, height: int, width: int, p: dict[str, int], scale: float) -> np.ndarray:
    """``make_random_rectangle_mask`` as called by ``RandomRectangleMaskGenerator`` without a ramp.

    The generator passes ``bbox_max_size + 1`` on, capped by the image size minus both margins; box sides
    are uniform in ``[bbox_min_size, that cap)``, the number of boxes uniform in ``[min_times, max_times]``.
    """
    hole = np.zeros((height, width), dtype=bool)
    margin = round(p["margin"] * scale)
    low = max(1, round(p["bbox_min_size"] * scale))
    high = min(max(low, round(p["bbox_max_size"] * scale)) + 1, height - 2 * margin, width - 2 * margin)
    if high <= low:  # only for tiny canvases: drop the margin, shrink the minimum side
        margin = 0
        high = min(max(low, round(p["bbox_max_size"] * scale)) + 1, height, width)
        low = min(low, high - 1)
    for _ in range(int(rng.integers(p["min_times"], p["max_times"] + 1))):
        box_w, box_h = int(rng.integers(low, high)), int(rng.integers(low, high))
        x0 = int(rng.integers(margin, width - margin - box_w + 1))
        y0 = int(rng.integers(margin, height - margin - box_h + 1))
        hole[y0:y0 + box_h, x0:x0 + box_w] = True
    return hole


def lama_mask(height: int, width: int, rng_or_seed: RngLike, kind: str = "medium", *, setting: int | None = None,
              max_hole: float = 0.5, max_attempts: int = 1000) -> torch.Tensor:
    """A LaMa evaluation mask, ``(1, H, W)`` float32, 1 = known, 0 = hole.

    Follows ``MixedMaskGenerator`` in ``saicinpainting/training/data/masks.py`` (advimman/lama) with the
    parameters of ``configs/data_gen/random_{kind}_{setting}.yaml`` (see :data:`LAMA_EVAL_SETTINGS`):
    "thin" is irregular strokes only; "medium" and "thick" draw irregular strokes with probability 1/1.3 and
    random boxes with probability 0.3/1.3. As in ``bin/gen_mask_dataset.py`` (``max_tamper_area: 0.5``),
    masks with more than ``max_hole`` hole are rejected and redrawn; empty masks are rejected too.

    Args:
        height, width: mask size (>= 8).
        rng_or_seed: int seed or ``numpy.random.Generator``.
        kind: "thin", "medium" or "thick".
        setting: 256 or 512 (the published eval sets); ``None`` picks the one nearer to ``min(H, W)``.
            Pixel sizes are scaled by ``min(H, W) / setting``.
        max_hole: largest accepted hole ratio (LaMa: 0.5).
        max_attempts: redraws before a :class:`RuntimeError`.
    """
    _check_size(height, width)
    _check_choice("kind", kind, ("thin", "medium", "thick"))
    if not isinstance(max_hole, int | float) or not 0.0 < max_hole <= 1.0:
        raise ValueError(f"max_hole must be a number in (0, 1], got {max_hole!r}")
    _check_attempts(max_attempts)
    rng = _as_rng(rng_or_seed)
    setting, scale = _setting_and_scale(height, width, setting)
    config = LAMA_EVAL_SETTINGS[(kind, setting)]
    box_share = config["box_proba"] / (config["irregular_proba"] + config["box_proba"])
    for _ in range(max_attempts):
        if box_share > 0 and rng.random() < box_share:
            hole = _lama_boxes(rng, height, width, config["boxes"], scale)
        else:
            hole = _lama_strokes(rng, height, width, config["strokes"], scale)
        if 0.0 < _hole_fraction(hole) <= max_hole:
            return _to_mask(hole)
    raise RuntimeError(f"lama_mask(kind={kind!r}, setting={setting}) drew no mask with 0 < hole <= {max_hole} "
                       f"in {max_attempts} attempts at {height}x{width}")


# -------------------------------------------------------------------------------------------------- MAT
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


# ------------------------------------------------------------------------------------ registry and sets
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
