"""Losses for training inpainting generators with (or without) the TSGL encoder.

* :func:`masked_l1`: L1 on the hole and on the known region, weighted (the official TSGL image loss
  is ``5 * hole + 1 * valid``, both averaged over all pixels).
* :func:`discriminator_loss` / :func:`generator_loss`: ``"hinge"`` (the official TSGL training) or
  ``"nsgan"`` (non-saturating, LaMa), :func:`r1_penalty` (LaMa's ``gp_coef``),
  :func:`feature_matching_loss` (the PatchGAN they train is LaMa's, :mod:`adapters.lama.discriminator`).
* :class:`StructureEdgeHead` + :func:`edge_loss`: the official structure supervision. The official
  MEDFE model decodes the deepest structure map back to a full-resolution edge map (two more
  stride-2 partial convs, seven upsampling partial convs, a residual bottleneck, 1x1 conv + sigmoid)
  and trains it with ``5 * L1(hole) + 1 * L1(valid)`` against the Canny edges of the full image.
* :class:`PerceptualLoss`: VGG-19 / VGG-16 feature L1 and Gram-matrix style loss, with backbone weights
  from a local file only.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from ..checkpoints import load_file, select_state_dict
from ..layers import PartialConv2d
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


class ProjectedEdgeHead(nn.Module):
    """TSGL's :class:`StructureEdgeHead` on another encoder's features (the ``own_edge`` control).

    A 1x1 conv + BatchNorm + ReLU maps the host's own features at reduction ``2**K`` onto the width of
    ``S_K``; the head is then the TSGL variant's, and its partial-conv mask marks the cells that hold a
    known pixel (the partial-convolution rule for a ``2**K`` stride).
    """

    def __init__(self, in_channels: int, structure_channels: tuple[int, ...], extra_down: int = 2) -> None:
        super().__init__()
        deepest = structure_channels[-1]
        self.reduction = 2 ** len(structure_channels)
        self.project = nn.Sequential(nn.Conv2d(in_channels, deepest, 1, bias=False), nn.BatchNorm2d(deepest),
                                     nn.ReLU(True))
        self.head = StructureEdgeHead(structure_channels, extra_down)

    def forward(self, features: Tensor, known: Tensor) -> Tensor:
        """``features (B, C, H / 2**K, W / 2**K)``, ``known (B, 1, H, W)`` (1 = known) -> edges ``(B, 1, H, W)``."""
        mask = F.max_pool2d(known, self.reduction)  # (B, 1, H / 2**K, W / 2**K)
        return self.head(self.project(features), mask)


VGG_LAYERS = {  # torchvision ``features`` index of each named tap
    "vgg19": {"relu1_1": 1, "relu2_1": 6, "relu3_1": 11, "relu4_1": 20, "relu5_1": 29,
              "conv4_4": 25, "conv5_4": 34},  # conv taps (before their ReLU): MAT's perceptual loss
    "vgg16": {"relu1_1": 1, "relu2_1": 6, "relu3_1": 11, "relu4_1": 18, "relu5_1": 25,
              "relu2_2": 8, "relu3_3": 15, "relu4_3": 22, "relu5_2": 27,  # MEDFE's style taps
              "pool1": 4, "pool2": 9, "pool3": 16},
}
DEFAULT_LAYERS = {"vgg19": ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
                  "vgg16": ("pool1", "pool2", "pool3")}  # vgg16: CTSDG's extractor
LAST_CONV = {28: "vgg16", 34: "vgg19"}  # index of the last conv in ``features`` -> architecture


def gram_matrix(features: Tensor) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, C, C)`` normalised by ``C * H * W`` (the style loss's statistic)."""
    flat = rearrange(features, "b c h w -> b c (h w)")
    return flat @ flat.transpose(1, 2) / flat[0].numel()


class PerceptualLoss(nn.Module):
    """L1 between VGG features of prediction and target (ImageNet-normalised inputs in [-1, 1]), and the
    Gram-matrix style loss on the same features.

    ``weights_path``: a local torchvision ``vgg19`` or ``vgg16`` state_dict (told apart by its keys;
    nothing is downloaded). Default taps: relu1_1 .. relu5_1 for VGG-19, pool1 .. pool3 for VGG-16 (CTSDG).
    ``layers`` names the taps, or maps them to weights (MAT: ``{"conv4_4": 1 / 4, "conv5_4": 1 / 2}``).
    """

    def __init__(self, weights_path: str | Path, layers: tuple[str, ...] | dict[str, float] | None = None) -> None:
        super().__init__()
        from torchvision.models import vgg16, vgg19

        path = Path(weights_path)
        if not path.is_file():
            raise FileNotFoundError(f"perceptual loss: no VGG weights at {str(path)!r} (local files only)")

        state = select_state_dict(load_file(path), path, ())  # a flat torchvision state_dict
        features = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
        last = max((int(k.split(".")[0]) for k in features), default=-1)
        if last not in LAST_CONV:
            raise ValueError(f"perceptual loss: {str(path)!r} is not a torchvision vgg16/vgg19 state_dict "
                             f"(expected 'features.*' up to index 28 or 34, found {last})")
        self.architecture = LAST_CONV[last]
        network = (vgg16 if self.architecture == "vgg16" else vgg19)(weights=None)
        network.features.load_state_dict(features, strict=True)  # the classifier is not used
        layers = layers or DEFAULT_LAYERS[self.architecture]
        weights = dict(layers) if isinstance(layers, dict) else dict.fromkeys(layers, 1.0)
        known = VGG_LAYERS[self.architecture]
        unknown = sorted(set(weights) - set(known))
        if unknown:
            raise ValueError(f"unknown {self.architecture} layers {unknown}; available: {sorted(known)}")
        self.names = sorted(weights, key=known.get)  # in tap order
        self.taps = [known[name] for name in self.names]
        self.layer_weights = [weights[name] for name in self.names]
        self.features = network.features[: self.taps[-1] + 1].eval().requires_grad_(False)
        for layer in self.features:  # an in-place ReLU would overwrite a tapped conv output
            if isinstance(layer, nn.ReLU):
                layer.inplace = False
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def extract(self, image: Tensor) -> list[Tensor]:
        """The tapped features of an image in [-1, 1]."""
        return tap_features(self.features, ((image + 1) / 2 - self.mean) / self.std, self.taps)

    def _pairs(self, pred: list[Tensor], target: list[Tensor], only: tuple[str, ...] | None):
        """``(weight, pred_i, target_i)`` of every tap, or of the taps named in ``only``."""
        if only is not None and set(only) - set(self.names):
            raise ValueError(f"only must name tapped layers {self.names}, got {list(only)}")
        pairs = zip(self.names, self.layer_weights, pred, target, strict=True)
        return [(w, a, b) for name, w, a, b in pairs if only is None or name in only]

    def distance(self, pred: list[Tensor], target: list[Tensor], only: tuple[str, ...] | None = None) -> Tensor:
        """Perceptual loss of extracted features: ``sum_i w_i L1(pred_i, target_i)`` (``only``: these layers)."""
        return sum(w * F.l1_loss(a, b.detach()) for w, a, b in self._pairs(pred, target, only))

    def style_distance(self, pred: list[Tensor], target: list[Tensor], only: tuple[str, ...] | None = None
                       ) -> Tensor:
        """Style loss of extracted features: ``sum_i w_i L1(gram(pred_i), gram(target_i))`` (``only``: these)."""
        pairs = self._pairs(pred, target, only)
        return sum(w * F.l1_loss(gram_matrix(a), gram_matrix(b.detach())) for w, a, b in pairs)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return self.distance(self.extract(pred), self.extract(target))
