"""Structure stream: partial convolutions over the structure priors (Canny edge + grayscale + mask).

Each stage is ``PartialConv(stride 2) -> BatchNorm -> ReLU`` (the first stage has no BatchNorm), the
official ``PConvBNActiv`` with kernels 7, 5, 5, 3, 3. Its maps ``S_k`` condition the global side of
the reconstruction at every scale.
"""

from __future__ import annotations

from torch import Tensor, nn

from .layers import PartialConv2d


class StructureStage(nn.Module):
    """``PartialConv2d(stride 2) -> BatchNorm (optional) -> ReLU``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, batch_norm: bool) -> None:
        super().__init__()
        self.conv = PartialConv2d(in_channels, out_channels, kernel_size, stride=2)
        self.norm = nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()
        self.act = nn.ReLU()

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        x, mask = self.conv(x, mask)
        return self.act(self.norm(x)), mask


class StructureStream(nn.Module):
    """Stages ``S_1 .. S_K`` at reductions ``2 .. 2**K``; input ``cat(edge, gray, mask)`` (3 channels)."""

    in_channels = 3

    def __init__(self, channels: tuple[int, ...], kernel_sizes: tuple[int, ...]) -> None:
        super().__init__()
        widths = (self.in_channels, *channels)
        self.stages = nn.ModuleList(
            StructureStage(c_in, c_out, k, batch_norm=i > 0)
            for i, (c_in, c_out, k) in enumerate(zip(widths[:-1], widths[1:], kernel_sizes, strict=True))
        )

    def forward(self, priors: Tensor, mask: Tensor) -> tuple[list[Tensor], Tensor]:
        """priors ``(B, 3, H, W)`` -> structure maps ``[S_1 .. S_K]`` and the mask of ``S_K``."""
        maps = []
        x = priors
        for stage in self.stages:
            x, mask = stage(x, mask)
            maps.append(x)
        return maps, mask
