"""MEDFE's ``PCconv`` (upstream ``models/PCconv.py``; the official TSGL(MEDFE) ``pcconv_cross.py``): the mutual
encoder-decoder block between any six-level encoder and the UNet decoder.

With ``ngf = 64`` and a 256x256 image, the six encoder maps are 64@128, 128@64, 256@32, 512@16, 512@8, 512@4.
Here every size follows the input: the working grid is the third map's (input / 8).

1. LeakyReLU on the six maps; ``down_128`` / ``down_64`` / ``down_32`` bring the three fine ones to the grid,
   the shared 1x1 ``up`` the three coarse ones (bilinear resize). The fine ones form the **texture** group
   (``x_DE``), the coarse ones the **structure** group (``x_ST``); the 1x1 ``down`` reduces each to 256 ch.
2. Each group is filled by three stacks of five partial convolutions (kernels 3, 5, 7; ``cov_3/5/7``,
   shared by the two groups) and reduced again by ``down``: ``x_DE_fi`` and ``x_ST_fi`` (the maps MEDFE's
   ``InnerCos`` loss compares with the ground truth and the RTV-smoothed image).
3. ``fuse`` + :class:`~adapters.medfe.equalisation.BASE` (feature equalisation), then the result is brought
   back to every level (``up_128/64/32``, ``down_16/8/4``) and added to the raw encoder maps.

**The mask has no effect**, upstream and in the official TSGL code alike: the hole mask is reduced by three
4x4 average pools and compared with ``> 1`` (``util.cal_feat_mask``), which is never true, so the partial
convolutions always see an all-ones mask. Their ``mask_conv`` weights are not all ones either: upstream's
``init_weights`` re-initialises them N(0, 0.02) and checkpoints store them, so each partial convolution
divides by a fixed map, ``mask_conv(ones)``. This is reproduced; the ``mask`` argument is accepted for
upstream's call signature and ignored.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tsgl_encoder.layers.inference_cache import derived

from .equalisation import BASE


class PartialConv(nn.Module):
    """Upstream ``PartialConv``: ``conv(x * m) / mask_conv(m)`` (0 where the divisor is 0), frozen ``mask_conv``.

    ``mask=None`` is the all-ones mask of every call inside :class:`PCconv`: the divisor is then one fixed
    ``(1, C, H, W)`` map (no per-sample mask conv; cached in inference). Returns the output and the next mask
    (``None`` while it stays all ones).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 bias: bool = True) -> None:
        super().__init__()
        self.input_conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=bias)
        self.mask_conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        nn.init.constant_(self.mask_conv.weight, 1.0)
        self.mask_conv.weight.requires_grad_(False)

    def divisor(self, mask: Tensor | None, like: Tensor) -> Tensor:
        """``mask_conv(mask)``, computed as upstream does (a conv of the mask in float32, or float64 for
        float64 inputs): its float32 rounding is part of upstream's outputs (small divisors magnify it to ~2e-4
        relative with random weights), so it is reproduced rather than computed more exactly. The all-ones
        case is a fixed map, cached in inference."""
        weight = self.mask_conv.weight
        dtype = torch.float64 if like.dtype == torch.float64 else torch.float32
        stride, padding = self.mask_conv.stride, self.mask_conv.padding
        if mask is not None:
            return F.conv2d(mask.to(dtype), weight.detach().to(dtype), stride=stride, padding=padding)
        height, width = like.shape[-2:]

        def compute() -> Tensor:
            ones = torch.ones(1, weight.shape[1], height, width, dtype=dtype, device=like.device)
            return F.conv2d(ones, weight.detach().to(dtype), stride=stride, padding=padding)

        return derived(self, f"divisor_{height}x{width}_{dtype}_{like.device}", (weight,), compute)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        output = self.input_conv(x if mask is None else x * mask)
        bias = self.input_conv.bias
        if bias is not None:
            output = output - bias.view(1, -1, 1, 1)
        divisor = self.divisor(mask, x)
        holes = divisor == 0
        # the division in the divisor's precision (float32 at least), so bfloat16 runs round once, not twice
        output = torch.where(holes, 0.0, output.to(divisor.dtype) / divisor.masked_fill(holes, 1.0)).to(output.dtype)
        if bias is not None:
            output = torch.where(holes, 0.0, output + bias.view(1, -1, 1, 1))
        # no holes without a mask: None, as upstream; an exported graph cannot read the values to decide, so it
        # returns the all-ones mask, which the next partial conv treats exactly as None
        if mask is None and not torch.compiler.is_exporting() and not bool(holes.any()):
            return output, None
        return output, (~holes).to(output.dtype).expand_as(output)


