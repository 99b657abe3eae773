"""Inpaint a photo with an exported host: onnxruntime, numpy and Pillow only, no torch (deployment).

    python examples/export_onnx.py --host lama --out outputs/lama_tsgl.onnx    # once, where torch is
    python examples/onnx_inpaint.py outputs/lama_tsgl.onnx photo.png mask.png --out inpainted.png

The file is one written by ``examples/export_onnx.py`` (``tsgl_encoder.bench.deploy``): inputs ``image``
(B, 3, H, W) in [-1, 1] and ``mask`` (B, 1, H, W) with 1 = known, output the inpainted image with the known
pixels kept. Its metadata says which sizes it takes (multiples of a size, at least a minimum); the photo is
padded to such a size by repeating its edge pixels and the result cropped back, so the output PNG has the
photo's size. The mask: white = hole (LaMa's files) unless ``--mask-polarity hole-black``; it is resized to
the photo (nearest) when the sizes differ. ``--grid`` also writes masked input | inpainted side by side.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

# the metadata keys of tsgl_encoder.export and tsgl_encoder.bench.deploy (not imported: they import torch)
SIZE_MULTIPLE_KEY, MIN_SIZE_KEY, CONVENTION_KEY = ("tsgl_encoder.size_multiple", "tsgl_encoder.min_size",
                                                   "tsgl_encoder.convention")


def session_of(path: str) -> tuple[ort.InferenceSession, dict]:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    metadata = session.get_modelmeta().custom_metadata_map
    if CONVENTION_KEY not in metadata or [i.name for i in session.get_inputs()] != ["image", "mask"]:
        raise ValueError(f"{path!r} is not an inpainting file of examples/export_onnx.py (inputs image and mask, "
                         f"metadata {CONVENTION_KEY!r}); got inputs {[i.name for i in session.get_inputs()]}")
    return session, metadata


def padded_size(session: ort.InferenceSession, metadata: dict, height: int, width: int) -> tuple[int, int]:
    """The size the file runs the photo at: its fixed size, or the photo's rounded up to the allowed sizes."""
    fixed = session.get_inputs()[0].shape[2:]
    if all(isinstance(d, int) for d in fixed):
        if (height, width) != tuple(fixed):
            raise ValueError(f"this file takes {fixed[0]}x{fixed[1]} images only, got {height}x{width}")
        return height, width
    multiple, smallest = int(metadata[SIZE_MULTIPLE_KEY]), int(metadata[MIN_SIZE_KEY])

    def up(size: int) -> int:
        return max(smallest, -(-size // multiple) * multiple)

    return up(height), up(width)


def inpaint(path: str, photo: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``photo`` (H, W, 3) uint8 and ``hole`` (H, W) bool -> the inpainted photo (H, W, 3) uint8."""
    session, metadata = session_of(path)
    height, width = hole.shape
    size = padded_size(session, metadata, height, width)
    pad = ((0, size[0] - height), (0, size[1] - width))
    image = np.pad(photo.astype(np.float32) / 127.5 - 1, (*pad, (0, 0)), mode="edge")
    known = np.pad((~hole).astype(np.float32), pad, mode="edge")
    inputs = {"image": image.transpose(2, 0, 1)[None] * known, "mask": known[None, None]}
    (output,) = session.run(None, inputs)
    output = output[0].transpose(1, 2, 0)[:height, :width]
    return np.clip(np.rint((output + 1) * 127.5), 0, 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="an ONNX file of examples/export_onnx.py")
    parser.add_argument("image")
    parser.add_argument("mask")
    parser.add_argument("--mask-polarity", choices=("hole-white", "hole-black"), default="hole-white")
    parser.add_argument("--out", default="outputs/onnx_inpainted.png")
    parser.add_argument("--grid", action="store_true", help="also write masked input | inpainted (*_grid.png)")
    args = parser.parse_args(argv)

    out = Path(args.out)
    grid = out.with_name(f"{out.stem}_grid.png")
    for written in (out, grid) if args.grid else (out,):  # never over an input
        for flag, given in (("model", args.model), ("image", args.image), ("mask", args.mask)):
            if written.resolve() == Path(given).resolve():
                parser.error(f"--out would write {str(written)!r} over the {flag} {given!r}: choose another --out")
    photo = np.asarray(Image.open(args.image).convert("RGB"))
    mask = Image.open(args.mask).convert("L")
    if mask.size != (photo.shape[1], photo.shape[0]):
        mask = mask.resize((photo.shape[1], photo.shape[0]), Image.NEAREST)
    white = np.asarray(mask) >= 128
    hole = white if args.mask_polarity == "hole-white" else ~white
    result = inpaint(args.model, photo, hole)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(result).save(out)
    if args.grid:
        masked = np.where(hole[..., None], 255, photo).astype(np.uint8)
        Image.fromarray(np.concatenate([masked, result], axis=1)).save(grid)
    print(f"wrote {out} ({photo.shape[1]}x{photo.shape[0]}, {int(hole.sum())} hole pixels)")
    return out


if __name__ == "__main__":
    main()
