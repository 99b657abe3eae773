"""Paired confidence intervals for "variant - baseline": bootstrap over evaluation images and over seeds.

Two models scored on the same images and masks give per-image differences ``d[s, i]`` (seed ``s``
of both variants, image ``i``). The interval is a percentile bootstrap of the mean difference that
resamples images (the same images for every seed, which keeps the pairing) and, with several seeds,
resamples seeds too (two-level bootstrap), so both sources of noise widen it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairedInterval:
    """Mean of the paired differences and its ``confidence`` bootstrap interval ``[low, high]``."""

    mean: float
    low: float
    high: float
    confidence: float
    seeds: int
    images: int

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def verdict(self, higher_is_better: bool = True) -> str:
        """In words: whether the interval excludes zero, and on which side."""
        if not self.excludes_zero:
            return "no significant difference (the interval contains 0)"
        better = (self.mean > 0) == higher_is_better
        return f"significantly {'better' if better else 'worse'} (the interval excludes 0)"

    def format(self, digits: int = 2) -> str:
        return f"{self.mean:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"


def paired_bootstrap_interval(
    differences: np.ndarray, confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> PairedInterval:
    """Bootstrap interval of the mean of ``differences``: ``(images,)`` or ``(seeds, images)``."""
    d = np.asarray(differences, np.float64)
    d = d[None] if d.ndim == 1 else d
    if d.ndim != 2 or d.shape[1] < 2:
        raise ValueError(f"differences must be (images,) or (seeds, images) with >= 2 images, got {d.shape}")
    if not np.isfinite(d).all():
        raise ValueError("differences contain NaN or inf (e.g. an infinite PSNR): cap the metric first")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    seeds, images = d.shape
    image_weights = rng.multinomial(images, np.full(images, 1 / images), size=resamples) / images  # (R, I)
    per_seed = image_weights @ d.T  # (R, S): each seed's mean over the resampled images
    if seeds > 1:
        seed_weights = rng.multinomial(seeds, np.full(seeds, 1 / seeds), size=resamples) / seeds  # (R, S)
        means = (per_seed * seed_weights).sum(1)
    else:
        means = per_seed[:, 0]
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return PairedInterval(float(d.mean()), float(low), float(high), confidence, seeds, images)


PSNR_CAP_DB = 100.0  # an error-free image has infinite PSNR: capped here so that differences stay finite


def paired_differences(variant_runs: list[dict], baseline_runs: list[dict], set_name: str, metric: str) -> np.ndarray:
    """``(seeds, images)`` per-image differences variant - baseline on one mask set, runs paired by seed.

    Each run is ``{"seed": s, "per_image": {set_name: {metric: [values]}}}`` as the benchmark stores it;
    PSNR is capped at :data:`PSNR_CAP_DB`.
    """
    baseline = {run["seed"]: run for run in baseline_runs}
    rows = []
    for run in variant_runs:
        if run["seed"] not in baseline:
            raise ValueError(f"seed {run['seed']} of the variant has no baseline run to pair with")
        ours = np.asarray(run["per_image"][set_name][metric], np.float64)
        theirs = np.asarray(baseline[run["seed"]]["per_image"][set_name][metric], np.float64)
        if ours.shape != theirs.shape:
            raise ValueError(f"{set_name}/{metric}: {ours.size} vs {theirs.size} images, not paired")
        if metric == "psnr":
            ours, theirs = np.minimum(ours, PSNR_CAP_DB), np.minimum(theirs, PSNR_CAP_DB)
        rows.append(ours - theirs)
    return np.stack(rows)
