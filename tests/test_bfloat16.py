"""bfloat16 as a supported path: bf16 weights with bf16 inputs, and float32 weights under autocast.

Tolerance: each pyramid level's relative difference to float32, ``||bf16 - fp32|| / ||fp32||``, stays
below BF16_TOLERANCE (bf16 keeps 8 mantissa bits, ~4e-3 per rounding; through ~20 layers the levels
land at 0.7-2e-2 here). The priors run in float32 either way, so the edge map is the float32 one.
"""

from __future__ import annotations

import pytest
import torch
from conftest import seeded, swapped_host

from tsgl_encoder import create_encoder
from tsgl_encoder.bench.training import train

BF16_TOLERANCE = 5e-2  # per level / per output, relative (Frobenius norm)
HOST_TOLERANCE = 1e-1  # whole generators: deeper, and MAT's second stage amplifies differences


def relative_differences(outputs, references) -> list[float]:
    return [float((o.float() - r).norm() / r.norm()) for o, r in zip(outputs, references, strict=True)]


@pytest.fixture(scope="module")
def fp32_encoder_and_inputs():
    torch.manual_seed(0)
    encoder = create_encoder("tsgl_tiny", smooth_input=True).eval()
    image = torch.rand(2, 3, 64, 64) * 2 - 1
    mask = torch.ones(2, 1, 64, 64)
    mask[:, :, 16:40, 20:50] = 0
    with torch.no_grad():
        reference = encoder.forward_features(image, mask)
    return encoder, image, mask, reference


def bf16_runs(encoder, image, mask):
    """(name, run) pairs: bf16 weights with bf16 inputs, and autocast over the float32 encoder."""
    bf16 = create_encoder("tsgl_tiny", smooth_input=True).eval()
    bf16.load_state_dict(encoder.state_dict())
    bf16 = bf16.to(torch.bfloat16)

    def weights(x):
        return bf16.forward_features(x.bfloat16(), mask.bfloat16())

    def autocast(x):
        with torch.autocast("cpu", torch.bfloat16):
            return encoder.forward_features(x, mask)

    return [("bf16 weights", weights), ("autocast", autocast)]


@pytest.mark.parametrize("mode", [0, 1], ids=["bf16_weights", "autocast"])
def test_bf16_pyramid_is_finite_close_to_fp32_and_keeps_the_fp32_edges(fp32_encoder_and_inputs, mode):
    encoder, image, mask, reference = fp32_encoder_and_inputs
    _, run = bf16_runs(encoder, image, mask)[mode]
    with torch.no_grad():
        features = run(image)
    assert all(level.dtype == torch.bfloat16 and torch.isfinite(level).all() for level in features.pyramid)
    differences = relative_differences(features.pyramid, reference.pyramid)
    assert max(differences) < BF16_TOLERANCE, differences
    assert torch.equal(features.priors[:, :1].float(), reference.priors[:, :1])  # edges computed in float32


@pytest.mark.parametrize("mode", [0, 1], ids=["bf16_weights", "autocast"])
def test_bf16_hole_invariance_is_bit_exact(fp32_encoder_and_inputs, mode):
    encoder, image, mask, _ = fp32_encoder_and_inputs
    _, run = bf16_runs(encoder, image, mask)[mode]
    other = torch.where(mask.bool(), image, torch.rand_like(image) * 2 - 1)
    with torch.no_grad():
        a, b = run(image), run(other)
    assert all(torch.equal(x, y) for x, y in zip(a.pyramid + a.structure, b.pyramid + b.structure, strict=True))


@pytest.mark.parametrize("name", ["lama", "ctsdg", "mat"])
def test_each_swapped_host_runs_in_bf16(name):
    model, inputs = swapped_host(name)
    reference = seeded(model.eval(), *inputs)
    with torch.autocast("cpu", torch.bfloat16):
        autocast = seeded(model, *inputs)
    bf16 = swapped_host(name)[0].eval().to(torch.bfloat16)
    weights = seeded(bf16, *[t.to(torch.bfloat16) for t in inputs])
    for outputs in (autocast, weights):
        assert all(torch.isfinite(o).all() for o in outputs)
        assert max(relative_differences(outputs, reference)) < HOST_TOLERANCE


@pytest.mark.parametrize("host_name", ["lama", "ctsdg", "mat"])
def test_a_bf16_autocast_training_step_of_each_swapped_host(host_name, tmp_path):
    """The smoke preset's host with its native losses (less the terms that need local weight files)."""
    from tsgl_encoder.bench.benchmark import PRESETS, BenchmarkConfig, host_settings
    from tsgl_encoder.bench.data import embedded_dataset
    from tsgl_encoder.bench.masks import create_mask_generator

    request = BenchmarkConfig(preset="smoke", hosts=(host_name,), steps=1, amp=True, workers=0)
    host, config, losses = host_settings(PRESETS["smoke"], request)[host_name]
    assert config.amp
    train_set, _ = embedded_dataset(PRESETS["smoke"].size, create_mask_generator("mat_large"), None)
    trainer = train(host, "tsgl", train_set, config, tmp_path, losses=losses, progress=False)
    logged = {k: v for k, v in trainer.history[-1].items() if isinstance(v, float)}
    assert trainer.step == 1 and logged and all(torch.isfinite(torch.tensor(v)) for v in logged.values())
