"""Swap MEDFE's encoder for TSGL's (TSGL(MEDFE)) and run both on a real photograph with a hole.

    python examples/swap_medfe.py                                  # random weights: shows the plumbing
    python examples/swap_medfe.py --medfe MEDFE_folder             # MEDFE's EN.pkl, DE.pkl, MEDEF.pkl
    python examples/swap_medfe.py --tsgl-medfe G_14.pth            # also the official TSGL(MEDFE) generator

Prints the parameter table (encoder / pc_block / decoder / training heads, before and after) and writes a
PNG: masked input | MEDFE | MEDFE + TSGL encoder | [official TSGL(MEDFE), masked and official priors] |
ground truth (outputs composited into the hole). The swap uses the official TSGL(MEDFE) options
(BatchNorm decoder, affinity softmax over the positions) unless ``--keep-medfe-options``.
"""

from __future__ import annotations

import argparse

import torch

import adapters.medfe as medfe
from tsgl_encoder import create_encoder, list_encoders
from tsgl_encoder.bench.data import load_photo
from tsgl_encoder.bench.masks import brush_stroke_mask
from tsgl_encoder.bench.viz import print_parameter_table, save_side_by_side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--medfe", default=None, help="MEDFE checkpoint: a folder or its three files (optional)")
    parser.add_argument("--tsgl-medfe", default=None, help="an official TSGL(MEDFE) generator file (optional)")
    parser.add_argument("--encoder", default="tsgl_base", choices=list_encoders())
    parser.add_argument("--ngf", type=int, default=64, help="MEDFE's width (64 upstream; smaller for a quick run)")
    parser.add_argument("--keep-medfe-options", action="store_true", help="InstanceNorm decoder, softmax over 9")
    parser.add_argument("--image", default=None, help="a photo (default: scikit-image's astronaut)")
    parser.add_argument("--size", type=int, default=256, help="a multiple of 64, at least 192")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/swap_medfe.png")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    original = medfe.load_checkpoint(args.medfe) if args.medfe else medfe.create_generator("medfe", ngf=args.ngf)
    pyramid = tuple(args.ngf * k for k in (1, 2, 4, 8, 8, 8))
    encoder = create_encoder(args.encoder, **({} if args.encoder == "tsgl_base" and args.ngf == 64
                                             else {"pyramid_channels": pyramid}))
    options = {} if args.keep_medfe_options else {"decoder_norm": "batch", "softmax_over": "positions"}
    swapped = medfe.replace_encoder(original, encoder, **options).eval()
    original.eval()
    print_parameter_table(medfe.parameters_by_part(original), medfe.parameters_by_part(swapped),
                          ("MEDFE", "MEDFE + TSGL"))

    image = load_photo(args.image, args.size, args.size)  # [-1, 1]
    mask = brush_stroke_mask(args.size, args.size, seed=args.seed)[None]  # 1 = known
    models = {"MEDFE": original, "MEDFE + TSGL encoder": swapped}
    with torch.no_grad():
        outputs = {name: model(image, mask) for name, model in models.items()}
        if args.tsgl_medfe:
            official = medfe.load_checkpoint(args.tsgl_medfe)
            outputs["TSGL(MEDFE), masked priors"] = official(image, mask)
            try:
                outputs["TSGL(MEDFE), official priors (leak)"] = official(image, mask, priors="official")
            except ImportError as error:  # scikit-image or the RTV module missing: show the rest
                print(f"skipped the official priors: {error}")
    to_unit = lambda t: ((t + 1) / 2).clamp(0, 1)  # noqa: E731
    panels = {"masked input": to_unit(image * mask + (1 - mask))}
    panels.update({name: to_unit(mask * image + (1 - mask) * out) for name, out in outputs.items()})
    panels["ground truth"] = to_unit(image)
    weights = args.medfe or "random weights"
    save_side_by_side(args.out, panels, f"MEDFE ({weights}): own encoder vs TSGL ({args.encoder})")


if __name__ == "__main__":
    main()