class PCBActiv(nn.Module):
    """Upstream ``PCBActiv`` as ``PCconv`` builds it (``innorm=True``): partial conv (no bias) -> InstanceNorm
    (affine) -> LeakyReLU(0.2); ``kernel_size`` 3, 5 or 7 at stride 1."""

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = PartialConv(channels, channels, kernel_size, 1, kernel_size // 2, bias=False)
        self.bn = nn.InstanceNorm2d(channels, affine=True)
        self.activation = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        x, mask = self.conv(x, mask)
        return self.activation(self.bn(x)), mask


class ConvDown(nn.Module):
    """Upstream ``ConvDown`` for the shapes ``PCconv`` uses: ``(conv, InstanceNorm, LeakyReLU)`` per width step,
    the last LeakyReLU dropped when ``activ=False``. ``widths``: channels from input to output."""

    def __init__(self, widths: tuple[int, ...], kernel: int, stride: int, padding: int = 0,
                 activ: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(widths):
            layers += [nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False), nn.InstanceNorm2d(c_out),
                       nn.LeakyReLU(0.2)]
        self.model = nn.Sequential(*(layers if activ else layers[:-1]))

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class ConvUp(nn.Module):
    """Upstream ``ConvUp``: bilinear resize to ``size`` -> 1x1 conv -> InstanceNorm -> LeakyReLU(0.2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.InstanceNorm2d(out_channels)
        self.relu = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x: Tensor, size: tuple[int, int]) -> Tensor:
        return self.relu(self.bn(self.conv(F.interpolate(x, size=size, mode="bilinear"))))


class PCconv(nn.Module):
    """MEDFE's mutual encoder-decoder block with feature equalisation (module names as upstream).

    ``ngf`` scales every width (64 upstream: inputs 64, 128, 256, 512, 512, 512 channels);
    ``softmax_over``: the equalisation's affinity softmax (``"positions"``: the official TSGL(MEDFE) code,
    ``"neighbours"``: MEDFE). :meth:`forward` returns the six equalised maps (shapes of the inputs);
    :meth:`forward_with_groups` also the texture and structure maps ``(x_DE_fi, x_ST_fi)`` at the grid.
    """

    def __init__(self, ngf: int = 64, softmax_over: str = "positions") -> None:
        super().__init__()
        c1, c2, c4, c8 = ngf, 2 * ngf, 4 * ngf, 8 * ngf
        self.down_128 = ConvDown((c1, c2, c4), 4, 2, 1)
        self.down_64 = ConvDown((c2, c4), 4, 2, 1)
        self.down_32 = ConvDown((c4, c4), 1, 1)
        self.down_16 = ConvDown((c8, c8), 4, 2, 1, activ=False)
        self.down_8 = ConvDown((c8, c8, c8), 4, 2, 1, activ=False)
        self.down_4 = ConvDown((c8, c8, c8, c8), 4, 2, 1, activ=False)
        self.down = ConvDown((3 * c4, c4), 1, 1)
        self.fuse = ConvDown((c8, c8), 1, 1)
        self.up = ConvUp(c8, c4)
        self.up_128 = ConvUp(c8, c1)
        self.up_64 = ConvUp(c8, c2)
        self.up_32 = ConvUp(c8, c4)
        self.base = BASE(c8, softmax_over)
        self.cov_3 = nn.ModuleList(PCBActiv(c4, 3) for _ in range(5))
        self.cov_5 = nn.ModuleList(PCBActiv(c4, 5) for _ in range(5))
        self.cov_7 = nn.ModuleList(PCBActiv(c4, 7) for _ in range(5))
        self.activation = nn.LeakyReLU(negative_slope=0.2)

    @staticmethod
    def _stack(layers: nn.ModuleList, x: Tensor) -> Tensor:
        mask = None  # the feature mask upstream derives from the hole mask is all ones (module docstring)
        for layer in layers:
            x, mask = layer(x, mask)
        return x

    def forward_with_groups(self, inputs: list[Tensor], mask: Tensor | None = None, softmax_over: str | None = None
                            ) -> tuple[list[Tensor], tuple[Tensor, Tensor]]:
        """The six equalised maps and ``(x_DE_fi, x_ST_fi)``. ``mask`` has no effect (module docstring)."""
        if len(inputs) != 6:
            raise ValueError(f"PCconv expects the 6 encoder maps, got {len(inputs)}")
        grid = tuple(inputs[2].shape[-2:])
        x = [self.activation(level) for level in inputs]
        texture = torch.cat([self.down_128(x[0]), self.down_64(x[1]), self.down_32(x[2])], dim=1)
        structure = torch.cat([self.up(level, grid) for level in x[3:]], dim=1)
        batch = inputs[0].shape[0]
        both = torch.cat([self.down(texture), self.down(structure)], dim=0)  # one pass for the two groups
        filled = torch.cat([self._stack(stack, both) for stack in (self.cov_3, self.cov_5, self.cov_7)], dim=1)
        de_fi, st_fi = self.down(filled).unflatten(0, (2, batch)).unbind(0)  # the two groups apart again
        final = self.base(self.fuse(torch.cat([st_fi, de_fi], dim=1)), softmax_over)
        out = [self.up_128(final, tuple(inputs[0].shape[-2:])) + inputs[0],
               self.up_64(final, tuple(inputs[1].shape[-2:])) + inputs[1],
               self.up_32(final, grid) + inputs[2],
               self.down_16(final) + inputs[3], self.down_8(final) + inputs[4], self.down_4(final) + inputs[5]]
        return out, (de_fi, st_fi)

    def forward(self, inputs: list[Tensor], mask: Tensor | None = None, softmax_over: str | None = None
                ) -> list[Tensor]:
        """Upstream's ``pc_block(inputs, mask)``: the six equalised maps (``mask`` has no effect)."""
        return self.forward_with_groups(inputs, mask, softmax_over)[0]


__all__ = ["ConvDown", "ConvUp", "PCBActiv", "PCconv", "PartialConv"]
