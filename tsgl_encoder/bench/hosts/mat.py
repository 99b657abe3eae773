"""MAT as a host of the harness: its generator (own first-stage encoder or TSGL's), losses and discriminator.

MAT's training (fenglinglwb/MAT ``losses/loss.py`` ``TwoStageLoss``, README command for Places 512)::

    generator:      softplus(-D(y)) + softplus(-D_stg1(y_stg1)) + 0.1 * pcp(y, x)
    discriminator:  softplus(D(y)) + softplus(D_stg1(y_stg1)) + softplus(-D(x)) + softplus(-D_stg1(x))
                    + gamma / 2 * (|grad_x D(x)|^2 + |grad_x D_stg1(x)|^2)          (R1, gamma = 10)
    Adam lr 1e-3, betas (0, 0.99); mapping with truncation 0.5 while training

``y`` and ``y_stg1`` are the generator's composited outputs of both stages, ``x`` the real image; ``pcp``
is the L1 between VGG-19 ``conv4_4`` (weight 1/4) and ``conv5_4`` (1/2) features (with
``--vgg-weights``). Not reproduced: style mixing (probability 0.5), lazy R1 every 16 steps (applied every
step here, same expected strength) and the G_ema copy (the trained weights are evaluated).
Evaluation draws ``z`` and the bottleneck dropout maps from a fixed seed, so scores are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adapters.mat import (
    Conv2dLayerPartial,
    create_discriminator,
    create_generator,
    default_encoder,
    load_checkpoint,
    parameters_by_part,
    replace_encoder,
)
from adapters.mat.first_stage import encode as encode_first_stage
from adapters.mat.presets import preset_arguments

from ...inpainting import SizeRule
from ..losses import r1_penalty
from ..training import Adversary, Batch, EncoderPart, Host, LossWeights, Prediction, WidenedStage, example_batch

MAT_LOSSES = LossWeights(l1_hole=0.0, l1_valid=0.0, adversarial="nsgan", adversarial_weight=1.0, r1=10 / 2,
                         perceptual=0.1, edge=0.0)
MAT_PERCEPTUAL_LAYERS = {"conv4_4": 1 / 4, "conv5_4": 1 / 2}
TRAIN_TRUNCATION = 0.5
EVAL_SEED = 0


class MATAdversary(Adversary):
    """MAT's two-headed discriminator (final and stage-1 images), non-saturating, R1 on real images."""

    def __init__(self, losses: LossWeights, network: nn.Module) -> None:
        if losses.adversarial != "nsgan":
            raise ValueError(f"MAT's adversarial loss is non-saturating: LossWeights.adversarial must be 'nsgan', "
                             f"got {losses.adversarial!r}")
        super().__init__(losses)
        self.network = network

    def _judge(self, batch: Batch, images: Tensor, images_stg1: Tensor) -> tuple[Tensor, Tensor]:
        return self.network(images, batch["mask"], images_stg1, None)

    def forward(self, batch: Batch, prediction: Prediction) -> Tensor:
        fake, fake_stg1 = self._judge(batch, prediction.output, prediction.extras["stage1"])
        real = batch["image"].detach().requires_grad_(self.losses.r1 > 0)
        real_stg1 = batch["image"].detach().requires_grad_(self.losses.r1 > 0)
        logits, logits_stg1 = self._judge(batch, real, real_stg1)
        loss = sum(F.softplus(x).mean() for x in (fake, fake_stg1))
        loss = loss + sum(F.softplus(-x).mean() for x in (logits, logits_stg1))
        if self.losses.r1 > 0:
            loss = loss + self.losses.r1 * (r1_penalty(logits, real) + r1_penalty(logits_stg1, real_stg1))
        return loss

    def generator_terms(self, batch: Batch, prediction: Prediction) -> dict[str, Tensor]:
        fake, fake_stg1 = self._judge(batch, prediction.output, prediction.extras["stage1"])
        adversarial = F.softplus(-fake).mean() + F.softplus(-fake_stg1).mean()
        return {"adversarial": self.losses.adversarial_weight * adversarial}


