"""LaMa as a host of the training harness: how to build it (own or TSGL encoder), call it, and its losses."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from tsgl_encoder.losses import StructureEdgeHead
from tsgl_encoder.training import Host, LossWeights, Prediction

from .presets import create_generator
from .swap import TSGLBottleneckStem, default_encoder, replace_encoder

# LaMa's configs (lama-fourier.yaml / big-lama.yaml): L1 on known pixels only (weight 10), non-saturating
# GAN (weight 10) with R1 (gp_coef 0.001), feature matching 100, and ResNet-PL 30 (ADE20k weights: not
# available offline, so it is left out; set LossWeights.perceptual with local VGG weights instead).
LAMA_LOSSES = LossWeights(l1_hole=0.0, l1_valid=10.0, adversarial="nsgan", adversarial_weight=10.0, r1=0.001 * 10,
                          feature_matching=100.0, perceptual=0.0, edge=1.0)


@dataclass
class LamaHost(Host):
    """``preset`` and ``overrides`` pick the generator (e.g. ``ngf=16, n_blocks=3`` for CPU runs)."""

    preset: str = "lama_fourier"
    overrides: dict = field(default_factory=dict)
    encoder: str | None = None  # TSGL preset for the swap (default: chosen for the host's width)
    name: str = "lama"
    native_losses: LossWeights = LAMA_LOSSES

    def build(self, variant: str) -> nn.Module:
        self.check_variant(variant)
        model = create_generator(self.preset, **self.overrides)
        if variant == "tsgl" and not isinstance(model.model[0], TSGLBottleneckStem):
            last_down = model.model[1 + model.n_downsampling].ffc
            width = last_down.convl2l.out_channels + last_down.convl2g.out_channels
            replace_encoder(model, default_encoder(width, model.n_downsampling, self.encoder))
        if variant == "tsgl" and not hasattr(model, "edge_head"):
            structure = model.model[0].encoder.config.structure_channels
            model.edge_head = StructureEdgeHead(structure)
        return model

    def predict(self, model: nn.Module, image: Tensor, mask: Tensor) -> Prediction:
        hole = 1 - mask
        x = torch.cat([(image + 1) / 2 * mask, hole], dim=1)  # LaMa: [0, 1], 1 = hole
        stem = model.model[0]
        if not isinstance(stem, TSGLBottleneckStem):
            return Prediction(model(x) * 2 - 1)
        bottleneck, features = stem.encode(x)
        output = model.model[1:](bottleneck) * 2 - 1
        head = model.edge_head
        if isinstance(head, StructureEdgeHead):
            edge = head(features.structure[-1], features.structure_mask)
        else:  # tsgl_lama_512's FFC edge head on (local, global)
            edge = head(tuple(features.structure[-1].split(stem.split, dim=1)))
        return Prediction(output, edge[..., : image.shape[-2], : image.shape[-1]])

    def encoder_parameters(self, model: nn.Module) -> int:
        from .swap import parameters_by_part

        return parameters_by_part(model)["encoder"]
