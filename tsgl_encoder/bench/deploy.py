"""A host's generator as one ONNX file with a single convention, for inference without torch (issue 30).

Every host reads its own inputs (LaMa ``cat(image01 * known, hole)``, CTSDG masked image + edge/gray priors +
mask, smp_unet ``cat(image * mask, mask)``); :class:`InpaintingGraph` wraps one behind ``(image, mask) ->
inpainted`` with image in [-1, 1] ``(B, 3, H, W)``, mask ``(B, 1, H, W)`` with 1 = known, and the output
composited (known pixels kept). The file's metadata names the host and that convention, so a runtime that
has only onnxruntime and numpy (``examples/onnx_inpaint.py``) can run it at any allowed size.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from ..export import export_onnx
from .training import Host

HOST_KEY, CONVENTION_KEY = "tsgl_encoder.host", "tsgl_encoder.convention"
CONVENTION = "image (B, 3, H, W) in [-1, 1], mask (B, 1, H, W) with 1 = known -> image in [-1, 1], known kept"
#: hosts whose exported graph takes any height and width (multiples of the host's size, at least two of them);
#: MAT is built for one resolution (its files are fixed to the example's)
ANY_SIZE = frozenset({"lama", "smp_unet", "ctsdg", "medfe"})
#: of those, the ones whose graph also takes any batch: CTSDG's attention convolves each image with its own
#: patches (a convolution with groups = batch, and ONNX's group is a fixed attribute), so its files keep the
#: example's batch
ANY_BATCH = frozenset({"lama", "smp_unet", "medfe"})


class InpaintingGraph(nn.Module):
    """``(image, mask) -> inpainted`` for ``host``'s generator ``model`` (see the module docstring)."""

    def __init__(self, host: Host, model: nn.Module) -> None:
        super().__init__()
        self.host, self.model = host, model

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        output = self.host.predict(self.model, image, mask).output
        return output * (1 - mask) + image * mask


def export_inpainting_onnx(host: Host, model: nn.Module, path: str | os.PathLike, size: int = 256,
                           batch: int = 1, optimize: bool = True) -> Path:
    """Writes ``model`` (a generator of ``host``) as an ONNX file of :class:`InpaintingGraph`, traced on a
    ``batch`` x ``size`` x ``size`` example: any size for :data:`ANY_SIZE`, any batch for :data:`ANY_BATCH`,
    else the example's. ``optimize=False``: without onnxscript's optimiser (faster export, a larger file)."""
    multiple = max(64, host.size_multiple)
    dynamic = host.name in ANY_SIZE
    if dynamic and (size % multiple or size < 2 * multiple):
        raise ValueError(f"size must be a multiple of {multiple} and at least {2 * multiple} for host "
                         f"{host.name!r}, got {size}")
    image = torch.rand(batch, 3, size, size) * 2 - 1
    mask = torch.ones(batch, 1, size, size)
    mask[..., size // 4: size // 2, size // 3: 2 * size // 3] = 0
    graph = InpaintingGraph(host, model.eval()).eval()
    return export_onnx(graph, (image, mask), path, input_names=["image", "mask"], optimize=optimize, dynamic=dynamic,
                       size_multiple=multiple, dynamic_batch=host.name in ANY_BATCH,
                       metadata={HOST_KEY: host.name, CONVENTION_KEY: CONVENTION})


__all__ = ["ANY_BATCH", "ANY_SIZE", "CONVENTION", "CONVENTION_KEY", "HOST_KEY", "InpaintingGraph",
           "export_inpainting_onnx"]
