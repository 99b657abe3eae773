"""CTSDG generator (Guo et al., "Image Inpainting via Conditional Texture and Structure Dual Generation", ICCV 2021).

Two partial-convolution encoders (texture: masked image; structure: masked edge + gray image) whose decoders are
cross-wired: the texture decoder starts from the structure bottleneck and vice versa, each with skips from its own
encoder. Decoder features feed the projection heads, Bi-directional Gated Feature Fusion (BiGFF), Contextual Feature
Aggregation (CFA) and the output layer. Module names follow the reference code so its checkpoints load strictly.

Conventions: ``input_image`` in [-1, 1] (3 channels), ``input_edge`` = cat(edge, gray) in [0, 1] (2 channels),
``mask`` (B, 1, H, W) with 1 = known, 0 = hole; H and W multiples of 128 (seven stride-2 stages).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tsgl_encoder.validation import check_image, check_like, check_mask, value_checks_enabled

from .bigff import BiGFF
from .cfa import CFA
from .init import init_weights as _init_weights
from .pconv import PConvBNActiv
from .projection import Feature2Structure, Feature2Texture

_ENCODER = ((64, "down-7"), (128, "down-5"), (256, "down-5"), (512, "down-3"), (512, "down-3"), (512, "down-3"),
            (512, "down-3"))  # fmt: skip


SIZE_DIVISOR = 128  # seven stride-2 stages: the bottleneck is H/128 x W/128


def check_inputs(input_image: torch.Tensor, input_edge: torch.Tensor, mask: torch.Tensor,
                 image_channels: int = 3, edge_channels: int = 2) -> None:
    """CTSDG's input rules, checked before any layer runs: a ``(B, 3, H, W)`` image, a ``(B, 2, H, W)``
    ``cat(edge, gray)``, a ``(B, 1, H, W)`` mask, H and W multiples of 128, one device and dtype."""
    check_image(input_image, "input_image", image_channels, SIZE_DIVISOR, "CTSDG's size_divisor")
    if not isinstance(input_edge, torch.Tensor) or input_edge.ndim != 4 or input_edge.shape[1] != edge_channels:
        got = tuple(input_edge.shape) if isinstance(input_edge, torch.Tensor) else type(input_edge).__name__
        raise ValueError(f"input_edge must be cat(edge, gray) of shape (B, {edge_channels}, H, W), got {got}")
    if input_edge.shape[0] != input_image.shape[0] or input_edge.shape[-2:] != input_image.shape[-2:]:
        raise ValueError(f"input_edge must have shape {(input_image.shape[0], edge_channels, *input_image.shape[-2:])}"
                         f" like input_image, got {tuple(input_edge.shape)}")
    check_like(input_edge, "input_edge", input_image, "input_image")
    check_mask(mask, "mask", input_image, value_checks_enabled(input_image))


def _encoder(in_channels: int) -> list[PConvBNActiv]:
    layers, channels = [], in_channels
    for i, (out, sample) in enumerate(_ENCODER):
        layers.append(PConvBNActiv(channels, out, bn=i > 0, sample=sample))
        channels = out
    return layers


def _decoder(skip_in_channels: int) -> dict[int, PConvBNActiv]:
    """``dc_*_7 .. dc_*_1``: upsampled deeper features + the encoder skip at the same scale."""
    skips = [skip_in_channels] + [out for out, _ in _ENCODER[:-1]]  # skip of dc_i is encoder output i-1
    layers, deep = {}, _ENCODER[-1][0]
    for i in range(7, 0, -1):
        out = 64 if i == 1 else _ENCODER[i - 2][0]
        layers[i] = PConvBNActiv(deep + skips[i - 1], out, activ="leaky")
        deep = out
    return layers


class Generator(nn.Module):
    """CTSDG generator; ``forward`` returns ``(output, projected_image, projected_edge)``.

    ``freeze_ec_bn = True`` keeps BatchNorm layers in eval mode whenever the model is put in training mode, as the
    reference does for fine-tuning. Like the reference, it freezes every ``BatchNorm2d`` of the generator (the
    encoders' included), not only the encoders'.
    """

    def __init__(
        self, image_in_channels: int = 3, edge_in_channels: int = 2, out_channels: int = 3, init_weights: bool = True
    ) -> None:
        super().__init__()
        self.freeze_ec_bn = False
        for branch, in_channels, skip in (
            ("texture", image_in_channels, out_channels),  # the reference sizes dc_texture_1's skip by out_channels
            ("structure", edge_in_channels, 2),
        ):
            for i, layer in enumerate(_encoder(in_channels), start=1):
                self.add_module(f"ec_{branch}_{i}", layer)
            for i, layer in _decoder(skip).items():
                self.add_module(f"dc_{branch}_{i}", layer)

        self.structure_feature_projection = Feature2Structure()
        self.texture_feature_projection = Feature2Texture()
        self.bigff = BiGFF(in_channels=64, out_channels=64)
        self.fusion_layer1 = nn.Sequential(nn.Conv2d(128, 64, 3, stride=2, padding=1), nn.LeakyReLU(0.2))
        self.cfa = CFA(in_channels=64, out_channels=64)
        self.fusion_layer2 = nn.Sequential(nn.Conv2d(128, 64, 3, padding=1), nn.LeakyReLU(0.2))
        self.out_layer = nn.Sequential(nn.Conv2d(64 * 3, 3, 1), nn.Tanh())
        if init_weights:
            self.apply(_init_weights)

    def _encode(self, branch: str, x: torch.Tensor, mask: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        features = [(x, mask)]
        for i in range(1, 8):
            features.append(getattr(self, f"ec_{branch}_{i}")(*features[-1]))
        return features

    def forward(
        self, input_image: torch.Tensor, input_edge: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``input_image`` (B,3,H,W) in [-1,1], ``input_edge`` (B,2,H,W) edge+gray, ``mask`` (B,1,H,W), 1 = known.

        Returns the generated image (tanh, [-1, 1]), the texture projection (tanh) and the edge projection (sigmoid).
        Hole pixels of the inputs never reach the output: partial convolutions multiply their input by the mask.
        """
        check_inputs(input_image, input_edge, mask, self.ec_texture_1.conv.in_channels,
                     self.ec_structure_1.conv.in_channels)
        return generate(self, *self.encode(input_image, input_edge, mask))

    def encode(self, input_image: torch.Tensor, input_edge: torch.Tensor, mask: torch.Tensor) -> tuple[list, list]:
        """The two encoders alone: ``(textures, structures)``, each the list of ``(features, mask)`` from the
        input (level 0) to ``ec_*_7``, as the decoders read them."""
        textures = self._encode("texture", input_image, mask.expand(-1, input_image.shape[1], -1, -1))
        structures = self._encode("structure", input_edge, mask.expand(-1, input_edge.shape[1], -1, -1))
        return textures, structures

    def train(self, mode: bool = True) -> Generator:
        super().train(mode)
        if self.freeze_ec_bn:
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
        return self


Levels = list[tuple[torch.Tensor, torch.Tensor]]  # [(features, C-channel mask)] at H, H/2, .., H/128


def decode(model: nn.Module, branch: str, start: tuple[torch.Tensor, torch.Tensor], skips: Levels) -> torch.Tensor:
    """``dc_<branch>_7 .. 1`` of ``model`` from ``start`` (the other branch's bottleneck) with ``skips``."""
    x, m = start
    for i in range(7, 0, -1):
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        m = F.interpolate(m, scale_factor=2, mode="nearest")
        skip_x, skip_m = skips[i - 1]
        x, m = getattr(model, f"dc_{branch}_{i}")(torch.cat((x, skip_x), 1), torch.cat((m, skip_m), 1))
    return x


def generate(model: nn.Module, textures: Levels, structures: Levels) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Everything after the encoders: cross-wired decoders, projection heads, BiGFF, CFA, output layer.

    A function of the module names only, so it serves this ``Generator`` and upstream's alike.
    """
    dc_texture = decode(model, "texture", structures[7], textures)  # cross-wired: texture from structure code
    dc_structure = decode(model, "structure", textures[7], structures)
    projected_image = model.texture_feature_projection(dc_texture)
    projected_edge = model.structure_feature_projection(dc_structure)
    fused = model.bigff(dc_texture, dc_structure)
    output = model.fusion_layer1(fused)
    output = model.fusion_layer2(torch.cat((output, model.cfa(output, output)), dim=1))
    output = F.interpolate(output, scale_factor=2, mode="bilinear", align_corners=False)
    output = model.out_layer(torch.cat((output, fused), dim=1))
    return output, projected_image, projected_edge
