"""Swap LaMa's encoder for TSGL's and run both on a real photograph with a hole.

    python examples/swap_lama.py                                  # random weights: shows the plumbing
    python examples/swap_lama.py --checkpoint big-lama/models/best.ckpt --preset big_lama

Builds the LaMa generator (``lama_fourier`` by default), copies it, swaps the copy's encoder with
``adapters.lama.replace_encoder``, prints the parameter table (encoder / bottleneck / decoder, before
and after) and writes a PNG: masked input | LaMa | LaMa + TSGL encoder | ground truth (composited).
With random weights both outputs are flat gray: train them (benchmarks/) or pass a checkpoint; the
checkpoint's bottleneck and decoder load into the swapped model too, its encoder is new.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

import adapters.lama as lama
from tsgl_encoder.data import load_photo
from tsgl_encoder.masks import brush_stroke_mask


def load_checkpoint(model: torch.nn.Module, path: str) -> None:
    """Loads an upstream LaMa generator state_dict or a training checkpoint (``generator.*`` keys)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"--checkpoint: no such file {path!r}")
    state = torch.load(path, map_location="cpu", weights_only=False)
    state = state.get("state_dict", state)
    state = {k.removeprefix("generator."): v for k, v in state.items() if not k.startswith(("discriminator.", "loss"))}
    model.load_state_dict(state, strict=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="lama_fourier", choices=lama.list_generators())
    parser.add_argument("--checkpoint", default=None, help="local LaMa generator weights (optional)")
    parser.add_argument("--image", default=None, help="a photo (default: scikit-image's astronaut)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/swap_lama.png")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    original = lama.create_generator(args.preset)
    if args.checkpoint:
        load_checkpoint(original, args.checkpoint)
    swapped = lama.replace_encoder(copy.deepcopy(original))
    original.eval()
    swapped.eval()

    before, after = lama.parameters_by_part(original), lama.parameters_by_part(swapped)
    print(f"{'part':<12}{'LaMa':>14}{'LaMa + TSGL':>14}")
    for part in before:
        print(f"{part:<12}{before[part]:>14,}{after[part]:>14,}")
    print(f"{'total':<12}{sum(before.values()):>14,}{sum(after.values()):>14,}")

    image = (load_photo(args.image, args.size, args.size) + 1) / 2  # LaMa: [0, 1]
    hole = 1 - brush_stroke_mask(args.size, args.size, seed=args.seed)[None]  # LaMa: 1 = hole
    x = torch.cat([image * (1 - hole), hole], dim=1)
    with torch.no_grad():
        outputs = {name: model(x) for name, model in (("LaMa", original), ("LaMa + TSGL encoder", swapped))}
    panels = {"masked input": image * (1 - hole) + hole}
    panels.update({name: hole * out + (1 - hole) * image for name, out in outputs.items()})
    panels["ground truth"] = image
    figure, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6))
    for axis, (title, picture) in zip(axes, panels.items(), strict=True):
        axis.imshow(picture[0].permute(1, 2, 0).clamp(0, 1).numpy())
        axis.set_title(title, fontsize=10)
        axis.axis("off")
    weights = args.checkpoint or "random weights"
    figure.suptitle(f"{args.preset} ({weights}): own encoder vs TSGL encoder, outputs composited into the hole")
    figure.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
