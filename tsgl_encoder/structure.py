"""Structure stream: convolutions over the structure priors (Canny edge + grayscale + mask).

Two layer types, as in the two official models:

* ``"partial_conv"`` (TSGL_MEDFE, 256x256): each stage is ``PartialConv(stride 2) -> BatchNorm ->
  ReLU`` (the first stage has no BatchNorm), the official ``PConvBNActiv`` with kernels 7, 5, 5, 3, 3;
* ``"conv"`` (TSGL_Lama, 512x512): reflect-padded ``Conv -> BatchNorm -> ReLU`` after a stride-1
  7x7 stem at full resolution.

Its maps ``S_k`` condition the global side of the reconstruction at every scale.
"""

from __future__ import annotations

from torch import Tensor, nn

from .layers import ConvBNReLU, PartialConv2d

STRUCTURE_LAYERS = ("partial_conv", "conv")


class StructureStage(nn.Module):
    """``PartialConv2d -> BatchNorm (optional) -> ReLU``."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, batch_norm: bool, stride: int = 2
    ) -> None:
        super().__init__()
        self.conv = PartialConv2d(in_channels, out_channels, kernel_size, stride=stride)
        self.norm = nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()
        self.act = nn.ReLU()

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        x, mask = self.conv(x, mask)
        return self.act(self.norm(x)), mask


class StructureStream(nn.Module):
    """An optional stride-1 stem, then stages ``S_1 .. S_K`` at reductions ``2 .. 2**K``.

    Input ``cat(edge, gray, mask)`` (3 channels).
    """

    in_channels = 3

    def __init__(self, channels: tuple[int, ...], kernel_sizes: tuple[int, ...], layer: str = "partial_conv",
                 stem_channels: int = 0, stem_kernel: int = 7) -> None:
        super().__init__()
        if layer not in STRUCTURE_LAYERS:
            raise ValueError(f"structure_layer must be one of {STRUCTURE_LAYERS}, got {layer!r}")

        def make(c_in: int, c_out: int, kernel: int, stride: int, first: bool) -> nn.Module:
            if layer == "conv":
                return ConvBNReLU(c_in, c_out, kernel, stride)
            return StructureStage(c_in, c_out, kernel, batch_norm=not first, stride=stride)

        self.stem = make(self.in_channels, stem_channels, stem_kernel, 1, True) if stem_channels else None
        widths = (stem_channels or self.in_channels, *channels)
        self.stages = nn.ModuleList(
            make(c_in, c_out, k, 2, first=i == 0 and not stem_channels)
            for i, (c_in, c_out, k) in enumerate(zip(widths[:-1], widths[1:], kernel_sizes, strict=True))
        )

    def forward(self, priors: Tensor, mask: Tensor) -> tuple[list[Tensor], Tensor]:
        """priors ``(B, 3, H, W)`` -> structure maps ``[S_1 .. S_K]`` and the mask of ``S_K``."""
        x = priors
        if self.stem is not None:
            x, mask = self.stem(x, mask)
        maps = []
        for stage in self.stages:
            x, mask = stage(x, mask)
            maps.append(x)
        return maps, mask
