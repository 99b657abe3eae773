"""What the training loop needs to know about a host model: how to build it, call it, and its losses."""

from __future__ import annotations

from abc import ABC, abstractmethod

from torch import Tensor, nn

from ..losses import edge_loss, masked_l1
from .adversary import Adversary, PatchGANAdversary
from .spec import LossNetworks, LossWeights, Prediction

VARIANTS = ("own", "tsgl")


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

    def load_pretrained(self, path: str) -> nn.Module:
        """The host's generator from a published checkpoint (its adapter's ``load_checkpoint``)."""
        raise TypeError(f"host {self.name!r} ({type(self).__name__}) has no checkpoint loader: override "
                        "load_pretrained to start from a checkpoint")

    def swap_encoder(self, model: nn.Module) -> nn.Module:
        """``model`` with TSGL's encoder in place of its own (every other weight kept)."""
        raise TypeError(f"host {self.name!r} ({type(self).__name__}) does not say how to swap its encoder: "
                        "override swap_encoder to start from a checkpoint")

    def build_pretrained(self, variant: str, path: str) -> nn.Module:
        """Substitution from a pretrained host: ``"own"`` is the checkpoint as it is; ``"tsgl"`` the same
        checkpoint with TSGL's freshly initialised encoder swapped in."""
        self.check_variant(variant)
        model = self.load_pretrained(path).train()
        return self.swap_encoder(model) if variant == "tsgl" else model

    def build_adversary(self, losses: LossWeights, width: int) -> Adversary | None:
        """The discriminator side (default: a PatchGAN of ``width`` channels); None without adversarial terms."""
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
