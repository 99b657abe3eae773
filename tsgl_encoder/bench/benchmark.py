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
one per hole-ratio bin (10-20% .. 50-60%) and LaMa's thin / medium / thick sets.
Writes ``results.md`` (table: host, variant, parameters, FLOPs, per-set PSNR / SSIM / L1 as mean +- std
over seeds, FID / LPIPS where their weights are given, each variant - own with paired 95% intervals and
a sentence on what the controls show), ``results.json``, image grids (masked input / each variant /
ground truth) and training curves.
``--resume`` continues interrupted runs from their checkpoints; finished runs are not retrained.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Subset

from adapters.ctsdg.host import CTSDGHost
from adapters.lama.host import LamaHost
from adapters.mat.host import MATHost
from tsgl_encoder import __version__
from tsgl_encoder.bench.data import embedded_dataset, find_images, folder_datasets
from tsgl_encoder.bench.extras import pyplot
from tsgl_encoder.bench.masks import create_mask_generator, eval_mask_set, lama_mask
from tsgl_encoder.bench.metrics import MetricSuite
from tsgl_encoder.bench.stats import paired_bootstrap_interval, paired_differences
from tsgl_encoder.bench.training import (
    DEFAULT_VARIANTS,
    Host,
    LossWeights,
    TrainConfig,
    evaluate,
    known_variants,
    parse_variant,
    train,
)
from tsgl_encoder.bench.viz import save_grid


@dataclass(frozen=True)
class HostRun:
    """A host in a preset; ``train`` / ``losses`` replace the preset's (e.g. each host's published schedule)."""

    host: Host
    train: TrainConfig | None = None
    losses: LossWeights | None = None


@dataclass(frozen=True)
class Preset:
    size: int
    train: TrainConfig
    seeds: tuple[int, ...]
    hosts: dict = field(default_factory=dict)  # host name -> HostRun
    losses: LossWeights | None = None  # None: each host's native losses (perceptual/style only with --vgg-weights)
    train_masks: str = "mat_large"
    eval_per_bin: int = 8
    val_size: int = 2000  # folder data: images held out for validation
    eval_images: int | None = None  # evaluate on the first n validation images only (smoke)
    fid: bool = False  # FID on CPU costs minutes per set: on for "paper" (when an Inception file is found)
    variants: tuple[str, ...] = DEFAULT_VARIANTS  # what each host is trained as (--variants replaces it)


def _quick_losses() -> LossWeights:
    # CPU minutes cannot train LaMa's GAN-heavy native mix (and its ResNet-PL needs ADE20k weights):
    # hole + valid L1 with a light adversarial term, the same for both encoders.
    return LossWeights(l1_hole=5.0, l1_valid=1.0, adversarial="hinge", adversarial_weight=0.05, edge=1.0)


# MAT at 128 px with its first stage 12 wide and its second stage capped at 16 channels: every code path, CPU seconds
TINY_MAT = {"img_resolution": 128, "z_dim": 32, "w_dim": 32,
            "synthesis_kwargs": {"first_stage_dim": 12, "channel_max": 16}}

