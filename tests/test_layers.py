import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tsgl_encoder.layers import WindowBlock, mask_update
from tsgl_encoder.layers.window_attention import shift_region_bias


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([(3, 1), (3, 2), (5, 2), (7, 2)]))
def test_mask_update_is_the_partial_conv_rule(seed, kernel_stride):
    kernel, stride = kernel_stride
    gen = torch.Generator().manual_seed(seed)
    mask = (torch.rand(1, 1, 16, 16, generator=gen) > 0.6).float()
    update, ratio = mask_update(mask, kernel, stride, kernel // 2)
    windows = torch.nn.functional.unfold(mask, kernel, padding=kernel // 2, stride=stride).sum(1)  # (1, L)
    windows = windows.view_as(update)
    assert torch.equal(update, (windows > 0).float())
    torch.testing.assert_close(ratio[windows > 0], kernel**2 / windows[windows > 0])
    assert torch.equal(ratio[windows == 0], torch.zeros_like(ratio[windows == 0]))


def _block(shift: int) -> WindowBlock:
    torch.manual_seed(0)
    return WindowBlock(dim=16, num_heads=2, window_size=4, shift_size=shift, mlp_ratio=2.0, tau=100.0)


def test_window_with_any_known_token_becomes_known():
    mask = torch.zeros(1, 8, 8, 1)
    mask[0, 1, 2] = 1  # one known token in the top-left window
    _, new_mask = _block(0)(torch.randn(1, 8, 8, 16), mask)
    expected = torch.zeros(1, 8, 8, 1)
    expected[0, :4, :4] = 1
    assert torch.equal(new_mask, expected)


def test_hole_keys_are_ignored_when_a_window_has_known_tokens():
    block = _block(0)
    tokens = torch.randn(1, 4, 4, 16)
    mask = torch.ones(1, 4, 4, 1)
    mask[0, 2:, :] = 0
    changed = tokens.clone()
    changed[0, 2:, :] += 5.0  # change only the hole tokens
    a, _ = block(tokens, mask)
    b, _ = block(changed, mask)
    # known queries attend (almost only) to known keys: with tau = 100 the hole keys weigh e^-100
    torch.testing.assert_close(a[0, :2], b[0, :2], atol=1e-5, rtol=1e-5)


def test_maps_that_do_not_tile_into_windows_are_padded_not_mixed():
    for shift in (0, 2):
        block = _block(shift)
        tokens = torch.randn(2, 6, 10, 16)
        out, mask = block(tokens, torch.ones(2, 6, 10, 1))
        assert out.shape == tokens.shape and mask.shape == (2, 6, 10, 1)
        padded = torch.nn.functional.pad(tokens, [0, 0, 0, 2, 0, 2])  # 8 x 12 tiles into 4 x 4 windows
        pads_as_hole = torch.nn.functional.pad(torch.ones(2, 6, 10, 1), [0, 0, 0, 2, 0, 2])
        torch.testing.assert_close(out, block(padded, pads_as_hole)[0][:, :6, :10])
    pads_as_keys = _block(0)(padded, torch.ones(2, 8, 12, 1))[0][:, :6, :10]
    assert not torch.allclose(_block(0)(tokens, None)[0], pads_as_keys, atol=1e-4)


def test_shift_region_bias_matches_swin():
    bias = shift_region_bias(8, 8, window=4, shift=2, device=torch.device("cpu"))
    assert bias.shape == (4, 16, 16)
    assert (bias[0] == 0).all()  # the top-left window holds one region only
    last = bias[3]  # the bottom-right window mixes 4 regions of 4 tokens
    assert (last == 0).sum() == 4 * 16 and (last == -100).sum() == 12 * 16
