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

from .common import MaskFn, RngLike
from .folder import FolderMasks, folder_eval_sets, mask_files, read_hole_file
from .lama import LAMA_EVAL_SETTINGS, lama_mask
from .mat import MAT_SETTINGS, brush_stroke_mask, mat_mask
from .sets import (
    HOLE_RATIO_BINS,
    MASK_GENERATORS,
    MASK_SETS,
    SCORE_BINS,
    bin_label,
    create_mask_generator,
    eval_mask_set,
    fixed_mask,
    hole_ratio,
)

__all__ = [
    "HOLE_RATIO_BINS",
    "LAMA_EVAL_SETTINGS",
    "MASK_GENERATORS",
    "MASK_SETS",
    "MAT_SETTINGS",
    "SCORE_BINS",
    "FolderMasks",
    "MaskFn",
    "RngLike",
    "bin_label",
    "brush_stroke_mask",
    "create_mask_generator",
    "eval_mask_set",
    "fixed_mask",
    "folder_eval_sets",
    "hole_ratio",
    "lama_mask",
    "mask_files",
    "mat_mask",
    "read_hole_file",
]
