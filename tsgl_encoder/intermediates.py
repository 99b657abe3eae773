"""timm's intermediate-feature API for the TSGL encoder: ``forward_intermediates``.

timm-based code asks any backbone for its intermediate features with ``forward_intermediates(x, indices=...,
norm=..., stop_early=..., output_fmt=..., intermediates_only=...)``; here the intermediates are the pyramid
levels ``f_1 .. f_{K+1}`` (reductions 2 .. 2^(K+1)), the same tensors :meth:`TSGLEncoder.forward` returns.

* ``x``: the image ``(B, 3, H, W)`` with ``mask`` (1 = known), or, when ``mask`` is None, ``cat(image, mask)``
  ``(B, 4, H, W)`` as a one-tensor backbone receives it (the convention stated in the error otherwise);
* ``indices``: None (every level), an int ``n`` (the last ``n``) or a sequence (negative from the end), as
  timm's ``feature_take_indices``;
* ``norm``: the levels have no norm layer after them, so it changes nothing (accepted for timm's signature);
* ``stop_early``: levels after the last one asked for are not computed (the balanced deepest level reads
  all the others, so it is computed only when asked for);
* ``output_fmt``: ``"NCHW"`` or ``"NHWC"``;
* ``intermediates_only``: the list alone; else ``(final, intermediates)`` with ``final`` the deepest level
  computed.

``prune_intermediate_layers(indices)`` keeps what the levels ``indices`` need and removes the rest (the
stages, guidance blocks and projections after the deepest one asked for, and the balance unless its level
is asked for); those levels become the encoder's ``out_indices`` and ``feature_info``. Prune after loading
weights: a pruned encoder's state dict lacks the removed modules, so it is not saved as its configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from timm.models import FeatureInfo
from torch import Tensor

from .layers.inference_cache import caller_memory_format

OUTPUT_FORMATS = ("NCHW", "NHWC")


def take_indices(num_levels: int, indices: int | Sequence[int] | None) -> tuple[list[int], int]:
    """Absolute level indices and the largest, with timm's ``feature_take_indices`` semantics."""
    if indices is None:
        indices = num_levels
    if isinstance(indices, int) and not isinstance(indices, bool):
        if not 0 < indices <= num_levels:
            raise ValueError(f"indices as a count must be in [1, {num_levels}] (the last n levels), got {indices}")
        taken = list(range(num_levels - indices, num_levels))
    else:
        taken = []
        for index in indices:
            absolute = num_levels + index if index < 0 else index
            if not 0 <= absolute < num_levels:
                raise ValueError(f"indices must lie in [-{num_levels}, {num_levels - 1}], got {index}")
            taken.append(absolute)
        if not taken:
            raise ValueError("indices must name at least one level, got an empty sequence")
    return taken, max(taken)


def forward_intermediates(encoder: Any, x: Tensor, mask: Tensor | None, indices: int | Sequence[int] | None,
                          norm: bool, stop_early: bool, output_fmt: str, intermediates_only: bool,
                          **priors: Tensor | None) -> list[Tensor] | tuple[Tensor, list[Tensor]]:
    """See the module docstring."""
    if output_fmt not in OUTPUT_FORMATS:
        raise ValueError(f"output_fmt must be one of {OUTPUT_FORMATS}, got {output_fmt!r}")
    if mask is None:
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != 4:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x without mask must be cat(image in [-1, 1], mask with 1 = known) of shape "
                             f"(B, 4, H, W), got {got}")
        x, mask = x[:, :3], x[:, 3:]
    levels = list(encoder.out_indices)
    taken, last = take_indices(len(levels), indices)
    last_level = levels[last] if stop_early else None
    pyramid = encoder._encode(x, mask, priors.get("edge"), priors.get("gray"), priors.get("smooth"), last_level).pyramid
    layout = caller_memory_format(x)

    def formatted(level: Tensor) -> Tensor:  # the image's own layout, as forward returns the levels
        level = level.contiguous(memory_format=layout)
        return level.permute(0, 2, 3, 1) if output_fmt == "NHWC" else level

    chosen = [formatted(pyramid[levels[i]]) for i in taken]
    return chosen if intermediates_only else (formatted(pyramid[-1]), chosen)

def prune_intermediate_layers(encoder: Any, indices: int | Sequence[int], prune_norm: bool, prune_head: bool
                              ) -> list[int]:
    """See the module docstring; returns the kept levels' indices (as timm does). ``prune_norm`` and
    ``prune_head``: the encoder has neither a final norm nor a head, so they remove nothing."""
    levels = list(encoder.out_indices)
    taken, last = take_indices(len(levels), indices)
    taken_levels, last_level = [levels[i] for i in taken], levels[last]
    num_scales = len(encoder.guidance)
    if last_level < num_scales:  # the balanced deepest level is not asked for: it and the scales after go
        del encoder.guidance[last_level + 1:]
        del encoder.texture.stages[last_level:]
        del encoder.structure.stages[last_level + 1:]
        if encoder.projections is not None:
            del encoder.projections[last_level + 1:]
            encoder.balance = None
    info = [dict(encoder.feature_info.info[i]) for i in range(last_level + 1)]
    encoder.out_indices = tuple(taken_levels)
    encoder.feature_info = FeatureInfo(info, encoder.out_indices)
    encoder.out_channels = tuple(encoder.feature_info.channels())
    encoder.reductions = tuple(encoder.feature_info.reduction())
    encoder.depth, encoder.output_stride = len(encoder.out_channels), encoder.reductions[-1]
    if last_level < num_scales:
        encoder.pruned, encoder.size_divisor = True, info[-1]["reduction"]
    return taken_levels


__all__ = ["OUTPUT_FORMATS", "forward_intermediates", "prune_intermediate_layers", "take_indices"]
