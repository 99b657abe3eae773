"""The local residual structure R_k = F_{k-1} - up2(x_k) (issue 26, item 4): x_k is upsampled in F_{k-1}'s layout,
so the subtraction never mixes layouts; the values are exactly those of the plain expression."""

import pytest
import torch
import torch.nn.functional as F

from tsgl_encoder import create_encoder, guidance
from tsgl_encoder.guidance import layout_of, local_residual_structure

LAYOUTS = (torch.contiguous_format, torch.channels_last)


def plain_form(finer, texture, resize, residual=True):
    """The expression before the layout fix."""
    lost = finer - F.interpolate(texture, scale_factor=2.0, mode="nearest") if residual else finer
    if resize == "nearest":
        return F.interpolate(lost, size=texture.shape[-2:], mode="nearest")
    return F.interpolate(lost, size=texture.shape[-2:], mode="bilinear", align_corners=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("resize", ["bilinear", "nearest"])
@pytest.mark.parametrize("finer_layout", LAYOUTS)
@pytest.mark.parametrize("texture_layout", LAYOUTS)
def test_residual_equals_the_plain_form_in_finer_s_layout(dtype, resize, finer_layout, texture_layout):
    torch.manual_seed(0)
    finer = torch.randn(2, 12, 16, 16, dtype=dtype).contiguous(memory_format=finer_layout)
    texture = torch.randn(2, 12, 8, 8, dtype=dtype).contiguous(memory_format=texture_layout)
    out = local_residual_structure(finer, texture, resize)
    assert torch.equal(out, plain_form(finer, texture, resize))
    assert out.is_contiguous(memory_format=finer_layout)
    unconditioned = local_residual_structure(finer, texture, resize, residual=False)
    assert torch.equal(unconditioned, plain_form(finer, texture, resize, residual=False))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_nearest_upsampling_keeps_its_input_layout(dtype):
    """What the fix relies on: nearest upsampling (x2 and to a size) returns its input's layout, fp32 and bf16."""
    x = torch.randn(1, 12, 8, 8, dtype=dtype)
    for layout in LAYOUTS:
        for up in (F.interpolate(x.contiguous(memory_format=layout), scale_factor=2.0, mode="nearest"),
                   F.interpolate(x.contiguous(memory_format=layout), size=(4, 4), mode="nearest")):
            assert up.is_contiguous(memory_format=layout)


def test_channel_slices_of_a_channels_last_map_count_as_channels_last():
    """The split deepest block (tsgl_lama) passes channel groups of channels_last maps: no copy to NCHW."""
    finer = torch.randn(1, 12, 16, 16).contiguous(memory_format=torch.channels_last)[:, 4:]
    texture = torch.randn(1, 12, 8, 8).contiguous(memory_format=torch.channels_last)[:, 4:]
    assert layout_of(finer) == layout_of(texture) == torch.channels_last
    out = local_residual_structure(finer, texture, "nearest")
    assert torch.equal(out, plain_form(finer, texture, "nearest"))
    assert out.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("memory_format", LAYOUTS)
def test_in_the_encoder_the_residual_keeps_the_finer_map_s_layout(monkeypatch, memory_format):
    """On the NCHW path the window-attention stages hand back x_k with channels_last strides: R_k stays NCHW."""
    seen = []

    def recording(finer, texture, resize="bilinear", residual=True):
        out = local_residual_structure(finer, texture, resize, residual)
        seen.append((layout_of(finer), layout_of(out)))
        return out

    monkeypatch.setattr(guidance, "local_residual_structure", recording)
    tiny = create_encoder("tsgl_tiny").eval()
    tiny.memory_format = memory_format
    with torch.no_grad():
        tiny(torch.rand(1, 3, 64, 64) * 2 - 1, torch.ones(1, 1, 64, 64))
    assert seen and all(layouts == (memory_format,) * 2 for layouts in seen)
