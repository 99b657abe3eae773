"""One benchmark run: every selected host x variant x seed trained under identical data, masks, losses and
budget, evaluated on the fixed mask sets; writes ``results.json``, ``results.md``, grids and curves."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch.distributed as dist
from torch.utils.data import Subset

from ... import __version__
from ...outputs import OutputFolder
from ..data import embedded_dataset, folder_datasets
from ..machine import machine_line
from ..masks import FolderMasks, create_mask_generator, folder_eval_sets
from ..metrics import MetricSuite
from ..training import Host, LossWeights, TrainConfig, evaluate, host_available, train
from ..training.loop import CHECKPOINT, PREVIOUS
from .figures import write_curves, write_grid
from .presets import PRESETS, Preset, eval_sets
from .report import results_markdown


@dataclass(frozen=True)
class BenchmarkConfig:
    """What ``tsgl-benchmark`` was asked (its command-line options, typed); None: the preset's choice."""

    preset: str = "quick"
    data: str | None = None  # image folder (None: the photos embedded in scikit-image)
    hosts: tuple[str, ...] | None = None
    seeds: tuple[int, ...] | None = None
    steps: int | None = None
    out: str = "outputs/substitute_encoders"
    resume: bool = False
    inception: str | None = None
    lpips_backbone: str | None = None
    vgg_weights: str | None = None
    resnet_pl_weights: str | None = None
    init_from: dict[str, str] = field(default_factory=dict)  # host -> published checkpoint
    variants: tuple[str, ...] | None = None
    amp: bool = False
    workers: int | None = None
    progress: bool = True
    train_masks: str | None = None  # a folder of mask files to sample training masks from (None: the preset's)
    eval_masks: str | None = None  # a folder of mask files to evaluate on, binned by hole ratio (None: fixed sets)
    mask_polarity: str = "hole-white"  # of the files in train_masks / eval_masks


def host_settings(preset: Preset, config: BenchmarkConfig) -> dict[str, tuple[Host, TrainConfig, LossWeights]]:
    """Each selected host with its training config and losses, the command-line overrides applied."""
    unknown = sorted(set(config.hosts or []) - set(preset.hosts))
    if unknown:
        raise ValueError(f"unknown host(s) {unknown}; available: {sorted(preset.hosts)}")
    stray = sorted(set(config.init_from) - set(preset.hosts))
    if stray:
        raise ValueError(f"--init-from names host(s) {stray} that preset {config.preset!r} does not run; "
                         f"available: {sorted(preset.hosts)}")
    settings = {}
    for name, setting in preset.hosts.items():
        if config.hosts and name not in config.hosts:
            continue
        host = setting.host
        if not host_available(host, named=bool(config.hosts)):
            continue
        problem = host.size_problem(preset.size)
        if problem:
            raise ValueError(f"host {name!r} {problem}, preset {config.preset!r} has {preset.size}")
        schedule = setting.train or preset.train
        schedule = replace(schedule, steps=schedule.steps if config.steps is None else config.steps,
                           amp=config.amp or schedule.amp,
                           workers=schedule.workers if config.workers is None else config.workers,
                           perceptual_weights=config.vgg_weights, resnet_pl_weights=config.resnet_pl_weights,
                           init_from=config.init_from.get(name))
        losses = setting.losses or preset.losses or host.native_losses
        if not config.vgg_weights:  # perceptual and style terms need a local VGG file
            losses = replace(losses, perceptual=0.0, style=0.0)
        if not config.resnet_pl_weights:  # and LaMa's ResNet-PL its ADE20k encoder
            losses = replace(losses, resnet_pl=0.0)
        settings[name] = (host, schedule, losses)
    return settings


def _say(*parts: object) -> None:
    """print on rank 0 only."""
    if not dist.is_initialized() or dist.get_rank() == 0:
        print(*parts)


def inputs_of(config: BenchmarkConfig) -> list[tuple[str, str | None]]:
    """Every file or folder the run reads (``--out`` must be none of them, contain none, lie in none)."""
    return [("--data", config.data), ("--train-masks", config.train_masks), ("--eval-masks", config.eval_masks),
            ("--inception", config.inception), ("--lpips-backbone", config.lpips_backbone),
            ("--vgg-weights", config.vgg_weights), ("--resnet-pl-weights", config.resnet_pl_weights),
            *(("--init-from", path) for path in config.init_from.values())]


def outputs_of(config: BenchmarkConfig, hosts: dict, variants: tuple[str, ...], seeds: tuple[int, ...]) -> list[Path]:
    """Every file the run writes into ``--out``."""
    out = Path(config.out)
    files = [out / "results.json", out / "results.md"]
    for host in hosts:
        files += [out / f"grid_{host}.png", out / f"curves_{host}.png"]
        for variant, seed in itertools.product(variants, seeds):
            run_dir = out / host / variant.replace(":", "-") / f"seed{seed}"
            files += [run_dir / name for name in (CHECKPOINT, PREVIOUS, "history.json")]
    return files


