"""LaMa's generator: Fast Fourier Convolutions (Chi et al. 2020) in a ResNet (Suvorov et al. 2022).

Written here from the published architecture; module names, the order of ``FFCResNetGenerator.model``
and every parameter shape follow upstream (advimman/lama, ``saicinpainting/training/modules/ffc.py``),
so an upstream generator state_dict loads with ``strict=True``. Features travel as a
``(local, global)`` tuple; a missing branch is the integer 0, as upstream.

* :class:`FourierUnit`: real FFT of the map (``norm="ortho"``), real and imaginary parts stacked
  as channels, 1x1 conv + BN + ReLU in the spectrum, inverse FFT: a global receptive field.
* :class:`SpectralTransform`: 1x1 conv halving the channels, a Fourier unit (+ an optional local
  Fourier unit on 2x2 tiles), and a 1x1 conv back, with a residual inside.
* :class:`FFC`: four paths local->local, local->global, global->local (3x3 convs) and global->global
  (spectral transform); ``ratio_gin``/``ratio_gout`` split the channels.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn

FeatureTuple = tuple[Tensor | int, Tensor | int]


class FourierUnit(nn.Module):
    """Convolution in the frequency domain: ``irfft(ReLU(BN(conv1x1(rfft(x)))))``."""

    def __init__(self, in_channels: int, out_channels: int, groups: int = 1) -> None:
        super().__init__()
        self.conv_layer = nn.Conv2d(in_channels * 2, out_channels * 2, 1, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels * 2)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        spectrum = torch.fft.rfftn(x.float(), dim=(-2, -1), norm="ortho")  # (B, C, H, W/2+1) complex
        stacked = torch.stack((spectrum.real, spectrum.imag), dim=2)  # (B, C, 2, H, W/2+1)
        stacked = rearrange(stacked, "b c two h w -> b (c two) h w").to(x.dtype)
        stacked = self.relu(self.bn(self.conv_layer(stacked)))  # (B, 2C', H, W/2+1)
        real, imag = rearrange(stacked.float(), "b (c two) h w -> two b c h w", two=2)
        return torch.fft.irfftn(torch.complex(real, imag), s=(height, width), dim=(-2, -1), norm="ortho").to(x.dtype)


class SpectralTransform(nn.Module):
    """``conv2(x + FU(x) [+ LFU(x)])`` with ``x = conv1(downsample(input))``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, groups: int = 1,
                 enable_lfu: bool = True) -> None:
        super().__init__()
        self.enable_lfu = enable_lfu
        self.downsample = nn.AvgPool2d(kernel_size=2, stride=2) if stride == 2 else nn.Identity()
        hidden = out_channels // 2
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1, groups=groups, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True)
        )
        self.fu = FourierUnit(hidden, hidden, groups)
        if enable_lfu:
            self.lfu = FourierUnit(hidden, hidden, groups)
        self.conv2 = nn.Conv2d(hidden, out_channels, 1, groups=groups, bias=False)

    def _local_fourier(self, x: Tensor) -> Tensor:
        """LFU: the first quarter of the channels, cut into 2x2 tiles stacked as channels."""
        quarter = x[:, : x.shape[1] // 4]
        half_h, half_w = x.shape[-2] // 2, x.shape[-1] // 2
        tiles = rearrange(quarter[..., : 2 * half_h, : 2 * half_w], "b c (i h) (j w) -> b (j i c) h w", i=2, j=2)
        return self.lfu(tiles).repeat(1, 1, 2, 2)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(self.downsample(x))
        out = x + self.fu(x)
        if self.enable_lfu:
            out = out + self._local_fourier(x)
        return self.conv2(out)


def _conv_or_identity(active: bool, *args, **kwargs) -> nn.Module:
    return nn.Conv2d(*args, **kwargs) if active else nn.Identity()


class FFC(nn.Module):
    """Fast Fourier Convolution on a ``(local, global)`` tuple."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, ratio_gin: float, ratio_gout: float,
                 stride: int = 1, padding: int = 0, dilation: int = 1, groups: int = 1, bias: bool = False,
                 enable_lfu: bool = True, padding_type: str = "reflect") -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"FFC stride must be 1 or 2, got {stride}")
        in_cg = int(in_channels * ratio_gin)
        in_cl = in_channels - in_cg
        out_cg = int(out_channels * ratio_gout)
        out_cl = out_channels - out_cg
        self.ratio_gin, self.ratio_gout, self.global_in_num = ratio_gin, ratio_gout, in_cg
        conv = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation, groups=groups,
                    bias=bias, padding_mode=padding_type)
        self.convl2l = _conv_or_identity(in_cl > 0 and out_cl > 0, in_cl, out_cl, **conv)
        self.convl2g = _conv_or_identity(in_cl > 0 and out_cg > 0, in_cl, out_cg, **conv)
        self.convg2l = _conv_or_identity(in_cg > 0 and out_cl > 0, in_cg, out_cl, **conv)
        self.convg2g = (
            SpectralTransform(in_cg, out_cg, stride, 1 if groups == 1 else groups // 2, enable_lfu)
            if in_cg > 0 and out_cg > 0 else nn.Identity()
        )

    def forward(self, x: Tensor | FeatureTuple) -> FeatureTuple:
        x_l, x_g = x if isinstance(x, tuple) else (x, 0)
        out_l: Tensor | int = 0
        out_g: Tensor | int = 0
        if self.ratio_gout != 1:
            out_l = self.convl2l(x_l) + self.convg2l(x_g)
        if self.ratio_gout != 0:
            out_g = self.convl2g(x_l) + self.convg2g(x_g)
        return out_l, out_g


class FFC_BN_ACT(nn.Module):  # upstream name
    """FFC, then BatchNorm and activation on each non-empty branch."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, ratio_gin: float, ratio_gout: float,
                 stride: int = 1, padding: int = 0, dilation: int = 1, groups: int = 1, bias: bool = False,
                 norm_layer: type[nn.Module] = nn.BatchNorm2d, activation_layer: type[nn.Module] = nn.Identity,
                 padding_type: str = "reflect", enable_lfu: bool = True) -> None:
        super().__init__()
        self.ffc = FFC(in_channels, out_channels, kernel_size, ratio_gin, ratio_gout, stride, padding, dilation,
                       groups, bias, enable_lfu, padding_type=padding_type)
        global_channels = int(out_channels * ratio_gout)
        self.bn_l = nn.Identity() if ratio_gout == 1 else norm_layer(out_channels - global_channels)
        self.bn_g = nn.Identity() if ratio_gout == 0 else norm_layer(global_channels)
        self.act_l = nn.Identity() if ratio_gout == 1 else activation_layer(inplace=True)
        self.act_g = nn.Identity() if ratio_gout == 0 else activation_layer(inplace=True)

    def forward(self, x: Tensor | FeatureTuple) -> FeatureTuple:
        x_l, x_g = self.ffc(x)
        return self.act_l(self.bn_l(x_l)), self.act_g(self.bn_g(x_g))


