"""Reconstructing texture via structure, on the global and the local side (the paper's guidance step).

After each downsampling, the texture map ``x_k`` is normalised and denormalised with a scale and a
shift predicted from structure (SPADE, Park et al. 2019: ``out = norm(x) * (1 + gamma) + beta``):

* **global side**: BatchNorm without affine (statistics over batch and space per channel),
  denormalised from the structure map ``S_k``; twice, each followed by leaky ReLU and a
  spectral-normalised 3x3 conv (official ``norm_0/conv_0``, ``norm_1/conv_1``);
* **local side**: positional normalisation (PONO: per-pixel statistics across channels),
  denormalised from the **local residual structure** ``R_k = F_{k-1} - up2(x_k)``, what the finer map
  held that the coarser one lost (official ``norm_s/conv_s``).

``F_k = global + local`` (``+ x_k`` in the official 512x512 LaMa variant: ``identity=True``).

Ablations (the paper's RQ2 / RQ3, as ``TSGLConfig`` fields): ``sides="global"`` or ``"local"`` builds
one side only (the other's parameters do not exist); ``local_condition="finer"`` conditions the
local side on ``F_{k-1}`` itself instead of the residual structure ``R_k`` (no ``- up2(x_k)``).
``R_k`` lives at the finer scale; TSGL_MEDFE resizes it bilinearly (``align_corners=True``) to
``x_k``'s size, TSGL_Lama samples it with nearest neighbours (``residual_resize="nearest"``).
The public material does not spell out the paper's Eq. 6; this is the official code's reading.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from .layers.inference_cache import Conv2d, derived, tensors_of

LRELU_SLOPE = 0.2


class PositionalNorm2d(nn.Module):
    """PONO (Li et al. 2019): normalise each pixel across channels (unbiased variance).

    The variance is the two-pass sum of squared deviations (the deviations are the output's numerator
    anyway): the same value as ``x.var(dim=1)`` up to rounding, and ~10x faster on CPU, where a
    reduction over the channel axis of ``var`` does not vectorise (7 ms against 0.7 ms on
    ``(1, 180, 128, 128)``, 2 threads, fp32 and bf16).
    """

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        if x.numel() == 0:  # an empty batch: nothing to normalise
            return x
        centred = x - x.mean(dim=1, keepdim=True)
        variance = centred.square().sum(dim=1, keepdim=True) / (x.shape[1] - 1)  # (B, 1, H, W)
        return centred / (variance + self.eps).sqrt()


def convs_of_one_input(convs: tuple[nn.Conv2d, ...], x: Tensor, bias_offsets: tuple[float, ...] | None = None
                       ) -> tuple[Tensor, ...]:
    """Several 3x3 convolutions of the same input as one convolution (one pass over ``x``, one GEMM).

    ``bias_offsets`` adds a constant to each conv's output through its bias (free: SPADE's ``1 + gamma``).
    """
    offsets = bias_offsets or (0.0,) * len(convs)

    def fused() -> tuple[Tensor, Tensor]:
        return (torch.cat([conv.weight for conv in convs]),
                torch.cat([conv.bias + offset for conv, offset in zip(convs, offsets, strict=True)]))

    weight, bias = derived(convs[0], f"fused_with_{len(convs) - 1}_{offsets}", tensors_of(*convs), fused, like=x)
    out = F.conv2d(x, weight, bias, padding=convs[0].padding)  # (B, sum of out_channels, H, W)
    return out.split([conv.out_channels for conv in convs], dim=1)


def resize_like(cond: Tensor, x: Tensor) -> Tensor:
    """``cond`` resized (nearest) to ``x``'s spatial size, when it differs."""
    return cond if cond.shape[-2:] == x.shape[-2:] else F.interpolate(cond, size=x.shape[-2:], mode="nearest")


class SPADE(nn.Module):
    """Spatially-adaptive denormalisation of ``norm(x)`` from a conditioning map:
    ``norm(x) * (1 + gamma(h)) + beta(h)`` with ``h = relu(shared(cond))``."""

    def __init__(self, norm: nn.Module, channels: int, cond_channels: int, hidden: int) -> None:
        super().__init__()
        self.norm = norm
        self.shared = nn.Sequential(Conv2d(cond_channels, hidden, 3, padding=1), nn.ReLU())
        self.to_gamma = Conv2d(hidden, channels, 3, padding=1)
        self.to_beta = Conv2d(hidden, channels, 3, padding=1)

    def modulate(self, x: Tensor, hidden: Tensor) -> Tensor:
        """``norm(x) * (1 + gamma) + beta``: gamma and beta as one conv, the ``1 +`` folded into its bias."""
        scale, shift = convs_of_one_input((self.to_gamma, self.to_beta), hidden, bias_offsets=(1.0, 0.0))
        return torch.addcmul(shift, self.norm(x), scale)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        return self.modulate(x, self.shared(resize_like(cond, x)))


def sn_conv3x3(channels_in: int, channels_out: int) -> nn.Module:
    return spectral_norm(Conv2d(channels_in, channels_out, 3, padding=1))


RESIDUAL_RESIZES = ("bilinear", "nearest")
GUIDANCE_SIDES = ("both", "global", "local")
LOCAL_CONDITIONS = ("residual", "finer")


def layout_of(x: Tensor) -> torch.memory_format:
    """The memory format whose dimension order ``x``'s strides follow (``channels_last`` also for a channel slice
    of a ``channels_last`` map, which is not contiguous in any format), for a 4-d tensor."""
    return torch.channels_last if x.ndim == 4 and x.stride(1) < x.stride(3) else torch.contiguous_format


