"""The official TSGL(MEDFE) generator (``TSGL_MEDFE/test/model.py`` ``Generator``), built from this library's parts.

TSGL ("Thinking inside the Convolution for Image Inpainting: Reconstructing Texture via Structure under Global
and Local Side", arXiv 2602.03013) replaces MEDFE's encoder ``netEN`` by the TSGL encoder (structure stream,
texture stream, global + local reconstruction, pyramid with cross-layer balance; preset ``tsgl_base``). Its six
pyramid levels have exactly the shapes of ``netEN``'s maps and go through MEDFE's ``pc_block``
(:class:`~adapters.medfe.pcconv.PCconv`, affinity softmax over the positions) and the UNet decoder
``Decoder_1..6`` with BatchNorm. ``forward`` returns the decoder's ``Tanh`` output, as the official one.

Inference part: 138,331,611 parameters (encoder 38,042,744, ``pc_block`` 82,190,368, decoder 18,098,499).
``structure_head=True`` adds the official structure decoder used only by its training loss
(:mod:`~adapters.medfe.structure_head`, 53,539,009 parameters), reachable through :meth:`forward_with_edges`.

Priors: ``priors="masked"`` (default) computes edge, gray and the smoothed image from the masked image;
``priors="official"`` reproduces the official test pipeline from the **unmasked** image, which leaks the
ground truth into the input (:mod:`~adapters.medfe.priors`). Passed ``edge`` / ``gray`` / ``smooth`` win.
"""

from __future__ import annotations

from torch import Tensor, nn

from tsgl_encoder import SizeRule, TSGLEncoder, create_encoder

from .inputs import SIZE_DIVISOR, SMALLEST, check_inputs
from .pcconv import PCconv
from .priors import PRIORS, compute_priors
from .structure_head import StructureHead
from .unet import decoder_blocks, unet_decode


def pyramid_channels(ngf: int) -> tuple[int, ...]:
    """The six widths MEDFE's ``pc_block`` reads: ``ngf * (1, 2, 4, 8, 8, 8)``."""
    return tuple(ngf * k for k in (1, 2, 4, 8, 8, 8))


