"""What the training loop needs to know about a host model: how to build it, call it, and its losses."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from torch import Tensor, nn

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
    perceptual: float = 0.0  # needs local VGG-19 weights
    edge: float = 1.0  # structure supervision of the TSGL encoder (official: 5 hole + 1 valid L1)


@dataclass
class Prediction:
    """A host's output in the library's conventions: image in [-1, 1]; edge map in [0, 1] or None."""

    output: Tensor
    edge: Tensor | None = None


class Host(ABC):
    """A host generator family (LaMa, CTSDG, MAT): builds the model with its own or TSGL's encoder."""

    name: str = "host"
    native_losses: LossWeights = LossWeights()

    @abstractmethod
    def build(self, variant: str) -> nn.Module:
        """The generator with its own encoder (``"own"``) or with TSGL's (``"tsgl"``), freshly initialised."""

    @abstractmethod
    def predict(self, model: nn.Module, image: Tensor, mask: Tensor) -> Prediction:
        """Runs ``model`` on ``image (B, 3, H, W)`` in [-1, 1] with ``mask (B, 1, H, W)`` (1 = known)."""

    def encoder_parameters(self, model: nn.Module) -> int:
        """Parameters of the part that the swap replaces (for the results table)."""
        return sum(p.numel() for p in model.parameters())

    @staticmethod
    def check_variant(variant: str) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
