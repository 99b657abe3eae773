"""Swap CTSDG's two encoders for one TSGL encoder and run both on a real photograph with a hole.

    python examples/swap_ctsdg.py                          # random weights: shows the plumbing
    python examples/swap_ctsdg.py --checkpoint g.pth       # CTSDG's .pt or a generator state_dict

Prints the parameter table (encoders / decoders / fusion and heads, before and after) and writes a
PNG: masked input | CTSDG | CTSDG + TSGL encoder | ground truth (outputs composited into the hole).
"""

from __future__ import annotations

import argparse
import copy

import torch

import adapters.ctsdg as ctsdg
from tsgl_encoder import create_encoder, list_encoders
from tsgl_encoder.bench.data import ground_truth_priors, load_photo
from tsgl_encoder.bench.masks import brush_stroke_mask
from tsgl_encoder.bench.viz import print_parameter_table, save_side_by_side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="local CTSDG generator weights (optional)")
    parser.add_argument("--encoder", default="tsgl_base", choices=list_encoders())
    parser.add_argument("--image", default=None, help="a photo (default: scikit-image's astronaut)")
    parser.add_argument("--size", type=int, default=256, help="a multiple of 128")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/swap_ctsdg.png")
    args = parser.parse_args()
    if args.size % 128:
        raise ValueError(f"--size must be a multiple of 128 (CTSDG's seven stride-2 stages), got {args.size}")

    torch.manual_seed(args.seed)
    original = ctsdg.load_checkpoint(args.checkpoint) if args.checkpoint else ctsdg.create_generator()
    swapped = ctsdg.replace_encoder(copy.deepcopy(original), create_encoder(args.encoder))
    original.eval()
    swapped.eval()

    before, after = ctsdg.parameters_by_part(original), ctsdg.parameters_by_part(swapped)
    print_parameter_table(before, after, ("CTSDG", "CTSDG + TSGL"))

    image = load_photo(args.image, args.size, args.size)  # [-1, 1]
    mask = brush_stroke_mask(args.size, args.size, seed=args.seed)[None]  # 1 = known
    edge, gray = ground_truth_priors(image[0])
    structure = torch.cat([edge, gray])[None] * mask
    with torch.no_grad():
        outputs = {name: model(image * mask, structure, mask)[0]
                   for name, model in (("CTSDG", original), ("CTSDG + TSGL encoder", swapped))}
    to_unit = lambda t: (t + 1) / 2  # noqa: E731
    panels = {"masked input": to_unit(image * mask + (1 - mask))}
    panels.update({name: to_unit(mask * image + (1 - mask) * out) for name, out in outputs.items()})
    panels["ground truth"] = to_unit(image)
    title = f"CTSDG ({args.checkpoint or 'random weights'}): own encoders vs TSGL ({args.encoder})"
    save_side_by_side(args.out, panels, title)

if __name__ == "__main__":
    main()