STEPS_ABLATION = 1000
PRESETS = {
    # about a minute: every host, native losses, one seed; CTSDG needs multiples of 128 px
    "smoke": Preset(size=128, seeds=(0,), eval_per_bin=1, eval_images=1,
                    train=TrainConfig(steps=2, batch_size=2, checkpoint_every=2, log_every=1, discriminator_width=16),
                    hosts={"lama": HostRun(LamaHost(overrides={"ngf": 8, "n_blocks": 1})),
                           "ctsdg": HostRun(CTSDGHost(encoder="tsgl_tiny")),
                           "mat": HostRun(MATHost(overrides=TINY_MAT, discriminator_overrides={"channel_max": 16},
                                                  encoder="tsgl_tiny"))}),
    # CPU minutes: LaMa only (CTSDG's 52 M and MAT's 60 M parameters do not train in minutes on 2 cores)
    "quick": Preset(size=64, seeds=(0, 1), eval_per_bin=8, losses=_quick_losses(),
                    train=TrainConfig(steps=350, batch_size=8, checkpoint_every=50, log_every=5,
                                      lr_generator=1e-3, discriminator_width=32),
                    hosts={"lama": HostRun(LamaHost(overrides={"ngf": 16, "n_blocks": 3}, adversary="patchgan"))}),
    # the controls of the substitution (parameters, edge loss) on quick's LaMa: about 21 minutes on 2 cores
    "ablation": Preset(size=64, seeds=(0, 1), eval_per_bin=8, losses=_quick_losses(),
                       variants=("own", "own_wide", "tsgl", "tsgl_no_edge"),
                       train=TrainConfig(steps=STEPS_ABLATION, batch_size=8, checkpoint_every=100, log_every=5,
                                         lr_generator=1e-3, discriminator_width=32),
                       hosts={"lama": HostRun(LamaHost(overrides={"ngf": 16, "n_blocks": 3}, adversary="patchgan"))}),
    # each host's published setting at 256 (its optimiser, schedule and losses); GPUs, your data
    "paper": Preset(size=256, seeds=(0, 1, 2), eval_per_bin=200, train_masks="lama_medium",
                    train=TrainConfig(steps=500_000, batch_size=10, checkpoint_every=5000, log_every=100,
                                      lr_generator=1e-3, lr_discriminator=1e-4, betas=(0.9, 0.999), workers=4),
                    hosts={"lama": HostRun(LamaHost(preset="lama_fourier", encoder="tsgl_base")),
                           "ctsdg": HostRun(CTSDGHost(encoder="tsgl_base"), train=TrainConfig(
                               steps=300_000, batch_size=6, checkpoint_every=5000, log_every=100, lr_generator=2e-4,
                               lr_discriminator=2e-5, betas=(0.9, 0.999), workers=4)),
                           "mat": HostRun(MATHost(preset="mat_256", encoder="tsgl_base"), train=TrainConfig(
                               steps=781_250, batch_size=32, checkpoint_every=5000, log_every=100, lr_generator=1e-3,
                               lr_discriminator=1e-3, betas=(0.0, 0.99), workers=4))},
                    fid=True),
}
LAMA_SETS = ("thin", "medium", "thick")


def eval_sets(size: int, per_bin: int) -> dict[str, torch.Tensor]:
    """The fixed evaluation masks (seeded): hole-ratio bins, then LaMa's thin/medium/thick."""
    sets = eval_mask_set(size, size, per_bin, seed=2024, generator="mat_large")
    for index, kind in enumerate(LAMA_SETS):
        rng = np.random.default_rng([2024, index])
        sets[f"lama_{kind}"] = torch.stack([lama_mask(size, size, rng, kind) for _ in range(per_bin)])
    return sets


def machine() -> str:
    threads = torch.get_num_threads()
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or platform.machine()
    python = sys.version.split()[0]
    return f"torch {torch.__version__} | {device} | {os.cpu_count()} CPUs, {threads} threads | python {python}"


