"""The benchmark's tables: ``results.md`` (every variant per mask set, the paired intervals, the controls'
sentence) and the README's summaries of a run (:func:`readme_summary`, :func:`controls_summary`)."""

from __future__ import annotations

import numpy as np

from .intervals import BASELINE, controls_sentence, counts, interval, interval_table, paired_images


def mean_std(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def aggregate(variant: dict, set_name: str, metric: str) -> tuple[float, float] | None:
    values = [r["scores"][set_name][metric] for r in variant["runs"] if metric in r["scores"][set_name]]
    return mean_std(values) if values else None


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
