"""``tsgl-evaluate --compare scores/a scores/b ...``: methods side by side on the same images and masks.

Each folder is one written by the score mode (``results.json`` with per-image metrics and the folders it read).
The runs pair by image name; a run that lacks an image another has, or scored an image on a different hole
(hole ratios that differ), is refused with the list. Writes ``compare.json``, ``compare.md`` (each method's
per-image metrics averaged per hole-ratio bin and over all images; for each pair of methods the mean paired
difference with its 95% bootstrap interval over images, per bin, and a sentence per pair) and ``report.html``
(:mod:`~tsgl_encoder.bench.report_html`). PSNR is capped at 100 dB for the differences (identical images
score infinity).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..hub import atomic_write
from .folders import PairingError
from .machine import machine_line
from .masks import SCORE_BINS, bin_label
from .report_html import write_report
from .stats import paired_bootstrap_interval

HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "l1": False, "lpips": False}
PSNR_CAP = 100.0
ALL = "all"


@dataclass(frozen=True)
class Run:
    """One method's score-mode results: ``scores[name][metric]`` per image, and where its images are."""

    method: str
    folder: Path
    results: dict

    @property
    def items(self) -> dict[str, dict]:
        return {item["name"]: item for item in self.results["items"]}


def load_run(folder: Path) -> Run:
    path = Path(folder) / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"--compare: {str(folder)!r} holds no results.json (run tsgl-evaluate --predictions "
                                "... --out FOLDER first)")
    try:
        results = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"--compare: {str(path)!r} is not valid JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(results, dict) or not isinstance(results.get("items"), list):
        raise ValueError(f"--compare: {str(path)!r} has no per-image 'items': not written by the score mode")
    return Run(Path(folder).name, Path(folder), results)


def check_paired(runs: list[Run]) -> list[str]:
    """The image names every run scored (sorted); :class:`PairingError` listing what does not pair."""
    if len(runs) < 2:
        raise ValueError(f"--compare needs at least two score folders, got {len(runs)}")
    methods = [run.method for run in runs]
    if len(set(methods)) < len(methods):
        raise ValueError(f"--compare: two folders share a name ({methods}): the folder names name the methods")
    names = set(runs[0].items)
    problems = []
    for run in runs[1:]:
        missing, extra = sorted(names - set(run.items)), sorted(set(run.items) - names)
        if missing:
            problems.append(f"{run.method} lacks {len(missing)}: {', '.join(missing[:10])}")
        if extra:
            problems.append(f"{run.method} has {len(extra)} that {runs[0].method} lacks: {', '.join(extra[:10])}")
    shared = sorted(set.intersection(*(set(run.items) for run in runs)))
    holes = [name for name in shared if len({round(run.items[name]["hole_ratio"], 4) for run in runs}) > 1]
    if holes:
        problems.append(f"different masks (hole ratios differ) for {len(holes)}: {', '.join(holes[:10])}")
    if problems:
        raise PairingError("the runs do not pair: " + "; ".join(problems))
    return shared


def _value(item: dict, metric: str) -> float:
    value = float(item[metric])
    return min(value, PSNR_CAP) if metric == "psnr" else value


def _bins(runs: list[Run], names: list[str]) -> dict[str, list[str]]:
    """``{bin label: image names}`` (the first run's hole ratios; all runs agree), then ``"all"``."""
    bins: dict[str, list[str]] = {}
    for name in names:
        bins.setdefault(bin_label(runs[0].items[name]["hole_ratio"]), []).append(name)
    order = [bin_label(low) for low, _ in SCORE_BINS]
    return {**{label: bins[label] for label in sorted(bins, key=order.index)}, ALL: names}


