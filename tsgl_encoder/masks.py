"""Seeded hole masks (1 = known, 0 = hole).

For now one generator, free-form brush strokes in the spirit of the irregular masks of LaMa and
MAT, drawn with PIL (no OpenCV). The published generators and the fixed evaluation sets build on it.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw


def brush_stroke_mask(
    height: int, width: int, seed: int, num_strokes: tuple[int, int] = (2, 5),
    max_vertices: int = 8, max_width: int | None = None,
) -> torch.Tensor:
    """``(1, H, W)`` float mask of random thick polylines (hole = 0), deterministic in ``seed``."""
    if height < 8 or width < 8:
        raise ValueError(f"mask size must be at least 8x8, got {height}x{width}")
    rng = np.random.default_rng(seed)
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
