"""Two methods side by side on your images: inpaint, score, compare (the README's "Your images", end to end).

    python benchmarks/substitute_encoders.py --preset quick        # trains LaMa with its own encoder and TSGL's
    python examples/compare_methods.py --run outputs/substitute_encoders --out outputs/compare_methods

Takes the quick run's two LaMa checkpoints (``lama/own/seed0``, ``lama/tsgl/seed0``), the three photos the
benchmark held out for validation (scikit-image's ``coffee``, ``camera``, ``gravel``, short side 192 px as in
training, at their own aspect ratios) with four fixed masks each (hole ratios 10-20% .. 40-50%, LaMa's
``x_maskNNN`` layout), and runs what a user runs: ``tsgl-inpaint`` per checkpoint, ``tsgl-evaluate
--predictions`` per method, ``tsgl-evaluate --compare``. Writes ``report.html`` (and ``report.png``, a
screenshot, when Debian's ``chromium`` is installed) under ``--out/compare``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from tsgl_encoder.bench import browser, evaluate, inpaint
from tsgl_encoder.bench.data import EMBEDDED_VALIDATION, bundled_photo
from tsgl_encoder.bench.masks import fixed_mask

MASK_SETS = ("ratio_10-20", "ratio_20-30", "ratio_30-40", "ratio_40-50")
SHORT_SIDE = 192


def write_photos_and_masks(folder: Path) -> None:
    """The held-out photos and their masks in LaMa's layout (white = hole)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(EMBEDDED_VALIDATION):
        photo = Image.fromarray(bundled_photo(name)).convert("RGB")
        scale = SHORT_SIDE / min(photo.size)
        photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS)
        photo.save(folder / f"{name}.png")
        for number, mask_set in enumerate(MASK_SETS):
            known = fixed_mask(mask_set, index, photo.height, photo.width)[0].numpy()
            Image.fromarray(((1 - known) * 255).astype(np.uint8)).save(folder / f"{name}_mask{number:03d}.png")


def screenshot(page: Path) -> Path | None:
    if browser.chromium() is None:
        return None
    return browser.screenshot(page, page.with_suffix(".png"), window=(1400, 1600))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="outputs/substitute_encoders", help="the quick benchmark's --out")
    parser.add_argument("--out", default="outputs/compare_methods")
    args = parser.parse_args()
    run, out = Path(args.run), Path(args.out)
    photos = out / "photos"
    write_photos_and_masks(photos)
    for variant in ("own", "tsgl"):
        checkpoint = run / "lama" / variant / "seed0" / "checkpoint.pt"
        inpaint.main(["--host", "lama", "--checkpoint", str(checkpoint), "--images", str(photos),
                      "--out", str(out / "inpainted" / f"lama_{variant}"), "--no-progress"])
        evaluate.main(["--predictions", str(out / "inpainted" / f"lama_{variant}"), "--ground-truth", str(photos),
                       "--out", str(out / "scores" / f"lama_{variant}"), "--no-fid"])
    evaluate.main(["--compare", str(out / "scores" / "lama_own"), str(out / "scores" / "lama_tsgl"),
                   "--out", str(out / "compare")])
    shot = screenshot(out / "compare" / "report.html")
    print(f"open {out / 'compare' / 'report.html'}" + (f"; screenshot {shot}" if shot else ""))


if __name__ == "__main__":
    main()
