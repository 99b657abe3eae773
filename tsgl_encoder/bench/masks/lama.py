"""LaMa's evaluation masks: ``MixedMaskGenerator`` with the thin / medium / thick settings (advimman/lama)."""

from __future__ import annotations

import math
from typing import Any

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