def local_residual_structure(finer: Tensor, texture: Tensor, resize: str = "bilinear", residual: bool = True
                             ) -> Tensor:
    """``R_k = F_{k-1} - nearest_up2(x_k)`` at the finer scale, resized to ``x_k``'s size (``residual=False``:
    ``F_{k-1}`` itself, resized: the no-residual ablation).

    ``x_k`` is upsampled in ``F_{k-1}``'s layout (nearest upsampling keeps its input's layout), so the subtraction
    reads two maps of one layout: subtracting an NCHW map from a ``channels_last`` one walks one of them across its
    strides. Same values (the upsampling copies); no copy when the layouts match, as they do in the encoder.
    """
    if residual:
        if layout_of(texture) != layout_of(finer):
            texture = texture.contiguous(memory_format=layout_of(finer))
        lost = finer - F.interpolate(texture, scale_factor=2.0, mode="nearest")
    else:
        lost = finer
    if resize == "nearest":
        return F.interpolate(lost, size=texture.shape[-2:], mode="nearest")
    return F.interpolate(lost, size=texture.shape[-2:], mode="bilinear", align_corners=True)


class GlobalReconstruction(nn.Module):
    """BN -> SPADE(S_k) -> lrelu -> SNconv -> BN -> SPADE(S_k) -> lrelu -> SNconv."""

    def __init__(self, dim: int, structure_channels: int, hidden: int) -> None:
        super().__init__()
        self.spade_in = SPADE(nn.BatchNorm2d(dim, affine=False), dim, structure_channels, hidden)
        self.conv_in = sn_conv3x3(dim, dim)
        self.spade_out = SPADE(nn.BatchNorm2d(dim, affine=False), dim, structure_channels, hidden)
        self.conv_out = sn_conv3x3(dim, dim)

    def forward(self, texture: Tensor, structure: Tensor) -> Tensor:
        # both SPADEs read the same S_k: their shared convs run as one
        shared = (self.spade_in.shared[0], self.spade_out.shared[0])
        hidden_in, hidden_out = (F.relu(h) for h in convs_of_one_input(shared, resize_like(structure, texture)))
        x = self.conv_in(F.leaky_relu(self.spade_in.modulate(texture, hidden_in), LRELU_SLOPE))
        return self.conv_out(F.leaky_relu(self.spade_out.modulate(x, hidden_out), LRELU_SLOPE))


class LocalReconstruction(nn.Module):
    """PONO -> SPADE(R_k) -> lrelu -> SNconv."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.spade = SPADE(PositionalNorm2d(), dim, dim, hidden)
        self.conv = sn_conv3x3(dim, dim)

    def forward(self, texture: Tensor, residual: Tensor) -> Tensor:
        return self.conv(F.leaky_relu(self.spade(texture, residual), LRELU_SLOPE))


class GuidanceBlock(nn.Module):
    """``F_k = Global(x_k, S_k) + Local(x_k, R_k) [+ x_k]``: one reconstruction step per scale."""

    def __init__(self, dim: int, structure_channels: int, hidden: int, identity: bool = False,
                 residual_resize: str = "bilinear", sides: str = "both", local_condition: str = "residual") -> None:
        super().__init__()
        for name, value, allowed in (("residual_resize", residual_resize, RESIDUAL_RESIZES),
                                     ("sides", sides, GUIDANCE_SIDES),
                                     ("local_condition", local_condition, LOCAL_CONDITIONS)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        self.global_side = GlobalReconstruction(dim, structure_channels, hidden) if sides != "local" else None
        self.local_side = LocalReconstruction(dim, hidden) if sides != "global" else None
        self.identity = identity
        self.residual_resize = residual_resize
        self.local_condition = local_condition

    def forward(self, texture: Tensor, structure: Tensor, finer: Tensor) -> Tensor:
        """texture ``x_k (B, C, h, w)``, structure ``S_k``, finer ``F_{k-1} (B, C, 2h, 2w)``."""
        out = self.global_side(texture, structure) if self.global_side is not None else 0
        if self.local_side is not None:
            residual = local_residual_structure(finer, texture, self.residual_resize,
                                                residual=self.local_condition == "residual")
            out = out + self.local_side(texture, residual)
        return out + texture if self.identity else out


class SplitGuidanceBlock(nn.Module):
    """Independent :class:`GuidanceBlock` s on channel groups of texture, structure and finer map.

    The official TSGL(LaMa) model reconstructs its deepest level in two parts, the 64 channels that
    become LaMa's local branch and the 192 of its global branch (``h2l_4_l``, ``h2l_4_g``).
    """

    def __init__(self, groups: tuple[int, ...], hidden: int, identity: bool, residual_resize: str, **ablation: str
                 ) -> None:
        super().__init__()
        self.groups = tuple(groups)
        self.parts = nn.ModuleList(GuidanceBlock(c, c, hidden, identity, residual_resize, **ablation) for c in groups)

    def forward(self, texture: Tensor, structure: Tensor, finer: Tensor) -> Tensor:
        pieces = zip(*(t.split(self.groups, dim=1) for t in (texture, structure, finer)), strict=True)
        return torch.cat([part(*piece) for part, piece in zip(self.parts, pieces, strict=True)], dim=1)


__all__ = [
    "SPADE",
    "GlobalReconstruction",
    "GuidanceBlock",
    "LocalReconstruction",
    "PositionalNorm2d",
    "SplitGuidanceBlock",
    "local_residual_structure",
]
