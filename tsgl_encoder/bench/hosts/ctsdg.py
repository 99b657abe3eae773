"""CTSDG as a host of the harness: its generator (own encoders or TSGL's), its losses and discriminator.

CTSDG's training (xiefan-guo/ctsdg ``trainer.py``, ``criteria/loss.py``, ``options/train_options.py``):

    generator:      60 * L1(hole) + 10 * L1(valid)
                    + 0.1 * perceptual + 250 * style      (VGG-16 pool1..3, on the output and the composite)
                    + 0.1 * [BCE(D_texture+structure(output), 1) + BCE(edge_detector(output), edge)]
                    + 1.0 * [BCE(projected_edge, edge) + L1(projected_image, image)]     (intermediate)
    discriminator:  BCE(D(real), 1) + BCE(D(output), 0) + BCE(edge_detector(real), edge)
                    + BCE(edge_detector(output), edge)
    Adam lr 2e-4 (discriminator 0.1x), batch 6, 256 x 256.

The discriminator judges the raw output (not the composite), its structure branch reads
``cat(edge, gray)`` of the full image; edges and gray maps come from the data set
(:func:`tsgl_encoder.bench.data.ground_truth_priors`). The generator's edge + gray input is computed from
the masked image only (the TSGL encoder's own priors), so hole pixels never reach the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adapters.ctsdg import create_discriminator, create_generator, load_checkpoint, parameters_by_part, replace_encoder
from adapters.ctsdg.init import init_weights
from adapters.ctsdg.pconv import PConvBNActiv
from adapters.ctsdg.swap import TSGLSkipEncoder

from ...priors import StructurePriors
from ...registry import create_encoder
from ..training import (
    Adversary,
    Batch,
    EncoderPart,
    Host,
    LossNetworks,
    LossWeights,
    Prediction,
    WidenedStage,
    example_batch,
)

WIDEST_STAGE = 512  # channels of ec_*_4 .. 7
CTSDG_LOSSES = LossWeights(l1_hole=60.0, l1_valid=10.0, adversarial="nsgan", adversarial_weight=0.1,
                           perceptual=0.1, style=250.0, intermediate=1.0, edge=0.0)


def _bce(probability: Tensor, target: Tensor | float) -> Tensor:
    probability = probability.float()
    if not isinstance(target, Tensor):
        target = torch.full_like(probability, target)
    return F.binary_cross_entropy(probability, target)


class CTSDGAdversary(Adversary):
    """CTSDG's texture + structure discriminator with its edge detector, trained with BCE."""

    def __init__(self, losses: LossWeights) -> None:
        super().__init__(losses)
        self.network = create_discriminator()

    def _judge(self, image: Tensor, batch: Batch, is_real: bool) -> tuple[Tensor, Tensor]:
        return self.network(image, batch["gray"], batch["edge"], is_real=is_real)

    def forward(self, batch: Batch, prediction: Prediction) -> Tensor:
        real, real_edge = self._judge(batch["image"], batch, True)
        fake, fake_edge = self._judge(prediction.output, batch, False)
        edge = batch["edge"]
        return _bce(real, 1.0) + _bce(fake, 0.0) + _bce(real_edge, edge) + _bce(fake_edge, edge)

    def generator_terms(self, batch: Batch, prediction: Prediction) -> dict[str, Tensor]:
        fake, fake_edge = self._judge(prediction.output, batch, False)
        return {"adversarial": self.losses.adversarial_weight * (_bce(fake, 1.0) + _bce(fake_edge, batch["edge"]))}


@dataclass
class CTSDGHost(Host):
    """``encoder``: the TSGL preset that replaces both encoders in the ``"tsgl"`` variant."""

    encoder: str = "tsgl_base"
    name: str = "ctsdg"
    native_losses: LossWeights = CTSDG_LOSSES
    size_multiple: int = 128
    perceptual_on_composite: bool = True
    min_train_batch: int = 2

    def build_own(self, width: int | None = None) -> nn.Module:
        """``width``: the hidden channels of a residual pair of partial convs after each of ``ec_*_2 .. 7`` of
        both encoders, for the 512-channel stages (narrower stages in proportion); the skips the decoders
        read keep their widths."""
        model = create_generator("ctsdg")
        if width is None:
            return model
        for branch in ("texture", "structure"):
            for index in range(2, 8):
                name = f"ec_{branch}_{index}"
                stage = getattr(model, name)
                channels = stage.conv.out_channels
                hidden = max(1, round(width * channels / WIDEST_STAGE))
                widened = WidenedStage(stage, PConvBNActiv(channels, hidden), PConvBNActiv(hidden, channels))
                widened.expand.apply(init_weights)
                widened.project.apply(init_weights)
                setattr(model, name, widened)
        return model

    def widening_range(self) -> tuple[int, int]:
        return 1, 64 * WIDEST_STAGE

    def swap_encoder(self, model: nn.Module, overrides: dict | None = None) -> nn.Module:
        return replace_encoder(model, create_encoder(self.encoder, **(overrides or {})))

    def load_pretrained(self, path: str) -> nn.Module:
        return load_checkpoint(path)

    def predict(self, model: nn.Module, image: Tensor, mask: Tensor) -> Prediction:
        masked = image * mask
        edge, gray, _ = StructurePriors(with_smooth=False)(masked, mask)
        output, projected_image, projected_edge = model(masked, torch.cat([edge, gray], dim=1), mask)
        return Prediction(output, extras={"projected_image": projected_image, "projected_edge": projected_edge})

    def build_adversary(self, losses: LossWeights, width: int) -> Adversary | None:
        return CTSDGAdversary(losses) if losses.adversarial_weight > 0 else None

    def reconstruction_terms(
        self, batch: Batch, prediction: Prediction, losses: LossWeights, networks: LossNetworks
    ) -> dict[str, Tensor]:
        terms = super().reconstruction_terms(batch, prediction, losses, networks)
        if losses.intermediate > 0 and "projected_edge" in prediction.extras:
            projected_edge = prediction.extras["projected_edge"]
            projected_image = prediction.extras["projected_image"].float()
            terms["intermediate"] = losses.intermediate * (
                _bce(projected_edge, batch["edge"]) + F.l1_loss(projected_image, batch["image"])
            )
        return terms

    def encoder_parameters(self, model: nn.Module) -> int:
        return parameters_by_part(model)["encoder"]

    def example_inputs(self, batch: int, size: int, device: torch.device) -> tuple:
        image, mask = example_batch(batch, size, device)
        edge_gray = torch.rand(batch, 2, size, size, device=device) * mask
        return image * mask, edge_gray, mask

    def encoder_part(self, model: nn.Module) -> EncoderPart:
        """TSGL's encoder after the swap, else CTSDG's texture and structure encoders (their deepest maps)."""
        encoder = getattr(model, "tsgl_encoder", None)
        if isinstance(encoder, TSGLSkipEncoder):
            return EncoderPart("ctsdg encoders", encoder)
        return EncoderPart("ctsdg encoders", model, _deepest_features, parameters_by_part(model)["encoder"])


def _deepest_features(model: nn.Module, image: Tensor, edge_gray: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    textures, structures = model.encode(image, edge_gray, mask)
    return textures[-1][0], structures[-1][0]