def mean_std(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def host_settings(preset: Preset, args: argparse.Namespace) -> dict[str, tuple[Host, TrainConfig, LossWeights]]:
    """Each selected host with its training config and losses, the command-line overrides applied."""
    unknown = sorted(set(args.hosts or []) - set(preset.hosts))
    if unknown:
        raise ValueError(f"unknown host(s) {unknown}; available: {sorted(preset.hosts)}")
    init_from = dict(args.init_from or [])
    stray = sorted(set(init_from) - set(preset.hosts))
    if stray:
        raise ValueError(f"--init-from names host(s) {stray} that preset {args.preset!r} does not run; "
                         f"available: {sorted(preset.hosts)}")
    settings = {}
    for name, setting in preset.hosts.items():
        if args.hosts and name not in args.hosts:
            continue
        host = setting.host
        problem = host.size_problem(preset.size)
        if problem:
            raise ValueError(f"host {name!r} {problem}, preset {args.preset!r} has {preset.size}")
        config = setting.train or preset.train
        config = replace(config, steps=config.steps if args.steps is None else args.steps, amp=args.amp or config.amp,
                         workers=config.workers if args.workers is None else args.workers,
                         perceptual_weights=args.vgg_weights, resnet_pl_weights=args.resnet_pl_weights,
                         init_from=init_from.get(name))
        losses = setting.losses or preset.losses or host.native_losses
        if not args.vgg_weights:  # perceptual and style terms need a local VGG file
            losses = replace(losses, perceptual=0.0, style=0.0)
        if not args.resnet_pl_weights:  # and LaMa's ResNet-PL its ADE20k encoder
            losses = replace(losses, resnet_pl=0.0)
        settings[name] = (host, config, losses)
    return settings


def run(args: argparse.Namespace) -> dict:
    preset = PRESETS[args.preset]
    if args.seeds:
        preset = replace(preset, seeds=tuple(args.seeds))
    hosts = host_settings(preset, args)
    out = Path(args.out)
    size = preset.size
    sets = eval_sets(size, preset.eval_per_bin)
    mask_fn = create_mask_generator(preset.train_masks)
    if args.data:
        train_set, val_set = folder_datasets(args.data, size, mask_fn, None, preset.val_size)
    else:
        train_set, val_set = embedded_dataset(size, mask_fn, None)
    if preset.eval_images is not None:
        val_set = Subset(val_set, range(min(preset.eval_images, len(val_set))))
    suite = MetricSuite(inception_path=args.inception, lpips_backbone=args.lpips_backbone,
                        use_fid=preset.fid or args.inception is not None)
    rank = dist.get_rank() if dist.is_initialized() else 0
    say = print if rank == 0 else (lambda *a, **k: None)
    say(machine())
    say(f"preset {args.preset}: {size}px, seeds {list(preset.seeds)}, {len(train_set)} training images, "
        f"{len(val_set)} validation images; {suite.describe()}")
    if not args.vgg_weights:
        say("no --vgg-weights: perceptual and style loss terms are left out")
    if not args.resnet_pl_weights:
        say("no --resnet-pl-weights: LaMa's ResNet-PL term is left out")

    variants = tuple(args.variants or preset.variants)
    results: dict = {"version": __version__, "machine": machine(), "preset": args.preset, "size": size,
                     "seeds": list(preset.seeds), "sets": list(sets), "hosts": {}}
    started = time.perf_counter()
    for host_name, (host, train_config, losses) in hosts.items():
        start = f"fine-tuned from {train_config.init_from}" if train_config.init_from else "from scratch"
        say(f"{host_name}: {train_config.steps} steps x batch {train_config.batch_size}, {start}")
        host_result = results["hosts"][host_name] = {"losses": asdict(losses), "train": asdict(train_config),
                                                     "variants": {}, "skipped": {}}
        examples = {}
        for variant in variants:
            problem = host.variant_problem(variant)
            if problem:
                host_result["skipped"][variant] = problem
                say(f"  {host_name}/{variant}: left out, the host {problem}")
                continue
            runs = []
            for seed in preset.seeds:
                config = replace(train_config, seed=seed)
                run_dir = out / host_name / variant.replace(":", "-") / f"seed{seed}"
                trainer = train(host, variant, train_set, config, run_dir, losses=losses, resume=args.resume,
                                progress=not args.no_progress)
                model = trainer.model
                scores, per_image = {}, {}
                for set_name, masks in sets.items():
                    evaluation = evaluate(host, model, val_set, masks, suite)
                    scores[set_name], per_image[set_name] = evaluation["metrics"], evaluation["per_image"]
                    if seed == preset.seeds[0] and set_name == "30-40%":
                        examples[variant] = evaluation["examples"]
                runs.append({"seed": seed, "scores": scores, "per_image": per_image, "history": trainer.history})
                say(f"  {host_name}/{variant} seed {seed}: " + "  ".join(
                    f"{k} {v['psnr']:.2f}dB" for k, v in scores.items()))
            counts = host.parameter_counts(model)
            host_result["variants"][variant] = {
                "parameters": counts["generator"], "encoder_parameters": counts["encoder"],
                "edge_head_parameters": counts["edge_head"], "flops": host.flops(model, size), "runs": runs,
            }
        if rank == 0 and host_result["variants"]:
            write_grid(out / f"grid_{host_name}.png", host_name, examples)
            write_curves(out / f"curves_{host_name}.png", host_name, host_result)
    results["seconds"] = time.perf_counter() - started
    if rank == 0:
        (out / "results.json").write_text(json.dumps(results, indent=1))
        (out / "results.md").write_text(results_markdown(results))
        say(results_markdown(results))
        say(f"wrote {out / 'results.md'}, results.json, grids and curves in {results['seconds']:.0f} s")
    return results


def aggregate(variant: dict, set_name: str, metric: str) -> tuple[float, float] | None:
    values = [r["scores"][set_name][metric] for r in variant["runs"] if metric in r["scores"][set_name]]
    return mean_std(values) if values else None


BASELINE = "own"
VARIANT_LABELS = {"own": "own encoder", "tsgl": "TSGL encoder"}


def counts(data: dict) -> tuple[str, str]:
    """``(parameters, GFLOPs)`` cells of a variant: encoder / generator (+ the auxiliary edge head)."""
    head = data.get("edge_head_parameters", 0)
    params = f"{data['encoder_parameters'] / 1e6:.2f} M / {data['parameters'] / 1e6:.2f} M"
    params += f" (+ head {head / 1e6:.2f} M)" if head else ""
    flops = data.get("flops")
    return params, "n/a" if flops is None else f"{flops / 1e9:.2f}"


def results_markdown(results: dict) -> str:
    lines = [f"# Substituting the encoders: {results['preset']} preset", "",
             f"{results['machine']}  ", f"{results['size']}x{results['size']}, seeds {results['seeds']}; mean +- std "
             "over seeds, metrics on the composite (higher PSNR/SSIM and lower L1 are better); parameters: "
             "encoder / whole generator at inference (+ the auxiliary edge head trained with the structure "
             "loss); GFLOPs: one forward at inference", ""]
    for host_name, host in results["hosts"].items():
        variants = host["variants"]
        train_config, losses = host["train"], host["losses"]
        active = ", ".join(f"{k} {v:g}" for k, v in losses.items() if isinstance(v, float) and v > 0)
        metrics = [m for m in ("psnr", "ssim", "l1", "lpips", "fid")
                   if any(m in run["scores"][s] for v in variants.values() for run in v["runs"] for s in run["scores"])]
        start = f"fine-tuned from `{train_config['init_from']}`" if train_config.get("init_from") else "from scratch"
        lines += [f"## {host_name}", "",
                  f"{start}, {train_config['steps']} steps x batch {train_config['batch_size']}, "
                  f"lr {train_config['lr_generator']:g} / {train_config['lr_discriminator']:g}; losses: {active} "
                  f"({losses['adversarial']}; the edge term only where the variant has the edge head)", ""]
        lines += [f"left out: `{name}`: the host {why}" for name, why in host.get("skipped", {}).items()]
        lines += ["", "| variant | params (encoder / generator) | GFLOPs | mask set | " + " | ".join(metrics) + " |",
                  "|---|---|---|---|" + "---|" * len(metrics)]
        others = [name for name in variants if name != BASELINE]
        for set_name in results["sets"]:
            for variant, data in variants.items():
                cells = []
                for metric in metrics:
                    stats = aggregate(data, set_name, metric)
                    cells.append("n/a" if stats is None else f"{stats[0]:.4g} +- {stats[1]:.2g}")
                lines.append(f"| {variant} | {' | '.join(counts(data))} | {set_name} | " + " | ".join(cells) + " |")
            for variant in others if BASELINE in variants else []:
                deltas = []
                for metric in metrics:
                    base, ours = aggregate(variants[BASELINE], set_name, metric), aggregate(variants[variant],
                                                                                           set_name, metric)
                    deltas.append("n/a" if base is None or ours is None else f"{ours[0] - base[0]:+.4g}")
                lines.append(f"| **{variant} - own** | | | {set_name} | " + " | ".join(deltas) + " |")
        lines += ["", *interval_table(variants, results["sets"]), ""]
        sentence = controls_sentence(variants, results["sets"])
        lines += [f"**What the controls show ({host_name}):** {sentence}", ""] if sentence else []
    return "\n".join(lines)


INTERVAL_METRICS = (("psnr", True), ("ssim", True), ("l1", False))  # (metric, higher is better)


def paired_images(variants: dict, sets: list[str]) -> int | None:
    """Evaluation images per set when every run stored its per-image scores, else None."""
    runs = [run for data in variants.values() for run in data["runs"]]
    if not runs or not all("per_image" in run for run in runs):
        return None
    return len(runs[0]["per_image"][sets[0]]["psnr"])


def interval(variants: dict, variant: str, baseline: str, set_name: str, metric: str = "psnr"):
    """The paired 95% bootstrap interval of ``variant - baseline`` on one mask set."""
    differences = paired_differences(variants[variant]["runs"], variants[baseline]["runs"], set_name, metric)
    return paired_bootstrap_interval(differences)


def interval_table(variants: dict, sets: list[str], baseline: str = BASELINE) -> list[str]:
    """Every variant - ``baseline`` per mask set with paired 95% bootstrap intervals (over evaluation images
    and seeds), its parameter and FLOP counts beside each row."""
    images = paired_images(variants, sets)
    others = [name for name in variants if name != baseline]
    if images is None or baseline not in variants or not others:
        return []
    if images < 2:
        return [f"(no paired intervals: {images} evaluation image per set, they need at least 2)"]
    seeds = len(variants[baseline]["runs"])
    lines = [f"Each variant - {baseline}, paired 95% bootstrap interval over {images} evaluation images"
             + (f" and {seeds} seeds" if seeds > 1 else "") + " (same images, masks and seeds for all):", "",
             "| mask set | variant | params (encoder / generator) | GFLOPs | "
             + " | ".join(f"{m} - {baseline}" for m, _ in INTERVAL_METRICS) + " | PSNR: in words |",
             "|---|---|---|---|" + "---|" * (len(INTERVAL_METRICS) + 1)]
    for set_name in sets:
        for variant in others:
            cells, words = [], ""
            for metric, higher_is_better in INTERVAL_METRICS:
                found = interval(variants, variant, baseline, set_name, metric)
                cells.append(found.format(2 if metric == "psnr" else 4))
                if metric == "psnr":
                    words = found.verdict(higher_is_better)
            lines.append(f"| {set_name} | {variant} | {' | '.join(counts(variants[variant]))} | "
                         + " | ".join(cells) + f" | {words} |")
    return lines


def comparison(variants: dict, variant: str, baseline: str, sets: list[str]) -> tuple[float, int, int]:
    """``(mean PSNR difference over the sets, sets whose interval lies above 0, sets whose interval lies below 0)``."""
    found = [interval(variants, variant, baseline, set_name) for set_name in sets]
    above = sum(i.low > 0 for i in found)
    below = sum(i.high < 0 for i in found)
    return float(np.mean([i.mean for i in found])), above, below


# (variant, baseline, what a gain of variant over baseline means)
CONTROL_QUESTIONS = (
    ("tsgl", "own", "TSGL's encoder against the host's own"),
    ("tsgl", "own_wide", "TSGL against the own encoder widened to its parameter count"),
    ("tsgl", "tsgl_no_edge", "TSGL with its edge loss against TSGL without it"),
    ("own_edge", "own", "the own encoder with TSGL's edge head and loss against without"),
)


def controls_sentence(variants: dict, sets: list[str]) -> str:
    """One sentence: for each control present, the mean PSNR difference and how many of the set intervals
    lie above / below zero, then what that says (a majority of sets decides; otherwise undecided)."""
    if paired_images(variants, sets) in (None, 0, 1):
        return ""
    questions = list(CONTROL_QUESTIONS) + [(name, "tsgl", f"ablation {name} against the full TSGL encoder")
                                           for name in variants if name.startswith("tsgl:")]
    parts, verdicts = [], []
    for variant, baseline, meaning in questions:
        if variant not in variants or baseline not in variants:
            continue
        mean, above, below = comparison(variants, variant, baseline, sets)
        parts.append(f"{variant} - {baseline} ({meaning}): {mean:+.2f} dB PSNR on average, interval above 0 on "
                     f"{above} and below 0 on {below} of {len(sets)} mask sets")
        if baseline != "own" or variant != "tsgl":
            majority = len(sets) / 2
            verdicts.append(f"{variant} is ahead of {baseline}" if above > majority else
                            f"{variant} is behind {baseline}" if below > majority else
                            f"{variant} and {baseline} are not told apart")
    if not parts:
        return ""
    summary = f" So, on most mask sets: {'; '.join(verdicts)}." if verdicts else ""
    return "; ".join(parts) + "." + summary


def readme_summary(results: dict, host_name: str = "lama") -> str:
    """The README's table of a run: PSNR / SSIM (mean +- std over seeds) with each encoder, the paired 95%
    interval of TSGL - own in PSNR, and one sentence counting what the intervals show."""
    variants = results["hosts"][host_name]["variants"]
    lines = [f"tsgl-encoder {results.get('version', '?')}, {results['machine']}, {results['seconds']:.0f} s; "
             f"mean +- std over seeds {results['seeds']}; interval: paired 95% bootstrap over evaluation images "
             "and seeds", "", "| mask set | PSNR own | PSNR TSGL | SSIM own | SSIM TSGL | PSNR TSGL - own [95% CI] |",
             "|---|---|---|---|---|---|"]
    ahead = excluded = 0
    for set_name in results["sets"]:
        cells = []
        for metric, digits in (("psnr", 2), ("ssim", 3)):
            for data in (variants["own"], variants["tsgl"]):
                mean, std = aggregate(data, set_name, metric)
                cells.append(f"{mean:.{digits}f} ± {std:.{digits}f}")
        found = interval(variants, "tsgl", "own", set_name)
        ahead += found.mean > 0
        excluded += found.excludes_zero
        lines.append(f"| {set_name} | " + " | ".join(cells) + f" | {found.format()} |")
    sets = len(results["sets"])
    lines += ["", f"TSGL's mean PSNR is ahead on {ahead} of {sets} mask sets; {excluded} of the {sets} intervals "
              "exclude zero."]
    return "\n".join(lines)


def controls_summary(results: dict, host_name: str = "lama") -> str:
    """The README's block of a run with controls: each variant - own with its counts and intervals (PSNR),
    then the sentence of :func:`controls_sentence`."""
    variants, sets = results["hosts"][host_name]["variants"], results["sets"]
    paired = (paired_images(variants, sets) or 0) >= 2  # else "n/a": intervals need 2 images per set
    lines = [f"tsgl-encoder {results.get('version', '?')}, {results['machine']}, {results['seconds']:.0f} s; "
             f"seeds {results['seeds']}; PSNR difference to `own`, paired 95% bootstrap over evaluation images and "
             "seeds", "", "| variant | params (encoder / generator) | GFLOPs | " + " | ".join(sets) + " |",
             "|---|---|---|" + "---|" * len(sets)]
    for variant, data in variants.items():
        if variant == BASELINE:
            continue
        cells = [interval(variants, variant, BASELINE, set_name).format() if paired else "n/a" for set_name in sets]
        lines.append(f"| {variant} | {' | '.join(counts(data))} | " + " | ".join(cells) + " |")
    own_params, own_flops = counts(variants[BASELINE])
    lines += [f"| own (baseline) | {own_params} | {own_flops} | " + " | ".join("0" for _ in sets) + " |", "",
              controls_sentence(variants, sets)]
    return "\n".join(lines)


def write_grid(path: Path, host_name: str, examples: dict) -> None:
    """Rows: validation images (30-40% holes); columns: masked input, each variant, ground truth."""
    first = next(iter(examples.values()))
    rows = []
    for row in range(min(4, first["image"].shape[0])):
        image, mask = first["image"][row], first["mask"][row]
        panels = [image * mask + (1 - mask), *(example["composite"][row] for example in examples.values()), image]
        rows.append([(panel + 1) / 2 for panel in panels])
    columns = ("masked input", *(VARIANT_LABELS.get(name, name) for name in examples), "ground truth")
    save_grid(path, rows, columns, f"{host_name}: 30-40% holes")


def smooth(values: list[float], window: int = 9) -> np.ndarray:
    """Centred moving average (edges use the available neighbours)."""
    array = np.asarray(values, dtype=np.float64)
    kernel = np.ones(min(window, len(array)))
    return np.convolve(array, kernel, "same") / np.convolve(np.ones_like(array), kernel, "same")


def write_curves(path: Path, host_name: str, host_result: dict) -> None:
    """Generator L1 and total loss against step: one colour per variant, one line style per seed (thin: the
    logged values, thick: smoothed)."""
    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    styles = ("-", "--", ":", "-.")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for variant_index, (variant, data) in enumerate(host_result["variants"].items()):
        color = colors[variant_index % len(colors)]
        for index, run in enumerate(data["runs"]):
            steps = [h["step"] for h in run["history"]]
            for axis, key in zip(axes, ("l1", "g_total"), strict=True):
                values = [h[key] for h in run["history"]]
                axis.plot(steps, values, color=color, alpha=0.2, linewidth=0.8)
                axis.plot(steps, smooth(values), color=color, linestyle=styles[index % len(styles)],
                          label=f"{variant} seed {run['seed']}")
    titles = ("L1 (hole + valid, weighted)", "generator total (incl. the edge loss where trained)")
    for axis, key in zip(axes, titles, strict=True):
        axis.set_xlabel("step")
        axis.set_ylabel("loss (training batch)")
        axis.set_title(f"{host_name}: {key}", fontsize=10)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


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


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Bad arguments end in one line and exit status 2 (argparse's way), before any work starts."""
    try:
        check_variants(args.variants)
        host_settings(PRESETS[args.preset], args)
        if args.data:
            find_images(args.data)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))


