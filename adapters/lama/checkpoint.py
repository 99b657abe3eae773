"""LaMa's published checkpoints, read without LaMa, PyTorch Lightning or OmegaConf, and without running code.

Upstream's layout: ``big-lama/config.yaml`` (hydra's composed training config) above
``big-lama/models/best.ckpt`` (a PyTorch Lightning 1.2 checkpoint). The checkpoint's ``state_dict``
holds ``generator.*`` beside the evaluators' (and in training checkpoints the discriminator's and
losses') tensors; its other entries pickle Lightning's ``ModelCheckpoint`` class (as a dict key) and
OmegaConf containers (the hyper-parameters). Those globals are admitted as inert stand-ins while
``torch.load(weights_only=True)`` reads the file: no Lightning or OmegaConf module is imported, no
code from the file runs. The config's ``generator`` section (``kind: ffc_resnet`` and its sizes, with
OmegaConf ``${generator....}`` interpolations) says what to build; without a config, the generator's
keys and shapes pick one of the presets. A plain generator ``state_dict`` file works too.
"""

from __future__ import annotations

import collections
import inspect
import re
import typing
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from tsgl_encoder.checkpoints import PathLike, load_file, load_state_strict, select_state_dict, strip_prefix

from .ffc import FFCResNetGenerator
from .presets import create_generator

GENERATOR_PREFIX = "generator."
_PICKLED_LABELS = (  # named by Lightning 1.2 checkpoints: callbacks keyed by class, OmegaConf hyper-parameters
    "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint",
    "omegaconf.dictconfig.DictConfig", "omegaconf.listconfig.ListConfig",
    "omegaconf.base.ContainerMetadata", "omegaconf.base.Metadata",
    *(f"omegaconf.nodes.{node}" for node in ("AnyNode", "StringNode", "IntegerNode", "FloatNode", "BooleanNode",
                                             "EnumNode")),
)


def _inert(qualified: str) -> type:
    """A class that stands in for ``qualified`` while unpickling: it holds the pickled state, nothing else."""
    module, _, name = qualified.rpartition(".")
    return type(name, (), {"__module__": module, "__qualname__": name, "__doc__": f"inert stand-in for {qualified}"})


LIGHTNING_STAND_INS: dict[str, Any] = {
    **{name: _inert(name) for name in _PICKLED_LABELS},
    # real, harmless objects that OmegaConf's pickled metadata names
    "typing.Any": typing.Any, "builtins.dict": dict, "builtins.list": list, "builtins.int": int,
    "collections.defaultdict": collections.defaultdict,
}
_INTERPOLATION = re.compile(r"\$\{([^}]+)\}")


