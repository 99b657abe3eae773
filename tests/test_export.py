"""The encoder exports: torch.export reproduces it, and the ONNX file (dynamo exporter) run by onnxruntime
reproduces it within 1e-4 on CPU."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import free_form_mask, seeded, swapped_host

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
    encoder, inputs, _ = encoder_and_inputs
    program = export_program(encoder, inputs)
    nchw = copy.deepcopy(encoder)
    nchw.memory_format = torch.contiguous_format  # an exported graph computes in NCHW (TSGLEncoder.working_format)
    with torch.no_grad():
        exported, reference = program.module()(*inputs), nchw(*inputs)
    assert [t.shape for t in exported] == [t.shape for t in reference]
    assert all(torch.allclose(a, b, rtol=0, atol=1e-6) for a, b in zip(exported, reference, strict=True))


@pytest.mark.parametrize("name", ["lama", "ctsdg", "mat"])
def test_each_swapped_host_exports_without_host_syncs(name, tmp_path):
    model, inputs = swapped_host(name)
    model.eval()
    reference = seeded(model, *inputs)
    program = export_program(model, inputs)
    assert host_syncs(program) == []  # no host-device sync in the swapped host's forward
    exported = seeded(program.module(), *inputs)
    assert all(torch.allclose(a, b, rtol=0, atol=1e-5) for a, b in zip(exported, reference, strict=True))

    if name != "mat":  # their ONNX files: tests/test_deploy.py (one file for every size)
        return
    # without onnxscript's optimiser (3x faster to export; the encoder's test runs the default, optimised path)
    outputs = onnxruntime_outputs(export_onnx(model, inputs, tmp_path / f"{name}.onnx", optimize=False), inputs)
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


def test_one_dynamic_onnx_file_runs_the_encoder_at_any_multiple_of_64_and_any_batch(tmp_path):
    """Issue 30, item 3: one file at 256, 320x256 and 512, batches 1 and 2, within 1e-4 of PyTorch.

    The priors are inputs of this file: the Canny edge map inside a graph is a thresholded function, and one pixel
    whose gradient lies within float rounding of a threshold can flip between two runtimes (seen: 1 pixel of
    131072, which moved the finest level by 4e-3); the next test checks the priors' own graph."""
    torch.manual_seed(0)
    encoder = create_encoder("tsgl_tiny", smooth_input=True).eval()

    def inputs(batch: int, height: int, width: int) -> tuple[torch.Tensor, ...]:
        image = torch.rand(batch, 3, height, width) * 2 - 1
        mask = free_form_mask(batch, height, width, seed=height + batch)
        return (image, mask, *encoder.priors(image * mask, mask))

    path = export_onnx(encoder, inputs(2, 128, 128), tmp_path / "any_size.onnx", dynamic=True, optimize=False,
                       input_names=["image", "mask", "edge", "gray", "smooth"])
    for batch in (1, 2):
        for height, width in ((256, 256), (320, 256), (512, 512)):
            example = inputs(batch, height, width)
            with torch.no_grad():
                reference = encoder(*example)
            outputs = onnxruntime_outputs(path, example)
            assert [o.shape for o in outputs] == [tuple(r.shape) for r in reference]
            assert max_relative_difference(outputs, reference) < ONNX_TOLERANCE, (batch, height, width)

    image, mask = torch.zeros(1, 3, 320, 250), torch.ones(1, 1, 320, 250)
    edge, gray, smooth = torch.zeros(1, 1, 320, 250), torch.zeros(1, 1, 320, 250), torch.zeros(1, 3, 320, 250)
    with pytest.raises(ValueError, match=r"input 'image' .*multiples of 64 and at least 128, got \(320, 250\)"):
        onnxruntime_outputs(path, (image, mask, edge, gray, smooth))
    small = (torch.zeros(1, 3, 64, 64), torch.ones(1, 1, 64, 64), torch.zeros(1, 1, 64, 64), torch.zeros(1, 1, 64, 64),
             torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match=r"multiples of 64 and at least 128, got \(64, 64\)"):
        onnxruntime_outputs(path, small)
    fitting = inputs(1, 128, 128)
    with pytest.raises(ValueError, match=r"takes 5 inputs \['image', 'mask', 'edge', 'gray', 'smooth'\], got 2"):
        onnxruntime_outputs(path, fitting[:2])
    with pytest.raises(ValueError, match=r"input 'mask' .* must have shape \('\*', 1, '\*', '\*'\)"):
        onnxruntime_outputs(path, (fitting[0], fitting[0], *fitting[2:]))


def test_the_priors_graph_agrees_but_for_canny_threshold_pixels(tmp_path):
    """The encoder's own priors (Canny edges, gray, guided-filter smoothing) in one dynamic file: gray and smooth
    within float rounding; the edge maps equal but for pixels at a threshold (at most 1 in 10^4)."""

    class Priors(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.priors = create_encoder("tsgl_tiny", smooth_input=True).priors

        def forward(self, image: torch.Tensor, mask: torch.Tensor):
            return self.priors(image * mask, mask)

    torch.manual_seed(0)
    example = (torch.rand(1, 3, 128, 128) * 2 - 1, free_form_mask(1, 128, 128))
    path = export_onnx(Priors(), example, tmp_path / "priors.onnx", dynamic=True, optimize=False)
    for batch, height, width in ((2, 320, 256),):
        image, mask = torch.rand(batch, 3, height, width) * 2 - 1, free_form_mask(batch, height, width, seed=batch)
        edge, gray, smooth = (torch.from_numpy(a) for a in onnxruntime_outputs(path, (image, mask)))
        reference = Priors()(image, mask)
        assert torch.allclose(gray, reference[1], atol=1e-6) and torch.allclose(smooth, reference[2], atol=1e-5)
        assert (edge != reference[0]).float().mean() <= 1e-4


def test_dynamic_export_names_examples_it_cannot_use():
    encoder = create_encoder("tsgl_tiny").eval()
    for size, words in ((96, "multiple of size_multiple=64"), (64, r"in \[128, 4096\]")):
        example = (torch.zeros(1, 3, size, size), torch.ones(1, 1, size, size))
        with pytest.raises(ValueError, match=f"the example's height must be a {words}" if size == 96 else words):
            export_program(encoder, example, dynamic=True)
    with pytest.raises(ValueError, match="size_multiple must be a positive int, got 0"):
        export_program(encoder, (torch.zeros(1, 3, 128, 128), torch.ones(1, 1, 128, 128)), dynamic=True,
                       size_multiple=0)