def variant_name(text: str) -> str:
    """A variant of --variants (see :mod:`tsgl_encoder.bench.training.variants`)."""
    try:
        return parse_variant(text).name
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def check_variants(variants: list[str] | None) -> None:
    if variants is None:
        return
    if BASELINE not in variants:
        raise ValueError(f"--variants must include {BASELINE!r}: every variant is compared with it, got {variants}")
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="quick", choices=sorted(PRESETS))
    parser.add_argument("--data", default=None, help="image folder (default: photos embedded in scikit-image)")
    parser.add_argument("--hosts", nargs="*", default=None, help="subset of hosts (default: all available)")
    parser.add_argument("--seeds", type=non_negative, nargs="*", default=None)
    parser.add_argument("--steps", type=positive, default=None, help="override the preset's step budget (>= 1)")
    parser.add_argument("--out", default="outputs/substitute_encoders")
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
    parser.add_argument("--amp", action="store_true", help="mixed precision (float16 on CUDA, bfloat16 on CPU)")
    parser.add_argument("--workers", type=non_negative, default=None, help="data-loading processes")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    if "RANK" in os.environ and not dist.is_initialized():  # launched by torchrun
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    try:
        return run(args)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def cli() -> None:
    """The ``tsgl-benchmark`` console script (its exit status is 0, or argparse's 2 for bad arguments)."""
    main()


if __name__ == "__main__":
    cli()
