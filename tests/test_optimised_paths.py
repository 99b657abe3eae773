"""The optimised layers equal their straightforward references within 1e-5, alone and in the encoder.

The references live in :mod:`tsgl_encoder.reference` (``benchmarks/optimisations.py`` times them); the
partial-conv mask rule's reference, a C-channel convolution, is written out in its test.
"""

import pytest
import torch
import torch.nn.functional as F

from tsgl_encoder import create_encoder, priors
from tsgl_encoder.guidance import GlobalReconstruction
from tsgl_encoder.layers import EqualizedConv2d, EqualizedLinear, MaskAwareWindowAttention, mask_update
from tsgl_encoder.reference import (
    REFERENCES,
    reference_attention,
    reference_conv,
    reference_global,
    reference_linear,
    reference_spade,
)


@pytest.fixture
def straightforward(monkeypatch):
    """Switches every optimisation to its reference."""

    def switch():
        for owner, attribute, reference in REFERENCES:
            monkeypatch.setattr(owner, attribute, reference)

    return switch


@pytest.mark.parametrize("activation", ["linear", "lrelu"])
@pytest.mark.parametrize("down", [1, 2])
def test_equalized_conv_and_linear(activation, down):
    torch.manual_seed(0)
    conv, linear = EqualizedConv2d(6, 8, 3, activation, down), EqualizedLinear(6, 8, activation)
    with torch.no_grad():
        conv.bias.normal_(), linear.bias.normal_()
    x = torch.randn(2, 6, 16, 16)
    torch.testing.assert_close(conv(x), reference_conv(conv, x), atol=1e-5, rtol=1e-5)
    tokens = torch.randn(2, 10, 6)
    torch.testing.assert_close(linear(tokens), reference_linear(linear, tokens), atol=1e-5, rtol=1e-5)


def test_fused_conv_keeps_gradients():
    torch.manual_seed(0)
    conv = EqualizedConv2d(4, 4, 3, "lrelu")
    x = torch.randn(1, 4, 8, 8, requires_grad=True)
    conv(x).square().sum().backward()
    fused = (conv.weight.grad.clone(), x.grad.clone())
    conv.zero_grad(), x.grad.zero_()
    reference_conv(conv, x).square().sum().backward()
    torch.testing.assert_close(fused, (conv.weight.grad, x.grad), atol=1e-5, rtol=1e-5)


