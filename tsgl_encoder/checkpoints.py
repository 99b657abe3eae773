"""Reading checkpoints that strangers give you: tensors and plain containers only, never code.

Published inpainting checkpoints come in three containers: ``torch.save`` files (zip, or the legacy
format of torch < 1.6: CTSDG's ``.pt``, LaMa's Lightning ``.ckpt``, the official TSGL ``.pth``),
plain pickles (StyleGAN2-ADA network pickles: MAT's ``.pkl``) and ``.safetensors``. Every one is read
without running anything from the file:

* ``torch.save`` files: ``torch.load(weights_only=True)``; globals a checkpoint names only as
  *labels* (a Lightning callback class used as a dict key) can be admitted as inert stand-ins
  (``stand_ins``): the named module is never imported.
* plain pickles: :class:`RestrictedUnpickler`, whose ``find_class`` answers from an explicit
  allow-list (tensor rebuilding, ``OrderedDict``, plus what the caller names, e.g. MAT's inert
  records) and refuses every other global with :class:`UnsafeCheckpointError` naming it. Tensor
  storages inside such pickles are themselves ``torch.save`` bytes and are read with
  ``weights_only=True`` too.
* ``.safetensors``: no code by construction.

A file in none of these formats, or a damaged one, raises ``ValueError`` naming the file and the
formats that are understood.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

PathLike = str | os.PathLike[str]
FORMATS = ("a torch.save file (zip or legacy), a plain pickle (StyleGAN2-ADA / MAT network pickle) "
           "or a .safetensors file")
# torch.save's legacy format pickles its magic number first: LONG1 opcode, 10 bytes, little-endian
_LEGACY_HEAD = b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
_UNSUPPORTED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


class UnsafeCheckpointError(ValueError):
    """A checkpoint names a global (a class or function) that is not on the allow-list: it is not loaded."""


def detect_format(path: PathLike) -> str:
    """``"torch_zip"``, ``"torch_legacy"``, ``"pickle"`` or ``"safetensors"``, from the file's first bytes."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} is not a file")
    with open(path, "rb") as handle:
        head = handle.read(16)
    if zipfile.is_zipfile(path):
        return "torch_zip"
    if head[2:14] == _LEGACY_HEAD:
        return "torch_legacy"
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:  # a pickle, protocol 2..5
        return "pickle"
    if len(head) >= 9 and head[8:9] == b"{":  # safetensors: 8-byte little-endian header length, then JSON
        return "safetensors"
    raise ValueError(f"{str(path)!r} is not a checkpoint format this library reads; understood: {FORMATS}")


def load_file(
    path: PathLike,
    map_location: str | torch.device = "cpu",
    stand_ins: Mapping[str, Any] | None = None,
    allowed_globals: Mapping[tuple[str, str], Any] | None = None,
    mmap: bool = False,
) -> Any:
    """The object stored in ``path``, read without running code from it.

    ``mmap``: a zip ``torch.save`` file's tensors are memory-mapped, not read (a look at its structure costs
    next to nothing); other formats ignore it.

    ``stand_ins``: ``{"module.Name": object}`` admitted (as ``object``) while a ``torch.save`` file is
    read with ``weights_only=True``; ``allowed_globals``: ``{(module, name): object}`` for plain
    pickles, on top of :data:`BASE_GLOBALS`. Anything else a file names raises
    :class:`UnsafeCheckpointError`.
    """
    kind = detect_format(path)
    try:
        if kind == "safetensors":
            from safetensors.torch import load_file as load_safetensors

            return load_safetensors(str(path), device=str(map_location))
        if kind == "pickle":
            with open(path, "rb") as handle:
                return RestrictedUnpickler(handle, allowed_globals or {}, str(path), map_location).load()
        admitted = [(obj, name) for name, obj in (stand_ins or {}).items()]
        with torch.serialization.safe_globals(admitted):
            return torch.load(str(path), map_location=map_location, weights_only=True,
                              mmap=mmap and kind == "torch_zip")
    except UnsafeCheckpointError:
        raise
    except pickle.UnpicklingError as error:
        named = _UNSUPPORTED_GLOBAL.search(str(error))
        if named:
            raise UnsafeCheckpointError(
                f"{str(path)!r} names the global {named[1]}, which is not on the allow-list: refused "
                f"(nothing from the file was run)"
            ) from None
        raise ValueError(f"{str(path)!r} is damaged or not a checkpoint ({error}); understood: {FORMATS}") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as error:
        raise ValueError(f"{str(path)!r} is damaged or truncated ({type(error).__name__}: {error})") from None
    except Exception as error:  # anything else a crafted file provokes in a reader (bad safetensors header,
        # an allowed tensor-rebuild function fed the wrong types, ...): named, never a bare traceback
        raise ValueError(f"{str(path)!r} is damaged or not a checkpoint ({type(error).__name__}: {error}); "
                         f"understood: {FORMATS}") from None


