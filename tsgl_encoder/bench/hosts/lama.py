"""LaMa as a host of the harness: how to build it (own or TSGL encoder), call it, time it, and its losses."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adapters.lama import (
    create_discriminator,
    create_generator,
    from_official_tsgl,
    load_checkpoint,
    parameters_by_part,
    replace_encoder,
)
from adapters.lama.swap import TSGLBottleneckStem, default_config, default_encoder

from ..losses import ProjectedEdgeHead, StructureEdgeHead, r1_penalty
from ..training import Adversary, Batch, EncoderPart, Host, LossWeights, PatchGANAdversary, Prediction, example_batch

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
    checkpoint_kinds = ("tsgl_lama_512",)  # the official TSGL(LaMa) generator files

    def __post_init__(self) -> None:
        if self.adversary not in ADVERSARIES:
            raise ValueError(f"adversary must be one of {ADVERSARIES}, got {self.adversary!r}")

    structure_head: bool = True

    def build_own(self, width: int | None = None) -> nn.Module:
        """``width``: the stem's channels (``encoder_ngf``; the downsampling layers double it, the last one still
        ends at the bottleneck's width)."""
        return create_generator(self.preset, **self.overrides, **({} if width is None else {"encoder_ngf": width}))

    def widening_range(self) -> tuple[int, int]:
        ngf = self.overrides.get("ngf", 64)
        return ngf, 64 * ngf

    @staticmethod
    def _width(model: nn.Module, index: int) -> int:
        """Output channels (local + global) of the FFC layer ``model.model[index]``."""
        ffc = model.model[index].ffc
        local = max(getattr(ffc.convl2l, "out_channels", 0), getattr(ffc.convg2l, "out_channels", 0))
        global_ = max(getattr(ffc.convl2g, "out_channels", 0), getattr(ffc.convg2g, "out_channels", 0))
        return local + global_

    def _bottleneck_width(self, model: nn.Module) -> int:
        return self._width(model, 1 + model.n_downsampling)

    def swap_encoder(self, model: nn.Module, overrides: dict | None = None) -> nn.Module:
        """TSGL's encoder in the stem, sized for the host's width (``overrides``: its ablations)."""
        if not isinstance(model.model[0], TSGLBottleneckStem):
            encoder = default_encoder(self._bottleneck_width(model), model.n_downsampling, self.encoder, overrides)
            replace_encoder(model, encoder)
        return model

    def add_edge_head(self, model: nn.Module) -> nn.Module:
        """The structure-loss edge head: on S_K of TSGL's encoder, or (``own_edge``) the same head on the own
        encoder's features at S_K's reduction, through a 1x1 projection."""
        if hasattr(model, "edge_head"):
            return model
        stem = model.model[0]
        if isinstance(stem, TSGLBottleneckStem):
            model.edge_head = StructureEdgeHead(stem.encoder.config.structure_channels)
            return model
        structure = default_config(self._bottleneck_width(model), model.n_downsampling, self.encoder).structure_channels
        in_channels = self._width(model, 1 + len(structure))  # the own layer at reduction 2**K
        reference = next(model.parameters())
        model.edge_head = ProjectedEdgeHead(in_channels, structure).to(reference.device, reference.dtype)
        return model

    def load_pretrained(self, path: str) -> nn.Module:
        return load_checkpoint(path)

    @classmethod
    def from_published(cls, path: str, kind: str) -> tuple[nn.Module, LamaHost]:
        """LaMa's files for ``"lama"``; an official TSGL(LaMa) generator for ``"tsgl_lama_512"`` (converted with
        ``image_range="unit"``: what its test script feeds, see ``adapters.lama.convert``)."""
        if kind == "tsgl_lama_512":
            return from_official_tsgl(path, image_range="unit"), cls()
        return super().from_published(path, kind)

    def predict(self, model: nn.Module, image: Tensor, mask: Tensor) -> Prediction:
        hole = 1 - mask
        x = torch.cat([(image + 1) / 2 * mask, hole], dim=1)  # LaMa: [0, 1], 1 = hole
        stem, head = model.model[0], getattr(model, "edge_head", None)
        if isinstance(head, ProjectedEdgeHead):
            return self._predict_own_edge(model, x, image.shape[-2:])
        if not isinstance(stem, TSGLBottleneckStem):
            return Prediction(model(x) * 2 - 1)
        padded, (height, width) = model.pad_input(x)
        bottleneck, features = stem.encode(padded)
        output = model.model[1:](bottleneck)[..., :height, :width] * 2 - 1
        if head is None:  # tsgl_no_edge, or the edge head taken off for counting
            return Prediction(output)
        if isinstance(head, StructureEdgeHead):
            edge = head(features.structure[-1], features.structure_mask)
        else:  # tsgl_lama_512's FFC edge head on (local, global)
            edge = head(tuple(features.structure[-1].split(stem.split, dim=1)))
        return Prediction(output, edge[..., :height, :width])

    @staticmethod
    def _predict_own_edge(model: nn.Module, x: Tensor, size: tuple[int, int]) -> Prediction:
        """LaMa's own layers one by one, the edge head reading the layer at its reduction (``own_edge``)."""
        head = model.edge_head
        padded, (height, width) = model.pad_input(x)
        level = head.reduction.bit_length()  # 1 + K: model.model's index of the layer at reduction 2**K
        y, features = padded, None
        for index, layer in enumerate(model.model):
            y = layer(y)
            if index == level:
                features = torch.cat([part for part in y if torch.is_tensor(part)], dim=1)  # (local[, global])
        edge = head(features, 1 - padded[:, 3:])
        return Prediction(y[..., :height, :width] * 2 - 1, edge[..., : size[0], : size[1]])

    def build_adversary(self, losses: LossWeights, width: int) -> Adversary | None:
        if losses.adversarial_weight <= 0 and losses.feature_matching <= 0:
            return None
        return LamaAdversary(losses, width) if self.adversary == "lama" else PatchGANAdversary(losses, width)

    def encoder_parameters(self, model: nn.Module) -> int:
        return parameters_by_part(model)["encoder"]

    @property
    def label(self) -> str:
        return self.preset

    def example_inputs(self, batch: int, size: int, device: torch.device) -> tuple:
        image, mask = example_batch(batch, size, device)
        return (torch.cat([(image + 1) / 2 * mask, 1 - mask], dim=1),)  # LaMa: [0, 1], 1 = hole

    def encoder_part(self, model: nn.Module) -> EncoderPart:
        """TSGL's stem after the swap, else LaMa's stem and downsampling layers."""
        stem = model.model[0]
        own = nn.Sequential(*model.model[: 1 + model.n_downsampling])
        return EncoderPart(f"{self.label} encoder", stem if isinstance(stem, TSGLBottleneckStem) else own)
