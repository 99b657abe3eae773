"""What the training loop needs to know about a host model: how to build it, call it, and its losses."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from torch import Tensor, nn

from ..losses import PerceptualLoss, edge_loss, masked_l1
from ..resnet_pl import ResNetPL

if TYPE_CHECKING:
    from .adversary import Adversary

VARIANTS = ("own", "tsgl")


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


class Host(ABC):
    """A host generator family (LaMa, CTSDG, MAT): builds the model with its own or TSGL's encoder."""

    name: str = "host"
    native_losses: LossWeights = LossWeights()
    size_multiple: int = 1  # height and width must be multiples of this (CTSDG: 128)
    perceptual_on_composite: bool = False  # perceptual/style also on the composite (CTSDG), not only the output
    perceptual_layers: dict[str, float] | None = None  # VGG taps and weights (None: the file's defaults)

    @abstractmethod
    def build(self, variant: str) -> nn.Module:
        """The generator with its own encoder (``"own"``) or with TSGL's (``"tsgl"``), freshly initialised."""

    @abstractmethod
    def predict(self, model: nn.Module, image: Tensor, mask: Tensor) -> Prediction:
        """Runs ``model`` on ``image (B, 3, H, W)`` in [-1, 1] with ``mask (B, 1, H, W)`` (1 = known)."""

    def build_adversary(self, losses: LossWeights, width: int) -> Adversary | None:
        """The discriminator side (default: a PatchGAN of ``width`` channels); None without adversarial terms."""
        from .adversary import PatchGANAdversary

        if losses.adversarial_weight <= 0 and losses.feature_matching <= 0:
            return None
        return PatchGANAdversary(losses, width)

    def reconstruction_terms(
        self, batch: dict[str, Tensor], prediction: Prediction, losses: LossWeights, networks: LossNetworks
    ) -> dict[str, Tensor]:
        """The generator's non-adversarial terms, weighted: hole/valid L1, perceptual and style on the
        output (and composite, see ``perceptual_on_composite``), ResNet-PL, and the TSGL structure (edge)
        loss when the prediction has an edge map."""
        image, mask = batch["image"], batch["mask"]
        output = prediction.output.float()
        terms = {"l1": masked_l1(output, image, mask, losses.l1_hole, losses.l1_valid)}
        if networks.resnet_pl is not None and losses.resnet_pl > 0:  # LaMa: raw output vs image, both in [0, 1]
            terms["resnet_pl"] = losses.resnet_pl * networks.resnet_pl((output + 1) / 2, (image + 1) / 2)
        vgg = networks.vgg
        if vgg is not None:
            target = vgg.extract(image)
            judged = [output, prediction.composite(image, mask)] if self.perceptual_on_composite else [output]
            features = [vgg.extract(x) for x in judged]
            if losses.perceptual > 0:
                terms["perceptual"] = losses.perceptual * sum(vgg.distance(f, target) for f in features)
            if losses.style > 0:
                terms["style"] = losses.style * sum(vgg.style_distance(f, target) for f in features)
        if prediction.edge is not None and losses.edge > 0:
            terms["edge"] = losses.edge * edge_loss(prediction.edge.float(), batch["edge"], mask)
        return terms

    def encoder_parameters(self, model: nn.Module) -> int:
        """Parameters of the part that the swap replaces (for the results table)."""
        return sum(p.numel() for p in model.parameters())

    def size_problem(self, size: int) -> str | None:
        """Why square images of ``size`` cannot be trained on, or None when they can."""
        if size % self.size_multiple:
            return f"needs sizes that are multiples of {self.size_multiple}"
        return None

    @staticmethod
    def check_variant(variant: str) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