@dataclass
class MATHost(Host):
    """``preset`` / ``overrides`` pick the generator (e.g. narrower ones for CPU runs); ``discriminator_overrides``
    the discriminator; ``encoder`` the TSGL preset of the ``"tsgl"`` variant (cut to MAT's token levels)."""

    preset: str = "mat_256"
    overrides: dict = field(default_factory=dict)
    discriminator_overrides: dict = field(default_factory=dict)
    encoder: str = "tsgl_base"
    name: str = "mat"
    native_losses: LossWeights = MAT_LOSSES
    perceptual_layers: dict[str, float] | None = field(default_factory=lambda: dict(MAT_PERCEPTUAL_LAYERS))

    def __post_init__(self) -> None:
        arguments = {**preset_arguments(self.preset), **self.overrides}
        self.resolution, self.z_dim = arguments["img_resolution"], arguments["z_dim"]
        self.size_multiple = self.resolution

    def size_problem(self, size: int) -> str | None:
        if size != self.resolution:  # the discriminator reads exactly img_resolution
            return f"trains at its img_resolution only ({self.resolution})"
        return None

    def build_own(self, width: int | None = None) -> nn.Module:
        """``width``: the hidden channels of a residual pair of MAT's partial convs after each ``enc_conv``
        stage of the first stage (its skips keep their widths)."""
        model = create_generator(self.preset, **self.overrides)
        if width is None:
            return model
        stages = model.synthesis.first_stage.enc_conv
        for index, stage in enumerate(stages):
            channels = stage.conv.weight.shape[0]
            stages[index] = WidenedStage(stage, Conv2dLayerPartial(channels, width, 3, activation="lrelu"),
                                         Conv2dLayerPartial(width, channels, 3, activation="lrelu"))
        return model

    def widening_range(self) -> tuple[int, int]:
        return 1, 16384

    def swap_encoder(self, model: nn.Module, overrides: dict | None = None) -> nn.Module:
        down_time = len(model.synthesis.first_stage.enc_conv)
        return replace_encoder(model, default_encoder(down_time, self.encoder, overrides))

    def predict(self, model: nn.Module, image: Tensor, mask: Tensor) -> Prediction:
        if model.training:
            return self._run(model, image, mask, torch.randn(image.shape[0], self.z_dim, device=image.device),
                             TRAIN_TRUNCATION, "random")
        devices = [image.device] if image.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # a fixed z and dropout draw, global RNG untouched
            torch.manual_seed(EVAL_SEED)
            z = torch.randn(image.shape[0], self.z_dim, device=image.device)
            noise = "const" if image.shape[-2:] == (self.resolution, self.resolution) else "random"
            return self._run(model, image, mask, z, 1.0, noise)

    @staticmethod
    def _run(model: nn.Module, image: Tensor, mask: Tensor, z: Tensor, psi: float, noise_mode: str) -> Prediction:
        output, stage1 = model(image, mask, z, None, truncation_psi=psi, noise_mode=noise_mode, return_stg1=True)
        return Prediction(output, extras={"stage1": stage1})

    def build_adversary(self, losses: LossWeights, width: int) -> Adversary | None:
        if losses.adversarial_weight <= 0:
            return None
        overrides = {"img_resolution": self.resolution, **self.discriminator_overrides}
        return MATAdversary(losses, create_discriminator(self.preset, **overrides))

    def encoder_parameters(self, model: nn.Module) -> int:
        return parameters_by_part(model)["encoder"]

    @classmethod
    def from_published(cls, path: str, kind: str) -> tuple[nn.Module, MATHost]:
        """The network pickle's generator, and a host at its resolution."""
        model = load_checkpoint(path)
        return model, cls(preset=f"mat_{model.img_resolution}")

    @property
    def label(self) -> str:
        return self.preset

    def size_rule(self, model: nn.Module) -> SizeRule:
        """MAT runs at its ``img_resolution`` only (smaller images are padded, larger ones cropped or resized)."""
        return SizeRule(self.resolution, self.resolution, self.resolution, fixed=self.resolution)

    def example_inputs(self, batch: int, size: int, device: torch.device) -> tuple:
        image, mask = example_batch(batch, size, device)
        return image, mask, torch.randn(batch, self.z_dim, device=device), None

    def encoder_part(self, model: nn.Module) -> EncoderPart:
        """TSGL's encoder (with its bridge to MAT's tokens) after the swap, else MAT's first-stage encoder."""
        stage = model.synthesis.first_stage
        if hasattr(stage, "tsgl_encoder"):
            return EncoderPart(f"{self.label} encoder", stage.tsgl_encoder, _first_output)
        return EncoderPart(f"{self.label} encoder", stage, _own_first_stage, parameters_by_part(model)["encoder"])


def _own_first_stage(stage: nn.Module, image: Tensor, mask: Tensor, *_: object) -> Tensor:
    return encode_first_stage(stage, image, mask)[0]


def _first_output(bridge: nn.Module, image: Tensor, mask: Tensor, *_: object) -> Tensor:
    return bridge(image, mask)[0]
