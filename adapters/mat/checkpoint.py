"""MAT's published network pickles (``CelebA-HQ_512.pkl``, ``Places_512_FullData.pkl``, ...), read without running them.

They are StyleGAN2-ADA snapshots: a plain pickle of ``{"G", "D", "G_ema", ...}`` whose modules were saved
through ``torch_utils.persistence``, i.e. as ``_reconstruct_persistent_obj(meta)`` calls whose ``meta``
carries the *source code* of each class (``module_src``) beside its ``class_name`` and ``state`` (the
module's ``__dict__``). Upstream's unpickler ``exec``\\ s that source. Here a restricted unpickler maps
that function to :class:`PersistentRecord`, which keeps the class name and the state and never looks
at the source; stock torch containers become :class:`ModuleRecord`; every other global is refused
(:class:`~tsgl_encoder.checkpoints.UnsafeCheckpointError`, naming it). The ``G_ema`` tree is then
walked like ``nn.Module.state_dict()`` (parameters, persistent buffers, submodules; never the stale
module copies inside ``_init_kwargs``) and loaded strictly into :class:`~adapters.mat.Generator`,
built from the pickled constructor arguments. Tensors saved on a GPU load on the CPU.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tsgl_encoder.checkpoints import PathLike, load_file, load_state_strict, select_state_dict, strip_prefix

from .generator import Generator
from .presets import create_generator, list_generators

NETWORK_KEY = "G_ema"  # what MAT's generate_image.py runs


class PersistentRecord:
    """What ``torch_utils.persistence._reconstruct_persistent_obj(meta)`` would have rebuilt, as inert data:
    ``class_name`` and ``state``; the class source in ``meta["module_src"]`` is dropped unread."""

    def __init__(self, meta: Mapping[str, Any]) -> None:
        if not isinstance(meta, Mapping) or not isinstance(meta.get("state"), Mapping):
            raise ValueError("a persistent object of the pickle has no state dict (not a StyleGAN2-ADA pickle?)")
        self.class_name = str(meta.get("class_name"))
        self.state = dict(meta["state"])


class ModuleRecord:
    """A stock torch module (``ModuleList``, ``Sequential``, ...) of the pickle, as its state only."""

    def __setstate__(self, state: dict) -> None:
        self.state = dict(state)


class EasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict`` (a dict with attribute access upstream; a dict here)."""


def _record_class(qualified: str) -> type:
    module, _, name = qualified.rpartition(".")
    return type(name, (ModuleRecord,), {"__module__": module, "__qualname__": name})


def _latin1(text: str, encoding: str = "latin1") -> bytes:  # _codecs.encode in protocol-2 pickles of bytes
    if encoding != "latin1":
        raise ValueError(f"the pickle asks _codecs.encode for encoding {encoding!r}; only 'latin1' is read")
    return text.encode("latin1")


def _numeric_dtype(*args: Any) -> np.dtype:
    dtype = np.dtype(args[0])
    if dtype.kind not in "biuf":
        raise ValueError(f"the pickle names numpy dtype {dtype}; only numeric scalars are read")
    return dtype


def _numpy_scalar(dtype: np.dtype, data: bytes) -> Any:
    return np.frombuffer(data, dtype=_numeric_dtype(dtype), count=1)[0]


_TORCH_MODULES = ("torch.nn.modules.container.ModuleList", "torch.nn.modules.container.Sequential",
                  "torch.nn.modules.activation.Softmax", "torch.nn.modules.activation.GELU",
                  "torch.nn.modules.pooling.AdaptiveAvgPool2d", "torch.nn.modules.normalization.LayerNorm")
NETWORK_PICKLE_GLOBALS: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): PersistentRecord,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("numpy", "dtype"): _numeric_dtype,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("__builtin__", "set"): set,
    ("_codecs", "encode"): _latin1,
    **{tuple(name.rsplit(".", 1)): _record_class(name) for name in _TORCH_MODULES},
}
"""The globals a MAT / StyleGAN2-ADA network pickle may name, each mapped to inert data (the rest is refused)."""


