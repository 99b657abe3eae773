"""Evaluation sets on disk: exported in the layouts that LaMa's and MAT's prediction scripts read, and read back.

Layouts (the mask polarity of each is the one its method's script expects):

* ``lama``: ``name.png`` (the ground truth) next to ``name_mask000.png`` (white = hole), as LaMa's
  ``bin/predict.py`` reads an input folder; it writes its predictions as ``name_mask000.png``.
* ``mat``: ``images/name.png`` and ``masks/name.png`` (white = known, black = hole), as MAT's
  ``generate_image.py --dpath images --mpath masks`` reads them (it pairs the sorted lists); it
  writes its predictions as ``name.png``.

An exported folder carries ``manifest.json`` (mask set, seed, size, layout, polarity, each item's
hole ratio); scoring reads the polarity from it. Files are paired by name: a prediction ``x``
takes the mask ``x`` and the ground truth ``x``, or ``y`` when ``x`` is ``y_maskNNN`` (LaMa).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from ..hub import atomic_write
from ..pictures import open_picture, picture_size, read_picture, rgb8
from .data import IMAGE_SUFFIXES, find_images, fit_image
from .masks import fixed_mask, hole_ratio, read_hole_file

LAYOUTS = ("lama", "mat")
MANIFEST = "manifest.json"
HOLE_VALUES = ("white", "black")  # which colour marks the hole in a mask file
LAMA_MASK = re.compile(r"(?P<image>.+)_mask\d+")


class PairingError(ValueError):
    """Prediction, ground-truth and mask files that do not pair up (the message lists them)."""


@dataclass(frozen=True)
class Item:
    """One scored image: a prediction, its ground truth and the hole mask it was inpainted with."""

    name: str
    prediction: Path
    ground_truth: Path
    mask: Path


# --------------------------------------------------------------------------------------------- reading


UNREADABLE = (OSError, UnidentifiedImageError, ValueError)  # what PIL raises for a damaged or foreign file


def to_unit_tensor(image: Image.Image) -> torch.Tensor:
    """A PIL image of any mode as RGB ``(3, H, W)`` float in [0, 1] (16-bit values scaled, not saturated)."""
    return torch.from_numpy(read_picture(image).rgb).permute(2, 0, 1).contiguous()


def read_image(path: Path) -> torch.Tensor:
    """``(3, H, W)`` float in [0, 1]; ``ValueError`` naming a file that cannot be read (:func:`open_picture`)."""
    return to_unit_tensor(open_picture(path))


def open_fitted(path: Path, size: int) -> Image.Image:
    """The RGB image at ``path`` centre-cropped (upscaled first when smaller) to ``size`` x ``size``."""
    return fit_image(rgb8(open_picture(path)), size)


def read_mask(path: Path, hole_value: str = "white", threshold: float = 0.5) -> torch.Tensor:
    """``(1, H, W)`` float, 1 = known, from a mask file whose ``hole_value`` pixels are the hole; read as stored
    (8 / 16 / 1-bit, 0/1, RGBA: :func:`tsgl_encoder.pictures.read_hole`), binarised at ``threshold``."""
    if hole_value not in HOLE_VALUES:
        raise ValueError(f"hole_value must be one of {HOLE_VALUES}, got {hole_value!r}")
    return torch.from_numpy(~read_hole_file(path, f"hole-{hole_value}", threshold)).float()[None]


def image_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` from the file header, or None when the file cannot be read (or is above the pixel
    limit of :func:`~tsgl_encoder.pictures.open_picture`)."""
    try:
        return picture_size(path)
    except ValueError:
        return None


def read_manifest(folder: Path) -> dict | None:
    path = Path(folder) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


# --------------------------------------------------------------------------------------------- pairing