def test_spade_and_global_side():
    torch.manual_seed(0)
    block = GlobalReconstruction(dim=12, structure_channels=5, hidden=8).eval()
    spade = block.spade_in
    x, cond = torch.randn(2, 12, 8, 8), torch.randn(2, 5, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(spade(x, cond), reference_spade(spade, x, cond), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(block(x, cond), reference_global(block, x, cond), atol=1e-5, rtol=1e-5)


def test_window_attention_through_sdpa_equals_the_explicit_softmax():
    torch.manual_seed(0)
    attention = MaskAwareWindowAttention(16, 2)
    tokens, bias = torch.randn(3, 16, 16), (torch.rand(3, 1, 1, 16) > 0.5).float() * -100.0
    torch.testing.assert_close(attention(tokens, bias), reference_attention(attention, tokens, bias),
                               atol=1e-5, rtol=1e-5)


def test_mask_update_equals_the_c_channel_partial_conv():
    mask = (torch.rand(2, 1, 20, 20, generator=torch.Generator().manual_seed(1)) > 0.7).float()
    channels = 6
    update, ratio = mask_update(mask, 5, 2, 2)
    counts = F.conv2d(mask.expand(-1, channels, -1, -1), torch.ones(channels, channels, 5, 5), stride=2, padding=2)
    torch.testing.assert_close(update.expand(-1, channels, -1, -1), counts.clamp(0, 1))
    expected = torch.where(counts > 0, channels * 25 / counts.clamp_min(1), 0)
    torch.testing.assert_close(ratio.expand(-1, channels, -1, -1), expected)


def test_priors_equal_the_pooling_references(straightforward):
    generator = torch.Generator().manual_seed(3)
    image = torch.rand(2, 3, 96, 80, generator=generator) * 2 - 1
    mask = (torch.rand(2, 1, 96, 80, generator=generator) > 0.2).float()
    mask[..., 20:60, 10:50] = 0
    structure_priors = priors.StructurePriors(with_smooth=True)
    fast = structure_priors(image * mask, mask)
    straightforward()
    slow = structure_priors(image * mask, mask)
    assert torch.equal(fast[0], slow[0]) and fast[0].any()  # edges: maxima are exact
    torch.testing.assert_close(fast[1], slow[1], atol=0, rtol=0)
    torch.testing.assert_close(fast[2], slow[2], atol=1e-5, rtol=1e-5)


def test_window_reduce_equals_pooling():
    x = torch.rand(2, 3, 17, 23, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(priors.box_mean(x, 4), F.avg_pool2d(x, 9, stride=1, padding=4), atol=1e-6, rtol=1e-6)
    assert torch.equal(priors.dilate3x3(x), F.max_pool2d(x, 3, stride=1, padding=1))


def test_encoder_computes_in_channels_last_and_answers_in_the_callers_layout(make_inputs):
    torch.manual_seed(0)
    encoder = create_encoder("tsgl_tiny").eval()
    seen = []
    encoder.guidance[0].register_forward_hook(lambda module, args, out: seen.append(out))
    image, mask = make_inputs(1, 64, 64)
    with torch.no_grad():
        pyramid = encoder(image, mask)
        features = encoder.forward_features(image, mask)
        pyramid_cl = encoder(image.contiguous(memory_format=torch.channels_last), mask)
        encoder.memory_format = torch.contiguous_format
        plain = encoder(image, mask)
    assert seen[0].is_contiguous(memory_format=torch.channels_last) and not seen[0].is_contiguous()
    assert seen[-1].is_contiguous()
    maps = [*pyramid, *features.pyramid, *features.texture, *features.structure, features.texture_stem]
    assert all(t.is_contiguous() for t in maps)
    assert all(t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous() for t in pyramid_cl[:-1])
    for a, b in zip(pyramid, plain, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("preset, size", [("tsgl_tiny", 128), ("tsgl_base", 64)])
def test_whole_encoder_equals_the_straightforward_one(preset, size, straightforward):
    torch.manual_seed(0)
    encoder = create_encoder(preset).eval()
    image = torch.rand(1, 3, size, size) * 2 - 1
    mask = torch.ones(1, 1, size, size)
    mask[..., size // 4 : size // 2, size // 8 : size - 8] = 0
    with torch.no_grad():
        fast = encoder(image, mask)
        straightforward()
        slow = encoder(image, mask)
    for a, b in zip(fast, slow, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_torch_compile_fullgraph_of_tsgl_tiny_on_cpu():
    """No graph breaks (fullgraph=True) and the compiled encoder (inductor, C++ codegen) gives the eager outputs."""
    torch.manual_seed(0)
    encoder = create_encoder("tsgl_tiny").eval()
    image = torch.rand(1, 3, 64, 64) * 2 - 1
    mask = torch.ones(1, 1, 64, 64)
    mask[..., 16:40, 10:50] = 0
    compiled = torch.compile(encoder, fullgraph=True, dynamic=False)
    with torch.no_grad():
        for a, b in zip(compiled(image, mask), encoder(image, mask), strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="host-device syncs only exist with a GPU")
def test_forward_has_no_host_device_sync_on_cuda():
    encoder = create_encoder("tsgl_tiny").cuda().eval()
    image = torch.rand(1, 3, 64, 64, device="cuda") * 2 - 1
    mask = torch.ones(1, 1, 64, 64, device="cuda")
    encoder(image, mask)  # warm-up (lazy initialisation may sync)
    torch.cuda.set_sync_debug_mode("error")
    try:
        with torch.no_grad():
            encoder(image, mask)
    finally:
        torch.cuda.set_sync_debug_mode("default")