class FFCResnetBlock(nn.Module):
    """Two 3x3 FFC_BN_ACT with a residual on both branches (LaMa's bottleneck block)."""

    def __init__(self, dim: int, padding_type: str, norm_layer: type[nn.Module],
                 activation_layer: type[nn.Module] = nn.ReLU, dilation: int = 1, **conv_kwargs) -> None:
        super().__init__()
        conv = dict(kernel_size=3, padding=dilation, dilation=dilation, norm_layer=norm_layer,
                    activation_layer=activation_layer, padding_type=padding_type, **conv_kwargs)
        self.conv1 = FFC_BN_ACT(dim, dim, **conv)
        self.conv2 = FFC_BN_ACT(dim, dim, **conv)

    def forward(self, x: Tensor | FeatureTuple) -> FeatureTuple:
        x_l, x_g = x if isinstance(x, tuple) else (x, 0)
        y_l, y_g = self.conv2(self.conv1((x_l, x_g)))
        return x_l + y_l, x_g + y_g


class ConcatTupleLayer(nn.Module):
    """``(local, global) -> cat(local, global)`` (or ``local`` when there is no global branch)."""

    def forward(self, x: FeatureTuple) -> Tensor:
        x_l, x_g = x
        return x_l if not torch.is_tensor(x_g) else torch.cat([x_l, x_g], dim=1)


