"""Images for training and evaluation: a folder of your own, or the photos embedded in scikit-image.

* :class:`ImageFolderDataset`: every ``.jpg/.jpeg/.png/.webp`` below a folder (recursively), e.g.
  CelebA-HQ, Places2 or Paris StreetView; a fixed, seeded validation split.
* :func:`embedded_dataset`: real photographs shipped inside the scikit-image wheel (no download),
  with three of them held out for validation.

Both yield dicts ``{"image": (3, S, S) in [-1, 1], "mask": (1, S, S) 1 = known, "edge": (1, S, S)
ground-truth Canny edges of the full image, "gray": (1, S, S)}``. Training samples are a random crop
(or resize) + horizontal flip + a random mask, all drawn from a seed the caller passes, so a run is
a deterministic function of its seed and step (see :class:`StepSampler`). Unreadable or corrupt
files are skipped (and counted), never fatal in the middle of a run.
"""

from __future__ import annotations

import functools
import random
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset, Sampler

from ..pictures import open_picture, rgb8
from ..priors import canny_edges, rgb_to_gray, to_unit_range
from .extras import require

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
BUNDLED_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "hubble_deep_field", "retina",
                  "immunohistochemistry", "camera", "brick", "grass", "gravel", "moon", "coins", "clock")
EMBEDDED_VALIDATION = ("coffee", "camera", "gravel")

MaskFn = Callable[[int, int, np.random.Generator], torch.Tensor]


@functools.cache
def bundled_photo(name: str = "astronaut") -> np.ndarray:
    """``(H, W, 3)`` uint8 photo from scikit-image's bundled data (gray ones repeated to RGB)."""
    if name not in BUNDLED_PHOTOS:
        raise ValueError(f"unknown bundled photo {name!r}; available: {BUNDLED_PHOTOS}")
    data = require("skimage.data", "the embedded default photos")
    photo = data.stereo_motorcycle()[0] if name == "motorcycle_left" else getattr(data, name)()
    if photo.ndim == 2:
        photo = np.repeat(photo[..., None], 3, axis=2)
    photo = np.ascontiguousarray(photo[..., :3])
    photo.setflags(write=False)  # cached: shared by every caller
    return photo


def load_photo(path: str | None, height: int, width: int) -> torch.Tensor:
    """``(1, 3, H, W)`` in [-1, 1]: the file at ``path``, or scikit-image's astronaut when ``None``."""
    if path is None:
        array = bundled_photo("astronaut")
    else:
        if not Path(path).is_file():
            raise FileNotFoundError(f"no such image file: {path!r}")
        array = np.asarray(rgb8(open_picture(path)))
    return _to_tensor(Image.fromarray(array).resize((width, height), Image.Resampling.BICUBIC))[None]


def _to_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1).contiguous()


def ground_truth_priors(image: torch.Tensor, sigma: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Edge and gray maps ``(1, H, W)`` of a full image ``(3, H, W)`` in [-1, 1] (the edge-loss target)."""
    unit = to_unit_range(image)[None]
    gray = rgb_to_gray(unit)
    return canny_edges(gray, torch.ones_like(gray), sigma=sigma)[0], gray[0]


def find_images(root: str | Path) -> list[Path]:
    """Every image file below ``root`` (recursive, sorted); clear errors for a missing or empty folder."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {str(root)!r} does not exist or is not a directory")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ValueError(f"data folder {str(root)!r} holds no {'/'.join(IMAGE_SUFFIXES)} images")
    return files


@dataclass(frozen=True)
class SampleSpec:
    """Which item and with which seed: what :class:`StepSampler` hands to the dataset."""

    index: int
    seed: int


