"""The benchmark's presets: image size, schedule, seeds, hosts (with their settings), losses and mask sets of
``smoke``, ``quick``, ``ablation`` and ``paper``; and the fixed evaluation mask sets."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..hosts import CTSDGHost, Host, LamaHost, MATHost, MEDFEHost, SmpUnetHost
from ..masks import eval_mask_set, lama_mask
from ..training import DEFAULT_VARIANTS, LossWeights, TrainConfig


@dataclass(frozen=True)
class HostRun:
    """A host in a preset; ``train`` / ``losses`` replace the preset's (e.g. each host's published schedule)."""

    host: Host
    train: TrainConfig | None = None
    losses: LossWeights | None = None


@dataclass(frozen=True)
class Preset:
    size: int
    train: TrainConfig
    seeds: tuple[int, ...]
    hosts: dict = field(default_factory=dict)  # host name -> HostRun
    losses: LossWeights | None = None  # None: each host's native losses (perceptual/style only with --vgg-weights)
    train_masks: str = "mat_large"
    eval_per_bin: int = 8
    val_size: int = 2000  # folder data: images held out for validation
    eval_images: int | None = None  # evaluate on the first n validation images only (smoke)
    fid: bool = False  # FID on CPU costs minutes per set: on for "paper" (when an Inception file is found)
    variants: tuple[str, ...] = DEFAULT_VARIANTS  # what each host is trained as (--variants replaces it)


def _quick_losses() -> LossWeights:
    # CPU minutes cannot train LaMa's GAN-heavy native mix (and its ResNet-PL needs ADE20k weights):
    # hole + valid L1 with a light adversarial term, the same for both encoders.
    return LossWeights(l1_hole=5.0, l1_valid=1.0, adversarial="hinge", adversarial_weight=0.05, edge=1.0)


# MAT at 128 px with its first stage 12 wide and its second stage capped at 16 channels: every code path, CPU seconds
TINY_MAT = {"img_resolution": 128, "z_dim": 32, "w_dim": 32,
            "synthesis_kwargs": {"first_stage_dim": 12, "channel_max": 16}}

# MEDFE 8 wide with dilation-1 residual blocks (its smallest size is then 128): every code path, CPU seconds
TINY_MEDFE = {"ngf": 8, "dilation": 1}

STEPS_ABLATION = 1000
PRESETS = {
    # about a minute: every host (smp_unet when segmentation_models_pytorch is installed), native losses, one seed;
    # CTSDG needs multiples of 128 px
    "smoke": Preset(size=128, seeds=(0,), eval_per_bin=1, eval_images=1,
                    train=TrainConfig(steps=2, batch_size=2, checkpoint_every=2, log_every=1, discriminator_width=16),
                    hosts={"lama": HostRun(LamaHost(overrides={"ngf": 8, "n_blocks": 1})),
                           "ctsdg": HostRun(CTSDGHost(encoder="tsgl_tiny")),
                           "mat": HostRun(MATHost(overrides=TINY_MAT, discriminator_overrides={"channel_max": 16},
                                                  encoder="tsgl_tiny")),
                           "medfe": HostRun(MEDFEHost(overrides=TINY_MEDFE, encoder="tsgl_tiny")),
                           "smp_unet": HostRun(SmpUnetHost(own="resnet18", encoder="tsgl_tiny"))}),
    # CPU minutes: LaMa only (CTSDG's 52 M and MAT's 60 M parameters do not train in minutes on 2 cores)
    "quick": Preset(size=64, seeds=(0, 1), eval_per_bin=8, losses=_quick_losses(),
                    train=TrainConfig(steps=350, batch_size=8, checkpoint_every=50, log_every=5,
                                      lr_generator=1e-3, discriminator_width=32),
                    hosts={"lama": HostRun(LamaHost(overrides={"ngf": 16, "n_blocks": 3}, adversary="patchgan"))}),
    # the controls of the substitution (parameters, edge loss) on quick's LaMa: about 21 minutes on 2 cores
    "ablation": Preset(size=64, seeds=(0, 1), eval_per_bin=8, losses=_quick_losses(),
                       variants=("own", "own_wide", "tsgl", "tsgl_no_edge"),
                       train=TrainConfig(steps=STEPS_ABLATION, batch_size=8, checkpoint_every=100, log_every=5,
                                         lr_generator=1e-3, discriminator_width=32),
                       hosts={"lama": HostRun(LamaHost(overrides={"ngf": 16, "n_blocks": 3}, adversary="patchgan"))}),
    # each host's published setting at 256 (its optimiser, schedule and losses); GPUs, your data
    "paper": Preset(size=256, seeds=(0, 1, 2), eval_per_bin=200, train_masks="lama_medium",
                    train=TrainConfig(steps=500_000, batch_size=10, checkpoint_every=5000, log_every=100,
                                      lr_generator=1e-3, lr_discriminator=1e-4, betas=(0.9, 0.999), workers=4),
                    hosts={"lama": HostRun(LamaHost(preset="lama_fourier", encoder="tsgl_base")),
                           "ctsdg": HostRun(CTSDGHost(encoder="tsgl_base"), train=TrainConfig(
                               steps=300_000, batch_size=6, checkpoint_every=5000, log_every=100, lr_generator=2e-4,
                               lr_discriminator=2e-5, betas=(0.9, 0.999), workers=4)),
                           "mat": HostRun(MATHost(preset="mat_256", encoder="tsgl_base"), train=TrainConfig(
                               steps=781_250, batch_size=32, checkpoint_every=5000, log_every=100, lr_generator=1e-3,
                               lr_discriminator=1e-3, betas=(0.0, 0.99), workers=4)),
                           # MEDFE's options: Adam 2e-4, betas (0.5, 0.999), batch 1 (its trainer asserts it)
                           "medfe": HostRun(MEDFEHost(encoder="tsgl_base"), train=TrainConfig(
                               steps=500_000, batch_size=1, checkpoint_every=5000, log_every=100, lr_generator=2e-4,
                               lr_discriminator=2e-4, betas=(0.5, 0.999), workers=4)),
                           # a generic decoder (no published inpainting setting): the preset's schedule, the
                           # library's losses; TSGL's encoder (38 M) against ResNet-34's (21 M) and own_wide
                           "smp_unet": HostRun(SmpUnetHost(encoder="tsgl_base"))},
                    fid=True),
}
LAMA_SETS = ("thin", "medium", "thick")


def eval_sets(size: int, per_bin: int) -> dict[str, torch.Tensor]:
    """The fixed evaluation masks (seeded): hole-ratio bins, then LaMa's thin/medium/thick."""
    sets = eval_mask_set(size, size, per_bin, seed=2024, generator="mat_large")
    for index, kind in enumerate(LAMA_SETS):
        rng = np.random.default_rng([2024, index])
        sets[f"lama_{kind}"] = torch.stack([lama_mask(size, size, rng, kind) for _ in range(per_bin)])
    return sets
