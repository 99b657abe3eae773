"""``replace_encoder``: one TSGL encoder in place of CTSDG's two partial-conv encoders.

CTSDG's decoders read 8 levels per branch: the masked input (level 0) and the outputs of
``ec_<branch>_1..7`` (64, 128, 256, 512, 512, 512, 512 channels at 1/2 .. 1/128), each with a
C-channel partial-conv mask. The TSGL encoder already reads the image and the edge + gray input;
per-branch 1x1 convs (+ BN + ReLU, like the replaced ``PConvBNActiv``) map its pyramid levels at
1/2 .. 1/64 onto the skip widths, and a stride-2 3x3 conv of its deepest level gives 1/128. The skip
masks follow CTSDG's rule (a position is known if its window saw a known pixel), computed from the
input mask with the replaced encoders' kernels, so the decoders see the masks they were built for.
"""

from __future__ import annotations

import types

from torch import Tensor, nn

from tsgl_encoder import TSGLEncoder, create_encoder
from tsgl_encoder.layers import mask_update

from .generator import Levels, check_inputs, generate

SKIPS = ((64, 7), (128, 5), (256, 5), (512, 3), (512, 3), (512, 3), (512, 3))  # (channels, kernel) of ec_*_1..7
REDUCTIONS = (2, 4, 8, 16, 32, 64)
_REQUIRED = ("texture_feature_projection", "structure_feature_projection", "bigff", "fusion_layer1", "cfa",
             "fusion_layer2", "out_layer")


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(True))


class TSGLSkipEncoder(nn.Module):
    """TSGL pyramid -> CTSDG's 8 ``(features, mask)`` levels for the texture and the structure branch."""

    def __init__(self, encoder: TSGLEncoder) -> None:
        super().__init__()
        if tuple(encoder.reductions[:6]) != REDUCTIONS:
            raise ValueError(f"the TSGL encoder must have levels at reductions {REDUCTIONS}, got {encoder.reductions}")
        self.encoder = encoder
        for branch in ("texture", "structure"):
            widths = zip(encoder.out_channels[:6], SKIPS[:6], strict=True)
            heads = [_conv_bn_relu(c_in, c, 1, 1) for c_in, (c, _) in widths]
            heads.append(_conv_bn_relu(encoder.out_channels[5], SKIPS[6][0], 3, 2))  # 1/64 -> 1/128
            self.add_module(f"{branch}_heads", nn.ModuleList(heads))

    @staticmethod
    def skip_masks(mask: Tensor) -> list[Tensor]:
        """1-channel masks at 1/2 .. 1/128 by the partial-conv rule of ``ec_*_1..7``."""
        masks = []
        for _, kernel in SKIPS:
            mask, _ = mask_update(mask, kernel, 2, kernel // 2)
            masks.append(mask)
        return masks

    def forward(self, input_image: Tensor, input_edge: Tensor, mask: Tensor) -> tuple[Levels, Levels]:
        pyramid = self.encoder(input_image, mask, edge=input_edge[:, :1], gray=input_edge[:, 1:2])
        levels = [*pyramid[:6], pyramid[5]]
        masks = self.skip_masks(mask)
        outputs = []
        for branch, raw in (("texture", input_image), ("structure", input_edge)):
            heads = getattr(self, f"{branch}_heads")
            skips = [(raw, mask.expand(-1, raw.shape[1], -1, -1))]
            for head, level, level_mask, (channels, _) in zip(heads, levels, masks, SKIPS, strict=True):
                skips.append((head(level), level_mask.expand(-1, channels, -1, -1)))
            outputs.append(skips)
        return outputs[0], outputs[1]


def _forward_with_tsgl(self: nn.Module, input_image: Tensor, input_edge: Tensor, mask: Tensor):
    """CTSDG's forward with the TSGL encoder: same signature, same rules (:func:`check_inputs`), same three outputs."""
    check_inputs(input_image, input_edge, mask)
    textures, structures = self.tsgl_encoder(input_image, input_edge, mask)
    return generate(self, textures, structures)


def replace_encoder(model: nn.Module, encoder: TSGLEncoder | None = None) -> nn.Module:
    """Replaces ``ec_texture_1..7`` and ``ec_structure_1..7`` of a CTSDG generator by one TSGL encoder.

    Works on this library's ``Generator`` and on upstream's (duck-typed on the module names); the
    decoders, BiGFF, CFA, heads, the call signature and conventions are kept. Default encoder:
    ``tsgl_base``. Returns the same ``model``.
    """
    names = [f"{kind}_{branch}_{i}" for kind in ("ec", "dc") for branch in ("texture", "structure")
             for i in range(1, 8)]
    missing = [n for n in (*names, *_REQUIRED) if not isinstance(getattr(model, n, None), nn.Module)]
    if hasattr(model, "tsgl_encoder"):
        raise TypeError("this CTSDG model already has a TSGL encoder")
    if missing:
        raise TypeError(f"replace_encoder expects a CTSDG Generator; {type(model).__name__} lacks {missing[:4]}")
    if encoder is None:
        encoder = create_encoder("tsgl_base")
    elif not isinstance(encoder, TSGLEncoder):
        raise TypeError(f"encoder must be a TSGLEncoder or None, got {type(encoder).__name__}")
    reference = next(model.parameters())
    bridged = TSGLSkipEncoder(encoder).to(device=reference.device, dtype=reference.dtype)  # validates first ...
    for name in names[:14]:  # ... then changes the model: a failed swap leaves it as it was
        delattr(model, name)
    model.tsgl_encoder = bridged.train(model.training)  # the swapped-in part follows the model's mode
    model.forward = types.MethodType(_forward_with_tsgl, model)
    return model


def parameters_by_part(model: nn.Module) -> dict[str, int]:
    """Parameter counts of a (swapped or original) CTSDG generator: encoder(s), decoders, fusion and heads."""
    parts = {"encoder": 0, "decoders": 0, "fusion and heads": 0}
    for name, child in model.named_children():
        part = "encoder" if name.startswith(("ec_", "tsgl_encoder")) else "decoders" if name.startswith("dc_") else (
            "fusion and heads")
        parts[part] += sum(p.numel() for p in child.parameters())
    return parts


__all__ = ["TSGLSkipEncoder", "parameters_by_part", "replace_encoder"]
