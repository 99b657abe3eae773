"""CTSDG's published checkpoints: the ``.pt`` files of its trainer, ``{"n_iter", "generator", "discriminator"}``
(``trainer.py``; ``test.py`` reads ``torch.load(path)["generator"]``). A plain generator state_dict works too."""

from __future__ import annotations

from pathlib import Path

import torch

from tsgl_encoder.checkpoints import PathLike, load_file, load_state_strict, select_state_dict, strip_prefix

from .generator import Generator
from .presets import create_generator


def load_checkpoint(path: PathLike, map_location: str | torch.device = "cpu") -> Generator:
    """The CTSDG generator of ``path`` in eval mode (strict key check; read with ``weights_only=True``)."""
    state = strip_prefix(select_state_dict(load_file(path, map_location), path, ("generator",)))
    model = create_generator("ctsdg")
    load_state_strict(model, state, f"CTSDG checkpoint {str(Path(path))!r}")
    return model.eval()
