"""MEDFE as a host of the harness: its generator (own encoder ``netEN`` or TSGL's), losses and discriminators.

MEDFE's training (KumapowerLIU/Rethinking-Inpainting-MEDFE ``models/MEDFE.py``, ``models/loss.py``,
``models/InnerCos.py``; option defaults ``lambda_L1`` 1, ``lambda_Gan`` 0.2, ``lambda_P`` 0.2, ``lambda_S`` 250)::

    generator:      1 * L1(y, x) + 0.2 * [RaLSGAN(D, y, x) + RaLSGAN(F, crop(y), crop(x))]
                    + 0.2 * perceptual (VGG-16 relu1_1 .. relu5_1) + 250 * style (relu2_2, relu3_3, relu4_3, relu5_2)
                    + InnerCos: L1(ST(x_ST_fi), RTV(x) at the grid) + L1(DE(x_DE_fi), x at the grid)
    discriminators: RaLSGAN(D, x, y) + RaLSGAN(F, crop(x), crop(y))          (D global, F local: 64x64 crops)
    Adam 2e-4, betas (0.5, 0.999), batch 1 (upstream's mask handling asserts it).

``RaLSGAN`` is upstream's ``GANLoss``, relativistic least squares: for the discriminator
``((r - mean f - 1)^2 + (f - mean r + 1)^2) / 2`` averaged, for the generator the same with the signs of the
targets swapped (``r`` / ``f``: logits of real / generated images). The local crop is one random 64x64
window per step (upstream: corner in [0, 191] at 256, here in [0, size - 64]), the same for real and fake.
The InnerCos targets are the ground truth and its RTV smoothing (:func:`tsgl_encoder.rtv.rtv_smooth`,
upstream's MATLAB ``tsmooth`` precomputed offline) resized bilinearly to the grid (input / 8).

The ``tsgl`` variant is :func:`adapters.medfe.replace_encoder` with its defaults (MEDFE's InstanceNorm decoder
and its softmax kept: only the encoder changes) and keeps MEDFE's ``InnerCos`` head, so both variants train
with the same loss terms. Deviations from upstream: VGG inputs are ImageNet-normalised (upstream feeds
[-1, 1] images to VGG as they are); ``relu5_2`` is VGG-16's (upstream's ``relu5_2`` re-applies its relu5_1 block
to relu5_1, a pooled 1/32 map); upstream backpropagates the InnerCos terms twice (``loss.backward()`` and
again inside the total), here once with weight ``intermediate``; every sample uses its own mask.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adapters.medfe import create_discriminator, create_generator, load_checkpoint, parameters_by_part, replace_encoder
from adapters.medfe.priors import PRIORS
from adapters.medfe.tsgl_medfe import TSGLMEDFEGenerator, pyramid_channels

from ...registry import create_encoder
from ...rtv import rtv_smooth
from ..training import (
    Adversary,
    Batch,
    EncoderPart,
    Host,
    LossNetworks,
    LossWeights,
    Prediction,
    ResidualWidening,
    example_batch,
)

MEDFE_LOSSES = LossWeights(l1_hole=1.0, l1_valid=1.0, adversarial="rlsgan", adversarial_weight=0.2, perceptual=0.2,
                           style=250.0, intermediate=1.0, edge=0.0)
PERCEPTUAL_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
STYLE_LAYERS = ("relu2_2", "relu3_3", "relu4_3", "relu5_2")
LOCAL_CROP = 64


def relativistic_lsgan(real: Tensor, fake: Tensor, discriminator_turn: bool) -> Tensor:
    """Upstream's ``GANLoss``: relativistic least squares on the logits of real and generated images."""
    sign = 1.0 if discriminator_turn else -1.0
    real, fake = real.float(), fake.float()
    return (((real - fake.mean() - sign) ** 2).mean() + ((fake - real.mean() + sign) ** 2).mean()) / 2


