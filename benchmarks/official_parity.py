"""Check ``tsgl_base`` against the official TSGL(MEDFE) encoder, run from your local clone of it.

    git clone https://github.com/htyjers/ConvInpaint-TSGL            # the official code (Apache-2.0)
    python benchmarks/official_parity.py --official ConvInpaint-TSGL [--checkpoint G.pth]

Builds the official ``Generator`` on the CPU (its ``torch_utils`` ops fall back to plain PyTorch),
with random weights and randomised BatchNorm statistics, or loads ``--checkpoint``. Runs the encoder
part of its ``forward`` (everything up to ``layer_f6``) and :func:`tsgl_encoder.convert.from_official`
of the same weights on the same inputs, prints the max abs difference of every structure map,
reconstructed texture map and pyramid level, writes ``parity.json`` and exits 1 above ``--tolerance``.
Nothing of the official code is part of this library; it is imported from the path you give.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import types
from pathlib import Path

import torch
import torch.nn.functional as F

from tsgl_encoder.convert import from_official


def import_official(root: Path):
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
    cuda = torch.Tensor.cuda
    torch.Tensor.cuda = lambda t, *a, **k: t  # its decoder's PCconv calls .cuda() at construction
    try:
        torch.manual_seed(seed)
        generator = model.Generator()
    finally:
        torch.Tensor.cuda = cuda
    if checkpoint:
        state = torch.load(checkpoint, map_location="cpu")
        generator.load_state_dict({k.removeprefix("module."): v for k, v in state.items()}, strict=True)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--official", required=True, help="local clone of htyjers/ConvInpaint-TSGL")
    parser.add_argument("--checkpoint", default=None, help="official generator state_dict (.pth), optional")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--out", default="outputs/parity.json")
    args = parser.parse_args()

    model, trans = import_official(Path(args.official))
    generator, state = build_generator(model, trans, args.checkpoint, args.seed)
    encoder = from_official(state).eval()
    image, mask, edge, smooth, gray = make_inputs(args.batch, 256, args.seed + 1)
    with torch.no_grad():
        official = encode_official(generator, trans, image, mask, edge, smooth, gray)
        ours = encoder.forward_features(image, mask, edge=edge, gray=gray, smooth=smooth)._asdict()
    print(f"torch {torch.__version__} | {platform.machine()} | official vs tsgl_base, batch {args.batch}, 256x256")
    report = {}
    for group in ("structure", "texture", "pyramid"):
        for level, (a, b) in enumerate(zip(official[group], ours[group], strict=True), 1):
            diff = (a - b).abs().max().item()
            report[f"{group}_{level}"] = {"max_abs_diff": diff, "max_abs_value": a.abs().max().item()}
            print(f"{group:>9} {level}  {tuple(a.shape)!s:>22}  max|diff| {diff:.2e}  max|value| {a.abs().max():.3f}")
    worst = max(r["max_abs_diff"] for r in report.values())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"torch": torch.__version__, "worst": worst, "levels": report}, indent=2))
    print(f"worst {worst:.2e} (tolerance {args.tolerance:g}); wrote {args.out}")
    sys.exit(0 if worst <= args.tolerance else 1)


if __name__ == "__main__":
    main()
