"""The encoder exports: torch.export reproduces it, and the ONNX file (dynamo exporter) run by onnxruntime
reproduces it within 1e-4 on CPU."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import seeded, swapped_host

from tsgl_encoder import create_encoder
from tsgl_encoder.export import (
    export_onnx,
    export_program,
    host_syncs,
    max_relative_difference,
    onnxruntime_outputs,
)

ONNX_TOLERANCE = 1e-4  # relative to each output's largest magnitude


@pytest.fixture(scope="module")
def encoder_and_inputs():
    torch.manual_seed(0)
    # tsgl_tiny with the smoothed-image input: every code path of tsgl_base (window attention, partial convs,
    # guidance, balance, the guided-filter prior), at a fraction of its size
    encoder = create_encoder("tsgl_tiny", smooth_input=True).eval()
    image = torch.rand(2, 3, 64, 128) * 2 - 1
    mask = torch.ones(2, 1, 64, 128)
    mask[0, :, 10:40, 20:90] = 0
    mask[1, :, 30:60, 70:120] = 0
    with torch.no_grad():
        reference = encoder(image, mask)
    return encoder, (image, mask), reference


def test_torch_export_reproduces_the_encoder(encoder_and_inputs):
    encoder, inputs, reference = encoder_and_inputs
    program = export_program(encoder, inputs)
    with torch.no_grad():
        exported = program.module()(*inputs)
    assert [t.shape for t in exported] == [t.shape for t in reference]
    assert all(torch.allclose(a, b, rtol=0, atol=1e-6) for a, b in zip(exported, reference, strict=True))


def test_onnx_export_runs_in_onnxruntime_within_tolerance(encoder_and_inputs, tmp_path):
    encoder, inputs, reference = encoder_and_inputs
    path = export_onnx(encoder, inputs, tmp_path / "tsgl_tiny.onnx", input_names=["image", "mask"])
    outputs = onnxruntime_outputs(path, inputs)
    assert len(outputs) == len(reference)
    assert max_relative_difference(outputs, reference) < ONNX_TOLERANCE
    with pytest.raises(ValueError, match=r"takes 2 inputs \['image', 'mask'\], got 1"):
        onnxruntime_outputs(path, inputs[:1])


@pytest.mark.parametrize("name", ["lama", "ctsdg", "mat"])
def test_each_swapped_host_exports_and_runs_in_onnxruntime(name, tmp_path):
    model, inputs = swapped_host(name)
    model.eval()
    reference = seeded(model, *inputs)
    program = export_program(model, inputs)
    assert host_syncs(program) == []  # no host-device sync in the swapped host's forward
    exported = seeded(program.module(), *inputs)
    assert all(torch.allclose(a, b, rtol=0, atol=1e-5) for a, b in zip(exported, reference, strict=True))

    # without onnxscript's optimiser (3x faster to export; the encoder's test runs the default, optimised path)
    outputs = onnxruntime_outputs(export_onnx(model, inputs, tmp_path / f"{name}.onnx", optimize=False), inputs)
    if name != "mat":
        assert max_relative_difference(outputs, reference) < ONNX_TOLERANCE
        return
    # MAT's dropout maps come from onnxruntime's own generator, so only the composited known region can agree
    # pointwise: out = image where known, the generated fill in the hole
    image, known, _ = inputs
    (output,) = outputs
    assert torch.isfinite(torch.from_numpy(output)).all()
    known_region = torch.from_numpy(output) * known
    assert max_relative_difference([known_region.numpy()], [reference[0] * known]) < ONNX_TOLERANCE
    assert torch.allclose(reference[0] * known, image * known, atol=1e-6)


def test_host_syncs_finds_value_reads_and_the_encoder_has_none_in_fp32_and_bf16(encoder_and_inputs):
    """A GPU forward stays free of host-device syncs when its graph reads no tensor value on the host."""

    class ReadsValues(torch.nn.Module):
        def forward(self, x):
            return torch.nonzero(x > 0)

    assert host_syncs(export_program(ReadsValues(), (torch.randn(4),))) == ["aten::nonzero"]
    encoder, (image, mask), _ = encoder_and_inputs
    assert host_syncs(export_program(encoder, (image, mask))) == []
    bf16 = copy.deepcopy(encoder).to(torch.bfloat16)
    assert host_syncs(export_program(bf16, (image.bfloat16(), mask.bfloat16()))) == []
