"""The discriminator side of a host's GAN training, as one module the loop can wrap in DDP.

An :class:`Adversary` owns its discriminator network(s). Its ``forward`` *is* the discriminator loss
of one step (so DistributedDataParallel sees exactly one forward per backward, however many times
the host's discriminator runs inside it), and :meth:`Adversary.generator_terms` gives the
generator's adversarial terms with the discriminator frozen. Hosts pick theirs:
:class:`PatchGANAdversary` (LaMa-style PatchGAN, hinge or non-saturating + R1, feature matching) is
the default; CTSDG and MAT bring their own discriminators.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from adapters.lama.discriminator import PatchDiscriminator

from ..losses import discriminator_loss, feature_matching_loss, generator_loss, r1_penalty
from .spec import Batch, LossWeights, Prediction


@contextmanager
def frozen(module: nn.Module):
    """No parameter gradients for ``module`` inside the block (the generator's turn)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for parameter, flag in zip(module.parameters(), flags, strict=True):
            parameter.requires_grad_(flag)


class Adversary(nn.Module, ABC):
    """``forward(batch, prediction) -> discriminator loss``; ``generator_terms(batch, prediction) -> {name: loss}``.

    ``prediction`` holds the generator's outputs; ``forward`` receives them detached.
    """

    def __init__(self, losses: LossWeights) -> None:
        super().__init__()
        self.losses = losses

    @abstractmethod
    def forward(self, batch: Batch, prediction: Prediction) -> Tensor:
        """The discriminator's loss on real images vs the (detached) prediction."""

    @abstractmethod
    def generator_terms(self, batch: Batch, prediction: Prediction) -> dict[str, Tensor]:
        """The generator's weighted adversarial terms (the discriminator is frozen by the caller)."""


class PatchGANAdversary(Adversary):
    """A PatchGAN on composites: hinge or non-saturating loss, optional R1 and feature matching."""

    def __init__(self, losses: LossWeights, width: int = 64) -> None:
        super().__init__(losses)
        self.network = PatchDiscriminator(width=width)
        self._real_features: list[Tensor] = []

    def forward(self, batch: Batch, prediction: Prediction) -> Tensor:
        weights = self.losses
        real = batch["image"].detach().requires_grad_(weights.r1 > 0)
        fake = prediction.composite(batch["image"], batch["mask"]).detach()
        logits, features = self.network(torch.cat([real, fake]))  # one pass: BatchNorm sees both halves
        real_logits, fake_logits = logits.chunk(2)
        self._real_features = [f.chunk(2)[0].detach() for f in features]  # feature-matching targets
        loss = discriminator_loss(real_logits, fake_logits, weights.adversarial)
        if weights.r1 > 0:
            loss = loss + weights.r1 * r1_penalty(real_logits, real)
        return loss

    def generator_terms(self, batch: Batch, prediction: Prediction) -> dict[str, Tensor]:
        weights = self.losses
        logits, features = self.network(prediction.composite(batch["image"], batch["mask"]))
        terms = {"adversarial": weights.adversarial_weight * generator_loss(logits, weights.adversarial)}
        if weights.feature_matching > 0:
            terms["feature_matching"] = weights.feature_matching * feature_matching_loss(features, self._real_features)
        return terms

