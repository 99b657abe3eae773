"""Official TSGL(LaMa) checkpoints (``TSGL_Lama/*/model.py``, htyjers/ConvInpaint-TSGL) <-> ``tsgl_lama_512``.

The official generator has 998 tensors (saved from ``nn.DataParallel``: ``module.`` prefixes), this
library's 986. The mapping:

* the conv + BN stages of the two streams (``model_high.1``, ``model_high_0..4``, ``model_low.1``,
  ``model_low_0..4``: an FFC with no global branch, ``ffc.convl2l`` + ``bn_l``) become the encoder's
  ``structure.stem`` / ``structure.stages.k`` and ``texture.head.{stem,down}`` / ``texture.stages.k``
  (``conv`` + ``norm``); the two 1/32 downsamplings are split upstream into local 64 + global 192
  channels (``convl2l`` / ``convl2g``, ``bn_l`` / ``bn_g``) and concatenate here (one
  ``num_batches_tracked`` is kept);
* the guidance blocks ``h2l_k_l`` (and ``h2l_4_l`` / ``h2l_4_g`` of the split 1/32 level) become
  ``guidance.k`` (``guidance.4.parts.0/1``), with SPADE's and the spectral norm's names;
* LaMa's FFC blocks and decoder ``model.i`` become ``model.(i + 7)`` (``model.0`` is the TSGL stem,
  ``model.1..6`` identities); the edge head ``up_high.i`` becomes ``edge_head.i``.

Input conventions fold exactly into the two stem convs and their BatchNorm means. Upstream feeds
``cat(edge, gray, hole)`` and ``cat(image * known, hole)``; this library's encoder reads the known mask
(``known = 1 - hole``) and the image in [-1, 1]. With reflect padding a constant input stays constant,
so the ``1`` in ``hole = 1 - known`` is a per-channel constant (the sum of the mask taps) that moves
into ``running_mean``; the mask taps change sign; when the official model was fed images in [0, 1]
(``image_range="unit"``: its test script, and its training script at the README's commit) the image
taps halve and the mask taps gain half their sum (``img * known = ((2 img - 1) * known + known) / 2``).

Output: the official image head ends in ``tanh``. For ``"unit"`` weights (whose tanh outputs are
images in [0, 1]) the converted model gets the same ``head="tanh"``; for ``"signed"`` ones ([-1, 1])
the default sigmoid head with the last conv doubled gives ``sigmoid(2z) = (tanh(z) + 1) / 2``, the
official output in this library's [0, 1]. Either way the converted model reproduces the official one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from tsgl_encoder.checkpoints import PathLike, load_file, load_state_strict, select_state_dict, strip_prefix

from .tsgl_lama import tsgl_lama_512

ENC = "model.0.encoder"
SPLIT = (64, 192)  # local / global channels of the official 1/32 level
IMAGE_RANGES = ("unit", "signed")
HEAD_OFFSET = 7  # official model.i -> model.(i + 7)
FINAL_CONV = "model.33"  # official model.26: the last conv before the activation
# (official conv + BN stage, library stage); the stages marked True are split into local + global upstream
_STAGES = (("model_high.1", f"{ENC}.structure.stem", False),
           *((f"model_high_{k}.0", f"{ENC}.structure.stages.{k}", k == 4) for k in range(5)),
           ("model_low.1", f"{ENC}.texture.head.stem", False), ("model_low_0.0", f"{ENC}.texture.head.down", False),
           *((f"model_low_{k}.0", f"{ENC}.texture.stages.{k - 1}", k == 4) for k in range(1, 5)))
_GUIDES = (*((f"h2l_{k}_l", f"{ENC}.guidance.{k}") for k in range(4)),
           ("h2l_4_l", f"{ENC}.guidance.4.parts.0"), ("h2l_4_g", f"{ENC}.guidance.4.parts.1"))
_SLOTS = {"norm_0": "global_side.spade_in", "conv_0": "global_side.conv_in", "norm_1": "global_side.spade_out",
          "conv_1": "global_side.conv_out", "norm_s": "local_side.spade", "conv_s": "local_side.conv"}
_INNER = {"param_free_norm": "norm", "mlp_shared": "shared", "mlp_gamma": "to_gamma", "mlp_beta": "to_beta",
          "weight_orig": "parametrizations.weight.original", "weight_u": "parametrizations.weight.0._u",
          "weight_v": "parametrizations.weight.0._v"}
_BN = ("weight", "bias", "running_mean", "running_var")
_STEMS = ((f"{ENC}.structure.stem", 2, None), (f"{ENC}.texture.head.stem", 3, slice(0, 3)))  # mask / image taps


def _invert(table: Mapping[str, str]) -> dict[str, str]:
    return {value: key for key, value in table.items()}


def _rename_inner(rest: str, table: Mapping[str, str]) -> str:
    """``param_free_norm.running_mean`` -> ``norm.running_mean`` etc.; the longest matching head wins."""
    for head in sorted(table, key=len, reverse=True):
        if rest == head or rest.startswith(head + "."):
            return table[head] + rest[len(head):]
    return rest


def official_to_library_key(key: str) -> str:
    """One official key's name here (not the global halves of the 1/32 stages, which are merged)."""
    for official, ours, _ in _STAGES:
        if key == f"{official}.ffc.convl2l.weight":
            return f"{ours}.conv.weight"
        if key.startswith(f"{official}.bn_l."):
            return f"{ours}.norm.{key.removeprefix(f'{official}.bn_l.')}"
    for official, ours in _GUIDES:
        if key.startswith(official + "."):
            slot, _, rest = key.removeprefix(official + ".").partition(".")
            if slot in _SLOTS:
                return f"{ours}.{_SLOTS[slot]}.{_rename_inner(rest, _INNER)}"
    for official, ours, offset in (("model.", "model.", HEAD_OFFSET), ("up_high.", "edge_head.", 0)):
        if key.startswith(official):
            index, _, rest = key.removeprefix(official).partition(".")
            if index.isdigit():
                return f"{ours}{int(index) + offset}.{rest}"
    raise KeyError(f"not an official TSGL(LaMa) generator key: {key!r}")


