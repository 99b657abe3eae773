"""Images for the examples and benchmarks.

The embedded default data are real photographs shipped inside the scikit-image wheel (no download).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

BUNDLED_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "hubble_deep_field")


def bundled_photo(name: str = "astronaut") -> np.ndarray:
    """``(H, W, 3)`` uint8 photo from scikit-image's bundled data (no network)."""
    if name not in BUNDLED_PHOTOS:
        raise ValueError(f"unknown bundled photo {name!r}; available: {BUNDLED_PHOTOS}")
    from skimage import data

    loader = getattr(data, "stereo_motorcycle" if name == "motorcycle_left" else name)
    photo = loader()[0] if name == "motorcycle_left" else loader()
    return np.ascontiguousarray(photo[..., :3])


def load_photo(path: str | None, height: int, width: int) -> torch.Tensor:
    """``(1, 3, H, W)`` in [-1, 1]: the file at ``path``, or scikit-image's astronaut when ``None``."""
    if path is None:
        array = bundled_photo("astronaut")
    else:
        if not Path(path).is_file():
            raise FileNotFoundError(f"no such image file: {path!r}")
        array = np.asarray(Image.open(path).convert("RGB"))
    resized = Image.fromarray(array).resize((width, height), Image.Resampling.BICUBIC)
    tensor = torch.from_numpy(np.asarray(resized, dtype=np.float32) / 127.5 - 1.0)
    return tensor.permute(2, 0, 1)[None]
