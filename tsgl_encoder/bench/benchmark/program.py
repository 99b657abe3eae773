"""Reproduce "substituting the encoders": each host trained with its own encoder and with TSGL's.

    tsgl-benchmark                                 # preset "quick": CPU, embedded photos
    tsgl-benchmark --preset smoke                  # seconds: checks the whole pipeline
    tsgl-benchmark --preset ablation               # ~21 min: own, own_wide, tsgl, tsgl_no_edge on LaMa
    tsgl-benchmark --variants own own_wide tsgl tsgl:global_only tsgl:local_only
    tsgl-benchmark --preset paper --data /data/places2 --out runs/paper
    torchrun --nproc_per_node 8 -m tsgl_encoder.bench.benchmark --preset paper --data ...   # DDP

(``python benchmarks/substitute_encoders.py ...`` in a clone of the repository is the same program.)

For every available host (LaMa, CTSDG, MAT; the CPU ``quick`` preset runs LaMa only) x variant x
seed (variants ``own`` and ``tsgl`` by default; ``--variants`` adds the controls ``own_wide``,
``own_edge``, ``tsgl_no_edge`` and the ablations ``tsgl:NAME``, and ``--preset ablation`` runs
``own own_wide tsgl tsgl_no_edge`` on LaMa), trains under identical data, masks, losses and step
budget (the host's native losses unless the preset sets others; perceptual and style terms only with
``--vgg-weights``, LaMa's ResNet-PL only with ``--resnet-pl-weights``), then evaluates on fixed mask sets:
one per hole-ratio bin (10-20% .. 50-60%) and LaMa's thin / medium / thick sets (``--train-masks DIR`` /
``--eval-masks DIR``: a folder of mask files instead, e.g. the NVIDIA irregular masks, the latter binned by
the files' hole ratios).
Writes ``results.md`` (table: host, variant, parameters, FLOPs, per-set PSNR / SSIM / L1 as mean +- std
over seeds, FID / LPIPS where their weights are given, each variant - own with paired 95% intervals and
a sentence on what the controls show), ``results.json``, image grids (masked input / each variant /
ground truth) and training curves.
``--resume`` continues interrupted runs from their checkpoints; finished runs are not retrained.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
import torch.distributed as dist

from ...outputs import OutputError, check_location
from ..data import find_images
from ..masks import mask_files
from ..training import known_variants, parse_variant
from ..training.loop import RunMismatchError
from .intervals import BASELINE
from .presets import PRESETS
from .run import BenchmarkConfig, host_settings, inputs_of, run


def at_least(low: int):
    """An argparse type: an integer >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value

    return parse


positive, non_negative = at_least(1), at_least(0)


def benchmark_config(args: argparse.Namespace) -> BenchmarkConfig:
    """The parsed command line as the typed configuration :func:`~.run.run` takes."""
    return BenchmarkConfig(
        preset=args.preset, data=args.data, hosts=None if args.hosts is None else tuple(args.hosts),
        seeds=None if args.seeds is None else tuple(args.seeds), steps=args.steps, out=args.out, resume=args.resume,
        inception=args.inception, lpips_backbone=args.lpips_backbone, vgg_weights=args.vgg_weights,
        resnet_pl_weights=args.resnet_pl_weights, init_from=dict(args.init_from or []),
        variants=None if args.variants is None else tuple(args.variants), amp=args.amp, workers=args.workers,
        progress=not args.no_progress, train_masks=args.train_masks, eval_masks=args.eval_masks,
        mask_polarity=args.mask_polarity)


def check_config(parser: argparse.ArgumentParser, config: BenchmarkConfig) -> None:
    """Bad arguments end in one line and exit status 2 (argparse's way), before any work starts."""
    try:
        check_variants(config.variants)
        host_settings(PRESETS[config.preset], config)
        if config.data:
            find_images(config.data)
        for folder in (config.train_masks, config.eval_masks):
            if folder is not None:
                mask_files(folder)
        check_location(config.out, inputs_of(config))
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))


