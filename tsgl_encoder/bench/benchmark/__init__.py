"""``tsgl-benchmark``: reproduce "substituting the encoders", each host trained with its own encoder and with
TSGL's (``presets`` -> ``run`` -> ``report`` / ``intervals`` / ``figures``; ``program``: the command line)."""

from .intervals import BASELINE, controls_sentence, interval_table
from .presets import PRESETS, HostRun, Preset, eval_sets
from .program import cli, main
from .report import controls_summary, readme_summary, results_markdown
from .run import BenchmarkConfig, host_settings, run

__all__ = [
    "BASELINE",
    "PRESETS",
    "BenchmarkConfig",
    "HostRun",
    "Preset",
    "cli",
    "controls_sentence",
    "controls_summary",
    "eval_sets",
    "host_settings",
    "interval_table",
    "main",
    "readme_summary",
    "results_markdown",
    "run",
]
