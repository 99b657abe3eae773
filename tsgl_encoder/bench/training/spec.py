"""What a host, its adversary and the training loop exchange: loss weights, loss networks, predictions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ..losses import PerceptualLoss
from ..resnet_pl import ResNetPL

Batch = dict[str, Tensor]


@dataclass(frozen=True)
class LossWeights:
    """Weights of the generator's loss terms (0 switches a term off)."""

    l1_hole: float = 5.0
    l1_valid: float = 1.0
    adversarial: str = "hinge"  # or "nsgan"
    adversarial_weight: float = 0.1
    r1: float = 0.0  # R1 penalty on real images (discriminator side)
    feature_matching: float = 0.0
    perceptual: float = 0.0  # needs local VGG weights (TrainConfig.perceptual_weights)
    style: float = 0.0  # Gram-matrix style loss on the same VGG features (CTSDG)
    intermediate: float = 0.0  # host-specific intermediate outputs (CTSDG's projected image and edge)
    resnet_pl: float = 0.0  # LaMa's ResNet-PL (needs local ADE20k encoder weights: TrainConfig.resnet_pl_weights)
    edge: float = 1.0  # structure supervision of the TSGL encoder (official: 5 hole + 1 valid L1)


@dataclass(frozen=True)
class LossNetworks:
    """Frozen networks that loss terms run images through (built by the loop from local weight files)."""

    vgg: PerceptualLoss | None = None
    resnet_pl: ResNetPL | None = None


@dataclass
class Prediction:
    """A host's output in the library's conventions: image in [-1, 1]; edge map in [0, 1] or None;
    ``extras``: further outputs its native losses use (CTSDG's projections, MAT's first stage)."""

    output: Tensor
    edge: Tensor | None = None
    extras: dict[str, Tensor] = field(default_factory=dict)

    def composite(self, image: Tensor, mask: Tensor) -> Tensor:
        """Known pixels from ``image``, holes from the output (mask 1 = known)."""
        return image * mask + self.output.float() * (1 - mask)

    def detach(self) -> Prediction:
        detached = {k: v.detach() for k, v in self.extras.items()}
        return Prediction(self.output.detach(), None if self.edge is None else self.edge.detach(), detached)


@dataclass(frozen=True)
class EncoderPart:
    """The part of a generator that the swap replaces, runnable on its own (``tsgl-speed`` times it):
    ``call(module, *host.example_inputs(...))`` returns its features; ``parameters`` counts the part when
    ``module`` holds more than it (an encoder run through its host's method)."""

    name: str
    module: nn.Module
    call: Callable[..., object] = lambda module, *inputs: module(*inputs)
    parameters: int | None = None


def example_batch(batch: int, size: int, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """A random image ``(batch, 3, size, size)`` in [-1, 1] and its mask (1 = known) with a rectangular hole of
    1/8 of the image: the inputs ``tsgl-speed`` times with."""
    image = torch.rand(batch, 3, size, size, device=device) * 2 - 1
    mask = torch.ones(batch, 1, size, size, device=device)
    mask[..., size // 4 : size // 2, size // 4 : 3 * size // 4] = 0
    return image, mask
