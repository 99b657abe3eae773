"""MAT's discriminator: two StyleGAN2 residual discriminators, one for the output, one (half width) for stage 1.

Each reads ``cat(mask - 0.5, image)``, goes from ``img_resolution`` to 4x4 with residual blocks (the skip and the
main path scaled by sqrt(1/2)), appends the minibatch standard deviation, and ends in two FC layers. With labels
(``c_dim > 0``) the logits are projected onto a mapped label embedding.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .layers import Conv2dLayer, FullyConnectedLayer
from .mapping import MappingNet
from .second_stage import nf

RESIDUAL_GAIN = math.sqrt(0.5)


class DisFromRGB(nn.Module):
    """1x1 conv from ``cat(mask - 0.5, image)``."""

    def __init__(self, in_channels: int, out_channels: int, activation: str) -> None:
        super().__init__()
        self.conv = Conv2dLayer(in_channels, out_channels, kernel_size=1, activation=activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class DisBlock(nn.Module):
    """Residual down-sampling block: ``sqrt(1/2) * (skip(x) + conv1(conv0(x)))``, resolution halved."""

    def __init__(self, in_channels: int, out_channels: int, activation: str) -> None:
        super().__init__()
        self.conv0 = Conv2dLayer(in_channels, in_channels, kernel_size=3, activation=activation)
        self.conv1 = Conv2dLayer(in_channels, out_channels, kernel_size=3, activation=activation, down=2)
        self.skip = Conv2dLayer(in_channels, out_channels, kernel_size=1, bias=False, down=2)

    def forward(self, x: Tensor) -> Tensor:
        skip = self.skip(x, gain=RESIDUAL_GAIN)  # (B, Cout, H/2, W/2)
        return skip + self.conv1(self.conv0(x), gain=RESIDUAL_GAIN)


class MinibatchStdLayer(nn.Module):
    """Appends the standard deviation over groups of ``group_size`` samples, averaged over channels and pixels."""

    def __init__(self, group_size: int | None, num_channels: int = 1) -> None:
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: Tensor) -> Tensor:
        batch, channels, height, width = x.shape
        group = min(self.group_size, batch) if self.group_size is not None else batch
        if batch % group:
            raise ValueError(f"the batch size ({batch}) must be a multiple of the minibatch-std group size ({group})")
        y = x.reshape(group, -1, self.num_channels, channels // self.num_channels, height, width)  # (G, n, F, c, H, W)
        y = (y - y.mean(dim=0)).square().mean(dim=0)  # (n, F, c, H, W): variance over the group
        y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4])  # (n, F)
        y = y.reshape(-1, self.num_channels, 1, 1).repeat(group, 1, height, width)  # (B, F, H, W)
        return torch.cat([x, y], dim=1)


def _trunk(img_channels: int, res_log2: int, width: float, activation: str, mbstd_group_size: int | None,
           mbstd_num_channels: int, channel_max: int) -> nn.Sequential:
    """``DisFromRGB``, ``DisBlock`` s down to 4x4, minibatch std, 3x3 conv; channels ``nf * width``."""
    def channels(stage: int) -> int:
        return int(nf(stage, channel_max) * width)

    layers: list[nn.Module] = [DisFromRGB(img_channels + 1, channels(res_log2), activation)]
    layers += [DisBlock(channels(res), channels(res - 1), activation) for res in range(res_log2, 2, -1)]
    if mbstd_num_channels > 0:
        layers.append(MinibatchStdLayer(mbstd_group_size, mbstd_num_channels))
    layers.append(Conv2dLayer(channels(2) + mbstd_num_channels, channels(2), kernel_size=3, activation=activation))
    return nn.Sequential(*layers)


class Discriminator(nn.Module):
    """``forward(images_in, masks_in, images_stg1, c)`` -> ``(logits, logits_stg1)``, each ``(B, 1)``."""

    def __init__(
        self, c_dim: int, img_resolution: int, img_channels: int, channel_base: int = 32768, channel_max: int = 512,
        channel_decay: float = 1.0, cmap_dim: int | None = None, activation: str = "lrelu",
        mbstd_group_size: int | None = 4, mbstd_num_channels: int = 1,
    ) -> None:
        """``channel_max`` caps the widths (upstream accepts and ignores it; 512 caps nothing). ``channel_base`` and
        ``channel_decay`` are accepted for upstream's training configs and ignored, as upstream does."""
        super().__init__()
        res_log2 = int(math.log2(img_resolution)) if img_resolution > 0 else 0
        if img_resolution < 4 or 2**res_log2 != img_resolution:
            raise ValueError(f"img_resolution must be a power of two >= 4, got {img_resolution!r}")
        self.c_dim, self.img_resolution, self.img_channels = c_dim, img_resolution, img_channels
        self.resolution_log2 = res_log2
        width = nf(2, channel_max)  # channels at 4x4
        self.cmap_dim = 0 if c_dim == 0 else (width if cmap_dim is None else cmap_dim)
        if c_dim > 0:
            self.mapping = MappingNet(z_dim=0, c_dim=c_dim, w_dim=self.cmap_dim, num_ws=None, w_avg_beta=None)
        out_features = self.cmap_dim or 1
        trunk_args = (activation, mbstd_group_size, mbstd_num_channels, channel_max)

        self.Dis = _trunk(img_channels, res_log2, 1, *trunk_args)
        self.fc0 = FullyConnectedLayer(width * 4**2, width, activation=activation)
        self.fc1 = FullyConnectedLayer(width, out_features)
        self.Dis_stg1 = _trunk(img_channels, res_log2, 0.5, *trunk_args)
        self.fc0_stg1 = FullyConnectedLayer(width // 2 * 4**2, width // 2, activation=activation)
        self.fc1_stg1 = FullyConnectedLayer(width // 2, out_features)

    def forward(
        self, images_in: Tensor, masks_in: Tensor, images_stg1: Tensor, c: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """images ``(B, C, R, R)`` in [-1, 1] (output and stage-1 output), masks ``(B, 1, R, R)`` 1 = known."""
        masks_in = self._check_inputs(images_in, masks_in, images_stg1, c)
        x = self.Dis(torch.cat([masks_in - 0.5, images_in], dim=1))  # (B, nf(2), 4, 4)
        x = self.fc1(self.fc0(x.flatten(start_dim=1)))
        x_stg1 = self.Dis_stg1(torch.cat([masks_in - 0.5, images_stg1], dim=1))  # (B, nf(2) / 2, 4, 4)
        x_stg1 = self.fc1_stg1(self.fc0_stg1(x_stg1.flatten(start_dim=1)))
        if self.cmap_dim > 0:
            cmap = self.mapping(None, c)  # (B, cmap_dim)
            x = (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
            x_stg1 = (x_stg1 * cmap).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x, x_stg1

    def _check_inputs(self, images_in: Tensor, masks_in: Tensor, images_stg1: Tensor, c: Tensor | None) -> Tensor:
        size = self.img_resolution
        for name, value, channels in (("images_in", images_in, self.img_channels), ("masks_in", masks_in, 1),
                                      ("images_stg1", images_stg1, self.img_channels)):
            if not isinstance(value, Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
            expected = (images_in.shape[0], channels, size, size)
            if value.shape != expected:
                raise ValueError(f"{name} must have shape {expected}, got {tuple(value.shape)}")
        if self.c_dim > 0 and not isinstance(c, Tensor):
            raise TypeError(f"c must be a torch.Tensor of shape (B, {self.c_dim}), got {type(c).__name__}")
        if self.c_dim > 0 and c.shape != (images_in.shape[0], self.c_dim):
            raise ValueError(f"c must have shape {(images_in.shape[0], self.c_dim)}, got {tuple(c.shape)}")
        return masks_in.to(images_in.dtype)