class StepSampler(Sampler):
    """Deterministic stream of :class:`SampleSpec` for steps ``start_step ..``: batch ``s`` is a function of
    ``(seed, s, rank)`` only, so a resumed run sees exactly the batches an uninterrupted one would."""

    def __init__(self, num_items: int, batch_size: int, seed: int, start_step: int = 0, num_steps: int | None = None,
                 rank: int = 0) -> None:
        self.num_items, self.batch_size, self.seed = num_items, batch_size, seed
        self.start_step, self.num_steps, self.rank = start_step, num_steps, rank

    def __iter__(self) -> Iterator[SampleSpec]:
        step = self.start_step
        while self.num_steps is None or step < self.start_step + self.num_steps:
            rng = np.random.default_rng([self.seed, step, self.rank])
            for index, sample_seed in zip(rng.integers(0, self.num_items, self.batch_size),
                                          rng.integers(0, 2**31 - 1, self.batch_size), strict=True):
                yield SampleSpec(int(index), int(sample_seed))
            step += 1

    def __len__(self) -> int:
        if self.num_steps is None:
            raise TypeError("an endless StepSampler has no length")
        return self.num_steps * self.batch_size


def fit_image(image: Image.Image, size: int, mode: str = "crop", rng: random.Random | None = None) -> Image.Image:
    """``size`` x ``size``: resized (``mode="resize"``) or cropped, after a bicubic upscale when smaller;
    the crop is random with ``rng``, centred without (validation, evaluation, exported sets)."""
    if mode == "resize":
        return image.resize((size, size), Image.Resampling.BICUBIC)
    width, height = image.size
    if min(width, height) < size:
        scale = size / min(width, height)
        width, height = max(size, round(width * scale)), max(size, round(height * scale))
        image = image.resize((width, height), Image.Resampling.BICUBIC)
    left = rng.randint(0, width - size) if rng else (width - size) // 2
    top = rng.randint(0, height - size) if rng else (height - size) // 2
    return image.crop((left, top, left + size, top + size))


class InpaintingDataset(Dataset):
    """Images from ``load(i)`` -> crop/resize to ``size`` -> flip -> mask -> priors (see module docstring).

    Train items are indexed by :class:`SampleSpec`; validation items by an integer and are deterministic
    (centre crop, no flip, the mask ``masks[i % len(masks)]`` when a fixed mask set is given).
    """

    def __init__(self, sources: Sequence, load: Callable[[object], Image.Image], size: int, train: bool,
                 mask_fn: MaskFn | None = None, masks: torch.Tensor | None = None, mode: str = "crop",
                 edge_sigma: float = 2.0, min_size: int = 16) -> None:
        if mode not in ("crop", "resize"):
            raise ValueError(f"mode must be 'crop' or 'resize', got {mode!r}")
        if size < 16:
            raise ValueError(f"size must be at least 16 pixels, got {size}")
        if not sources:
            raise ValueError("the dataset has no images")
        self.sources, self.load, self.size, self.train = list(sources), load, size, train
        self.mask_fn, self.masks, self.mode = mask_fn, masks, mode
        self.edge_sigma, self.min_size = edge_sigma, min_size

    def __len__(self) -> int:
        return len(self.sources)

    def _read(self, index: int) -> Image.Image:
        image = self.load(self.sources[index])
        if min(image.size) < self.min_size:
            raise ValueError(f"image {self.sources[index]!s} is {image.size[0]}x{image.size[1]}, below min_size "
                             f"{self.min_size}")
        return image

    def __getitem__(self, item: SampleSpec | int) -> dict[str, torch.Tensor]:
        index, seed = (item.index, item.seed) if isinstance(item, SampleSpec) else (int(item), int(item))
        skipped = 0
        for attempt in range(len(self.sources)):  # corrupt files: take the next one, count it
            position = (index + attempt) % len(self.sources)
            try:
                image = rgb8(self._read(position))
                break
            except (OSError, UnidentifiedImageError, ValueError) as error:
                skipped += 1
                warnings.warn(f"skipping unreadable image {self.sources[position]!s}: {error}", stacklevel=2)
        else:
            raise RuntimeError(f"none of the {len(self.sources)} images could be read")
        rng = random.Random(seed) if self.train else None
        image = fit_image(image, self.size, self.mode, rng)
        if rng is not None and rng.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        tensor = _to_tensor(image)
        edge, gray = ground_truth_priors(tensor, self.edge_sigma)
        if self.masks is not None:
            mask = self.masks[index % len(self.masks)]
        elif self.mask_fn is not None:
            mask = self.mask_fn(self.size, self.size, np.random.default_rng(seed))
        else:
            mask = torch.ones(1, self.size, self.size)
        return {"image": tensor, "mask": mask.float(), "edge": edge, "gray": gray,
                "skipped": torch.tensor(skipped), "index": torch.tensor(position)}


