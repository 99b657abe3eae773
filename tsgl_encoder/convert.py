"""Official TSGL(MEDFE) checkpoints -> ``tsgl_base``.

The official ``Generator`` (``TSGL_MEDFE/*/model.py``) holds the encoder and a decoder in one
state_dict, usually saved from ``nn.DataParallel`` (keys prefixed ``module.``). :func:`from_official`
renames the encoder part (``en_high_1..5``, ``en_low_1_f/1_s``, ``en_low_2..5``, ``h2l_1..5``,
``en_fusion_1..6``) onto this library's module names, drops what is recomputed here (``attn_mask``,
``resample_filter``) and ignores the decoder. :func:`to_official` is the inverse (for tests and for
moving weights back).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from torch import Tensor

from .encoder import TSGLEncoder
from .registry import create_encoder

_SPADE = {"param_free_norm": "norm", "mlp_shared": "shared", "mlp_gamma": "to_gamma", "mlp_beta": "to_beta"}
_GUIDANCE_SLOTS = {
    "norm_0": "global_side.spade_in", "conv_0": "global_side.conv_in",
    "norm_1": "global_side.spade_out", "conv_1": "global_side.conv_out",
    "norm_s": "local_side.spade", "conv_s": "local_side.conv",
}
_SPECTRAL = {"weight_orig": "parametrizations.weight.original", "weight_u": "parametrizations.weight.0._u",
             "weight_v": "parametrizations.weight.0._v"}
_RECOMPUTED = re.compile(r"(\.resample_filter|\.attn_mask)$")
_ENCODER_PREFIX = re.compile(r"^(en_high_[1-5]|en_low_(1_f|1_s|[2-5])|h2l_[1-5]|en_fusion_[1-6])\.")


def _rename_guidance(slot: str, rest: str) -> str:
    head, _, tail = rest.partition(".")
    if slot.startswith("norm"):
        return f"{_GUIDANCE_SLOTS[slot]}.{_SPADE[head]}{'.' + tail if tail else ''}"
    return f"{_GUIDANCE_SLOTS[slot]}.{_SPECTRAL.get(rest, rest)}"


def official_to_library_key(key: str) -> str:
    """Maps one official encoder key to this library's name (raises ``KeyError`` for other keys)."""
    rules = (
        (r"en_high_(\d)\.conv\.(.+)", lambda m: f"structure.stages.{int(m[1]) - 1}.conv.{m[2]}"),
        (r"en_high_(\d)\.bn\.(.+)", lambda m: f"structure.stages.{int(m[1]) - 1}.norm.{m[2]}"),
        (r"en_low_1_f\.(.+)", lambda m: f"texture.head.stem.{m[1]}"),
        (r"en_low_1_s\.(.+)", lambda m: f"texture.head.down.{m[1]}"),
        (r"en_low_(\d)\.downsample\.conv\.(.+)", lambda m: f"texture.stages.{int(m[1]) - 2}.merge.{m[2]}"),
        (r"en_low_(\d)\.(blocks|conv)\.(.+)", lambda m: f"texture.stages.{int(m[1]) - 2}.{m[2]}.{m[3]}"),
        (r"h2l_(\d)\.(norm_[01s]|conv_[01s])\.(.+)",
         lambda m: f"guidance.{int(m[1]) - 1}.{_rename_guidance(m[2], m[3])}"),
        (r"en_fusion_([1-5])\.0\.(.+)", lambda m: f"projections.{int(m[1]) - 1}.conv.{m[2]}"),
        (r"en_fusion_6\.0\.(.+)", lambda m: f"balance.conv.{m[1]}"),
    )
    for pattern, rename in rules:
        match = re.fullmatch(pattern, key)
        if match:
            return rename(match)
    raise KeyError(f"not an official TSGL encoder key: {key!r}")


