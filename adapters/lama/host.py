"""LaMa as a host of the training harness: how to build it (own or TSGL encoder), call it, and its losses."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tsgl_encoder.bench.losses import StructureEdgeHead, r1_penalty
from tsgl_encoder.bench.training import Adversary, Batch, Host, LossWeights, PatchGANAdversary, Prediction

from .checkpoint import load_checkpoint
from .presets import create_discriminator, create_generator
from .swap import TSGLBottleneckStem, default_encoder, replace_encoder

# LaMa's configs (lama-fourier.yaml / big-lama.yaml): L1 on known pixels only (weight 10), non-saturating
# GAN (weight 10) with R1 (gp_coef 0.001, on the discriminator's loss, unweighted), feature matching 100,
# and ResNet-PL 30 (needs the ADE20k encoder file: TrainConfig.resnet_pl_weights).
LAMA_LOSSES = LossWeights(l1_hole=0.0, l1_valid=10.0, adversarial="nsgan", adversarial_weight=10.0, r1=0.001,
                          feature_matching=100.0, perceptual=0.0, resnet_pl=30.0, edge=1.0)
ADVERSARIES = ("lama", "patchgan")


def _hole_at(mask: Tensor, logits: Tensor) -> Tensor:
    """The hole (1 = missing) resized to the logits' grid, nearest (LaMa's ``allow_scale_mask``)."""
    return F.interpolate(1 - mask, size=logits.shape[-2:], mode="nearest")


class LamaAdversary(Adversary):
    """LaMa's ``NonSaturatingWithR1`` on its pix2pixHD ``NLayerDiscriminator`` (4 layers), as configured for
    lama-fourier / big-lama: the discriminator judges the raw prediction (not the composite) and, with
    ``mask_as_fake_target``, must call its known region real and only its hole fake::

        D: softplus(-D(x)) + gp * R1(x) + hole * softplus(D(y)) + (1 - hole) * softplus(-D(y))
        G: w_adv * softplus(-D(y)) + w_fm * mean_l MSE(D_l(y), D_l(x))
    """

    def __init__(self, losses: LossWeights, width: int = 64) -> None:
        if losses.adversarial != "nsgan":
            raise ValueError(f"LaMa's adversarial loss is non-saturating: LossWeights.adversarial must be 'nsgan', "
                             f"got {losses.adversarial!r} (LamaHost(adversary='patchgan') takes hinge)")
        super().__init__(losses)
        self.network = create_discriminator(width=width)

    def forward(self, batch: Batch, prediction: Prediction) -> Tensor:
        real = batch["image"].detach().requires_grad_(self.losses.r1 > 0)
        real_logits, _ = self.network(real)
        fake_logits, _ = self.network(prediction.output.detach())
        hole = _hole_at(batch["mask"], fake_logits)
        fake_loss = hole * F.softplus(fake_logits) + (1 - hole) * F.softplus(-fake_logits)
        loss = F.softplus(-real_logits).mean() + fake_loss.mean()
        if self.losses.r1 > 0:
            loss = loss + self.losses.r1 * r1_penalty(real_logits, real)
        return loss

    def generator_terms(self, batch: Batch, prediction: Prediction) -> dict[str, Tensor]:
        weights = self.losses
        fake_logits, fake_features = self.network(prediction.output)
        terms = {"adversarial": weights.adversarial_weight * F.softplus(-fake_logits).mean()}
        if weights.feature_matching > 0:
            with torch.no_grad():
                _, real_features = self.network(batch["image"])
            matching = torch.stack([F.mse_loss(f, r) for f, r in zip(fake_features, real_features, strict=True)])
            terms["feature_matching"] = weights.feature_matching * matching.mean()
        return terms


@dataclass
class LamaHost(Host):
    """``preset`` and ``overrides`` pick the generator (e.g. ``ngf=16, n_blocks=3`` for CPU runs)."""

    preset: str = "lama_fourier"
    overrides: dict = field(default_factory=dict)
    encoder: str | None = None  # TSGL preset for the swap (default: chosen for the host's width)
    adversary: str = "lama"  # LaMa's discriminator loss, or "patchgan": the library's PatchGAN on composites
    name: str = "lama"
    native_losses: LossWeights = LAMA_LOSSES

    def __post_init__(self) -> None:
        if self.adversary not in ADVERSARIES:
            raise ValueError(f"adversary must be one of {ADVERSARIES}, got {self.adversary!r}")

    def build(self, variant: str) -> nn.Module:
        self.check_variant(variant)
        model = create_generator(self.preset, **self.overrides)
        return self.swap_encoder(model) if variant == "tsgl" else model

    def swap_encoder(self, model: nn.Module) -> nn.Module:
        """TSGL's encoder in the stem (sized for the host's width) and the structure-loss edge head."""
        if not isinstance(model.model[0], TSGLBottleneckStem):
            last_down = model.model[1 + model.n_downsampling].ffc
            width = last_down.convl2l.out_channels + last_down.convl2g.out_channels
            replace_encoder(model, default_encoder(width, model.n_downsampling, self.encoder))
        if not hasattr(model, "edge_head"):
            structure = model.model[0].encoder.config.structure_channels
            model.edge_head = StructureEdgeHead(structure)
        return model

    def load_pretrained(self, path: str) -> nn.Module:
        return load_checkpoint(path)

    def predict(self, model: nn.Module, image: Tensor, mask: Tensor) -> Prediction:
        hole = 1 - mask
        x = torch.cat([(image + 1) / 2 * mask, hole], dim=1)  # LaMa: [0, 1], 1 = hole
        stem = model.model[0]
        if not isinstance(stem, TSGLBottleneckStem):
            return Prediction(model(x) * 2 - 1)
        padded, (height, width) = model.pad_input(x)
        bottleneck, features = stem.encode(padded)
        output = model.model[1:](bottleneck)[..., :height, :width] * 2 - 1
        head = model.edge_head
        if isinstance(head, StructureEdgeHead):
            edge = head(features.structure[-1], features.structure_mask)
        else:  # tsgl_lama_512's FFC edge head on (local, global)
            edge = head(tuple(features.structure[-1].split(stem.split, dim=1)))
        return Prediction(output, edge[..., : image.shape[-2], : image.shape[-1]])

    def build_adversary(self, losses: LossWeights, width: int) -> Adversary | None:
        if losses.adversarial_weight <= 0 and losses.feature_matching <= 0:
            return None
        return LamaAdversary(losses, width) if self.adversary == "lama" else PatchGANAdversary(losses, width)

    def encoder_parameters(self, model: nn.Module) -> int:
        from .swap import parameters_by_part

        return parameters_by_part(model)["encoder"]
