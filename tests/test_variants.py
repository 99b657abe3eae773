"""The controls of the substitution: own_wide, own_edge, tsgl_no_edge and the tsgl:NAME ablations as variants."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from tsgl_encoder import ABLATIONS
from tsgl_encoder.bench import benchmark as benchmark_program
from tsgl_encoder.bench.hosts import CTSDGHost, LamaHost
from tsgl_encoder.bench.training import generator_parameters, known_variants, parse_variant
from tsgl_encoder.bench.training.host import without_edge_head
from tsgl_encoder.bench.training.variants import PARAMETER_TOLERANCE, fit_width

SMOKE = benchmark_program.PRESETS["smoke"].hosts
PAPER = benchmark_program.PRESETS["paper"].hosts


def test_variant_names_parse_and_bad_ones_are_named():
    assert parse_variant("own_wide").wide and not parse_variant("own_wide").edge_head
    assert parse_variant("own_edge").encoder == "own" and parse_variant("own_edge").edge_head
    assert parse_variant("tsgl_no_edge").encoder == "tsgl" and not parse_variant("tsgl_no_edge").edge_head
    assert parse_variant("tsgl:global_only").ablation == "global_only"
    assert {f"tsgl:{name}" for name in ABLATIONS} <= set(known_variants())
    with pytest.raises(ValueError, match=r"variant must be one of .*'tsgl:local_only'.*got 'tsgl:wide'"):
        parse_variant("tsgl:wide")
    with pytest.raises(TypeError, match="variant must be a string"):
        parse_variant(3)


def test_fit_width_finds_the_closest_width_and_says_when_out_of_reach():
    assert fit_width(lambda w: 10 * w, 1234, 1, 1000) == 123
    assert fit_width(lambda w: 10 * w, 1236, 1, 1000) == 124
    with pytest.raises(ValueError, match="no width in \\[1, 10\\] reaches 1,000 parameters"):
        fit_width(lambda w: 10 * w, 1000, 1, 10)


@pytest.mark.parametrize("host", [PAPER["lama"].host, PAPER["ctsdg"].host, PAPER["mat"].host, SMOKE["lama"].host,
                                  SMOKE["mat"].host], ids=["lama", "ctsdg", "mat", "smoke-lama", "smoke-mat"])
def test_own_wide_lands_within_5_percent_of_the_tsgl_variant(host):
    with torch.device("meta"):  # the published sizes (52-78 M parameters): shapes only
        own, wide, tsgl = (generator_parameters(host.build(v)) for v in ("own", "own_wide", "tsgl"))
    assert wide > own
    assert abs(wide - tsgl) <= PARAMETER_TOLERANCE * tsgl, (own, wide, tsgl)


def test_variants_a_host_cannot_train_are_refused_with_the_reason():
    ctsdg = SMOKE["ctsdg"].host  # tsgl_tiny: its TSGL variant is smaller than CTSDG's own encoders
    assert "not larger than its own" in ctsdg.variant_problem("own_wide")
    assert "no auxiliary edge head" in ctsdg.variant_problem("own_edge")
    assert "would repeat tsgl" in SMOKE["mat"].host.variant_problem("tsgl_no_edge")
    with pytest.raises(ValueError, match="host 'mat' cannot train variant 'own_edge'"):
        SMOKE["mat"].host.build("own_edge")
    with pytest.raises(ValueError, match="own_wide has nothing to widen"):
        ctsdg.build("own_wide")


def test_own_edge_adds_tsgl_s_head_and_leaves_the_generator_path_alone():
    host = LamaHost(overrides={"ngf": 8, "n_blocks": 1})
    image, mask = torch.rand(2, 3, 40, 48) * 2 - 1, (torch.rand(2, 1, 40, 48) > 0.4).float()
    torch.manual_seed(0)
    own = host.build("own").eval()
    torch.manual_seed(0)
    own_edge = host.build("own_edge").eval()
    tsgl = host.build("tsgl")
    assert type(own_edge.edge_head.head) is type(tsgl.edge_head)  # the TSGL variant's head, behind a 1x1 projection
    prediction = host.predict(own_edge, image, mask)
    assert torch.equal(prediction.output, host.predict(own, image, mask).output)
    assert prediction.edge.shape == (2, 1, 40, 48) and 0 <= prediction.edge.min() <= prediction.edge.max() <= 1
    prediction.edge.mean().backward()
    assert own_edge.model[1].ffc.convl2l.weight.grad.abs().sum() > 0  # the loss reaches the own encoder


def test_tsgl_no_edge_has_no_head_and_counts_leave_the_head_out():
    host = LamaHost(overrides={"ngf": 8, "n_blocks": 1})
    tsgl, no_edge = host.build("tsgl"), host.build("tsgl_no_edge")
    assert not hasattr(no_edge, "edge_head")
    assert host.predict(no_edge.eval(), torch.zeros(1, 3, 32, 32), torch.ones(1, 1, 32, 32)).edge is None
    counts = host.parameter_counts(tsgl)
    assert counts["edge_head"] > 0 and counts["generator"] == host.parameter_counts(no_edge)["generator"]
    assert counts["generator"] + counts["edge_head"] == sum(p.numel() for p in tsgl.parameters())
    with without_edge_head(tsgl):
        assert not hasattr(tsgl, "edge_head")
    assert hasattr(tsgl, "edge_head")
    assert host.flops(tsgl, 32) == host.flops(no_edge, 32) > host.flops(host.build("own"), 32)


def test_own_wide_cannot_start_from_a_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="'own_wide' changes the encoder's shapes"):
        LamaHost().build_pretrained("own_wide", str(tmp_path))


def _smoke_run(tmp_path, hosts: list[str], variants: list[str]) -> dict:
    return benchmark_program.main(["--preset", "smoke", "--hosts", *hosts, "--variants", *variants,
                                   "--out", str(tmp_path), "--no-progress"])


def test_every_variant_trains_two_steps_and_evaluates_in_the_smoke_path(tmp_path):
    variants = known_variants()
    results = _smoke_run(tmp_path, ["lama", "mat"], variants)
    lama, mat = results["hosts"]["lama"], results["hosts"]["mat"]
    assert list(lama["variants"]) == variants and not lama["skipped"]
    assert set(mat["skipped"]) == {"own_edge", "tsgl_no_edge"}
    for host in (lama, mat):
        for name, data in host["variants"].items():
            run = data["runs"][0]
            assert run["history"][-1]["step"] == 2, name
            assert np.isfinite(run["scores"]["30-40%"]["psnr"]), name
            assert data["flops"] > 0 and data["parameters"] > 0
    edge_terms = {name: "edge" in data["runs"][0]["history"][-1] for name, data in lama["variants"].items()}
    assert edge_terms == {name: parse_variant(name).edge_head for name in variants}
    table = (tmp_path / "results.md").read_text()
    assert "| **own_wide - own** |" in table and "| **tsgl:prior=none - own** |" in table
    assert "left out: `own_edge`: the host has no auxiliary edge head" in table
    assert (tmp_path / "grid_lama.png").is_file() and (tmp_path / "lama" / "tsgl-global_only" / "seed0").is_dir()


def test_ctsdg_own_wide_trains_two_steps(tmp_path):
    """CTSDG's own_wide needs a TSGL variant larger than its own encoders: tsgl_base, at 128 px."""
    benchmark_program.PRESETS["smoke_ctsdg"] = replace(
        benchmark_program.PRESETS["smoke"], hosts={"ctsdg": benchmark_program.HostRun(CTSDGHost(encoder="tsgl_base"))})
    try:
        results = benchmark_program.main(["--preset", "smoke_ctsdg", "--variants", "own", "own_wide", "own_edge",
                                          "--out", str(tmp_path), "--no-progress"])
    finally:
        del benchmark_program.PRESETS["smoke_ctsdg"]
    ctsdg = results["hosts"]["ctsdg"]
    assert set(ctsdg["variants"]) == {"own", "own_wide"} and set(ctsdg["skipped"]) == {"own_edge"}
    wide = ctsdg["variants"]["own_wide"]
    assert wide["parameters"] > ctsdg["variants"]["own"]["parameters"]
    assert wide["runs"][0]["history"][-1]["step"] == 2 and np.isfinite(wide["runs"][0]["scores"]["10-20%"]["psnr"])


