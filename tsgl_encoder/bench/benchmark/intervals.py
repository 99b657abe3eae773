"""Paired comparisons of variants: each variant - the baseline per mask set with its paired 95% bootstrap
interval (over evaluation images and seeds), and the sentence that says what the controls show."""

from __future__ import annotations

import numpy as np

from ..stats import paired_bootstrap_interval, paired_differences

BASELINE = "own"


def counts(data: dict) -> tuple[str, str]:
    """``(parameters, GFLOPs)`` cells of a variant: encoder / generator (+ the auxiliary edge head)."""
    head = data.get("edge_head_parameters", 0)
    params = f"{data['encoder_parameters'] / 1e6:.2f} M / {data['parameters'] / 1e6:.2f} M"
    params += f" (+ head {head / 1e6:.2f} M)" if head else ""
    flops = data.get("flops")
    return params, "n/a" if flops is None else f"{flops / 1e9:.2f}"


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
