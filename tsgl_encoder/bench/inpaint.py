"""``tsgl-inpaint``: inpaint a folder of your images with your masks, at their own size.

    tsgl-inpaint --host lama --checkpoint big-lama --images photos/ --masks masks/ --out inpainted/
    tsgl-inpaint --host tsgl_medfe --checkpoint G_14.pth --images lama_layout/ --out inpainted/   # x_mask000.png
    tsgl-inpaint --host mat --checkpoint Places_512.pkl --images photos/ --masks masks/ --mask-polarity hole-black ...

Masks pair with images by name: ``x.png`` with ``x.png`` (any image suffix) in ``--masks``, or, without
``--masks``, LaMa's ``x_mask000.png`` beside ``x.png`` in ``--images`` (one output per mask, named after it).
Every output is a PNG named after its input (lossless, so known pixels stay as they were, bit for bit) at the
input's size, in ``--out``; gray, 16-bit and RGBA inputs come back as gray, 16-bit and RGBA. Sizes: each image
is padded to the model's multiple and cropped back; ``--strategy`` for large images (``tsgl_encoder.inpainting``;
default ``auto``: the whole image up to twice the model's training size, else a window around each group of
holes, resized to the training size). Masks: white = hole (LaMa's and the NVIDIA masks' files) unless
``--mask-polarity hole-black`` (MAT's); 8-bit, 16-bit, 1-bit, 0/1 and RGBA masks are read, binarised at
``--mask-threshold``; a mask whose hole would cover more than half its image is skipped and named, with the
flag to pass. Unreadable files are skipped and named at the end. Never writes into ``--images`` / ``--masks``
and never replaces a file it did not write (``tsgl_encoder.outputs``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..hub import atomic_write
from ..inpainting import STRATEGIES, SizeRule, choose_strategy, inpaint_pictures
from ..outputs import OutputFolder, check_location
from ..pictures import POLARITIES, MaskPolarityError, open_picture
from .folders import LAMA_MASK, PairingError, index_folder
from .hosts import checkpoint_hosts
from .training import Host

UNREADABLE = (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError)


class HostInpainter(nn.Module):
    """A host's generator as an inpainter (``tsgl_encoder.inpaint``): ``(image [-1, 1], known) -> output``."""

    def __init__(self, host: Host, model: nn.Module) -> None:
        super().__init__()
        self.host, self.model = host, model.eval()
        self.size_rule: SizeRule = host.size_rule(model)

    def forward(self, image: Tensor, known: Tensor) -> Tensor:
        return self.host.predict(self.model, image, known).output


def load_inpainter(host_name: str, checkpoint: str | Path, priors: str = "masked",
                   device: str | torch.device = "cpu") -> HostInpainter:
    """The generator of ``checkpoint`` (a host's published file, or a ``checkpoint.pt`` of its training) as an
    inpainter on ``device``; ``host_name``: :func:`~tsgl_encoder.bench.hosts.checkpoint_hosts`."""
    hosts = checkpoint_hosts()
    if host_name not in hosts:
        raise ValueError(f"host must be one of {sorted(hosts)}, got {host_name!r}")
    model, host = hosts[host_name].from_checkpoint(checkpoint, host_name)
    host.use_priors(model, priors)
    return HostInpainter(host, model).to(device)


@dataclass(frozen=True)
class Job:
    name: str  # the output's stem
    image: Path
    mask: Path


def pair_images(images: Path, masks: Path | None) -> tuple[list[Job], list[str]]:
    """``(jobs, problems)``: each image with its mask by name (see the module docstring); images without a mask
    and masks without an image are problems (listed, not fatal)."""
    pictures = index_folder(images, "--images")
    if masks is None:
        lama_masks = {stem: path for stem, path in pictures.items() if LAMA_MASK.fullmatch(stem)}
        pictures = {stem: path for stem, path in pictures.items() if stem not in lama_masks}
        jobs = [Job(stem, pictures[LAMA_MASK.fullmatch(stem)["image"]], path)
                for stem, path in lama_masks.items() if LAMA_MASK.fullmatch(stem)["image"] in pictures]
        used = {job.image.stem for job in jobs}
        problems = [f"{path.name}: no {path.stem}_maskNNN beside it" for stem, path in pictures.items()
                    if stem not in used]
        problems += [f"{path.name}: no image {LAMA_MASK.fullmatch(stem)['image']}.*" for stem, path in
                     lama_masks.items() if LAMA_MASK.fullmatch(stem)["image"] not in pictures]
    else:
        mask_files = index_folder(masks, "--masks")
        jobs = [Job(stem, path, mask_files[stem]) for stem, path in pictures.items() if stem in mask_files]
        problems = [f"{path.name}: no mask {stem}.* in --masks" for stem, path in pictures.items()
                    if stem not in mask_files]
        problems += [f"{path.name} (mask): no image {stem}.*" for stem, path in mask_files.items()
                     if stem not in pictures]
    if not jobs:
        raise PairingError(f"no image in {str(images)!r} has a mask" + (f" ({problems[0]}, ...)" if problems else ""))
    return sorted(jobs, key=lambda job: job.name), problems


def _save(result: Image.Image, path: Path) -> None:
    atomic_write(path, lambda p: result.save(p, format="PNG"))


