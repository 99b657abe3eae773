"""MEDFE (Liu et al., ECCV 2020, KumapowerLIU/Rethinking-Inpainting-MEDFE) as one module.

Upstream keeps three networks, each with its own checkpoint: ``netEN`` (:class:`~adapters.medfe.unet.Encoder`),
``netMEDFE`` (:class:`PCblock`: the mutual encoder-decoder block :class:`~adapters.medfe.pcconv.PCconv` plus the
``InnerCos`` head of its training loss) and ``netDE`` (:class:`~adapters.medfe.unet.Decoder`). Here they are the
submodules of the same names, so upstream's three state_dicts load strictly into them.

Conventions: this library's (image in [-1, 1], mask 1 = known, any size that is a multiple of 64, at least
192 with the default dilation 2: the residual blocks reflect-pad the 1/64 map). Upstream's
``set_input`` fills the holes with the colour (123, 104, 117) / 255 in [-1, 1] and feeds ``cat(filled image,
3-channel known mask)``; its mask is 1 = hole and only the first sample's mask is used for the whole batch
(upstream trains with batch 1). Here every sample uses its own mask. The output is the raw generator output
(``Tanh``), not composited, as upstream's ``forward``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from tsgl_encoder import SizeRule

from .inputs import SIZE_DIVISOR, SMALLEST, check_inputs
from .pcconv import PCconv
from .unet import Decoder, Encoder

FILL_COLOUR = (123.0, 104.0, 117.0)  # upstream's hole colour, in 0..255


class InnerCos(nn.Module):
    """Upstream ``InnerCos`` without its loss state: a 1x1 conv + Tanh mapping ``x_ST_fi`` / ``x_DE_fi`` to 3
    channels; MEDFE's training puts an L1 between them and the RTV image / ground truth resized (bilinear) to
    the grid (input / 8)."""

    def __init__(self, channels: int = 256) -> None:
        super().__init__()
        self.down_model = nn.Sequential(nn.Conv2d(channels, 3, kernel_size=1), nn.Tanh())

    def forward(self, x: Tensor) -> Tensor:
        return self.down_model(x)


class PCblock(nn.Module):
    """Upstream ``networks.PCblock`` (``netMEDFE``): ``pc_block`` (:class:`PCconv`) and ``loss.0``
    (:class:`InnerCos`)."""

    def __init__(self, ngf: int = 64, softmax_over: str = "neighbours") -> None:
        super().__init__()
        self.pc_block = PCconv(ngf, softmax_over)
        self.loss = nn.Sequential(InnerCos(4 * ngf))

    def forward(self, inputs: list[Tensor], mask: Tensor | None = None) -> list[Tensor]:
        return self.pc_block(inputs, mask)

    def forward_with_inner(self, inputs: list[Tensor]) -> tuple[list[Tensor], tuple[Tensor, Tensor]]:
        """The equalised maps and the ``InnerCos`` predictions ``(structure, texture)``, 3 channels at the grid."""
        out, (de_fi, st_fi) = self.pc_block.forward_with_groups(inputs)
        return out, (self.loss[0](st_fi), self.loss[0](de_fi))


class MEDFEGenerator(nn.Module):
    """MEDFE's generator: ``model(image, mask)`` -> the raw output in [-1, 1] (``Tanh``).

    ``ngf`` scales every width (64 upstream), ``dilation`` the encoder's residual blocks (2; see
    :class:`~adapters.medfe.unet.ResnetBlock`),
    ``softmax_over`` the equalisation's affinity softmax (``"neighbours"``: MEDFE's). Parameters: 130,316,070
    with ``ngf = 64``.
    """

    validate_inputs: bool = True

    def __init__(self, ngf: int = 64, dilation: int = 2, softmax_over: str = "neighbours", norm: str = "instance"
                 ) -> None:
        super().__init__()
        self.netEN = Encoder(6, ngf, norm=norm, dilation=dilation)
        self.netMEDFE = PCblock(ngf, softmax_over)
        self.netDE = Decoder(ngf, 3, norm)

    def encoder_input(self, image: Tensor, mask: Tensor) -> Tensor:
        """Upstream's ``netEN`` input: holes filled with :data:`FILL_COLOUR`, then the known mask on 3 channels."""
        colour = image.new_tensor(FILL_COLOUR).view(1, 3, 1, 1) * (2.0 / 255.0) - 1.0
        filled = torch.where(mask.bool(), image, colour)
        return torch.cat([filled, mask.expand(-1, 3, -1, -1)], dim=1)

    @property
    def dilation(self) -> int:
        """The residual blocks' dilation (they reflect-pad the 1/64 map by it)."""
        return self.netEN.middle[0].conv_block[0].padding[0] if len(self.netEN.middle) else 0

    @property
    def smallest_size(self) -> int:
        return max(SMALLEST, 64 * (self.dilation + 1))

    @property
    def size_rule(self) -> SizeRule:
        """The sizes ``tsgl_encoder.inpaint`` runs it at (trained at 256x256)."""
        return SizeRule(SIZE_DIVISOR, self.smallest_size, 256)

    def _check(self, image: Tensor, mask: Tensor) -> Tensor:
        mask = check_inputs(self, image, mask)
        smallest, dilation = self.smallest_size, self.dilation
        if min(image.shape[-2:]) < smallest:
            raise ValueError(f"image height and width must be at least {smallest} for MEDFE (its residual blocks "
                             f"reflect-pad the 1/64 map by {dilation}), got {image.shape[-2]}x{image.shape[-1]}")
        return mask

    def forward_with_inner(self, image: Tensor, mask: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """The output and the ``InnerCos`` predictions ``(structure, texture)`` for MEDFE's training loss."""
        mask = self._check(image, mask)
        maps = self.netEN(self.encoder_input(image, mask))
        equalised, inner = self.netMEDFE.forward_with_inner(maps)
        return self.netDE(equalised), inner

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        mask = self._check(image, mask)
        maps = self.netEN(self.encoder_input(image, mask))
        return self.netDE(self.netMEDFE(maps))


__all__ = ["FILL_COLOUR", "InnerCos", "MEDFEGenerator", "PCblock"]
