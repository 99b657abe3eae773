"""Reading MEDFE and official TSGL(MEDFE) checkpoints (never running code from them: :mod:`tsgl_encoder.checkpoints`).

* **Official TSGL(MEDFE)** generator files (``G_14.pth``; saved from ``nn.DataParallel``, so ``module.``
  prefixes, stripped when every key has one): 662 tensors. The encoder keys (``en_high_1..5``, ``en_low_*``,
  ``h2l_*``, ``en_fusion_*``) are renamed with :func:`tsgl_encoder.convert.official_to_library_key`; their 15
  ``attn_mask`` / ``resample_filter`` buffers are recomputed here and skipped; ``pc_block.*`` and
  ``Decoder_1..6.*`` keep their names. The 68 keys of the structure decoder (``en_high_6/7``,
  ``de_high_0..7``; training only) load into the auxiliary head with ``structure_head=True`` and are
  otherwise dropped (:data:`STRUCTURE_KEYS` names them). Every other key must match: strict.
* **MEDFE**: three plain state_dicts, ``EN.pkl``, ``DE.pkl`` and ``MEDEF.pkl`` (sic; its ``test.py``), or its
  trainer's ``{epoch}_net_EN.pth`` / ``_net_DE.pth`` / ``_net_MEDFE.pth`` holding ``{"net": state_dict,
  "optimize": ...}``; given as a folder or the three files, in any order (each file is recognised by its
  keys). ``netMEDFE``'s keys are ``pc_block.*`` and ``loss.0.*``.
* A ``state_dict()`` of this library's :class:`~adapters.medfe.tsgl_medfe.TSGLMEDFEGenerator` loads as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from tsgl_encoder.checkpoints import PathLike, load_file, load_state_strict, select_state_dict, strip_prefix
from tsgl_encoder.convert import official_to_library_key, to_official

from .medfe import MEDFEGenerator
from .tsgl_medfe import TSGLMEDFEGenerator

_ENCODER = re.compile(r"^(en_high_[1-5]|en_low_(1_f|1_s|[2-5])|h2l_[1-5]|en_fusion_[1-6])\.")
_RECOMPUTED = re.compile(r"(\.resample_filter|\.attn_mask)$")
STRUCTURE_KEYS = re.compile(r"^(en_high_[67]|de_high_[0-7])\.")  # the official structure decoder (training only)
_PARTS = {"netEN": "Encoder_1.", "netMEDFE": "pc_block.", "netDE": "Decoder_1."}
_FIRST_CONV = "Encoder_1.model.0.weight"  # (ngf, 6, 4, 4)
_TSGL_ENVELOPES = ("state_dict", "generator", "netG")
_PATTERNS = ("EN.pkl", "DE.pkl", "MEDEF.pkl", "MEDFE.pkl", "*_net_EN.pth", "*_net_DE.pth", "*_net_MEDFE.pth")


def official_to_tsgl_medfe(state: Mapping[str, Tensor], structure_head: bool = False
                           ) -> tuple[dict[str, Tensor], list[str]]:
    """An official TSGL(MEDFE) generator state_dict in this library's names, and the keys dropped (the
    structure decoder's when ``structure_head`` is False). Unknown keys pass through, so the strict load names
    them."""
    mapped, dropped = {}, []
    for key, value in strip_prefix(state).items():
        if _ENCODER.match(key):
            if not _RECOMPUTED.search(key):
                mapped[f"encoder.{official_to_library_key(key)}"] = value
        elif STRUCTURE_KEYS.match(key):
            if structure_head:
                mapped[f"structure_head.{key}"] = value
            else:
                dropped.append(key)
        else:
            mapped[key] = value
    return mapped, dropped


def tsgl_medfe_to_official(model: TSGLMEDFEGenerator) -> dict[str, Tensor]:
    """The inverse of :func:`official_to_tsgl_medfe`: the state_dict with the official key names (the encoder's
    recomputed buffers left out; the structure head's keys when the model has one)."""
    state = {key: value for key, value in to_official(model.encoder).items()}
    for key, value in model.state_dict().items():
        if key.startswith("encoder."):
            continue
        state[key.removeprefix("structure_head.")] = value.clone()
    return state


def _tsgl_from_state(state: Mapping[str, Tensor], source: str, structure_head: bool,
                     overrides: dict) -> TSGLMEDFEGenerator:
    mapped, dropped = official_to_tsgl_medfe(state, structure_head)
    model = TSGLMEDFEGenerator(structure_head=structure_head, **overrides)
    load_state_strict(model, mapped, source)
    model.dropped_keys = dropped
    return model.eval()


def load_tsgl_medfe(path: PathLike, structure_head: bool = False, map_location: str | torch.device = "cpu",
                    **overrides) -> TSGLMEDFEGenerator:
    """An official TSGL(MEDFE) generator file -> :class:`TSGLMEDFEGenerator` in eval mode (strict).

    The dropped structure-decoder keys are listed in the model's ``dropped_keys`` attribute."""
    state = select_state_dict(load_file(path, map_location), path, _TSGL_ENVELOPES)
    return _tsgl_from_state(state, f"TSGL(MEDFE) checkpoint {str(Path(path))!r}", structure_head, overrides)


def _medfe_files(paths: PathLike | Sequence[PathLike]) -> list[Path]:
    if isinstance(paths, (str, Path)) and Path(paths).is_dir():
        folder = Path(paths)
        found = sorted({p for pattern in _PATTERNS for p in folder.glob(pattern)})
        if not found:
            raise FileNotFoundError(f"{str(folder)!r} holds none of {list(_PATTERNS)}")
        return found
    if isinstance(paths, (str, Path)):
        return [Path(paths)]
    return [Path(p) for p in paths]


def load_medfe(paths: PathLike | Sequence[PathLike], map_location: str | torch.device = "cpu",
               **overrides) -> MEDFEGenerator:
    """MEDFE's three networks (a folder or the three files) -> :class:`MEDFEGenerator` in eval mode (strict).
    ``ngf`` is read from the encoder's first conv unless given (upstream's ``--ngf``); ``dilation`` is not in
    the files (default 2, upstream's)."""
    states: dict[str, tuple[Path, dict[str, Tensor]]] = {}
    for path in _medfe_files(paths):
        state = strip_prefix(select_state_dict(load_file(path, map_location), path, ("net", "state_dict")))
        part = next((name for name, probe in _PARTS.items() if any(k.startswith(probe) for k in state)), None)
        if part is None:
            raise ValueError(f"{str(path)!r} is none of MEDFE's EN / DE / MEDFE networks; first keys "
                             f"{sorted(state)[:5]}")
        if part in states:
            raise ValueError(f"two {part} files: {str(states[part][0])!r} and {str(path)!r}")
        states[part] = (path, state)
    missing = [name for name in _PARTS if name not in states]
    if missing:
        raise ValueError(f"MEDFE needs its EN, DE and MEDFE networks; missing {missing} among "
                         f"{[str(p) for p, _ in states.values()]}")
    first_conv = states["netEN"][1].get(_FIRST_CONV)
    if "ngf" not in overrides and first_conv is not None and first_conv.dim() == 4:
        overrides = {**overrides, "ngf": first_conv.shape[0]}
    model = MEDFEGenerator(**overrides)
    for name, (path, state) in states.items():
        load_state_strict(getattr(model, name), state, f"MEDFE {name} checkpoint {str(path)!r}")
    return model.eval()


def load_checkpoint(path: PathLike | Sequence[PathLike], structure_head: bool = False,
                    map_location: str | torch.device = "cpu", **overrides) -> nn.Module:
    """A MEDFE checkpoint (folder or three files) -> :class:`MEDFEGenerator`; an official TSGL(MEDFE) generator
    file -> :class:`TSGLMEDFEGenerator`. Strict; read with ``weights_only=True``; eval mode."""
    if isinstance(path, (str, Path)) and Path(path).is_file():
        state = select_state_dict(load_file(path, map_location), path, (*_TSGL_ENVELOPES, "net"))
        if any(_ENCODER.match(k) or k.startswith("encoder.") for k in strip_prefix(state)):  # official or ours
            return _tsgl_from_state(state, f"TSGL(MEDFE) checkpoint {str(Path(path))!r}", structure_head, overrides)
    return load_medfe(path, map_location, **overrides)


__all__ = ["STRUCTURE_KEYS", "load_checkpoint", "load_medfe", "load_tsgl_medfe", "official_to_tsgl_medfe",
           "tsgl_medfe_to_official"]