def run(args: argparse.Namespace) -> dict:
    """Inpaints every paired image; returns what was written, skipped, refused for polarity, and the strategies."""
    check_location(args.out, [("--images", args.images), ("--masks", args.masks), ("--checkpoint", args.checkpoint)])
    jobs, problems = pair_images(args.images, args.masks)
    inpainter = load_inpainter(args.host, args.checkpoint, args.priors, args.device)
    with OutputFolder(args.out, "tsgl-inpaint") as outputs:
        outputs.reserve(args.out / f"{job.name}.png" for job in jobs)
        return _inpaint_all(args, jobs, problems, inpainter)


def _inpaint_all(args: argparse.Namespace, jobs: list[Job], problems: list[str], inpainter: HostInpainter) -> dict:
    written, skipped, wrong_side, strategies = [], list(problems), [], {}
    progress = tqdm(total=len(jobs), desc="inpaint", unit="image", disable=args.no_progress)
    for start in range(0, len(jobs), args.batch_size):
        chunk, pairs = [], []
        for job in jobs[start : start + args.batch_size]:
            try:
                pairs.append((open_picture(job.image), open_picture(job.mask)))  # bombs: skipped, named
                chunk.append(job)
            except UNREADABLE as error:
                skipped.append(f"{job.image.name} / {job.mask.name}: {error}")
        results = inpaint_pictures(inpainter, pairs, mask_polarity=args.mask_polarity, threshold=args.mask_threshold,
                                   strategy=args.strategy, bf16=args.bf16)
        for job, (image, _), result in zip(chunk, pairs, results, strict=True):
            if isinstance(result, MaskPolarityError):
                wrong_side.append(job.mask.name)
            elif isinstance(result, Exception):
                skipped.append(f"{job.image.name} / {job.mask.name}: {result}")
            else:
                _save(result, args.out / f"{job.name}.png")
                written.append(f"{job.name}.png")
                chosen = args.strategy if args.strategy != "auto" else choose_strategy(
                    image.height, image.width, inpainter.size_rule)
                strategies[chosen] = strategies.get(chosen, 0) + 1
        progress.update(len(jobs[start : start + args.batch_size]))
    progress.close()
    return {"written": written, "skipped": skipped, "polarity": wrong_side, "strategies": strategies,
            "training_size": inpainter.size_rule.training_size}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tsgl-inpaint", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", required=True, choices=sorted(checkpoint_hosts()),
                        help="the host (or kind of published file) of --checkpoint")
    parser.add_argument("--checkpoint", required=True, type=Path,
                        help="the host's published file(s), or a checkpoint.pt its training wrote")
    parser.add_argument("--images", required=True, type=Path, help="folder of images (not searched recursively)")
    parser.add_argument("--masks", type=Path, default=None,
                        help="folder of masks named like the images (default: LaMa's x_maskNNN beside x)")
    parser.add_argument("--out", required=True, type=Path,
                        help="output folder, outside the inputs: PNGs named after the inputs replace only files this "
                             "library wrote there before (any other file is never replaced); one run at a time")
    parser.add_argument("--strategy", choices=STRATEGIES, default="auto", help="large images: see above")
    parser.add_argument("--mask-polarity", choices=POLARITIES, default="auto",
                        help="auto (= hole-white, refusing masks that are mostly hole), hole-white or hole-black")
    parser.add_argument("--mask-threshold", type=float, default=0.5, help="binarisation threshold in (0, 1)")
    parser.add_argument("--priors", choices=("masked", "official"), default="masked",
                        help="TSGL(MEDFE): the official pipeline's priors from the unmasked image (leaks the "
                             "ground truth) instead of the masked image's")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    parser.add_argument("--batch-size", type=int, default=4, help="images read at once; those of one size run "
                        "as one batch (default 4)")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 < args.mask_threshold < 1:
        parser.error(f"--mask-threshold must be in (0, 1), got {args.mask_threshold}")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {args.batch_size}")
    try:
        report = run(args)
    except (PairingError, FileNotFoundError, ValueError) as error:
        print(f"tsgl-inpaint: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"wrote {len(report['written'])} image(s) to {args.out}")
    if report["strategies"]:
        used = ", ".join(f"{name} for {count}" for name, count in sorted(report["strategies"].items()))
        rule = (f" (auto: the whole image up to twice the model's training size, {report['training_size']} px, else "
                "a window around each group of holes)") if args.strategy == "auto" else ""
        print(f"strategy {args.strategy}: {used}{rule}")
    if report["polarity"]:
        print(f"skipped {len(report['polarity'])} mask(s) whose hole would cover more than half the image under the "
              f"white = hole reading ({', '.join(report['polarity'][:10])}): if black marks the hole pass "
              "--mask-polarity hole-black, to inpaint them as they are --mask-polarity hole-white")
    if report["skipped"]:
        print(f"skipped {len(report['skipped'])}: " + "; ".join(report["skipped"][:20]))
    return report


def cli() -> None:
    """The ``tsgl-inpaint`` console script."""
    main()


if __name__ == "__main__":
    cli()


__all__ = ["HostInpainter", "Job", "build_parser", "load_inpainter", "main", "pair_images", "run"]
