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

import contextlib
import dataclasses
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, ClassVar

import torch
from huggingface_hub import PyTorchModelHubMixin
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .checkpoints import load_file, load_state_strict, refuse_non_finite, select_state_dict, strip_prefix
from .outputs import refuse_foreign

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
CARD_NAME = "README.md"  # the model card the Hub mixin writes
CONFIG_METADATA_KEY = "tsgl_config"
PathLike = str | os.PathLike


def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux), else set and restored."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write) -> None:
    """Calls ``write(tmp_path)``, fsyncs, then renames over ``path``: readers never see half a file. The file
    gets the permissions a plain ``open(path, "w")`` would give it (``mkstemp``'s are owner-only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
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
    """The config stored with the weights at ``path`` (a saved directory or a weights file), or None.

    Where both the weights' metadata and ``config.json`` beside them hold a config, they must agree:
    ``ValueError`` naming both values of every key that differs (``save_pretrained`` writes the same config
    into both, so a difference means one of the files was edited or replaced). Unreadable files are a
    ``ValueError`` naming the file."""
    weights = path / WEIGHTS_NAME if path.is_dir() else path
    in_weights = None
    if weights.suffix == ".safetensors" and weights.is_file():
        try:
            with safe_open(str(weights), framework="pt") as handle:
                stored = (handle.metadata() or {}).get(CONFIG_METADATA_KEY)
            in_weights = None if stored is None else _json_object(stored, f"the config in {str(weights)!r}")
        except SafetensorError as error:
            raise ValueError(f"{str(weights)!r} is not a readable .safetensors file: {error}") from None
    beside = weights.parent / CONFIG_NAME
    in_file = None
    if beside.is_file():
        try:
            in_file = _json_object(beside.read_text(encoding="utf-8"), repr(str(beside)))
        except UnicodeDecodeError as error:
            raise ValueError(f"{str(beside)!r} is not UTF-8 text: {error}") from None
    if in_weights is not None and in_file is not None and in_weights != in_file:
        keys = sorted(k for k in set(in_weights) | set(in_file) if in_weights.get(k) != in_file.get(k))
        differences = "; ".join(f"{k}: {in_weights.get(k)!r} in the weights, {in_file.get(k)!r} in {CONFIG_NAME}"
                                for k in keys[:10])
        raise ValueError(f"the config stored in {str(weights)!r} and {str(beside)!r} disagree ({differences}): "
                         f"restore one of them, or remove {CONFIG_NAME} to use the weights' own")
    return in_weights if in_weights is not None else in_file


def _json_object(text: str, what: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} is not valid JSON ({error.msg} at line {error.lineno}, column "
                         f"{error.colno})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not a JSON object of config fields, got {type(value).__name__}")
    return value


class ConfigHubMixin(PyTorchModelHubMixin):
    """Hub save / load for an ``nn.Module`` whose ``__init__`` takes one config (an instance of
    ``config_class``, kept as ``self.config``) plus optional keyword arguments that are not saved."""

    config_class: ClassVar[type]
    config: Any

    def save_pretrained(self, save_directory: PathLike, *, config: dict | None = None, **kwargs: Any) -> Any:
        """Writes ``model.safetensors`` (weights + config), ``config.json`` and a model card ``README.md``
        into ``save_directory`` (``push_to_hub=True, repo_id=...`` uploads them too). Files of those names that
        this library did not write (another model's weights, your own README) are never replaced: ValueError."""
        if getattr(self, "pruned", False):
            raise ValueError("this encoder was pruned (prune_intermediate_layers): its weights no longer match its "
                             "configuration; save the encoder before pruning it")
        folder = Path(save_directory)
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"save_directory {str(folder)!r} exists and is not a folder")
        refuse_foreign([folder / WEIGHTS_NAME, folder / CONFIG_NAME, folder / CARD_NAME], self._written_here,
                       f"save_directory {str(folder)!r}", "save_directory")
        return super().save_pretrained(save_directory, config=config or self.config.to_dict(), **kwargs)

    def _written_here(self, path: Path) -> bool:
        """Whether ``path`` is a file :meth:`save_pretrained` writes (so saving again may replace it)."""
        try:
            if path.name == WEIGHTS_NAME:
                with safe_open(str(path), framework="pt") as handle:
                    return CONFIG_METADATA_KEY in (handle.metadata() or {})
            if path.name == CONFIG_NAME:
                stored = json.loads(path.read_text())
                names = {f.name for f in dataclasses.fields(self.config_class)}
                return isinstance(stored, dict) and bool(stored) and set(stored) <= names
            return "pytorch_model_hub_mixin" in path.read_text(encoding="utf-8", errors="replace")[:2000]
        except (OSError, ValueError, SafetensorError):
            return False

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
        if not looks_local(name):  # said before any network access, which can take a while offline
            warnings.warn(f"from_pretrained: {name!r} is no local file or folder; reading it as a Hugging Face Hub "
                          "repo id (downloads; offline this waits for the Hub's timeouts)", stacklevel=2)
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
        try:
            config = cls.config_class.from_dict(config)
        except (TypeError, ValueError) as error:
            raise ValueError(f"from_pretrained: the config saved in {name!r} is not a valid "
                             f"{cls.config_class.__name__}: {error}") from None
        model = cls(config, **kwargs)
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
            refuse_non_finite(state, repr(str(weights)))
            self.load_state_dict(state, strict=False)
        return self
