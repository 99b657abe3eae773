"""Losses for training inpainting generators with (or without) the TSGL encoder.

* :func:`masked_l1`: L1 on the hole and on the known region, weighted (the official TSGL image loss
  is ``5 * hole + 1 * valid``, both averaged over all pixels).
* :class:`PatchDiscriminator`: a PatchGAN (pix2pixHD / LaMa ``NLayerDiscriminator``: 4x4 convs,
  BatchNorm, leaky ReLU 0.2) that also returns its intermediate features for feature matching.
* :func:`discriminator_loss` / :func:`generator_loss`: ``"hinge"`` (the official TSGL training) or
  ``"nsgan"`` (non-saturating, LaMa), :func:`r1_penalty` (LaMa's ``gp_coef``),
  :func:`feature_matching_loss`.
* :class:`StructureEdgeHead` + :func:`edge_loss`: the official structure supervision. The official
  MEDFE model decodes the deepest structure map back to a full-resolution edge map (two more
  stride-2 partial convs, seven upsampling partial convs, a residual bottleneck, 1x1 conv + sigmoid)
  and trains it with ``5 * L1(hole) + 1 * L1(valid)`` against the Canny edges of the full image.
* :class:`PerceptualLoss`: VGG-19 feature L1, with backbone weights from a local file only.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import PartialConv2d
from .metrics import tap_features

ADVERSARIAL_KINDS = ("hinge", "nsgan")


def masked_l1(
    pred: Tensor, target: Tensor, mask: Tensor, hole_weight: float = 5.0, valid_weight: float = 1.0
) -> Tensor:
    """``hole_weight * mean(|d| * (1 - mask)) + valid_weight * mean(|d| * mask)``; mask 1 = known."""
    diff = (pred - target).abs()
    return hole_weight * (diff * (1 - mask)).mean() + valid_weight * (diff * mask).mean()


def edge_loss(pred_edge: Tensor, target_edge: Tensor, mask: Tensor) -> Tensor:
    """The official structure loss: ``5 * L1(hole) + 1 * L1(valid)`` between predicted and Canny edges."""
    return masked_l1(pred_edge, target_edge, mask, 5.0, 1.0)


class PatchDiscriminator(nn.Module):
    """PatchGAN: ``forward(x) -> (logits (B, 1, h, w), [features])``."""

    def __init__(self, in_channels: int = 3, width: int = 64, n_layers: int = 3, max_width: int = 512) -> None:
        super().__init__()
        layers = [nn.Sequential(nn.Conv2d(in_channels, width, 4, 2, 2), nn.LeakyReLU(0.2, True))]
        channels = width
        for index in range(1, n_layers + 1):
            out = min(channels * 2, max_width)
            stride = 2 if index < n_layers else 1
            layers.append(nn.Sequential(nn.Conv2d(channels, out, 4, stride, 2), nn.BatchNorm2d(out),
                                        nn.LeakyReLU(0.2, True)))
            channels = out
        layers.append(nn.Sequential(nn.Conv2d(channels, 1, 4, 1, 2)))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return x, features[:-1]


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor, kind: str = "hinge") -> Tensor:
    if kind == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    if kind == "nsgan":
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    raise ValueError(f"adversarial kind must be one of {ADVERSARIAL_KINDS}, got {kind!r}")


def generator_loss(fake_logits: Tensor, kind: str = "hinge") -> Tensor:
    if kind == "hinge":
        return -fake_logits.mean()
    if kind == "nsgan":
        return F.softplus(-fake_logits).mean()
    raise ValueError(f"adversarial kind must be one of {ADVERSARIAL_KINDS}, got {kind!r}")


def r1_penalty(real_logits: Tensor, real_images: Tensor) -> Tensor:
    """``mean ||d D(x) / d x||^2`` on real images (``real_images`` must require grad)."""
    (gradient,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return gradient.square().flatten(1).sum(1).mean()


def feature_matching_loss(fake_features: list[Tensor], real_features: list[Tensor]) -> Tensor:
    return sum(F.l1_loss(fake, real.detach()) for fake, real in zip(fake_features, real_features, strict=True))


class _PartialUpBlock(nn.Module):
    """Upsample x2 (bilinear features, nearest mask), PartialConv 3x3, BN, leaky ReLU (official ``de_high``)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = PartialConv2d(in_channels, out_channels, 3)
        self.norm = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor, mask: Tensor, size: tuple[int, int]) -> tuple[Tensor, Tensor]:
        x = F.interpolate(x, size=size, mode="bilinear")
        mask = F.interpolate(mask, size=size, mode="nearest")
        x, mask = self.conv(x, mask)
        return F.leaky_relu(self.norm(x), 0.2), mask