def variant_name(text: str) -> str:
    """A variant of --variants (see :mod:`tsgl_encoder.bench.training.variants`)."""
    try:
        return parse_variant(text).name
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def check_variants(variants: tuple[str, ...] | None) -> None:
    if variants is None:
        return
    if BASELINE not in variants:
        raise ValueError(f"--variants must include {BASELINE!r}: every variant is compared with it, "
                         f"got {list(variants)}")
    repeated = sorted({name for name in variants if variants.count(name) > 1})
    if repeated:
        raise ValueError(f"--variants names {repeated} more than once")


def host_file(text: str) -> tuple[str, str]:
    """``HOST=FILE`` of --init-from."""
    host, separator, path = text.partition("=")
    if not separator or not host or not path:
        raise argparse.ArgumentTypeError(f"expected HOST=FILE (e.g. lama=big-lama/models/best.ckpt), got {text!r}")
    if not Path(path).exists():
        raise argparse.ArgumentTypeError(f"{path!r} does not exist")
    return host, path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="tsgl-benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="quick", choices=sorted(PRESETS))
    parser.add_argument("--data", default=None, help="image folder (default: photos embedded in scikit-image)")
    parser.add_argument("--hosts", nargs="*", default=None, help="subset of hosts (default: all available)")
    parser.add_argument("--seeds", type=non_negative, nargs="*", default=None)
    parser.add_argument("--steps", type=positive, default=None, help="override the preset's step budget (>= 1)")
    parser.add_argument("--out", default="outputs/substitute_encoders",
                        help="output folder, outside every input: files this program wrote there before are "
                             "replaced, any other file never is; one run at a time (a second is refused)")
    parser.add_argument("--resume", action="store_true", help="continue from checkpoints in --out")
    parser.add_argument("--inception", default=None, help="local TorchScript Inception file for FID")
    parser.add_argument("--lpips-backbone", default=None, help="local AlexNet state_dict for LPIPS")
    parser.add_argument("--vgg-weights", default=None,
                        help="local torchvision VGG-16/19 state_dict: turns on the perceptual and style terms")
    parser.add_argument("--resnet-pl-weights", default=None,
                        help="LaMa's ADE20k encoder_epoch_20.pth (or the TORCH_HOME folder holding it): ResNet-PL")
    parser.add_argument("--init-from", type=host_file, action="append", default=None, metavar="HOST=FILE",
                        help="start both variants of HOST from its published checkpoint FILE (repeatable): 'own' "
                             "fine-tunes it as it is, 'tsgl' swaps in TSGL's encoder and keeps every other weight")
    parser.add_argument("--variants", type=variant_name, nargs="+", default=None, metavar="VARIANT",
                        help="what each host is trained as (default: the preset's; 'own tsgl' except for "
                             "'ablation'): " + ", ".join(known_variants()) + "; 'own' must be one of them")
    parser.add_argument("--train-masks", default=None, metavar="DIR",
                        help="sample training masks from the files in DIR (e.g. the NVIDIA irregular masks), with "
                             "random flips, 90-degree rotations and dilation, seeded; default: the preset's generator")
    parser.add_argument("--eval-masks", default=None, metavar="DIR",
                        help="evaluate on the files in DIR, binned by hole ratio (0-10%% .. 50-60%%, 60-100%%), one "
                             "row per bin; default: the fixed seeded sets")
    parser.add_argument("--mask-polarity", choices=("hole-white", "hole-black"), default="hole-white",
                        help="which colour marks the hole in --train-masks / --eval-masks (NVIDIA, LaMa: white)")
    parser.add_argument("--amp", action="store_true", help="mixed precision (float16 on CUDA, bfloat16 on CPU)")
    parser.add_argument("--workers", type=non_negative, default=None, help="data-loading processes")
    parser.add_argument("--no-progress", action="store_true")
    config = benchmark_config(parser.parse_args(argv))
    check_config(parser, config)
    if "RANK" in os.environ and not dist.is_initialized():  # launched by torchrun
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    try:
        return run(config)  # holds no DDP wrapper once it returns (train() releases them, issue 31)
    except (OutputError, RunMismatchError) as error:  # a locked or foreign --out, --resume into another run
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def cli() -> None:
    """The ``tsgl-benchmark`` console script (its exit status is 0, or argparse's 2 for bad arguments)."""
    main()


if __name__ == "__main__":
    cli()
