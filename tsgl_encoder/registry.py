"""Named presets of :class:`TSGLEncoder`: :func:`create_encoder`, and the same presets in timm's registry.

After ``import tsgl_encoder``, ``timm.create_model("tsgl_base")`` builds the encoder that
``create_encoder("tsgl_base")`` builds, and ``timm.create_model("tsgl_base", pretrained=True,
pretrained_cfg_overlay=dict(file=PATH))`` loads a local file into it (a ``save_pretrained`` folder, a
``.safetensors`` file or a torch file holding a state_dict, read with ``weights_only``). No preset has
published weights to download. Each preset's ``pretrained_cfg`` states the input size it was built
for, the [-1, 1] convention as mean / std 0.5, the license and the official source. The encoder
always returns features (``features_only`` is accepted and changes nothing); ``out_indices`` selects
levels.
"""

from __future__ import annotations

import dataclasses

from timm.models import build_model_with_cfg, generate_default_cfgs, register_model, resolve_pretrained_cfg

from .encoder import TSGLConfig, TSGLEncoder

_PRESETS: dict[str, TSGLConfig] = {
    # The official 256x256 TSGL(MEDFE) encoder: ~38 M parameters.
    "tsgl_base": TSGLConfig(),
    # Same mechanisms, narrower: for CPU training and quick experiments.
    "tsgl_small": TSGLConfig(
        structure_channels=(32, 64, 128, 256, 512),
        texture_dim=96,
        depths=(2, 2, 2, 2),
        spade_hidden=64,
        pyramid_channels=(32, 64, 128, 256, 256, 256),
        smooth_input=False,
    ),
    # Under 2 M parameters: tests and CPU smoke runs.
    "tsgl_tiny": TSGLConfig(
        structure_channels=(16, 32, 64, 96, 128),
        texture_dim=32,
        depths=(2, 2, 2, 2),
        num_heads=2,
        spade_hidden=32,
        pyramid_channels=(16, 32, 64, 96, 128, 128),
        smooth_input=False,
    ),
    # The conv-only encoder of the official 512x512 TSGL(LaMa) model (26.3 M parameters): reflect-padded
    # conv + BN + ReLU in both streams, texture width 256, guidance with the identity term, no pyramid
    # projections; its deepest level is reconstructed as LaMa's local 64 / global 192 channels.
    "tsgl_lama": TSGLConfig(
        structure_channels=(128, 256, 256, 256, 256),
        structure_kernels=(3, 3, 3, 3, 3),
        structure_layer="conv",
        structure_stem=64,
        texture_dim=256,
        texture_block="conv",
        texture_stem_kernel=7,
        depths=(0, 0, 0, 0),
        shift_windows=(False, False, False, False),
        mask_aware_stages=(False, False, False, False),
        guidance_identity=True,
        residual_resize="nearest",
        deepest_split=(64, 192),
        pyramid_channels=None,
        smooth_input=False,
    ),
}


#: The paper's ablations as named TSGLConfig overrides (substitute_encoders: ``--variants tsgl:NAME``).
ABLATIONS: dict[str, dict] = {
    "global_only": {"guidance_sides": "global"},  # RQ2: reconstruction on the global side only
    "local_only": {"guidance_sides": "local"},  # RQ2: on the local side only
    "no_residual": {"local_condition": "finer"},  # RQ3: the local side reads F_{k-1}, not R_k = F_{k-1} - up2(x_k)
    "no_balance": {"cross_layer_balance": False},  # the deepest level from f_K alone, no cross-layer fusion
    "prior=edge": {"structure_priors": "edge"},  # which prior guides: the Canny edges only
    "prior=gray": {"structure_priors": "gray"},  # the gray image only
    "prior=none": {"structure_priors": "none"},  # neither: the structure stream sees the mask alone
}


def ablation_overrides(name: str) -> dict:
    """The TSGLConfig overrides of ablation ``name`` (see :data:`ABLATIONS`)."""
    if name not in ABLATIONS:
        raise ValueError(f"unknown ablation {name!r}; available: {sorted(ABLATIONS)}")
    return dict(ABLATIONS[name])


def list_encoders() -> list[str]:
    """Names accepted by :func:`create_encoder`."""
    return sorted(_PRESETS)


