"""Swap the encoder of MAT's first stage for TSGL's and run both on a real photograph with a large hole.

    python examples/swap_mat.py                                   # random weights: shows the plumbing
    python examples/swap_mat.py --preset mat_512 --checkpoint g_ema.pth   # a network pickle or G_ema state_dict

Builds MAT (``mat_256`` by default), copies it, swaps the copy's first-stage encoder (``conv_first``,
``enc_conv``, ``tran[0]``, ``tran[1]``) with ``adapters.mat.replace_encoder``, prints the parameter table
(encoder / rest of stage 1 / stage 2 / mapping, before and after) and writes a PNG: masked input | MAT |
MAT + TSGL encoder | ground truth. Both run with the same ``z``, constant noise and the same dropout draw;
MAT composites inside, so known pixels are the input's. Upstream's released ``.pkl`` files are pickles of
its own classes: load one with upstream's code and save ``G_ema.state_dict()`` to use it here.
"""

from __future__ import annotations

import argparse
import copy

import torch

import adapters.mat as mat
from adapters.mat.swap import default_encoder, parameters_by_part, replace_encoder
from tsgl_encoder import list_encoders
from tsgl_encoder.bench.data import load_photo
from tsgl_encoder.bench.masks import mat_mask
from tsgl_encoder.bench.viz import print_parameter_table, save_side_by_side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="mat_256", choices=mat.list_generators())
    parser.add_argument("--checkpoint", default=None, help="local MAT network pickle or G_ema state_dict (optional)")
    parser.add_argument("--encoder", default="tsgl_base", choices=list_encoders())
    parser.add_argument("--image", default=None, help="a photo (default: scikit-image's astronaut)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/swap_mat.png")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    # a network pickle or G_ema state_dict, read safely (mat.load_checkpoint runs nothing from the file)
    original = mat.load_checkpoint(args.checkpoint) if args.checkpoint else mat.create_generator(args.preset)
    down_time = len(original.synthesis.first_stage.enc_conv)
    encoder = default_encoder(down_time, args.encoder)  # cut to MAT's token levels
    swapped = replace_encoder(copy.deepcopy(original), encoder)
    original.eval()
    swapped.eval()
    print_parameter_table(parameters_by_part(original), parameters_by_part(swapped), ("MAT", "MAT + TSGL"))

    size = original.img_resolution
    image = load_photo(args.image, size, size)  # (1, 3, R, R) in [-1, 1]
    rng = torch.Generator().manual_seed(args.seed)
    mask = mat_mask(size, size, args.seed, hole_range=(0.3, 0.5))[None]  # (1, 1, R, R), 1 = known
    z = torch.randn(1, original.z_dim, generator=rng)
    outputs = {}
    for name, model in (("MAT", original), ("MAT + TSGL encoder", swapped)):
        torch.manual_seed(args.seed)  # the same bottleneck dropout draw for both
        with torch.no_grad():
            outputs[name] = model(image, mask, z, None, noise_mode="const")
    to_unit = lambda t: (t + 1) / 2  # noqa: E731
    panels = {"masked input": to_unit(image * mask + (1 - mask))}
    panels.update({name: to_unit(out) for name, out in outputs.items()})
    panels["ground truth"] = to_unit(image)
    hole = 1 - mask.mean().item()
    title = f"MAT {args.preset} ({args.checkpoint or 'random weights'}): own encoder vs TSGL ({args.encoder}); " \
            f"{hole:.0%} hole"
    save_side_by_side(args.out, panels, title)


if __name__ == "__main__":
    main()