def library_to_official_key(key: str) -> str:
    """The inverse of :func:`official_to_library_key` (merged 1/32 stages: their local half's name)."""
    for official, ours, _ in _STAGES:
        if key == f"{ours}.conv.weight":
            return f"{official}.ffc.convl2l.weight"
        if key.startswith(f"{ours}.norm."):
            return f"{official}.bn_l.{key.removeprefix(f'{ours}.norm.')}"
    for official, ours in sorted(_GUIDES, key=lambda pair: len(pair[1]), reverse=True):
        if key.startswith(ours + "."):
            rest = key.removeprefix(ours + ".")
            for slot, path in _invert(_SLOTS).items():
                if rest.startswith(slot + "."):
                    return f"{official}.{path}.{_rename_inner(rest.removeprefix(slot + '.'), _invert(_INNER))}"
    for official, ours, offset in (("model.", "model.", HEAD_OFFSET), ("up_high.", "edge_head.", 0)):
        if key.startswith(ours):
            index, _, rest = key.removeprefix(ours).partition(".")
            if index.isdigit() and int(index) >= offset:
                return f"{official}{int(index) - offset}.{rest}"
    raise KeyError(f"not a tsgl_lama_512 key: {key!r}")


def _merged_halves() -> dict[str, tuple[str, str]]:
    """``{library key: (official local key, official global key)}`` of the two split 1/32 stages (the global
    half's ``num_batches_tracked`` has no counterpart here)."""
    pairs = {}
    for official, ours, merged in _STAGES:
        if merged:
            pairs[f"{ours}.conv.weight"] = (f"{official}.ffc.convl2l.weight", f"{official}.ffc.convl2g.weight")
            for stat in _BN:
                pairs[f"{ours}.norm.{stat}"] = (f"{official}.bn_l.{stat}", f"{official}.bn_g.{stat}")
    return pairs


def _fold_stems(state: dict[str, Tensor], unit: bool, inverse: bool = False) -> None:
    """Folds (or, ``inverse``, unfolds) the official input conventions into the stem convs and BN means."""
    for prefix, mask, image in _STEMS:
        weight = state[f"{prefix}.conv.weight"].double()  # (C_out, C_in, k, k)
        new = weight.clone()
        if not inverse:
            constant = weight[:, mask].sum((-2, -1))  # what the "1" of hole = 1 - known adds per channel
            new[:, mask] = -weight[:, mask]
            if unit and image is not None:
                new[:, image] = weight[:, image] / 2
                new[:, mask] += weight[:, image].sum(1) / 2
        else:
            if unit and image is not None:
                new[:, image] = weight[:, image] * 2
                new[:, mask] = weight[:, image].sum(1) - weight[:, mask]
            else:
                new[:, mask] = -weight[:, mask]
            constant = -new[:, mask].sum((-2, -1))
        mean = f"{prefix}.norm.running_mean"
        state[mean] = (state[mean].double() - constant).to(state[mean].dtype)
        state[f"{prefix}.conv.weight"] = new.to(state[f"{prefix}.conv.weight"].dtype)


