"""``replace_encoder``: MEDFE with the TSGL encoder in place of ``netEN``, i.e. TSGL(MEDFE).

The TSGL encoder's pyramid has exactly the shapes of ``netEN``'s six maps, so no projection is needed: the
swap keeps MEDFE's ``pc_block`` and decoder and feeds them the pyramid. Two differences between MEDFE and
the official TSGL(MEDFE) remain options:

* ``decoder_norm``: MEDFE's decoder uses affine InstanceNorm, the official TSGL(MEDFE) decoder affine
  BatchNorm. ``"keep"`` (default) keeps MEDFE's blocks; ``"batch"`` / ``"instance"`` rebuild the norms with the
  transposed convs and the affine weights carried over (new BatchNorm statistics start at 0 / 1: fine-tune);
* ``softmax_over``: the equalisation's affinity softmax, over the 9 neighbours (MEDFE) or over the positions
  (official TSGL(MEDFE)); ``"keep"`` keeps the model's.

With ``decoder_norm="batch"``, ``softmax_over="positions"`` and the default ``tsgl_base`` encoder the result
is exactly ``create_generator("tsgl_medfe")`` (same modules, names and shapes). The swap returns a new
:class:`~adapters.medfe.tsgl_medfe.TSGLMEDFEGenerator` that shares ``pc_block`` (and, when kept, the decoder
blocks) with the MEDFE model; the MEDFE model itself is not changed.
"""

from __future__ import annotations

from torch import nn

from tsgl_encoder import TSGLEncoder

from .equalisation import SOFTMAX_AXES
from .tsgl_medfe import TSGLMEDFEGenerator
from .unet import NORMS, DecoderBlock, decoder_blocks


def _decoder_norm(model: nn.Module) -> str:
    return "instance" if isinstance(model.netDE.Decoder_1.model[2], nn.InstanceNorm2d) else "batch"


def _rebuilt_decoder(model: nn.Module, ngf: int, norm: str) -> dict[str, nn.Module]:
    blocks = decoder_blocks(ngf, model.netDE.Decoder_6.model[1].out_channels, norm)
    for name, block in blocks.items():
        old: DecoderBlock = getattr(model.netDE, name)
        block.model[1].load_state_dict(old.model[1].state_dict())
        if not isinstance(block.model[2], nn.Tanh):
            block.model[2].weight.data.copy_(old.model[2].weight.data)
            block.model[2].bias.data.copy_(old.model[2].bias.data)
    reference = next(model.parameters())
    return {name: block.to(reference.device, reference.dtype) for name, block in blocks.items()}


def replace_encoder(model: nn.Module, encoder: TSGLEncoder | None = None, decoder_norm: str = "keep",
                    softmax_over: str = "keep", priors: str = "masked") -> TSGLMEDFEGenerator:
    """The TSGL(MEDFE) generator made of ``model``'s ``pc_block`` and decoder and a TSGL ``encoder`` (default
    ``tsgl_base``); options as in the module docstring. ``model``: a MEDFE generator (``netEN``, ``netMEDFE``,
    ``netDE``); it is left unchanged."""
    required = ("netEN", "netMEDFE", "netDE")
    missing = [name for name in required if not isinstance(getattr(model, name, None), nn.Module)]
    if missing or not isinstance(getattr(model.netMEDFE, "pc_block", None), nn.Module):
        raise TypeError(f"replace_encoder expects a MEDFE generator (netEN, netMEDFE.pc_block, netDE); "
                        f"{type(model).__name__} lacks {missing or ['netMEDFE.pc_block']}")
    if decoder_norm not in ("keep", *NORMS):
        raise ValueError(f"decoder_norm must be one of {('keep', *NORMS)}, got {decoder_norm!r}")
    if softmax_over not in ("keep", *SOFTMAX_AXES):
        raise ValueError(f"softmax_over must be one of {('keep', *SOFTMAX_AXES)}, got {softmax_over!r}")
    pc_block = model.netMEDFE.pc_block
    ngf = pc_block.up_128.conv.out_channels
    norm = _decoder_norm(model) if decoder_norm == "keep" else decoder_norm
    axis = pc_block.base.softmax_over if softmax_over == "keep" else softmax_over
    if norm == _decoder_norm(model):
        decoder = {f"Decoder_{k}": getattr(model.netDE, f"Decoder_{k}") for k in range(1, 7)}
    else:
        decoder = _rebuilt_decoder(model, ngf, norm)
    reference = next(model.parameters())
    if encoder is not None:
        encoder = encoder.to(reference.device, reference.dtype)
    swapped = TSGLMEDFEGenerator(encoder, ngf, norm, axis, priors=priors, pc_block=pc_block, decoder=decoder)
    return swapped.to(reference.device, reference.dtype).train(model.training)


def parameters_by_part(model: nn.Module) -> dict[str, int]:
    """Parameter counts of a MEDFE or TSGL(MEDFE) generator: encoder, ``pc_block``, decoder, training heads
    (MEDFE's ``InnerCos``, TSGL(MEDFE)'s structure head)."""
    parts = {"encoder": 0, "pc_block": 0, "decoder": 0, "training heads": 0}
    for name, param in model.named_parameters():
        part = ("encoder" if name.startswith(("netEN.", "encoder.")) else
                "pc_block" if name.startswith(("pc_block.", "netMEDFE.pc_block.")) else
                "decoder" if name.startswith(("netDE.", "Decoder_")) else "training heads")
        parts[part] += param.numel()
    return parts


__all__ = ["parameters_by_part", "replace_encoder"]