def index_folder(folder: Path, label: str) -> dict[str, Path]:
    """``{stem: file}`` of the images directly inside ``folder``; refuses two files with one stem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{label} {str(folder)!r} is not a folder")
    files: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            files.setdefault(path.stem, []).append(path)
    doubles = [paths for paths in files.values() if len(paths) > 1]
    if doubles:
        listed = "; ".join(", ".join(p.name for p in paths) for paths in doubles[:10])
        raise PairingError(f"{label} {str(folder)!r} has several images with one name: {listed}")
    return {stem: paths[0] for stem, paths in files.items()}


def pair_files(predictions: Path, ground_truth: Path, masks: Path | None = None) -> list[Item]:
    """Pairs every prediction with its ground truth and mask, by name (see the module docstring).

    ``masks=None``: the masks lie beside the ground truth, LaMa-style (``name_maskNNN``). Raises
    :class:`PairingError` listing predictions without ground truth or mask, and ground-truth images or
    masks that no prediction uses (a method that skipped images must not score better for it).
    """
    if Path(predictions).resolve() == Path(ground_truth).resolve():
        raise PairingError(f"--predictions and --ground-truth are the same folder ({str(predictions)!r}): scoring "
                           "the ground truth against itself (and its mask files as predictions) measures nothing")
    predicted = index_folder(predictions, "predictions")
    truth = index_folder(ground_truth, "ground truth")
    if masks is None:
        mask_files = {stem: p for stem, p in truth.items() if LAMA_MASK.fullmatch(stem)}
        truth = {stem: p for stem, p in truth.items() if stem not in mask_files}
    else:
        mask_files = index_folder(masks, "masks")
    items, no_truth, no_mask = [], [], []
    for stem, path in predicted.items():
        lama_name = LAMA_MASK.fullmatch(stem)
        truth_stem = stem if stem in truth else (lama_name["image"] if lama_name else None)
        mask_stem = stem if stem in mask_files else _only_lama_mask(stem, mask_files)
        if truth_stem not in truth:
            no_truth.append(path.name)
        if mask_stem is None:
            no_mask.append(path.name)
        if truth_stem in truth and mask_stem is not None:
            items.append(Item(stem, path, truth[truth_stem], mask_files[mask_stem]))
    unused_truth = sorted(set(p.name for p in truth.values()) - {i.ground_truth.name for i in items})
    unused_masks = sorted(set(p.name for p in mask_files.values()) - {i.mask.name for i in items})
    problems = [(label, names) for label, names in (
        ("predictions without ground truth", no_truth), ("predictions without a mask", no_mask),
        ("ground-truth images without a prediction", unused_truth), ("masks without a prediction", unused_masks),
    ) if names]
    if problems:
        raise PairingError("unpaired files: " + "; ".join(_listing(label, names) for label, names in problems))
    if not items:
        raise PairingError(f"no predictions in {str(predictions)!r}")
    return items


def _only_lama_mask(stem: str, mask_files: dict[str, Path]) -> str | None:
    """The single ``stem_maskNNN`` mask, when exactly one exists."""
    found = [m for m in mask_files if m.startswith(f"{stem}_mask") and LAMA_MASK.fullmatch(m)]
    return found[0] if len(found) == 1 else None


def _listing(label: str, names: list[str], limit: int = 20) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{label} ({len(names)}): {', '.join(names[:limit])}{more}"


def check_sizes(items: Iterable[Item]) -> tuple[list[Item], list[str]]:
    """The items whose three files are readable; raises :class:`PairingError` listing size mismatches.

    Returns ``(readable items, names of unreadable files)``: a corrupt file skips its item, it does not
    stop the run.
    """
    readable, unreadable, mismatched = [], [], []
    for item in items:
        sizes = {path: image_size(path) for path in (item.prediction, item.ground_truth, item.mask)}
        broken = [path.name for path, size in sizes.items() if size is None]
        if broken:
            unreadable.extend(broken)
        elif len(set(sizes.values())) > 1:
            mismatched.append(" vs ".join(f"{p.name} {s[0]}x{s[1]}" for p, s in sizes.items()))
        else:
            readable.append(item)
    if mismatched:
        raise PairingError("sizes differ: " + _listing("items", mismatched))
    return readable, unreadable


# --------------------------------------------------------------------------------------------- export


def item_names(files: list[Path], root: Path) -> list[str]:
    """File names for exported items: the path below ``root`` without suffix, ``/`` -> ``__`` (unique)."""
    return ["__".join(path.relative_to(root).with_suffix("").parts) for path in files]


def export_mask_set(mask_set: str, data: Path, out: Path, size: int = 256, layout: str = "lama", seed: int = 0,
                    limit: int | None = None, reserve: Callable[[Iterable[Path]], object] | None = None) -> dict:
    """Writes the images of ``data`` (centre crop to ``size``) with mask set ``mask_set`` in ``layout``.

    Image ``i`` (in sorted path order) gets :func:`~tsgl_encoder.bench.masks.fixed_mask` ``(mask_set, i)``.
    Unreadable images are skipped and listed in the manifest. Returns the manifest. ``reserve``
    (:meth:`tsgl_encoder.outputs.OutputFolder.reserve`) is shown every file before any is written.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    data, out = Path(data), Path(out)
    files = find_images(data)[:limit]
    image_dir, mask_dir = (out, out) if layout == "lama" else (out / "images", out / "masks")
    hole_value = "white" if layout == "lama" else "black"
    names = item_names(files, data)
    if reserve is not None:
        manifests = [folder / MANIFEST for folder in {image_dir, mask_dir, out}]
        reserve(manifests + [image_dir / f"{name}.png" for name in names]
                + [mask_dir / _mask_name(name, layout) for name in names])
    items, skipped = [], []
    for index, (path, name) in enumerate(tqdm(list(zip(files, names, strict=True)),
                                              desc=f"export {mask_set}", unit="image")):
        try:
            image = open_fitted(path, size)
        except UNREADABLE as error:
            skipped.append(f"{path.name}: {error}")
            continue
        mask = fixed_mask(mask_set, index, size, size, seed)  # (1, H, W), 1 = known
        hole = mask[0].numpy() < 0.5
        pixels = np.where(hole, 255, 0) if hole_value == "white" else np.where(hole, 0, 255)
        mask_name = _mask_name(name, layout)
        _save(image, image_dir / f"{name}.png")
        _save(Image.fromarray(pixels.astype(np.uint8), "L"), mask_dir / mask_name)
        items.append({"name": name, "source": str(path), "image": f"{name}.png", "mask": mask_name,
                      "mask_index": index, "hole_ratio": round(float(hole_ratio(mask)), 6)})
    manifest = {"mask_set": mask_set, "seed": seed, "size": size, "layout": layout, "hole_value": hole_value,
                "items": items, "skipped": skipped}
    text = json.dumps(manifest, indent=2) + "\n"
    for folder in {image_dir, mask_dir, out}:
        atomic_write(folder / MANIFEST, lambda p: Path(p).write_text(text))
    return manifest


def _mask_name(name: str, layout: str) -> str:
    return f"{name}_mask000.png" if layout == "lama" else f"{name}.png"


def _save(image: Image.Image, path: Path) -> None:
    atomic_write(path, lambda p: image.save(p, format="PNG"))