def _load_storage_bytes(map_location: str | torch.device) -> Callable[[bytes], Any]:
    def load(data: bytes) -> Any:  # torch.storage._load_from_bytes, but restricted to tensors (weights_only)
        return torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)

    return load


BASE_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch", "Size"): torch.Size,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
}


class RestrictedUnpickler(pickle.Unpickler):
    """A ``pickle.Unpickler`` that resolves globals from an allow-list only and refuses all others.

    Known: :data:`BASE_GLOBALS`, ``torch.storage._load_from_bytes`` (read with ``weights_only=True``),
    and ``allowed``. ``find_class`` never imports a module.
    """

    def __init__(self, file: Any, allowed: Mapping[tuple[str, str], Any], name: str = "<pickle>",
                 map_location: str | torch.device = "cpu") -> None:
        super().__init__(file)
        self.allowed = {**BASE_GLOBALS, ("torch.storage", "_load_from_bytes"): _load_storage_bytes(map_location),
                        **allowed}
        self.name = name

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise UnsafeCheckpointError(
                f"{self.name!r} names the global {module}.{name}, which is not on the allow-list: refused "
                f"(nothing from the file was run)"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeCheckpointError(f"{self.name!r} uses persistent ids ({pid!r}), which plain pickles here never do")


def select_state_dict(obj: Any, path: PathLike, keys: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """The tensor dict at the first of ``keys`` present in the dict ``obj``, or ``obj`` itself if it is one."""
    if isinstance(obj, Mapping):
        for key in keys:
            if isinstance(obj.get(key), Mapping):
                return dict(obj[key])
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return dict(obj)
    found = sorted(obj)[:12] if isinstance(obj, Mapping) else type(obj).__name__
    raise ValueError(f"{str(path)!r} holds no state_dict under {list(keys)} and is not one itself; found {found}")


def strip_prefix(state: Mapping[str, torch.Tensor], prefix: str = "module.") -> dict[str, torch.Tensor]:
    """``state`` without ``prefix`` when every key has it (``nn.DataParallel`` / DDP checkpoints), else as is."""
    if state and all(key.startswith(prefix) for key in state):
        return {key[len(prefix):]: value for key, value in state.items()}
    return dict(state)


def load_state_strict(model: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> nn.Module:
    """``model.load_state_dict(state, strict=True)`` with an error that lists missing, unexpected and
    mis-shaped keys (at most 10 of each) and names ``source``."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
              if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        parts = [f"{label} ({len(items)}): {items[:10]}" for label, items in
                 (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", shapes)) if items]
        raise ValueError(f"{source} does not match {type(model).__name__}: " + "; ".join(parts))
    refuse_non_finite(state, source)
    model.load_state_dict(state, strict=True)
    return model


def refuse_non_finite(state: Mapping[str, torch.Tensor], source: str) -> None:
    """``ValueError`` naming the floating-point tensors of ``state`` that hold NaN or inf (a diverged or damaged
    checkpoint would otherwise give NaN outputs without a word)."""
    bad = [key for key, value in state.items()
           if isinstance(value, torch.Tensor) and value.is_floating_point() and not torch.isfinite(value).all()]
    if bad:
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise ValueError(f"{source} holds NaN or inf in {len(bad)} tensor(s): {', '.join(bad[:10])}{more}; refused "
                         "(a diverged or damaged checkpoint)")