def _open(path: Path) -> Image.Image:
    """The decoded image (:func:`tsgl_encoder.pictures.open_picture`: closed again, bombs refused)."""
    return open_picture(path)


def split_indices(count: int, val_size: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """A fixed, seeded train/validation split of ``range(count)``."""
    if not 0 < val_size < count:
        raise ValueError(f"val_size must be in [1, {count - 1}] for {count} images, got {val_size}")
    order = np.random.default_rng(seed).permutation(count).tolist()
    return sorted(order[val_size:]), sorted(order[:val_size])


def folder_datasets(root: str | Path, size: int, mask_fn: MaskFn, val_masks: torch.Tensor | None, val_size: int,
                    mode: str = "crop") -> tuple[InpaintingDataset, InpaintingDataset]:
    """Train and validation datasets of an image folder (fixed split, seed 0)."""
    files = find_images(root)
    train_ids, val_ids = split_indices(len(files), min(val_size, len(files) - 1))
    train = InpaintingDataset([files[i] for i in train_ids], _open, size, True, mask_fn=mask_fn, mode=mode)
    val = InpaintingDataset([files[i] for i in val_ids], _open, size, False, masks=val_masks, mode=mode)
    return train, val


class _Crop:
    """A fixed crop of a bundled photo (picklable, for DataLoader workers)."""

    def __init__(self, name: str, box: tuple[int, int, int, int] | None, scale: float) -> None:
        self.name, self.box, self.scale = name, box, scale

    def __call__(self) -> Image.Image:
        image = Image.fromarray(bundled_photo(self.name))
        if self.scale != 1.0:
            image = image.resize((round(image.width * self.scale), round(image.height * self.scale)),
                                 Image.Resampling.BICUBIC)
        return image.crop(self.box) if self.box else image

    def __repr__(self) -> str:
        return f"{self.name}{list(self.box) if self.box else ''}@{self.scale:g}"


def embedded_dataset(size: int, mask_fn: MaskFn, val_masks: torch.Tensor | None,
                     scale_to: int | None = None) -> tuple[InpaintingDataset, InpaintingDataset]:
    """Train/validation datasets from scikit-image's photos; ``coffee``, ``camera`` and ``gravel`` are held out.

    Photos are resized so that their short side is ``scale_to`` (default ``3 * size``); training
    takes random crops of them, validation a fixed grid of ``size`` crops of the held-out photos.
    """
    scale_to = scale_to or 3 * size
    train_sources, val_sources = [], []
    for name in BUNDLED_PHOTOS:
        height, width = bundled_photo(name).shape[:2]
        scale = scale_to / min(height, width)
        if name not in EMBEDDED_VALIDATION:
            train_sources.append(_Crop(name, None, scale))
            continue
        scaled_h, scaled_w = round(height * scale), round(width * scale)
        for top in range(0, scaled_h - size + 1, size):
            for left in range(0, scaled_w - size + 1, size):
                val_sources.append(_Crop(name, (left, top, left + size, top + size), scale))
    load = _call
    train = InpaintingDataset(train_sources, load, size, True, mask_fn=mask_fn)
    val = InpaintingDataset(val_sources, load, size, False, masks=val_masks)
    return train, val


def _call(source: _Crop) -> Image.Image:
    return source()