def _runs(shift: float, noise: np.random.Generator, base: np.ndarray) -> list[dict]:
    return [{"seed": seed, "per_image": {s: {"psnr": list(base[seed] + shift + noise.normal(0, 0.05, base.shape[1])),
                                            "ssim": list(base[seed] * 0), "l1": list(base[seed] * 0)}
                                         for s in ("a", "b", "c")}} for seed in range(2)]


def test_interval_tables_and_the_sentence_follow_known_shifts():
    noise = np.random.default_rng(0)
    base = noise.normal(25, 2, size=(2, 40))
    variants = {name: {"runs": _runs(shift, noise, base), "parameters": 10**6, "encoder_parameters": 10**5}
                for name, shift in (("own", 0.0), ("own_wide", 0.0), ("tsgl", 1.0), ("tsgl_no_edge", 1.0))}
    lines = benchmark_program.interval_table(variants, ["a", "b", "c"])
    tsgl_rows = [line for line in lines if "| tsgl |" in line]
    assert len(tsgl_rows) == 3 and all("significantly better" in row for row in tsgl_rows)
    for row in tsgl_rows:
        low, high = (float(x) for x in row.split("[")[1].split("]")[0].split(","))
        assert low < 1.0 < high  # the interval holds the shift
    sentence = benchmark_program.controls_sentence(variants, ["a", "b", "c"])
    assert "tsgl is ahead of own_wide" in sentence and "tsgl and tsgl_no_edge are not told apart" in sentence


@pytest.mark.parametrize("variants, message", [(["tsgl", "own_wide"], "must include 'own'"),
                                               (["own", "tsgl", "own"], "more than once"),
                                               (["own", "tsgl:bigger"], "variant must be one of")])
def test_bad_variants_end_in_one_line_and_exit_status_2(variants, message, capsys):
    with pytest.raises(SystemExit) as stop:
        benchmark_program.main(["--preset", "smoke", "--variants", *variants])
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_results_json_of_a_controls_run_reads_back(tmp_path):
    _smoke_run(tmp_path, ["lama"], ["own", "own_edge"])
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["hosts"]["lama"]["variants"]["own_edge"]["edge_head_parameters"] > 0
    summary = benchmark_program.controls_summary(saved)
    assert "| own_edge |" in summary and "| own (baseline) |" in summary
    assert "| n/a |" in summary  # one evaluation image per set in the smoke preset: no intervals
