"""The README's quick-preset table is generated from the committed results of this version."""

from __future__ import annotations

import json
from pathlib import Path

import tsgl_encoder
from tsgl_encoder.bench import benchmark as benchmark_program

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "quick_results.json"


def test_readme_quick_table_is_the_committed_results_of_this_version(load_script):
    results = json.loads(RESULTS.read_text())
    assert results["version"] == tsgl_encoder.__version__, "re-run the quick preset for this version"
    assert results["preset"] == "quick"
    summary = benchmark_program.readme_summary(results)
    assert summary in (ROOT / "README.md").read_text()
    assert (ROOT / "benchmarks" / "results" / "quick_results.md").read_text().startswith("# Substituting the encoders")


def test_readme_controls_block_is_the_committed_ablation_run():
    results = json.loads((ROOT / "benchmarks" / "results" / "ablation_results.json").read_text())
    assert results["preset"] == "ablation" and results["version"] == tsgl_encoder.__version__
    assert list(results["hosts"]["lama"]["variants"]) == ["own", "own_wide", "tsgl", "tsgl_no_edge"]
    assert len(results["seeds"]) == 2
    assert benchmark_program.controls_summary(results) in (ROOT / "README.md").read_text()
    assert (ROOT / "benchmarks" / "results" / "ablation_grid_lama.png").is_file()
