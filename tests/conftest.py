import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from tsgl_encoder import create_encoder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def load_script():
    """Imports a script of the repository by its path (``benchmarks/`` holds scripts, not a package)."""

    def load(relative: str):
        path = ROOT / relative
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # dataclasses look it up there
        spec.loader.exec_module(module)
        return module

    return load


def free_form_mask(batch: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """A few random rectangles and strokes; 1 = known, 0 = hole."""
    gen = torch.Generator().manual_seed(seed)
    mask = torch.ones(batch, 1, height, width)
    for b in range(batch):
        for _ in range(3):
            h = int(torch.randint(height // 8, height // 2, (1,), generator=gen))
            w = int(torch.randint(width // 8, width // 2, (1,), generator=gen))
            y = int(torch.randint(0, height - h, (1,), generator=gen))
            x = int(torch.randint(0, width - w, (1,), generator=gen))
            mask[b, :, y : y + h, x : x + w] = 0
    return mask


@pytest.fixture
def make_inputs():
    def make(batch: int = 2, height: int = 64, width: int = 64, seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        image = torch.rand(batch, 3, height, width, generator=gen) * 2 - 1
        return image, free_form_mask(batch, height, width, seed)

    return make


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return create_encoder("tsgl_tiny").eval()
