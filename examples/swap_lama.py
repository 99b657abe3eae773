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

import torch

import adapters.lama as lama
from tsgl_encoder.bench.data import load_photo
from tsgl_encoder.bench.masks import brush_stroke_mask
from tsgl_encoder.bench.viz import print_parameter_table, save_side_by_side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="lama_fourier", choices=lama.list_generators())
    parser.add_argument("--checkpoint", default=None, help="a LaMa checkpoint: best.ckpt (config.yaml "
                        "beside it) or a generator state_dict (optional)")
    parser.add_argument("--image", default=None, help="a photo (default: scikit-image's astronaut)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/swap_lama.png")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    # a published checkpoint (read safely: lama.load_checkpoint runs nothing from the file), else the preset
    original = lama.load_checkpoint(args.checkpoint) if args.checkpoint else lama.create_generator(args.preset)
    swapped = lama.replace_encoder(copy.deepcopy(original))
    original.eval()
    swapped.eval()

    before, after = lama.parameters_by_part(original), lama.parameters_by_part(swapped)
    print_parameter_table(before, after, ("LaMa", "LaMa + TSGL"))

    image = (load_photo(args.image, args.size, args.size) + 1) / 2  # LaMa: [0, 1]
    hole = 1 - brush_stroke_mask(args.size, args.size, seed=args.seed)[None]  # LaMa: 1 = hole
    x = torch.cat([image * (1 - hole), hole], dim=1)
    with torch.no_grad():
        outputs = {name: model(x) for name, model in (("LaMa", original), ("LaMa + TSGL encoder", swapped))}
    panels = {"masked input": image * (1 - hole) + hole}
    panels.update({name: hole * out + (1 - hole) * image for name, out in outputs.items()})
    panels["ground truth"] = image
    weights = args.checkpoint or "random weights"
    title = f"{args.preset} ({weights}): own encoder vs TSGL encoder, outputs composited into the hole"
    save_side_by_side(args.out, panels, title)

if __name__ == "__main__":
    main()
