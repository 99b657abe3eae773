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


class MATForward(torch.nn.Module):
    """MAT's forward with tensors only (c = None, constant noise), as an exporter needs it."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor, mask: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.model(image, mask, z, None, noise_mode="const")


def swapped_host(name: str) -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    """A small swapped host and inputs in its own conventions."""
    import adapters.ctsdg as ctsdg
    import adapters.lama as lama
    import adapters.mat as mat
    from tsgl_encoder.priors import StructurePriors

    torch.manual_seed(0)
    image = torch.rand(1, 3, 128, 128) * 2 - 1
    known = torch.ones(1, 1, 128, 128)
    known[..., 30:80, 40:100] = 0
    if name == "lama":
        model = lama.replace_encoder(lama.create_generator("lama_fourier", ngf=16, n_blocks=1))
        return model, (torch.cat([(image + 1) / 2 * known, 1 - known], 1),)
    if name == "ctsdg":
        model = ctsdg.replace_encoder(ctsdg.create_generator(), create_encoder("tsgl_tiny"))
        edge, gray, _ = StructurePriors(with_smooth=False)(image * known, known)
        return model, (image * known, torch.cat([edge, gray], 1) * known, known)
    tiny = {"img_resolution": 128, "z_dim": 32, "w_dim": 32,
            "synthesis_kwargs": {"first_stage_dim": 12, "channel_max": 16}}
    model = mat.replace_encoder(mat.create_generator("mat_256", **tiny), mat.default_encoder(4, "tsgl_tiny"))
    return MATForward(model), (image, known, torch.randn(1, 32))


def flat(output) -> list[torch.Tensor]:
    return [output] if isinstance(output, torch.Tensor) else [t for item in output for t in flat(item)]


def seeded(fn, *inputs) -> list[torch.Tensor]:
    torch.manual_seed(7)  # MAT draws its bottleneck dropout maps in eval mode too (upstream's design)
    with torch.no_grad():
        return flat(fn(*inputs))
