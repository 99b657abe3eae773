"""``save_pretrained`` / ``from_pretrained``: safetensors weights with the config, local paths only."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .encoder import TSGLConfig, TSGLEncoder

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


def save_pretrained(encoder: TSGLEncoder, directory: str | os.PathLike) -> None:
    directory = Path(directory)
    config_json = json.dumps(encoder.config.to_dict(), indent=2)
    tensors = {k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}
    atomic_write(directory / WEIGHTS_NAME, lambda p: save_file(tensors, p, metadata={_CONFIG_KEY: config_json}))
    atomic_write(directory / CONFIG_NAME, lambda p: Path(p).write_text(config_json + "\n"))


def load_pretrained(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> TSGLEncoder:
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
    encoder = TSGLEncoder(TSGLConfig.from_dict(json.loads(config_json)))
    encoder.load_state_dict(state, strict=True)
    return encoder.to(map_location)
