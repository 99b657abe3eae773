"""Hugging Face Hub conventions for a module built from one config dataclass.

:class:`ConfigHubMixin` is ``huggingface_hub.PyTorchModelHubMixin`` (``save_pretrained`` /
``from_pretrained`` / ``push_to_hub``, a model card) with what this library adds:

* a local directory or a single ``.safetensors`` file loads without the network, strictly (missing,
  unexpected and mis-shaped keys are listed) and is checked against the config it was saved with;
* ``config.json`` is the config dataclass itself (``to_dict`` / ``from_dict``), and the weights file
  carries it in its metadata too, so a lone ``model.safetensors`` is self-describing. Files written
  by 0.3.0's ``save_pretrained`` have exactly this layout and keep loading;
* :meth:`ConfigHubMixin.load_pretrained` loads weights into a built model: timm's ``custom_load`` hook
  (``timm.create_model(..., pretrained=True, pretrained_cfg_overlay=dict(file=PATH))``).

This module knows no model: the encoder depends on it, never the other way round.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import torch
from huggingface_hub import PyTorchModelHubMixin
from safetensors import safe_open
from safetensors.torch import save_file

from .checkpoints import load_file, load_state_strict, select_state_dict, strip_prefix

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
CONFIG_METADATA_KEY = "tsgl_config"
PathLike = str | os.PathLike


def atomic_write(path: Path, write) -> None:
    """Calls ``write(tmp_path)``, fsyncs, then renames over ``path``: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def looks_local(name: str) -> bool:
    """Whether ``name`` reads as a local path rather than a Hub repo id (``"user/model"``)."""
    path = Path(name)
    return (path.is_absolute() or name.startswith((".", "~")) or path.suffix != "" or len(path.parts) != 2
            or path.exists())


def saved_config(path: Path) -> dict | None:
    """The config stored with the weights at ``path`` (a saved directory or a weights file), or None."""
    weights = path / WEIGHTS_NAME if path.is_dir() else path
    if weights.suffix == ".safetensors" and weights.is_file():
        with safe_open(str(weights), framework="pt") as handle:
            stored = (handle.metadata() or {}).get(CONFIG_METADATA_KEY)
        if stored is not None:
            return json.loads(stored)
    beside = weights.parent / CONFIG_NAME
    return json.loads(beside.read_text()) if beside.is_file() else None


class ConfigHubMixin(PyTorchModelHubMixin):
    """Hub save / load for an ``nn.Module`` whose ``__init__`` takes one config (an instance of
    ``config_class``, kept as ``self.config``) plus optional keyword arguments that are not saved."""

    config_class: ClassVar[type]
    config: Any

    def save_pretrained(self, save_directory: PathLike, *, config: dict | None = None, **kwargs: Any) -> Any:
        """Writes ``model.safetensors`` (weights + config), ``config.json`` and a model card ``README.md``
        into ``save_directory`` (``push_to_hub=True, repo_id=...`` uploads them too)."""
        return super().save_pretrained(save_directory, config=config or self.config.to_dict(), **kwargs)

    def _save_pretrained(self, save_directory: Path) -> None:
        tensors = {key: value.detach().cpu().contiguous() for key, value in self.state_dict().items()}
        metadata = {"format": "pt", CONFIG_METADATA_KEY: json.dumps(self.config.to_dict())}
        atomic_write(Path(save_directory) / WEIGHTS_NAME, lambda p: save_file(tensors, p, metadata=metadata))

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: PathLike, *, map_location: str | torch.device = "cpu",
                        strict: bool = True, **kwargs: Any) -> Any:
        """A model from a directory written by :meth:`save_pretrained`, a ``.safetensors`` file, or a Hub repo
        id (downloaded by ``huggingface_hub``). Local paths never touch the network. Returns eval mode."""
        name = os.fspath(pretrained_model_name_or_path)
        if not looks_local(name):
            return super().from_pretrained(name, map_location=str(map_location), strict=strict, **kwargs)
        path = Path(name).expanduser()
        if not path.exists():
            raise FileNotFoundError(
                f"from_pretrained: no such local file or directory {name!r} (nothing is downloaded for a local "
                f"path; a Hub repo id reads 'user/model')"
            )
        config = saved_config(path)
        if config is None:
            raise ValueError(f"from_pretrained: {name!r} carries no config and has no {CONFIG_NAME} beside it")
        model = cls(cls.config_class.from_dict(config), **kwargs)
        return model.load_pretrained(path, strict=strict).to(map_location).eval()

    @classmethod
    def _from_pretrained(cls, *, map_location: str = "cpu", strict: bool = True, **kwargs: Any) -> Any:
        # Hub downloads: the mixin's loader, but strict by default (its own default is strict=False)
        return super()._from_pretrained(map_location=map_location, strict=strict, **kwargs)

    def load_pretrained(self, path: PathLike, strict: bool = True) -> Any:
        """Loads weights into this model from a saved directory, a ``.safetensors`` file or a torch file holding
        a state_dict (read with ``weights_only``; ``{"state_dict": ...}`` and ``module.`` prefixes accepted)."""
        path = Path(path)
        weights = path / WEIGHTS_NAME if path.is_dir() else path
        if not weights.is_file():
            raise FileNotFoundError(f"load_pretrained: no weights at {str(weights)!r}")
        stored = saved_config(path)
        if stored is not None and self.config_class.from_dict(stored) != self.config:
            saved, own = self.config_class.from_dict(stored).to_dict(), self.config.to_dict()
            differences = {key: f"{saved.get(key)!r} saved, {own.get(key)!r} here" for key in own
                           if saved.get(key) != own.get(key)}
            raise ValueError(f"load_pretrained: {str(weights)!r} was saved from another configuration: {differences}")
        state = strip_prefix(select_state_dict(load_file(weights), weights, ("state_dict", "model")))
        if strict:
            load_state_strict(self, state, repr(str(weights)))
        else:
            self.load_state_dict(state, strict=False)
        return self
