"""Check ``tsgl_base`` against the official TSGL(MEDFE) encoder, run from your local clone of it.

    git clone https://github.com/htyjers/ConvInpaint-TSGL            # the official code (Apache-2.0)
    python benchmarks/parity.py --official ConvInpaint-TSGL [--checkpoint G.pth]

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
from pathlib import Path

import torch

from tsgl_encoder.bench.parity import build_generator, encode_official, import_official, make_inputs
from tsgl_encoder.convert import from_official


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
