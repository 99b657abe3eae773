"""MEDFE's UNet encoder (``netEN``, upstream ``models/Encoder.py``) and decoder (``netDE``, ``models/Decoder.py``),
with upstream's module names. The official TSGL(MEDFE) generator reuses the decoder blocks with BatchNorm.

Encoder: six 4x4 stride-2 convs (``Encoder_1`` conv only; ``Encoder_2..5`` LeakyReLU -> conv -> norm;
``Encoder_6`` LeakyReLU -> conv), then four residual blocks at the bottleneck (``middle``: reflection pad,
dilated 3x3 conv, non-affine InstanceNorm, ReLU, 3x3 conv, InstanceNorm). It returns the six maps
``ngf, 2, 4, 8, 8, 8 x ngf`` channels at 1/2 .. 1/64, the last one after the residual blocks. Upstream's
LeakyReLU layers work in place, so the next block's activation overwrites the map a block returned: the
first five maps come back *after* LeakyReLU(0.2). This is reproduced.

Decoder: ``Decoder_1..6``, each ReLU -> 4x4 stride-2 transposed conv -> norm (``Tanh`` instead of a norm in
``Decoder_6``); ``y_1 = D_1(x_6)``, ``y_k = D_k(cat(y_{k-1}, x_{7-k}))``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NORMS = ("instance", "batch")  # MEDFE's (option file ``norm: instance``), the official TSGL(MEDFE) decoder's


def norm_layer(kind: str, channels: int) -> nn.Module:
    """Upstream ``get_norm_layer``: affine InstanceNorm (no running statistics) or affine BatchNorm."""
    if kind not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")
    return nn.InstanceNorm2d(channels, affine=True) if kind == "instance" else nn.BatchNorm2d(channels, affine=True)


class ResnetBlock(nn.Module):
    """Upstream ``ResnetBlock`` (``x + block(x)``); ``dilation`` of the first conv (the parameters do not depend
    on it). Upstream's ``Encoder.py`` has 2 in one commit and 5 in another; 5 cannot run at 256x256 (its
    reflection padding of 5 exceeds the 4x4 bottleneck, which PyTorch refuses), so 2 is the default."""

    def __init__(self, dim: int, dilation: int = 2) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(dilation), nn.Conv2d(dim, dim, 3, dilation=dilation, bias=False),
            nn.InstanceNorm2d(dim), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=False), nn.InstanceNorm2d(dim),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv_block(x)


class EncoderBlock(nn.Module):
    """Upstream ``UnetSkipConnectionEBlock``: [LeakyReLU(0.2)] -> 4x4 stride-2 conv -> [norm]."""

    def __init__(self, in_channels: int, out_channels: int, norm: str, outermost: bool = False,
                 innermost: bool = False) -> None:
        super().__init__()
        conv = nn.Conv2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1)
        if outermost:
            layers = [conv]
        elif innermost:
            layers = [nn.LeakyReLU(0.2), conv]
        else:
            layers = [nn.LeakyReLU(0.2), conv, norm_layer(norm, out_channels)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class DecoderBlock(nn.Module):
    """Upstream ``UnetSkipConnectionDBlock``: ReLU -> 4x4 stride-2 transposed conv -> norm (``Tanh`` outermost)."""

    def __init__(self, in_channels: int, out_channels: int, norm: str, outermost: bool = False) -> None:
        super().__init__()
        conv = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1)
        self.model = nn.Sequential(nn.ReLU(), conv, nn.Tanh() if outermost else norm_layer(norm, out_channels))

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class Encoder(nn.Module):
    """MEDFE's ``netEN``: input ``(B, input_nc, H, W)`` -> six maps at 1/2 .. 1/64 (``input_nc`` 6 upstream:
    the image with its holes filled and a 3-channel mask)."""

    def __init__(self, input_nc: int = 6, ngf: int = 64, res_num: int = 4, norm: str = "instance",
                 dilation: int = 2) -> None:
        super().__init__()
        widths = (input_nc, ngf, 2 * ngf, 4 * ngf, 8 * ngf, 8 * ngf, 8 * ngf)
        for k in range(1, 7):
            self.add_module(f"Encoder_{k}", EncoderBlock(widths[k - 1], widths[k], norm, outermost=k == 1,
                                                         innermost=k == 6))
        self.middle = nn.Sequential(*(ResnetBlock(8 * ngf, dilation) for _ in range(res_num)))

    def forward(self, x: Tensor) -> list[Tensor]:
        maps = []
        for k in range(1, 7):
            x = getattr(self, f"Encoder_{k}")(x)
            maps.append(x)
        # upstream's LeakyReLU is in place: each block activates the map the previous one returned, so the
        # first five maps come back activated
        return [F.leaky_relu(m, 0.2) for m in maps[:5]] + [self.middle(maps[5])]


def decoder_blocks(ngf: int = 64, output_nc: int = 3, norm: str = "instance") -> dict[str, DecoderBlock]:
    """``{"Decoder_1": ..., "Decoder_6": ...}`` as upstream builds them."""
    shapes = ((8, 8), (16, 8), (16, 4), (8, 2), (4, 1))
    blocks = {f"Decoder_{k + 1}": DecoderBlock(c_in * ngf, c_out * ngf, norm) for k, (c_in, c_out) in
              enumerate(shapes)}
    blocks["Decoder_6"] = DecoderBlock(2 * ngf, output_nc, norm, outermost=True)
    return blocks


def unet_decode(owner: nn.Module, maps: list[Tensor]) -> Tensor:
    """Runs ``owner.Decoder_1..6`` over the six maps (finest first), as upstream's ``Decoder.forward``."""
    y = owner.Decoder_1(maps[5])
    for k in range(2, 7):
        y = getattr(owner, f"Decoder_{k}")(torch.cat([y, maps[6 - k]], dim=1))
    return y


class Decoder(nn.Module):
    """MEDFE's ``netDE``: the six equalised maps -> the image in [-1, 1] (``Tanh``)."""

    def __init__(self, ngf: int = 64, output_nc: int = 3, norm: str = "instance") -> None:
        super().__init__()
        for name, block in decoder_blocks(ngf, output_nc, norm).items():
            self.add_module(name, block)

    def forward(self, *maps: Tensor) -> Tensor:
        """``forward(x_1, .., x_6)`` like upstream (a single list works too)."""
        if len(maps) == 1 and isinstance(maps[0], (list, tuple)):
            maps = tuple(maps[0])
        return unet_decode(self, list(maps))


__all__ = ["NORMS", "Decoder", "DecoderBlock", "Encoder", "EncoderBlock", "ResnetBlock", "decoder_blocks",
           "norm_layer", "unet_decode"]