class TSGLMEDFEGenerator(nn.Module):
    """``model(image, mask, edge=None, gray=None, smooth=None, priors=None)`` -> the image in [-1, 1].

    ``encoder``: a :class:`TSGLEncoder` whose pyramid has the widths ``ngf * (1, 2, 4, 8, 8, 8)`` at
    reductions 2 .. 64, or a preset's name (built with those widths; default ``tsgl_base``, ``ngf = 64``);
    ``decoder_norm`` ``"batch"`` (official) or ``"instance"`` (MEDFE's); ``softmax_over`` ``"positions"``
    (official) or ``"neighbours"`` (MEDFE's);
    ``priors`` the default of :meth:`forward`'s argument; ``pc_block`` / ``decoder`` (``{"Decoder_1": ..}``)
    reuse existing modules (:func:`~adapters.medfe.swap.replace_encoder`). Module names are the official
    ones (``encoder`` holds the library's names; :mod:`adapters.medfe.checkpoint` maps official files).
    """

    validate_inputs: bool = True
    size_rule = SizeRule(SIZE_DIVISOR, SMALLEST, 256)  # what tsgl_encoder.inpaint runs it at (trained at 256)

    def __init__(self, encoder: TSGLEncoder | str | None = None, ngf: int = 64, decoder_norm: str = "batch",
                 softmax_over: str = "positions", structure_head: bool = False, priors: str = "masked",
                 pc_block: PCconv | None = None, decoder: dict[str, nn.Module] | None = None) -> None:
        super().__init__()
        if priors not in PRIORS:
            raise ValueError(f"priors must be one of {PRIORS}, got {priors!r}")
        expected = pyramid_channels(ngf)
        if encoder is None or isinstance(encoder, str):  # a preset, its pyramid at MEDFE's widths
            encoder = create_encoder(encoder or "tsgl_base", pyramid_channels=expected)
        if not isinstance(encoder, TSGLEncoder):
            raise TypeError(f"encoder must be a TSGLEncoder, a preset name or None, got {type(encoder).__name__}")
        if tuple(encoder.out_channels) != expected or tuple(encoder.reductions) != (2, 4, 8, 16, 32, 64):
            raise ValueError(f"encoder must give {expected} channels at reductions (2, 4, 8, 16, 32, 64) for "
                             f"ngf={ngf}, got {tuple(encoder.out_channels)} at {tuple(encoder.reductions)}")
        self.priors = priors
        self.softmax_over = softmax_over
        self.encoder = encoder
        self.pc_block = PCconv(ngf, softmax_over) if pc_block is None else pc_block
        for name, block in (decoder_blocks(ngf, 3, decoder_norm) if decoder is None else decoder).items():
            self.add_module(name, block)
        self.structure_head = None
        if structure_head:
            deepest = encoder.config.structure_channels[-1]
            if deepest % 16:
                raise ValueError(f"structure_head needs a deepest structure width divisible by 16, got {deepest}")
            self.structure_head = StructureHead(deepest // 16)

    def _decode(self, image: Tensor, mask: Tensor, edge: Tensor | None, gray: Tensor | None,
                smooth: Tensor | None, priors: str | None, with_edges: bool
                ) -> tuple[Tensor, Tensor | None, tuple[Tensor, Tensor]]:
        given = {"edge": edge, "gray": gray, "smooth": smooth}
        mask = check_inputs(self, image, mask, given)
        with_smooth = self.encoder.config.smooth_input
        edge, gray, smooth = compute_priors(image, priors or self.priors, edge, gray, smooth, with_smooth)
        smooth = smooth if with_smooth else None
        features = self.encoder.forward_features(image, mask, edge, gray, smooth)
        # the mask has no effect inside pc_block; the groups feed MEDFE's InnerCos loss in training
        maps, groups = self.pc_block.forward_with_groups(features.pyramid, 1 - mask, self.softmax_over)
        output = unet_decode(self, maps)
        if not with_edges:
            return output, None, groups
        if self.structure_head is None:
            raise ValueError("forward_with_edges needs the structure head: build with structure_head=True")
        edges = self.structure_head(features.structure[-1], features.structure_mask, tuple(image.shape[-2:]))
        return output, edges, groups

    def forward(self, image: Tensor, mask: Tensor, edge: Tensor | None = None, gray: Tensor | None = None,
                smooth: Tensor | None = None, priors: str | None = None) -> Tensor:
        """The inpainted image (raw ``Tanh`` output, not composited); ``priors`` overrides :attr:`priors`."""
        return self._decode(image, mask, edge, gray, smooth, priors, with_edges=False)[0]

    def forward_with_groups(self, image: Tensor, mask: Tensor, edge: Tensor | None = None, gray: Tensor | None = None,
                            smooth: Tensor | None = None, priors: str | None = None
                            ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``(image, (x_DE_fi, x_ST_fi))``: the output and the equalisation's texture and structure groups at the
        grid (input / 8), which MEDFE's ``InnerCos`` training loss reads."""
        output, _, groups = self._decode(image, mask, edge, gray, smooth, priors, with_edges=False)
        return output, groups

    def forward_with_edges(self, image: Tensor, mask: Tensor, edge: Tensor | None = None,
                           gray: Tensor | None = None, smooth: Tensor | None = None, priors: str | None = None
                           ) -> tuple[Tensor, Tensor]:
        """``(image, edges)``: the output and the structure head's edge map (official ``train/model.py``)."""
        output, edges, _ = self._decode(image, mask, edge, gray, smooth, priors, with_edges=True)
        assert edges is not None
        return output, edges


def tsgl_medfe(structure_head: bool = False, **overrides) -> TSGLMEDFEGenerator:
    """The official configuration (``tsgl_base`` encoder, ``ngf`` 64, BatchNorm decoder, softmax over positions)."""
    return TSGLMEDFEGenerator(structure_head=structure_head, **overrides)


__all__ = ["TSGLMEDFEGenerator", "pyramid_channels", "tsgl_medfe"]