MAX_CONFIG_BYTES = 1 << 20  # a LaMa training config is a few KB
MAX_ALIASES = 64  # YAML aliases (*name) in one file: nested ones multiply ("billion laughs")
MAX_NODES = 100_000  # values in the loaded config, counting every reference to a shared one
MAX_INTERPOLATION_DEPTH = 32  # ${a} -> ${b} -> ... chains


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses more than :data:`MAX_ALIASES` aliases."""

    aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise ValueError(f"more than {MAX_ALIASES} YAML aliases")
        return super().compose_node(parent, index)


def _count_nodes(node: Any, budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError(f"more than {MAX_NODES:,} values once its aliases are expanded")
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        _count_nodes(child, budget)


def read_config(config_path: PathLike) -> dict:
    """A LaMa ``config.yaml`` read with bounds (size, aliases, values after expansion); ``ValueError`` naming
    the file for anything unreadable or unbounded (YAML syntax errors included)."""
    path = Path(config_path)
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ValueError(f"{str(path)!r} is {path.stat().st_size:,} bytes: not a LaMa config (limit "
                         f"{MAX_CONFIG_BYTES:,})")
    try:
        config = yaml.load(path.read_text(encoding="utf-8"), Loader=_BoundedLoader)  # a SafeLoader, bounded
        _count_nodes(config, [MAX_NODES])
    except (yaml.YAMLError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValueError(f"{str(path)!r} cannot be read as a LaMa config: {error}") from None
    return config


def resolve_interpolations(node: Any, root: dict, path: str = "", chain: tuple[str, ...] = ()) -> Any:
    """``node`` with OmegaConf's absolute ``${a.b.c}`` references replaced by their values (a whole-value
    reference keeps the referenced type; one inside a string is formatted into it). Other kinds, such as
    ``${env:USER}``, circular references and chains deeper than :data:`MAX_INTERPOLATION_DEPTH` raise
    ``ValueError`` naming the key."""
    if isinstance(node, dict):
        return {key: resolve_interpolations(value, root, f"{path}.{key}".lstrip("."), chain)
                for key, value in node.items()}
    if isinstance(node, list):
        return [resolve_interpolations(value, root, f"{path}[{i}]", chain) for i, value in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node

    def follow(reference: str) -> Any:
        if reference in chain:
            raise ValueError(f"config key {path!r}: circular interpolation {' -> '.join((*chain, reference))}")
        if len(chain) >= MAX_INTERPOLATION_DEPTH:
            raise ValueError(f"config key {path!r}: interpolations nested deeper than {MAX_INTERPOLATION_DEPTH}")
        return resolve_interpolations(_lookup(root, reference, path), root, path, (*chain, reference))

    whole = _INTERPOLATION.fullmatch(node)
    if whole:
        return follow(whole[1])
    return _INTERPOLATION.sub(lambda m: str(follow(m[1])), node)


def _lookup(root: dict, reference: str, path: str) -> Any:
    if ":" in reference or reference.startswith("."):
        raise ValueError(f"config key {path!r}: interpolation ${{{reference}}} is not an absolute reference")
    value: Any = root
    for part in reference.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ValueError(f"config key {path!r}: ${{{reference}}} refers to a missing key")
        value = value[part]
    return value


def generator_kwargs(config_path: PathLike) -> dict[str, Any]:
    """``FFCResNetGenerator`` arguments from the ``generator`` section of a LaMa ``config.yaml``."""
    config = read_config(config_path)
    if not isinstance(config, dict) or not isinstance(config.get("generator"), dict):
        raise ValueError(f"{str(config_path)!r} has no 'generator' section (not a LaMa training config)")
    try:
        section = resolve_interpolations(config["generator"], config, "generator")
    except ValueError as error:
        raise ValueError(f"{str(config_path)!r}: {error}") from None
    kind = section.pop("kind", "ffc_resnet")
    if kind != "ffc_resnet":
        raise ValueError(f"{str(config_path)!r}: generator kind {kind!r} is not supported here; only 'ffc_resnet' "
                         "(LaMa, big-lama, lama-fourier) is built by adapters.lama")
    accepted = set(inspect.signature(FFCResNetGenerator).parameters)
    unknown = sorted(set(section) - accepted)
    if unknown:
        raise ValueError(f"{str(config_path)!r}: generator options {unknown} are not supported "
                         f"(known: {sorted(accepted)})")
    return section


def _from_config(config: Path) -> FFCResNetGenerator:
    """The generator a config describes; ``ValueError`` naming the file for values of the wrong kind."""
    arguments = generator_kwargs(config)
    try:
        return FFCResNetGenerator(**arguments)
    except (TypeError, ValueError, ZeroDivisionError, KeyError, AttributeError) as error:
        raise ValueError(f"{str(config)!r}: its generator options {arguments} do not build LaMa's generator "
                         f"({type(error).__name__}: {error})") from None


def find_config(checkpoint: Path) -> Path | None:
    """``config.yaml`` beside the checkpoint or one folder up (``big-lama/models/best.ckpt`` -> ``big-lama/``)."""
    for folder in (checkpoint.parent, checkpoint.parent.parent):
        if (folder / "config.yaml").is_file():
            return folder / "config.yaml"
    return None


def generator_state(obj: Any, path: PathLike) -> dict[str, torch.Tensor]:
    """The generator's own tensors of a Lightning checkpoint (``generator.*``) or of a plain state_dict."""
    state = select_state_dict(obj, path, ("state_dict",))
    generator = {k.removeprefix(GENERATOR_PREFIX): v for k, v in state.items() if k.startswith(GENERATOR_PREFIX)}
    return generator or strip_prefix(state)


def _matching_preset(state: dict[str, torch.Tensor], path: PathLike) -> nn.Module:
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    for name in ("lama_fourier", "big_lama"):
        model = create_generator(name)
        if {k: tuple(v.shape) for k, v in model.state_dict().items()} == shapes:
            return model
    raise ValueError(f"{str(path)!r}: no config.yaml found beside it or one folder up, and its {len(state)} "
                     "generator tensors match neither lama_fourier nor big_lama; pass config=")


def load_checkpoint(path: PathLike, map_location: str | torch.device = "cpu",
                    config: PathLike | None = None) -> nn.Module:
    """The LaMa generator of ``path`` (a ``best.ckpt``, its experiment folder, or a generator state_dict file)
    in eval mode. ``config``: the training ``config.yaml`` (default: found beside the checkpoint)."""
    path = Path(path)
    if path.is_dir():
        path = path / "models" / "best.ckpt"
    state = generator_state(load_file(path, map_location, stand_ins=LIGHTNING_STAND_INS), path)
    config = Path(config) if config is not None else find_config(path)
    model = _from_config(config) if config is not None else _matching_preset(state, path)
    load_state_strict(model, state, f"LaMa checkpoint {str(path)!r}" + (f" with {str(config)!r}" if config else ""))
    return model.eval()
