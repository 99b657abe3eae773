"""TSGL's presets as segmentation_models_pytorch encoders (issue 30): ``smp.Unet("tsgl_tiny", in_channels=4)``.

smp's encoder contract: ``forward(x)`` returns ``depth + 1`` maps, finest first, the first at the input's
resolution; ``out_channels`` lists their widths (starting with the input's channels), ``output_stride`` is
the deepest reduction. Here:

* ``x`` is ``cat(image, mask)`` ``(B, 4, H, W)``: image in [-1, 1], mask with 1 = known (``in_channels=4``;
  any other ``in_channels`` is refused: TSGL reads the hole mask beside the image);
* the first map is the input with the hole zeroed, ``cat(image * mask, mask)``, so that no decoder can read a
  hole pixel (TSGL's levels never do);
* ``depth`` ``d`` in 3..6 keeps the first ``d - 1`` scales of the preset (``TSGLConfig.with_scales``) and its
  cross-layer balance at reduction ``2**d``: levels at reductions ``2 .. 2**d`` (``depth=6``: the whole
  pyramid); ``H`` and ``W`` must be multiples of ``2**d``;
* ``out_channels``: optional widths to project the levels to (1x1 convolutions), so that TSGL can take the
  place of another encoder under that encoder's decoder (:func:`adapters.smp.replace_encoder`);
* weights: ``encoder_weights=None`` in smp; :meth:`TSGLSmpEncoder.load_pretrained` reads a local file only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from segmentation_models_pytorch.encoders import encoders as smp_registry
from segmentation_models_pytorch.encoders._base import EncoderMixin
from torch import Tensor, nn

from tsgl_encoder import TSGLEncoder
from tsgl_encoder.hub import saved_config
from tsgl_encoder.registry import get_config
from tsgl_encoder.validation import check_image

SMP_PRESETS = ("tsgl_base", "tsgl_small", "tsgl_tiny")
DEPTHS = range(3, 7)
IN_CHANNELS = 4  # cat(image, mask)


class TSGLSmpEncoder(nn.Module, EncoderMixin):
    """A TSGL preset under smp's encoder contract (see the module docstring)."""

    def __init__(self, preset: str = "tsgl_tiny", depth: int = 5, output_stride: int = 32,
                 out_channels: Sequence[int] | None = None, **overrides) -> None:
        super().__init__()
        if preset not in SMP_PRESETS:
            raise ValueError(f"preset must be one of {SMP_PRESETS}, got {preset!r}")
        if depth not in DEPTHS:
            raise ValueError(f"depth must be in [{DEPTHS.start}, {DEPTHS.stop - 1}] for a TSGL encoder (levels at "
                             f"reductions 2 .. 2**depth), got {depth}")
        self.preset = preset
        self.tsgl = TSGLEncoder(get_config(preset, **overrides).with_scales(depth - 1))
        self._depth, self._in_channels = depth, IN_CHANNELS
        self._output_stride = 2**depth  # smp's default 32 is what get_encoder passes; a TSGL pyramid is not dilated
        native = list(self.tsgl.out_channels)
        self.projections = None
        if out_channels is not None:
            wanted = list(out_channels)[1:]  # without the input's channels
            if len(wanted) != depth:
                raise ValueError(f"out_channels must list the input's channels and {depth} level widths, got "
                                 f"{list(out_channels)}")
            self.projections = nn.ModuleList(nn.Conv2d(c_in, c_out, 1) for c_in, c_out in zip(native, wanted,
                                                                                                 strict=True))
            native = wanted
        self._out_channels = [IN_CHANNELS, *native]

    @property
    def output_stride(self) -> int:
        return self._output_stride

    def set_in_channels(self, in_channels: int, pretrained: bool = True) -> None:
        """smp's hook for ``in_channels``: only 4 (``cat(image, mask)``) is accepted."""
        if in_channels != IN_CHANNELS:
            raise ValueError(f"in_channels must be {IN_CHANNELS} for a TSGL encoder: cat(image in [-1, 1], mask with "
                             f"1 = known), got {in_channels}")

    def make_dilated(self, output_stride: int) -> None:
        raise ValueError(f"a TSGL encoder has no dilated form: output_stride must be {self._output_stride} "
                         f"(2**depth), got {output_stride}")

    def get_stages(self) -> dict:
        return {}

    def split(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x`` ``(B, 4, H, W)`` -> image ``(B, 3, H, W)``, mask ``(B, 1, H, W)``; clear errors for other inputs
        (the image's range and the mask's values are checked by the TSGL encoder)."""
        if isinstance(x, Tensor) and (x.ndim != 4 or x.shape[1] != IN_CHANNELS):
            raise ValueError(f"x must be cat(image in [-1, 1], mask with 1 = known) of shape (B, {IN_CHANNELS}, H, W), "
                             f"got {tuple(x.shape)}")
        check_image(x, "x", IN_CHANNELS, self._output_stride, "2**depth")
        return x[:, :3], x[:, 3:]

    def forward(self, x: Tensor) -> list[Tensor]:
        return self.forward_features(x)[0]

    def forward_features(self, x: Tensor) -> tuple[list[Tensor], object]:
        """smp's maps and TSGL's :class:`~tsgl_encoder.encoder.TSGLFeatures` (the structure maps for an edge
        head) from one pass."""
        image, mask = self.split(x)
        features = self.tsgl.forward_features(image, mask)
        levels = features.pyramid
        if self.projections is not None:
            levels = [project(level) for project, level in zip(self.projections, levels, strict=True)]
        known = mask.to(image.dtype)
        return [torch.cat([image * known, known], dim=1), *levels], features

    def load_pretrained(self, path: str | Path) -> TSGLSmpEncoder:
        """TSGL weights from a local file or folder (a ``save_pretrained`` folder, a ``.safetensors`` file or a
        state-dict file): strict for this encoder's configuration; the full preset's weights (``depth=6``) also
        load into a shallower encoder, all but its cross-layer balance, which fuses other levels (left as
        initialised, with a warning). The projections (``out_channels``) stay as they are."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"load_pretrained: no local file or folder at {str(path)!r} (TSGL smp encoders "
                                    f"read local weights only)")
        stored = saved_config(path)
        if stored is None or self.tsgl.config == type(self.tsgl.config).from_dict(stored):
            self.tsgl.load_pretrained(path)
            return self
        full = TSGLEncoder.from_pretrained(path)
        if full.config.with_scales(self._depth - 1) != self.tsgl.config:
            raise ValueError(f"load_pretrained: {str(path)!r} holds another encoder than {self.preset!r} (or its "
                             f"first {self._depth - 1} scales): saved config {stored}")
        own = self.tsgl.state_dict()
        shared = {key: value for key, value in full.state_dict().items()
                  if key in own and own[key].shape == value.shape and not key.startswith("balance.")}
        fresh = sorted(set(own) - set(shared))
        self.tsgl.load_state_dict(shared, strict=False)
        warnings.warn(f"load_pretrained: {len(fresh)} tensors of the depth-{self._depth} balance keep their "
                      f"initial values (the file's balance fuses six levels): {fresh[:4]}...", stacklevel=2)
        return self


class LocalWeightsOnly(dict):
    """smp's ``pretrained_settings`` of a TSGL preset: no weights to download, so any ``encoder_weights`` (smp's
    default is ``"imagenet"``) gets an error that says what to do instead."""

    def __contains__(self, weights: object) -> bool:
        raise ValueError(f"TSGL encoders have no weights to download (encoder_weights={weights!r}): pass "
                         f"encoder_weights=None, then model.encoder.load_pretrained(PATH) with a local file")


def register_encoders() -> list[str]:
    """Adds :data:`SMP_PRESETS` to smp's encoder registry (done on ``import adapters.smp``); returns the names."""
    for preset in SMP_PRESETS:
        smp_registry[preset] = {"encoder": TSGLSmpEncoder, "pretrained_settings": LocalWeightsOnly(),
                                "params": {"preset": preset}}
    return list(SMP_PRESETS)


__all__ = ["DEPTHS", "IN_CHANNELS", "SMP_PRESETS", "LocalWeightsOnly", "TSGLSmpEncoder", "register_encoders"]