class StructureEdgeHead(nn.Module):
    """Decodes the deepest structure map ``S_K`` (reduction ``2**K``) into a full-resolution edge map.

    Official MEDFE layout for ``structure_channels = (c1 .. c5)``: two stride-2 partial convs
    ``c5 -> c5``, then upsampling partial convs ``c5, c5, c5 -> c4 -> c3 -> c2 -> c1`` back to full
    resolution, then ``Feature2High`` (residual bottleneck, 1x1 conv, sigmoid).
    """

    def __init__(self, structure_channels: tuple[int, ...], extra_down: int = 2) -> None:
        super().__init__()
        deepest = structure_channels[-1]
        self.down = nn.ModuleList(PartialConv2d(deepest, deepest, 3, stride=2) for _ in range(extra_down))
        self.down_norms = nn.ModuleList(nn.BatchNorm2d(deepest) for _ in range(extra_down))
        widths = [deepest] * (extra_down + 1) + list(reversed(structure_channels[:-1])) + [structure_channels[0]]
        self.up = nn.ModuleList(_PartialUpBlock(a, b) for a, b in itertools.pairwise(widths))
        c = structure_channels[0]
        self.resolver = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(True),
                                      nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        self.out = nn.Conv2d(c, 1, 1)

    def forward(self, structure: Tensor, mask: Tensor) -> Tensor:
        """``structure (B, c5, H/2^K, W/2^K)``, its 1-channel partial-conv ``mask`` -> edges ``(B, 1, H, W)``."""
        x = structure
        sizes = []  # the way back up retraces the way down (tiny maps stop shrinking at 1x1)
        for conv, norm in zip(self.down, self.down_norms, strict=True):
            sizes.append(tuple(x.shape[-2:]))
            x, mask = conv(x, mask)
            x = F.relu(norm(x))
        height, width = structure.shape[-2:]
        sizes = sizes[::-1] + [(height * 2**k, width * 2**k) for k in range(1, len(self.up) - len(sizes) + 1)]
        for block, size in zip(self.up, sizes, strict=True):
            x, mask = block(x, mask, size)
        x = F.relu(x + self.resolver(x))
        return torch.sigmoid(self.out(x))


VGG19_LAYERS = {"relu1_1": 1, "relu2_1": 6, "relu3_1": 11, "relu4_1": 20, "relu5_1": 29}


class PerceptualLoss(nn.Module):
    """L1 between VGG-19 features of prediction and target (ImageNet-normalised inputs in [-1, 1]).

    ``weights_path``: a local torchvision ``vgg19`` state_dict (nothing is downloaded).
    """

    def __init__(self, weights_path: str | Path, layers: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1",
                                                                              "relu4_1", "relu5_1")) -> None:
        super().__init__()
        from torchvision.models import vgg19

        path = Path(weights_path)
        if not path.is_file():
            raise FileNotFoundError(f"perceptual loss: no VGG-19 weights at {str(path)!r} (local files only)")
        network = vgg19(weights=None)
        state = torch.load(path, map_location="cpu", weights_only=True)
        features = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
        if not features:
            raise ValueError(f"perceptual loss: {str(path)!r} holds no 'features.*' entries of a torchvision vgg19")
        network.features.load_state_dict(features, strict=True)  # the classifier is not used
        unknown = sorted(set(layers) - set(VGG19_LAYERS))
        if unknown:
            raise ValueError(f"unknown VGG-19 layers {unknown}; available: {sorted(VGG19_LAYERS)}")
        self.taps = sorted(VGG19_LAYERS[name] for name in layers)
        self.features = network.features[: self.taps[-1] + 1].eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def _features(self, image: Tensor) -> list[Tensor]:
        return tap_features(self.features, ((image + 1) / 2 - self.mean) / self.std, self.taps)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return sum(F.l1_loss(a, b.detach()) for a, b in zip(self._features(pred), self._features(target), strict=True))