def _check_range(image_range: str) -> None:
    if image_range not in IMAGE_RANGES:
        raise ValueError(f"image_range must be one of {IMAGE_RANGES} (what the official model was fed), "
                         f"got {image_range!r}")


def official_to_library_state(official: Mapping[str, Tensor], image_range: str = "unit") -> dict[str, Tensor]:
    """An official ``TSGL_Lama`` generator state_dict as one of ``tsgl_lama_512`` (see :func:`from_official_tsgl`)."""
    _check_range(image_range)
    official = strip_prefix(official)
    state: dict[str, Tensor] = {}
    halves = _merged_halves()
    upstream_only = {key for pairs in halves.values() for key in pairs}
    upstream_only |= {f"{o}.bn_g.num_batches_tracked" for o, _, merged in _STAGES if merged}
    for key, value in official.items():
        if key not in upstream_only:
            state[official_to_library_key(key)] = value.clone()
    for ours, (local, glob) in halves.items():  # local 64 + global 192 -> one 256-channel conv / BN statistic
        state[ours] = torch.cat([official[local], official[glob]])
    _fold_stems(state, unit=image_range == "unit")
    if image_range == "signed":  # sigmoid(2 z) = (tanh(z) + 1) / 2
        for name in ("weight", "bias"):
            state[f"{FINAL_CONV}.{name}"] = state[f"{FINAL_CONV}.{name}"] * 2
    return state


def library_to_official_state(state: Mapping[str, Tensor], image_range: str = "unit") -> dict[str, Tensor]:
    """The inverse of :func:`official_to_library_state`: official key names, the official conventions."""
    _check_range(image_range)
    ours = {key: value.clone() for key, value in state.items()}
    if image_range == "signed":
        for name in ("weight", "bias"):
            ours[f"{FINAL_CONV}.{name}"] = ours[f"{FINAL_CONV}.{name}"] / 2
    _fold_stems(ours, unit=image_range == "unit", inverse=True)
    official: dict[str, Tensor] = {}
    for key, (local, glob) in _merged_halves().items():  # one 256-channel tensor -> local 64 + global 192
        official[local], official[glob] = (part.clone() for part in ours.pop(key).split(SPLIT))
    for o, target, merged in _STAGES:
        if merged:  # one BatchNorm counter here, one per half upstream
            tracked = ours.pop(f"{target}.norm.num_batches_tracked")
            official[f"{o}.bn_l.num_batches_tracked"] = tracked
            official[f"{o}.bn_g.num_batches_tracked"] = tracked.clone()
    official.update({library_to_official_key(key): value for key, value in ours.items()})
    return official


def from_official_tsgl(source: Mapping[str, Tensor] | PathLike, image_range: str = "unit",
                       map_location: str | torch.device = "cpu") -> nn.Module:
    """``tsgl_lama_512`` with the weights of an official TSGL(LaMa) generator (a state_dict or a local file),
    in eval mode. ``image_range``: what the official model was fed, ``"unit"`` ([0, 1], its test script)
    or ``"signed"`` ([-1, 1]); the model takes this library's LaMa inputs either way."""
    _check_range(image_range)
    if isinstance(source, Mapping):
        name, official = "the official state_dict", dict(source)
    else:
        name = f"official TSGL(LaMa) checkpoint {str(Path(source))!r}"
        official = select_state_dict(load_file(source, map_location), source, ("state_dict", "netG", "generator"))
    model = tsgl_lama_512(head="tanh" if image_range == "unit" else "sigmoid")
    try:
        state = official_to_library_state(official, image_range)
    except KeyError as error:
        raise ValueError(f"{name} is not a TSGL(LaMa) generator: {error.args[0]}") from None
    load_state_strict(model, state, name)
    return model.eval()
