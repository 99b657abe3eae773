"""``save_pretrained`` / ``from_pretrained``: safetensors weights with the config, local paths only.

:class:`PretrainedMixin` gives them to any module built from one config dataclass (``to_dict`` /
``from_dict``); the encoder inherits it. This module knows no model: the encoder depends on it, never
the other way round.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors import safe_open
from safetensors.torch import save_file

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
_CONFIG_KEY = "tsgl_config"


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


class PretrainedMixin:
    """``save_pretrained(dir)`` / ``from_pretrained(dir_or_file)`` for an ``nn.Module`` subclass whose
    ``__init__`` takes one config (an instance of ``config_class``, kept as ``self.config``)."""

    config_class: ClassVar[type]
    config: Any

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        """Writes ``model.safetensors`` (weights + config) and ``config.json`` into ``directory``."""
        directory = Path(directory)
        config_json = json.dumps(self.config.to_dict(), indent=2)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        atomic_write(directory / WEIGHTS_NAME, lambda p: save_file(tensors, p, metadata={_CONFIG_KEY: config_json}))
        atomic_write(directory / CONFIG_NAME, lambda p: Path(p).write_text(config_json + "\n"))

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Any:
        """Loads a model from a directory written by :meth:`save_pretrained` or a ``.safetensors`` file."""
        path = Path(path)
        weights = path / WEIGHTS_NAME if path.is_dir() else path
        if not weights.is_file():
            raise FileNotFoundError(
                f"from_pretrained: no weights at {str(weights)!r}; pass a directory written by "
                f"save_pretrained or a .safetensors file (local paths only, nothing is downloaded)"
            )
        with safe_open(str(weights), framework="pt", device=str(map_location)) as handle:
            metadata = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}
        config_json = metadata.get(_CONFIG_KEY)
        config_file = weights.parent / CONFIG_NAME
        if config_json is None and config_file.is_file():
            config_json = config_file.read_text()
        if config_json is None:
            raise ValueError(f"from_pretrained: {str(weights)!r} carries no TSGL config and no {CONFIG_NAME} beside it")
        model = cls(cls.config_class.from_dict(json.loads(config_json)))
        model.load_state_dict(state, strict=True)
        return model.to(map_location)