def _strip_wrappers(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of names to tensors, got {type(state_dict).__name__}")
    for wrapper in ("state_dict", "netG", "generator"):  # common checkpoint envelopes
        if wrapper in state_dict and isinstance(state_dict[wrapper], Mapping):
            state_dict = state_dict[wrapper]
    return {k.removeprefix("module."): v for k, v in state_dict.items()}


def from_official(state_dict: Mapping[str, Tensor]) -> TSGLEncoder:
    """Builds ``tsgl_base`` from an official TSGL(MEDFE) generator state_dict (decoder keys ignored)."""
    official = _strip_wrappers(state_dict)
    converted = {
        official_to_library_key(key): value
        for key, value in official.items()
        if _ENCODER_PREFIX.match(key) and not _RECOMPUTED.search(key)
    }
    if not converted:
        raise ValueError(
            "from_official: no official TSGL encoder keys (en_high_*, en_low_*, h2l_*, en_fusion_*) "
            f"found; first keys are {list(official)[:5]}"
        )
    encoder = create_encoder("tsgl_base")
    expected = encoder.state_dict()
    missing = sorted(set(expected) - set(converted))
    if missing:
        raise ValueError(f"from_official: the checkpoint lacks {len(missing)} encoder entries, e.g. {missing[:5]}")
    for key, value in converted.items():
        if value.shape != expected[key].shape:
            raise ValueError(
                f"from_official: {key!r} has shape {tuple(value.shape)}, tsgl_base expects "
                f"{tuple(expected[key].shape)}; is this a TSGL_MEDFE (256x256) checkpoint?"
            )
    encoder.load_state_dict(converted, strict=True)
    return encoder


def to_official(encoder: TSGLEncoder) -> dict[str, Tensor]:
    """The inverse of :func:`from_official` for a ``tsgl_base``-shaped encoder (official key names)."""
    library_to_official = {}
    for index in range(len(encoder.config.structure_channels)):
        library_to_official.update(_official_names_of_scale(index, max(encoder.config.depths)))
    state = {}
    for key, value in encoder.state_dict().items():
        if key not in library_to_official:
            raise ValueError(f"to_official: {key!r} has no official counterpart")
        state[library_to_official[key]] = value.clone()
    return state


def _official_names_of_scale(index: int, max_depth: int) -> dict[str, str]:
    """library name -> official name for every official key pattern of scale ``index`` (0-based)."""
    k = index + 1
    names = [f"en_high_{k}.conv.weight"]
    names += [f"en_high_{k}.bn.{s}" for s in ("weight", "bias", "running_mean", "running_var",
                                              "num_batches_tracked")] if k > 1 else []
    if k == 1:
        names += [f"en_low_1_{h}.conv.{p}" for h in ("f", "s") for p in ("weight", "bias")]
    else:
        names += [f"en_low_{k}.{part}.conv.{p}" for part in ("downsample.conv", "conv") for p in ("weight", "bias")]
        linear = ("attn.q", "attn.k", "attn.v", "attn.proj", "fuse", "mlp.fc1", "mlp.fc2")
        names += [f"en_low_{k}.blocks.{b}.{layer}.{p}" for b in range(max_depth) for layer in linear
                  for p in ("weight", "bias")]
    for norm in ("norm_0", "norm_1", "norm_s"):
        stats = ["param_free_norm.running_mean", "param_free_norm.running_var",
                 "param_free_norm.num_batches_tracked"] if norm != "norm_s" else []
        names += [f"h2l_{k}.{norm}.{s}" for s in (*stats, "mlp_shared.0.weight", "mlp_shared.0.bias",
                                                   "mlp_gamma.weight", "mlp_gamma.bias", "mlp_beta.weight",
                                                   "mlp_beta.bias")]
    names += [f"h2l_{k}.{conv}.{p}" for conv in ("conv_0", "conv_1", "conv_s")
              for p in ("bias", "weight_orig", "weight_u", "weight_v")]
    names += [f"en_fusion_{k}.0.{p}" for p in ("weight", "bias")]
    if k == 5:
        names += [f"en_fusion_6.0.{p}" for p in ("weight", "bias")]
    return {official_to_library_key(n): n for n in names}


__all__ = ["from_official", "official_to_library_key", "to_official"]
