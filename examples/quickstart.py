"""Quickstart: run the TSGL encoder on a real photograph with a free-form hole.

    python examples/quickstart.py                      # scikit-image's bundled astronaut photo
    python examples/quickstart.py --image my.jpg --preset tsgl_tiny --size 256 384

Writes one PNG (masked input, the structure priors and every pyramid level as the RGB of its first
three principal components) and prints the pyramid table.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from tsgl_encoder import create_encoder, list_encoders
from tsgl_encoder.bench.data import load_photo
from tsgl_encoder.bench.masks import brush_stroke_mask
from tsgl_encoder.bench.viz import feature_pca_rgb, to_rgb_array


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default=None, help="path to a photo (default: scikit-image's astronaut)")
    parser.add_argument("--preset", default="tsgl_base", choices=list_encoders())
    parser.add_argument("--weights", default=None, help="local dir/file written by save_pretrained")
    parser.add_argument("--size", type=int, nargs=2, default=(256, 256), metavar=("H", "W"))
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", default="outputs/quickstart.png")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    if args.weights:
        from tsgl_encoder import TSGLEncoder

        encoder = TSGLEncoder.from_pretrained(args.weights).eval()
    else:
        encoder = create_encoder(args.preset).eval()
    height, width = args.size
    image = load_photo(args.image, height, width)
    mask = brush_stroke_mask(height, width, seed=args.seed)[None]  # (1, 1, H, W), 1 = known

    start = time.perf_counter()
    with torch.no_grad():
        features = encoder.forward_features(image, mask)
    seconds = time.perf_counter() - start

    print(f"torch {torch.__version__} | {platform.processor() or platform.machine()} | "
          f"{torch.get_num_threads()} threads")
    weights = "random init" if not args.weights else args.weights
    params = sum(p.numel() for p in encoder.parameters())
    print(f"{args.preset if not args.weights else 'loaded'}: {params / 1e6:.2f} M parameters ({weights}); "
          f"hole = {100 * (1 - mask.mean()):.1f}% of {height}x{width}; forward {seconds:.2f} s")
    print(f"{'level':>5} {'channels':>8} {'reduction':>9} {'shape':>20} {'mean':>8} {'std':>8}")
    for level, (feature, reduction) in enumerate(zip(features.pyramid, encoder.reductions, strict=True), 1):
        print(f"{level:>5} {feature.shape[1]:>8} {reduction:>9} {tuple(feature.shape)!s:>20} "
              f"{feature.mean():>8.4f} {feature.std():>8.4f}")

    panels = [("masked input", to_rgb_array(image[0] * mask[0] + (1 - mask[0]))),
              ("edge prior", features.priors[0, 0].numpy()), ("gray prior", features.priors[0, 1].numpy())]
    panels += [(f"f{i} 1/{r} ({f.shape[1]} ch)", feature_pca_rgb(f[0]))
               for i, (f, r) in enumerate(zip(features.pyramid, encoder.reductions, strict=True), 1)]
    columns = (len(panels) + 1) // 2
    # constrained layout reserves room for every panel's title (tight_layout let row 2's titles cover row 1)
    figure, axes = plt.subplots(2, columns, figsize=(2.8 * columns, 7.0), layout="constrained")
    for axis in axes.flat[len(panels):]:
        axis.axis("off")
    for axis, (title, picture) in zip(axes.flat, panels, strict=False):  # axes may outnumber panels
        axis.imshow(picture, cmap="gray" if picture.ndim == 2 else None, interpolation="nearest")
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    figure.suptitle(
        f"TSGL encoder ({args.preset}, {weights})\npyramid levels shown as their first 3 principal components"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