class MEDFEAdversary(Adversary):
    """MEDFE's global (``netD``) and local (``netF``, one random 64x64 crop per step) discriminators."""

    def __init__(self, losses: LossWeights, width: int = 64) -> None:
        if losses.adversarial != "rlsgan":
            raise ValueError(f"MEDFE's adversarial loss is relativistic least squares: LossWeights.adversarial must "
                             f"be 'rlsgan', got {losses.adversarial!r}")
        super().__init__(losses)
        self.network = create_discriminator("medfe", ndf=width)
        self._corner = (0, 0)

    def _crop(self, image: Tensor) -> Tensor:
        top, left = self._corner
        return image[..., top : top + LOCAL_CROP, left : left + LOCAL_CROP]

    def _logits(self, image: Tensor) -> tuple[Tensor, Tensor]:
        return self.network(image, self._crop(image))

    def forward(self, batch: Batch, prediction: Prediction) -> Tensor:
        height, width = batch["image"].shape[-2:]
        self._corner = tuple(int(torch.randint(0, side - LOCAL_CROP + 1, ())) for side in (height, width))
        real_global, real_local = self._logits(batch["image"])
        fake_global, fake_local = self._logits(prediction.output.detach())
        return relativistic_lsgan(real_global, fake_global, True) + relativistic_lsgan(real_local, fake_local, True)

    def generator_terms(self, batch: Batch, prediction: Prediction) -> dict[str, Tensor]:
        real_global, real_local = self._logits(batch["image"])
        fake_global, fake_local = self._logits(prediction.output)
        loss = relativistic_lsgan(real_global, fake_global, False) + relativistic_lsgan(real_local, fake_local, False)
        return {"adversarial": self.losses.adversarial_weight * loss}