def compare(runs: list[Run]) -> dict:
    """Per-bin means of each method and paired intervals of each pair's differences."""
    names = check_paired(runs)
    metrics = [m for m in HIGHER_IS_BETTER if all(m in run.items[names[0]] for run in runs)]
    bins = _bins(runs, names)
    means = {run.method: {label: {m: float(np.mean([_value(run.items[n], m) for n in members])) for m in metrics}
                          for label, members in bins.items()} for run in runs}
    pairs = []
    for a, b in itertools.combinations(runs, 2):
        rows = {}
        for label, members in bins.items():
            rows[label] = {}
            for metric in metrics:
                differences = np.array([_value(a.items[n], metric) - _value(b.items[n], metric) for n in members])
                if len(members) < 2:
                    rows[label][metric] = {"mean": float(differences.mean()), "low": None, "high": None}
                    continue
                interval = paired_bootstrap_interval(differences)
                rows[label][metric] = {"mean": interval.mean, "low": interval.low, "high": interval.high}
        pairs.append({"a": a.method, "b": b.method, "bins": rows, "sentence": sentence(a.method, b.method, rows)})
    return {"machine": machine_line(), "methods": [run.method for run in runs], "count": len(names),
            "metrics": metrics, "bins": {label: len(members) for label, members in bins.items()}, "means": means,
            "pairs": pairs, "folders": {run.method: str(run.folder) for run in runs}}


def sentence(a: str, b: str, rows: dict[str, dict]) -> str:
    """One sentence on ``a - b``: the headline metric over all images and how many bins exclude zero."""
    metric = "psnr" if "psnr" in rows[ALL] else next(iter(rows[ALL]))
    better = HIGHER_IS_BETTER[metric]
    overall = rows[ALL][metric]
    if overall["low"] is None:
        verdict = "too few images for an interval"
    elif overall["low"] > 0 or overall["high"] < 0:
        wins = (overall["mean"] > 0) == better
        verdict = f"{a if wins else b} is better (the 95% interval excludes 0)"
    else:
        verdict = "they are not told apart (the 95% interval contains 0)"
    per_bin = [row[metric] for label, row in rows.items() if label != ALL and row[metric]["low"] is not None]
    decided = [(r["mean"] > 0) == better for r in per_bin if r["low"] > 0 or r["high"] < 0]  # True: a is better
    a_wins, b_wins = sum(decided), len(decided) - sum(decided)
    interval = "" if overall["low"] is None else f" [{overall['low']:+.3g}, {overall['high']:+.3g}]"
    return (f"{a} - {b}: {metric.upper()} {overall['mean']:+.3g}{interval} over all images: {verdict}; by hole "
            f"ratio, the interval excludes 0 in favour of {a} in {a_wins} and of {b} in {b_wins} of the "
            f"{len(per_bin)} bins with two or more images.")


def markdown(report: dict) -> str:
    metrics, methods = report["metrics"], report["methods"]
    lines = ["# Methods side by side", "", report["machine"], "",
             f"{report['count']} images, paired by name; metrics on the composite. Higher PSNR / SSIM and lower "
             "L1 / LPIPS are better.", "", "| hole ratio | images | method | " + " | ".join(metrics) + " |",
             "|" + "---|" * (len(metrics) + 3)]
    for label, count in report["bins"].items():
        for method in methods:
            values = report["means"][method][label]
            lines.append(f"| {label} | {count} | {method} | " + " | ".join(f"{values[m]:.4g}" for m in metrics) + " |")
    for pair in report["pairs"]:
        lines += ["", f"## {pair['a']} - {pair['b']}", "", pair["sentence"], "",
                  "| hole ratio | " + " | ".join(f"{m} difference [95% interval]" for m in metrics) + " |",
                  "|" + "---|" * (len(metrics) + 1)]
        for label, row in pair["bins"].items():
            lines.append(f"| {label} | " + " | ".join(_interval(row[m]) for m in metrics) + " |")
    return "\n".join(lines) + "\n"


def _interval(cell: dict) -> str:
    if cell["low"] is None:
        return f"{cell['mean']:+.3g} (one image)"
    return f"{cell['mean']:+.3g} [{cell['low']:+.3g}, {cell['high']:+.3g}]"


def write_comparison(folders: list[Path], out: Path, html_images: int = 200) -> dict:
    """Compares the score folders and writes ``compare.json``, ``compare.md`` and ``report.html`` into ``out``."""
    runs = [load_run(folder) for folder in folders]
    report = compare(runs)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "compare.json", lambda p: Path(p).write_text(json.dumps(report, indent=1) + "\n"))
    atomic_write(out / "compare.md", lambda p: Path(p).write_text(markdown(report)))
    write_report(report, runs, out / "report.html", html_images)
    return report


__all__ = ["HIGHER_IS_BETTER", "Run", "check_paired", "compare", "load_run", "markdown", "sentence",
           "write_comparison"]