def record_state_dict(record: PersistentRecord | ModuleRecord, prefix: str = "") -> dict[str, torch.Tensor]:
    """The ``state_dict`` of a pickled module tree, in ``nn.Module.state_dict()`` order."""
    state = record.state
    out = {f"{prefix}{name}": p.detach() for name, p in state.get("_parameters", {}).items() if p is not None}
    transient = state.get("_non_persistent_buffers_set", set())
    out.update({f"{prefix}{name}": b for name, b in state.get("_buffers", {}).items()
                if b is not None and name not in transient})
    for name, child in state.get("_modules", {}).items():
        if child is not None:
            if not isinstance(child, PersistentRecord | ModuleRecord):
                raise ValueError(f"submodule {prefix}{name} of the pickle is a {type(child).__name__}, not a module")
            out.update(record_state_dict(child, f"{prefix}{name}."))
    return out


def _generator_arguments(record: PersistentRecord) -> dict[str, Any]:
    kwargs = dict(record.state.get("_init_kwargs", {}))
    args = tuple(record.state.get("_init_args", ()))
    names = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "synthesis_kwargs", "mapping_kwargs")
    kwargs.update(zip(names, args, strict=False))
    return {key: dict(value) if isinstance(value, dict) else value for key, value in kwargs.items()}


def _bounded_generator(arguments: dict[str, Any], state: Mapping[str, torch.Tensor], path: PathLike) -> Generator:
    """``Generator(**arguments)``, built only after a shape-only build (no memory) showed that the arguments
    describe the tensors the file holds: constructor arguments asking for a 256 GB model are refused here."""
    name = f"MAT network pickle {str(path)!r}"
    try:
        with torch.device("meta"):
            probe = Generator(**arguments)
    except (TypeError, ValueError, AssertionError, KeyError, ZeroDivisionError) as error:
        raise ValueError(f"{name}: its constructor arguments {sorted(arguments)} do not build MAT's Generator: "
                         f"{type(error).__name__}: {error}") from None
    expected = {key: tuple(value.shape) for key, value in probe.state_dict().items()}
    stored = {key: tuple(value.shape) for key, value in state.items()}
    if expected != stored:
        parameters = sum(math.prod(shape) for shape in expected.values())
        differing = sorted(set(expected) ^ set(stored)) or [k for k in expected if expected[k] != stored.get(k)]
        raise ValueError(f"{name}: its constructor arguments describe {parameters:,} values in {len(expected)} "
                         f"tensors, not the {len(stored)} tensors it holds (first differences: {differing[:5]}); "
                         "refusing to build it")
    return Generator(**arguments)


def _matching_preset(state: dict[str, torch.Tensor], path: PathLike) -> Generator:
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    for name in list_generators():
        model = create_generator(name)
        if {k: tuple(v.shape) for k, v in model.state_dict().items()} == shapes:
            return model
    raise ValueError(f"{str(path)!r}: its {len(state)} tensors match none of the MAT presets {list_generators()}")


def load_checkpoint(path: PathLike, map_location: str | torch.device = "cpu", network: str = NETWORK_KEY) -> Generator:
    """The MAT generator (``G_ema`` by default) of a network pickle, or of a ``G_ema`` state_dict file, in eval mode."""
    obj = load_file(path, map_location, allowed_globals=NETWORK_PICKLE_GLOBALS)
    if isinstance(obj, Mapping) and isinstance(obj.get(network), PersistentRecord):
        record = obj[network]
        if record.class_name != "Generator":
            raise ValueError(f"{str(path)!r}: {network!r} is a {record.class_name}, not MAT's Generator")
        state = record_state_dict(record)
        model = _bounded_generator(_generator_arguments(record), state, path)
    else:
        state = strip_prefix(select_state_dict(obj, path, (network, "state_dict")))
        model = _matching_preset(state, path)
    load_state_strict(model, state, f"MAT checkpoint {str(Path(path))!r} ({network})")
    return model.eval()
