"""The official TSGL(MEDFE) encoder, run from the user's clone of the official code (never shipped here).

    git clone https://github.com/htyjers/ConvInpaint-TSGL            # the official code (Apache-2.0)

:func:`import_official` imports its ``model`` / ``trans`` modules from that path; :func:`build_generator`
builds its ``Generator`` on the CPU (its ``torch_utils`` ops fall back to plain PyTorch) with random
weights and randomised BatchNorm statistics, or a checkpoint's; :func:`encode_official` runs the encoder
half of its ``forward`` (everything up to ``layer_f6``). :class:`OfficialEncoder` pairs that with
``tsgl_base`` built from the same weights (:func:`tsgl_encoder.convert.from_official`), for
``benchmarks/parity.py`` and ``tsgl-speed --official`` (:mod:`.speed.parity`).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ..checkpoints import load_file, select_state_dict, strip_prefix
from ..convert import from_official
from ..encoder import TSGLEncoder


def import_official(root: Path):
    """The official ``model`` and ``trans`` modules, imported from ``root`` (a clone of the official repository)."""
    root = Path(root)
    train = root / "TSGL_MEDFE" / "train" if (root / "TSGL_MEDFE").is_dir() else root
    if not (train / "model.py").is_file():
        raise FileNotFoundError(f"--official: no TSGL_MEDFE/train/model.py under {str(root)!r}")

    class EasyDict(dict):  # the official torch_utils import NVIDIA's dnnlib, which the repo lacks
        __getattr__ = dict.get

    sys.modules.setdefault("dnnlib", types.SimpleNamespace(EasyDict=EasyDict))
    sys.path.insert(0, str(train))
    import model
    import trans

    return model, trans


@torch.no_grad()
def build_generator(model, trans, checkpoint: str | None, seed: int):
    """The official ``Generator`` on the CPU, eval mode, with ``checkpoint``'s weights (read without pickle code)
    or random weights and randomised BatchNorm statistics; returns it and its state_dict."""
    cuda = torch.Tensor.cuda
    torch.Tensor.cuda = lambda t, *a, **k: t  # its decoder's PCconv calls .cuda() at construction
    try:
        torch.manual_seed(seed)
        generator = model.Generator()
    finally:
        torch.Tensor.cuda = cuda
    if checkpoint:
        state = select_state_dict(load_file(checkpoint), checkpoint, ("state_dict", "generator"))
        generator.load_state_dict(strip_prefix(state), strict=True)
        return generator.eval(), state
    for module in generator.modules():  # make every parameter and statistic matter
        if isinstance(module, trans.Conv2dLayer):
            module.weight.normal_()
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
            if module.affine:
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
    for name, param in generator.named_parameters():
        if name.endswith("bias") and not param.any():
            param.normal_(0, 0.1)
    generator.train()
    for _ in range(10):  # power iterations, so that spectral norm's stored u, v are meaningful
        encode_official(generator, trans, *make_inputs(1, 256, seed))
    return generator.eval(), generator.state_dict()


def encode_official(gen, trans, image, mask, edge, smooth, gray) -> dict[str, list[torch.Tensor]]:
    """The encoder part of the official ``Generator.forward``, call by call."""
    structure_in, structure_mask = torch.cat([edge, gray, mask], 1), torch.cat([mask] * 3, 1)
    head, texture_mask = gen.en_low_1_f(torch.cat([image, smooth, mask], 1), mask)
    texture, texture_mask = gen.en_low_1_s(head, texture_mask)
    structure_map, structure_mask = gen.en_high_1(structure_in, structure_mask)
    residual = F.interpolate(head - gen.up(texture), size=structure_map.shape[2:], mode="bilinear",
                             align_corners=True)
    guided = gen.h2l_1(texture, residual, structure_map)
    out = {"structure": [structure_map], "texture": [guided]}
    size, token_mask = guided.shape[-2:], trans.feature2token(texture_mask)
    for k in range(2, 6):
        structure_map, structure_mask = getattr(gen, f"en_high_{k}")(structure_map, structure_mask)
        tokens, size, token_mask = getattr(gen, f"en_low_{k}")(
            trans.feature2token(guided), size, token_mask if k < 5 else None  # official: no mask at 1/32
        )
        texture = trans.token2feature(tokens, size).contiguous()
        residual = F.interpolate(guided - gen.up(texture), size=structure_map.shape[2:], mode="bilinear",
                                 align_corners=True)
        guided = getattr(gen, f"h2l_{k}")(texture, residual, structure_map)
        out["structure"].append(structure_map)
        out["texture"].append(guided)
    levels = [getattr(gen, f"en_fusion_{k}")(t) for k, t in enumerate(out["texture"], 1)]
    resized = [F.interpolate(f, scale_factor=1 / 2 ** (4 - i), mode="bilinear", align_corners=True)
               for i, f in enumerate(levels[:4])]
    out["pyramid"] = [*levels, gen.en_fusion_6(torch.cat([*resized, levels[4]], 1))]
    return out


def make_inputs(batch: int, size: int, seed: int):
    """Masked image, mask with large holes (so masked attention is exercised), edge, smooth, gray."""
    gen = torch.Generator().manual_seed(seed)
    mask = torch.ones(batch, 1, size, size)
    for b in range(batch):
        y, x = torch.randint(0, size // 2, (2,), generator=gen).tolist()
        mask[b, :, y : y + size // 2, x : x + size // 2] = 0
    image = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
    edge = (torch.rand(batch, 1, size, size, generator=gen) > 0.8).float()
    smooth = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
    gray = torch.rand(batch, 1, size, size, generator=gen)
    return image * mask, mask, edge * mask, smooth * mask, gray * mask




@dataclass
class OfficialEncoder:
    """The official encoder as a function of ``(image, mask, edge, smooth, gray)`` -> pyramid, and the library's
    encoder holding the same weights."""

    encode: Callable[..., list[Tensor]]
    library: TSGLEncoder


def load_official(root: str | Path, checkpoint: str | None = None, seed: int = 0) -> OfficialEncoder:
    """:class:`OfficialEncoder` from a clone of the official code at ``root``."""
    model, trans = import_official(Path(root))
    generator, state = build_generator(model, trans, checkpoint, seed)
    return OfficialEncoder(lambda *inputs: encode_official(generator, trans, *inputs)["pyramid"],
                           from_official(state).eval())