def run(config: BenchmarkConfig) -> dict:
    """Trains and evaluates every selected host x variant x seed; returns (and on rank 0 writes) the results.
    Rank 0 holds ``--out``'s lock (one run at a time) and claims every file it will write first
    (:mod:`tsgl_encoder.outputs`: files it did not write are never replaced)."""
    preset = PRESETS[config.preset]
    if config.seeds:
        preset = replace(preset, seeds=tuple(config.seeds))
    if dist.is_initialized() and dist.get_rank() != 0:
        return _run(config, preset)
    with OutputFolder(config.out, "tsgl-benchmark") as outputs:
        outputs.reserve(outputs_of(config, host_settings(preset, config), tuple(config.variants or preset.variants),
                                   preset.seeds))
        return _run(config, preset)


def _run(config: BenchmarkConfig, preset: Preset) -> dict:
    hosts = host_settings(preset, config)
    out, size = Path(config.out), preset.size
    sets = eval_sets(size, preset.eval_per_bin) if config.eval_masks is None else folder_eval_sets(
        config.eval_masks, size, size, config.mask_polarity)
    mask_fn = create_mask_generator(preset.train_masks) if config.train_masks is None else FolderMasks(
        config.train_masks, config.mask_polarity)
    if config.data:
        train_set, val_set = folder_datasets(config.data, size, mask_fn, None, preset.val_size)
    else:
        train_set, val_set = embedded_dataset(size, mask_fn, None)
    if preset.eval_images is not None:
        val_set = Subset(val_set, range(min(preset.eval_images, len(val_set))))
    suite = MetricSuite(inception_path=config.inception, lpips_backbone=config.lpips_backbone,
                        use_fid=preset.fid or config.inception is not None)
    _say(machine_line())
    _say(f"preset {config.preset}: {size}px, seeds {list(preset.seeds)}, {len(train_set)} training images, "
         f"{len(val_set)} validation images; {suite.describe()}")
    _say(f"training masks: {mask_fn!r}; evaluation masks: " + ", ".join(f"{k} ({len(v)})" for k, v in sets.items()))
    if not config.vgg_weights:
        _say("no --vgg-weights: perceptual and style loss terms are left out")
    if not config.resnet_pl_weights:
        _say("no --resnet-pl-weights: LaMa's ResNet-PL term is left out")

    variants = tuple(config.variants or preset.variants)
    results: dict = {"version": __version__, "machine": machine_line(), "preset": config.preset, "size": size,
                     "seeds": list(preset.seeds), "sets": list(sets), "train_masks": config.train_masks,
                     "eval_masks": config.eval_masks, "hosts": {}}
    started = time.perf_counter()
    for host_name, (host, schedule, losses) in hosts.items():
        start = f"fine-tuned from {schedule.init_from}" if schedule.init_from else "from scratch"
        _say(f"{host_name}: {schedule.steps} steps x batch {schedule.batch_size}, {start}")
        host_result = results["hosts"][host_name] = {"losses": asdict(losses), "train": asdict(schedule),
                                                     "variants": {}, "skipped": {}}
        examples = {}
        for variant in variants:
            problem = host.variant_problem(variant)
            if problem:
                host_result["skipped"][variant] = problem
                _say(f"  {host_name}/{variant}: left out, the host {problem}")
                continue
            runs = []
            for seed in preset.seeds:
                run_dir = out / host_name / variant.replace(":", "-") / f"seed{seed}"
                trainer = train(host, variant, train_set, replace(schedule, seed=seed), run_dir, losses=losses,
                                resume=config.resume, progress=config.progress)
                model = trainer.model
                scores, per_image = {}, {}
                for set_name, masks in sets.items():
                    evaluation = evaluate(host, model, val_set, masks, suite)
                    scores[set_name], per_image[set_name] = evaluation["metrics"], evaluation["per_image"]
                    if seed == preset.seeds[0] and set_name == "30-40%":
                        examples[variant] = evaluation["examples"]
                runs.append({"seed": seed, "scores": scores, "per_image": per_image, "history": trainer.history})
                _say(f"  {host_name}/{variant} seed {seed}: " + "  ".join(
                    f"{k} {v['psnr']:.2f}dB" for k, v in scores.items()))
            counts = host.parameter_counts(model)
            host_result["variants"][variant] = {
                "parameters": counts["generator"], "encoder_parameters": counts["encoder"],
                "edge_head_parameters": counts["edge_head"], "flops": host.flops(model, size), "runs": runs,
            }
        if (not dist.is_initialized() or dist.get_rank() == 0) and host_result["variants"]:
            write_grid(out / f"grid_{host_name}.png", host_name, examples)
            write_curves(out / f"curves_{host_name}.png", host_name, host_result)
    results["seconds"] = time.perf_counter() - started
    if not dist.is_initialized() or dist.get_rank() == 0:
        (out / "results.json").write_text(json.dumps(results, indent=1))
        (out / "results.md").write_text(results_markdown(results))
        _say(results_markdown(results))
        _say(f"wrote {out / 'results.md'}, results.json, grids and curves in {results['seconds']:.0f} s")
    return results