class FFCResNetGenerator(nn.Module):
    """``model = Sequential(pad, stem, n_downsampling x down, n_blocks x FFC block, concat, up..., pad, conv, act)``.

    Input ``cat(img * (1 - mask), mask)`` with the image in [0, 1] and mask 1 = hole; output the
    image (sigmoid for LaMa's configurations), to be composited by the caller.
    """

    def __init__(self, input_nc: int = 4, output_nc: int = 3, ngf: int = 64, n_downsampling: int = 3,
                 n_blocks: int = 9, norm_layer: type[nn.Module] = nn.BatchNorm2d, padding_type: str = "reflect",
                 activation_layer: type[nn.Module] = nn.ReLU, init_conv_kwargs: dict | None = None,
                 downsample_conv_kwargs: dict | None = None, resnet_conv_kwargs: dict | None = None,
                 add_out_act: bool | str = "sigmoid", max_features: int = 1024,
                 encoder_ngf: int | None = None) -> None:
        super().__init__()
        init_conv_kwargs = init_conv_kwargs or {"ratio_gin": 0, "ratio_gout": 0}
        downsample_conv_kwargs = downsample_conv_kwargs or {"ratio_gin": 0, "ratio_gout": 0}
        resnet_conv_kwargs = resnet_conv_kwargs or {"ratio_gin": 0.75, "ratio_gout": 0.75}
        width = lambda mult: min(max_features, int(ngf * mult))  # noqa: E731
        # encoder_ngf (not upstream's): the stem and downsampling widths before the bottleneck (own_wide control)
        encoder_width = lambda mult: min(max_features, int((encoder_ngf or ngf) * mult))  # noqa: E731

        model: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            FFC_BN_ACT(input_nc, encoder_width(1), kernel_size=7, padding=0, norm_layer=norm_layer,
                       activation_layer=activation_layer, **init_conv_kwargs),
        ]
        for i in range(n_downsampling):
            kwargs = dict(downsample_conv_kwargs)
            last = i == n_downsampling - 1
            if last:  # the last one opens the global branch for the FFC blocks
                kwargs["ratio_gout"] = resnet_conv_kwargs.get("ratio_gin", 0)
            out_channels = width(2 ** (i + 1)) if last else encoder_width(2 ** (i + 1))
            model.append(FFC_BN_ACT(encoder_width(2**i), out_channels, kernel_size=3, stride=2, padding=1,
                                    norm_layer=norm_layer, activation_layer=activation_layer, **kwargs))
        bottleneck = width(2**n_downsampling)
        model += [FFCResnetBlock(bottleneck, padding_type=padding_type, activation_layer=activation_layer,
                                 norm_layer=norm_layer, **resnet_conv_kwargs) for _ in range(n_blocks)]
        model.append(ConcatTupleLayer())
        for i in range(n_downsampling):
            mult = 2 ** (n_downsampling - i)
            model += [nn.ConvTranspose2d(width(mult), width(mult / 2), kernel_size=3, stride=2, padding=1,
                                         output_padding=1),
                      nn.BatchNorm2d(width(mult / 2)), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7)]
        if add_out_act:
            model.append(nn.Sigmoid() if add_out_act == "sigmoid" else nn.Tanh())
        self.model = nn.Sequential(*model)
        self.input_nc, self.n_downsampling = input_nc, n_downsampling

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``(B, input_nc, H, W)`` -> ``(B, output_nc, H, W)``, for any H, W >= ``min_size``.

        Sizes that are not multiples of ``2 ** n_downsampling`` are padded at the bottom / right (numpy's
        'symmetric' mode, as upstream's dataset does with ``pad_out_to_modulo``) and the output is cropped back to
        the input's size (as upstream's ``predict.py`` does); multiples run unpadded, exactly like upstream.
        """
        padded, (height, width) = self.pad_input(x)
        return self.model(padded)[..., :height, :width]

    @property
    def min_size(self) -> int:
        """The smallest side: the bottleneck's reflection padding needs 2 cells."""
        return 2 ** (self.n_downsampling + 1)

    def pad_input(self, x: Tensor) -> tuple[Tensor, tuple[int, int]]:
        """Checks ``x`` against the generator's rules; returns it padded to a multiple of ``2 ** n_downsampling``
        and its original ``(H, W)``."""
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != self.input_nc:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"LaMa input must be cat(img * (1 - mask), mask) of shape (B, {self.input_nc}, H, W), "
                             f"got {got}")
        height, width = x.shape[-2:]
        if min(height, width) < self.min_size:
            raise ValueError(f"LaMa with {self.n_downsampling} downsamplings needs H and W >= {self.min_size} "
                             f"(2 ** (n_downsampling + 1)), got {height}x{width}")
        return pad_symmetric(x, 2**self.n_downsampling), (height, width)


def pad_symmetric(x: Tensor, multiple: int) -> Tensor:
    """``x`` padded at the bottom and right to multiples of ``multiple`` by mirroring its edge rows / columns
    (numpy's 'symmetric' mode: the edge pixel is repeated); unchanged when already a multiple."""
    pad_h, pad_w = -x.shape[-2] % multiple, -x.shape[-1] % multiple
    if pad_h:
        x = torch.cat([x, x.flip(-2)[..., :pad_h, :]], dim=-2)
    if pad_w:
        x = torch.cat([x, x.flip(-1)[..., :pad_w]], dim=-1)
    return x


__all__ = ["FFC", "FFC_BN_ACT", "ConcatTupleLayer", "FFCResNetGenerator", "FFCResnetBlock", "FourierUnit",
           "SpectralTransform", "pad_symmetric"]