@dataclass
class MEDFEHost(Host):
    """``overrides``: MEDFE generator arguments (``ngf`` for narrow CPU runs); ``encoder``: the TSGL preset of the
    ``tsgl`` variant (its pyramid is set to MEDFE's widths ``ngf * (1, 2, 4, 8, 8, 8)``)."""

    overrides: dict = field(default_factory=dict)
    encoder: str = "tsgl_base"
    name: str = "medfe"
    native_losses: LossWeights = MEDFE_LOSSES
    size_multiple: int = 64
    perceptual_layers: dict[str, float] | None = field(  # MEDFE's VGG-16 taps; perceptual / style pick theirs
        default_factory=lambda: dict.fromkeys((*PERCEPTUAL_LAYERS, *STYLE_LAYERS), 1.0))
    checkpoint_kinds = ("tsgl_medfe",)  # the official TSGL(MEDFE) generator files
    prior_choices = PRIORS

    @property
    def ngf(self) -> int:
        return self.overrides.get("ngf", 64)

    def size_problem(self, size: int) -> str | None:
        smallest = 64 * (self.overrides.get("dilation", 2) + 1)  # the residual blocks reflect-pad the 1/64 map
        if size % 64 or size < smallest:
            return f"needs sizes that are multiples of 64, at least {smallest}"
        return None

    def build_own(self, width: int | None = None) -> nn.Module:
        """``width``: the hidden channels of a residual pair of 3x3 convs (the first with ``netEN``'s InstanceNorm
        and LeakyReLU) after each of ``Encoder_2 .. 6``, for the ``8 * ngf``-channel blocks (narrower ones in
        proportion); the maps ``pc_block`` reads keep their widths."""
        model = create_generator("medfe", **self.overrides)
        if width is None:
            return model
        for index in range(2, 7):
            name = f"Encoder_{index}"
            block = getattr(model.netEN, name)
            channels = block.model[1].out_channels  # (LeakyReLU, conv, [norm])
            hidden = max(1, round(width * channels / (8 * self.ngf)))
            expand = nn.Sequential(nn.Conv2d(channels, hidden, 3, padding=1), nn.InstanceNorm2d(hidden),
                                   nn.LeakyReLU(0.2))
            setattr(model.netEN, name, ResidualWidening(block, expand, nn.Conv2d(hidden, channels, 3, padding=1)))
        return model

    def widening_range(self) -> tuple[int, int]:
        return 1, 64 * 8 * self.ngf

    def swap_encoder(self, model: nn.Module, overrides: dict | None = None) -> nn.Module:
        """MEDFE's ``pc_block`` and decoder fed by TSGL's encoder; MEDFE's ``InnerCos`` head comes along."""
        if isinstance(model, TSGLMEDFEGenerator):
            return model
        widths = pyramid_channels(self.ngf)
        encoder = create_encoder(self.encoder, **(overrides or {}))
        if tuple(encoder.out_channels) != widths:
            encoder = create_encoder(self.encoder, pyramid_channels=widths, **(overrides or {}))
        swapped = replace_encoder(model, encoder)
        swapped.inner_cos = model.netMEDFE.loss[0]
        return swapped

    def load_pretrained(self, path: str) -> nn.Module:
        return load_checkpoint(path, **self.overrides)

    @classmethod
    def from_published(cls, path: str, kind: str) -> tuple[nn.Module, MEDFEHost]:
        """MEDFE's three networks for ``kind`` ``"medfe"``, an official TSGL(MEDFE) generator for ``"tsgl_medfe"``."""
        host = cls()
        model = host.load_pretrained(str(path))
        found = "tsgl_medfe" if isinstance(model, TSGLMEDFEGenerator) else "medfe"
        if found != kind:
            described = {"medfe": "MEDFE's EN / DE / MEDFE networks", "tsgl_medfe": "a TSGL(MEDFE) generator"}
            raise ValueError(f"{str(path)!r} holds {described[found]}, not {described[kind]}: pass --host {found}")
        return model, host

    def use_priors(self, model: nn.Module, kind: str) -> nn.Module:
        """TSGL's generators compute edge / gray / RTV priors ``"masked"`` or ``"official"``; MEDFE's own encoder
        reads none."""
        super().use_priors(model, kind)
        if isinstance(model, TSGLMEDFEGenerator):
            model.priors = kind
        elif kind != "masked":
            raise ValueError(f"priors {kind!r}: MEDFE's own encoder reads no priors (only TSGL's encoder does)")
        return model

    def predict(self, model: nn.Module, image: Tensor, mask: Tensor) -> Prediction:
        if not model.training:
            return Prediction(model(image, mask))
        if isinstance(model, TSGLMEDFEGenerator):
            output, (texture, structure) = model.forward_with_groups(image, mask)
            inner = (model.inner_cos(structure), model.inner_cos(texture))
        else:
            output, inner = model.forward_with_inner(image, mask)
        return Prediction(output, extras={"inner_structure": inner[0], "inner_texture": inner[1]})

    def reconstruction_terms(self, batch: Batch, prediction: Prediction, losses: LossWeights,
                             networks: LossNetworks) -> dict[str, Tensor]:
        image, output = batch["image"], prediction.output.float()
        terms = {"l1": losses.l1_hole * F.l1_loss(output, image)}
        vgg = networks.vgg
        if vgg is not None:
            ours, theirs = vgg.extract(output), vgg.extract(image)
            if losses.perceptual > 0:
                terms["perceptual"] = losses.perceptual * vgg.distance(ours, theirs, only=PERCEPTUAL_LAYERS)
            if losses.style > 0:
                terms["style"] = losses.style * vgg.style_distance(ours, theirs, only=STYLE_LAYERS)
        if losses.intermediate > 0 and "inner_structure" in prediction.extras:
            terms["intermediate"] = losses.intermediate * self.inner_cos_terms(image, prediction)
        return terms

    @staticmethod
    def inner_cos_terms(image: Tensor, prediction: Prediction) -> Tensor:
        """``L1(ST, RTV(image))`` + ``L1(DE, image)``, the targets resized to the grid (bilinear)."""
        structure, texture = prediction.extras["inner_structure"], prediction.extras["inner_texture"]
        grid = structure.shape[-2:]
        with torch.no_grad():
            smooth = rtv_smooth((image.float() + 1) / 2, solver="cg" if image.is_cuda else "auto") * 2 - 1
        target_structure = F.interpolate(smooth, size=grid, mode="bilinear", align_corners=False)
        target_texture = F.interpolate(image.float(), size=grid, mode="bilinear", align_corners=False)
        return F.l1_loss(structure.float(), target_structure) + F.l1_loss(texture.float(), target_texture)

    def build_adversary(self, losses: LossWeights, width: int) -> Adversary | None:
        return MEDFEAdversary(losses, width) if losses.adversarial_weight > 0 else None

    def encoder_parameters(self, model: nn.Module) -> int:
        return parameters_by_part(model)["encoder"]

    def example_inputs(self, batch: int, size: int, device: torch.device) -> tuple:
        return example_batch(batch, size, device)

    def encoder_part(self, model: nn.Module) -> EncoderPart:
        """TSGL's encoder after the swap (its pyramid), else MEDFE's ``netEN`` on its filled input."""
        if isinstance(model, TSGLMEDFEGenerator):
            return EncoderPart("medfe encoder", model.encoder)
        return EncoderPart("medfe encoder", model, _own_pyramid, parameters_by_part(model)["encoder"])


def _own_pyramid(model: nn.Module, image: Tensor, mask: Tensor) -> list[Tensor]:
    return model.netEN(model.encoder_input(image, mask))