def get_config(name: str, **overrides) -> TSGLConfig:
    """The :class:`TSGLConfig` of preset ``name`` with ``overrides`` applied."""
    if not isinstance(name, str) or name not in _PRESETS:
        raise ValueError(f"unknown encoder preset {name!r}; available: {list_encoders()}")
    fields = {f.name for f in dataclasses.fields(TSGLConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise TypeError(f"unknown override(s) {unknown} for {name!r}; valid fields: {sorted(fields)}")
    return dataclasses.replace(_PRESETS[name], **overrides)


def create_encoder(name: str = "tsgl_base", out_indices: tuple[int, ...] | None = None, **overrides) -> TSGLEncoder:
    """Builds preset ``name`` (see :func:`list_encoders`); keyword overrides replace config fields;
    ``out_indices`` selects the returned levels (default: all)."""
    return TSGLEncoder(get_config(name, **overrides), out_indices=out_indices)


# ------------------------------------------------------------------------------------------------ timm
OFFICIAL_CODE = "https://github.com/htyjers/ConvInpaint-TSGL"
PAPER = ("Thinking inside the Convolution for Image Inpainting: Reconstructing Texture via Structure under "
         "Global and Local Side")


def _pretrained_cfg(size: int, description: str) -> dict:
    return {
        "input_size": (3, size, size), "min_input_size": (3, 64, 64), "fixed_input_size": False,
        "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5),  # (x - 0.5) / 0.5: images in [-1, 1]
        "num_classes": 0, "custom_load": True,  # weights load through TSGLEncoder.load_pretrained
        "license": "apache-2.0", "origin_url": OFFICIAL_CODE, "paper_ids": "arXiv:2602.03013", "paper_name": PAPER,
        "description": description, "notes": ("the image + mask signature: model(image, mask); H, W multiples of 64",),
    }


default_cfgs = generate_default_cfgs({
    "tsgl_base": _pretrained_cfg(256, "the official TSGL(MEDFE) encoder at 256x256"),
    "tsgl_small": _pretrained_cfg(256, "narrower TSGL encoder for CPU training (this library's preset)"),
    "tsgl_tiny": _pretrained_cfg(256, "under 2 M parameters, for tests and smoke runs (this library's preset)"),
    "tsgl_lama": _pretrained_cfg(512, "the conv-only encoder of the official 512x512 TSGL(LaMa) model"),
})


def _create_tsgl(variant: str, pretrained: bool = False, **kwargs) -> TSGLEncoder:
    """timm's ``build_model_with_cfg`` for preset ``variant``; extra keyword arguments override config fields."""
    kwargs.pop("features_only", None)  # the encoder returns features in any case
    for name, allowed in (("in_chans", 3), ("num_classes", 0)):
        if kwargs.get(name, allowed) != allowed:
            raise ValueError(f"{variant}: {name} must be {allowed} (RGB + mask in, features out), got {kwargs[name]}")
    # a file given in the overlay still loads through TSGLEncoder.load_pretrained (timm would reset custom_load)
    kwargs["pretrained_cfg_overlay"] = {"custom_load": True, **(kwargs.get("pretrained_cfg_overlay") or {})}
    cfg = resolve_pretrained_cfg(variant, pretrained_cfg=kwargs.get("pretrained_cfg"),
                                 pretrained_cfg_overlay=kwargs["pretrained_cfg_overlay"])
    if pretrained and not (cfg.file or cfg.state_dict or cfg.hf_hub_id):
        raise ValueError(
            f"{variant} has no published weights to download: pass pretrained_cfg_overlay=dict(file=PATH) (a "
            f"save_pretrained folder, a .safetensors file or a state_dict file; official checkpoints convert with "
            f"tsgl_encoder.convert.from_official first)"
        )
    return build_model_with_cfg(lambda **overrides: create_encoder(variant, **overrides), variant, pretrained,
                                kwargs_filter=("num_classes", "global_pool", "in_chans"), **kwargs)


@register_model
def tsgl_base(pretrained: bool = False, **kwargs) -> TSGLEncoder:
    """The official 256x256 TSGL(MEDFE) encoder (38.0 M parameters)."""
    return _create_tsgl("tsgl_base", pretrained, **kwargs)


@register_model
def tsgl_small(pretrained: bool = False, **kwargs) -> TSGLEncoder:
    """The same mechanisms, narrower: CPU training and quick experiments."""
    return _create_tsgl("tsgl_small", pretrained, **kwargs)


@register_model
def tsgl_tiny(pretrained: bool = False, **kwargs) -> TSGLEncoder:
    """Under 2 M parameters: tests and CPU smoke runs."""
    return _create_tsgl("tsgl_tiny", pretrained, **kwargs)


@register_model
def tsgl_lama(pretrained: bool = False, **kwargs) -> TSGLEncoder:
    """The conv-only encoder of the official 512x512 TSGL(LaMa) model (26.3 M parameters)."""
    return _create_tsgl("tsgl_lama", pretrained, **kwargs)
