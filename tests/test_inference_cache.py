"""Derived weights (equalized scaling, spectral norm, fused convs, channels_last copies) cached for inference:
the same outputs as recomputing them, recomputed whenever a source changes, never used in training."""

import copy

import pytest
import torch

from tsgl_encoder import create_encoder
from tsgl_encoder.layers.inference_cache import CACHE_ATTRIBUTE, Conv2d, derived, tensors_of


def cached_entries(model: torch.nn.Module) -> int:
    return sum(len(m.__dict__.get(CACHE_ATTRIBUTE, {})) for m in model.modules())


@pytest.fixture
def tiny_and_inputs():
    torch.manual_seed(0)
    image = torch.rand(1, 3, 64, 64) * 2 - 1
    mask = torch.ones(1, 1, 64, 64)
    mask[..., 16:40, 20:48] = 0
    return create_encoder("tsgl_tiny").eval(), image * mask, mask


def test_cached_inference_equals_recomputing_bit_for_bit(tiny_and_inputs):
    tiny, image, mask = tiny_and_inputs
    recomputed = tiny(image, mask)  # gradients on: nothing is cached
    assert cached_entries(tiny) == 0
    with torch.no_grad():
        first, second = tiny(image, mask), tiny(image, mask)  # fills the cache, then reads it
    assert cached_entries(tiny) > 0
    for a, b, c in zip(recomputed, first, second, strict=True):
        assert torch.equal(a.detach(), b) and torch.equal(b, c)


def test_training_and_gradients_bypass_the_cache(tiny_and_inputs):
    tiny, image, mask = tiny_and_inputs
    tiny.train()
    with torch.no_grad():
        tiny(image, mask)  # train mode: spectral norm's power iteration must advance, nothing is cached
    assert cached_entries(tiny) == 0
    tiny.eval()
    loss = sum(level.mean() for level in tiny(image, mask))
    loss.backward()
    assert cached_entries(tiny) == 0 and all(p.grad is not None for p in tiny.parameters() if p.requires_grad)


def test_a_changed_source_recomputes(tiny_and_inputs):
    tiny, image, mask = tiny_and_inputs
    torch.manual_seed(1)
    other = create_encoder("tsgl_tiny").eval()
    with torch.no_grad():
        tiny(image, mask)  # cache the first weights
        tiny.load_state_dict(other.state_dict())  # in place: version counters move
        assert all(torch.equal(a, b) for a, b in zip(tiny(image, mask), other(image, mask), strict=True))
        for p in tiny.parameters():  # what an optimizer step does
            p.mul_(0.5)
        with torch.enable_grad():
            recomputed = [level.detach() for level in tiny(image, mask)]
        assert all(torch.equal(a, b) for a, b in zip(tiny(image, mask), recomputed, strict=True))
        twin = copy.deepcopy(tiny)  # copies the caches too; its own tensors are new: it recomputes
        assert all(torch.equal(a, b) for a, b in zip(twin(image, mask), recomputed, strict=True))
        half = tiny.to(torch.bfloat16)  # new storages and dtype
        out = half(image.bfloat16(), mask.bfloat16())
    assert all(level.dtype == torch.bfloat16 for level in out)


def test_derived_follows_the_input_layout_and_replaced_data():
    conv = Conv2d(4, 8, 3, padding=1).eval()
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        plain = derived(conv, "weight", tensors_of(conv), lambda: conv.weight, like=x)
        x_last = x.to(memory_format=torch.channels_last)
        last = derived(conv, "weight", tensors_of(conv), lambda: conv.weight, like=x_last)
        assert plain.is_contiguous() and last.is_contiguous(memory_format=torch.channels_last)
        conv.weight.data = torch.zeros_like(conv.weight)  # same tensor object, new storage, same version
        assert torch.equal(conv(x), conv.bias.view(1, -1, 1, 1).expand(1, 8, 8, 8))


def test_dispatch_modes_bypass_the_cache():
    """Under a TorchDispatchMode (FLOP counting, fake tensors) nothing is cached: no fake weight outlives the mode."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils.flop_counter import FlopCounterMode

    conv = Conv2d(4, 8, 3, padding=1).eval()
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        with FlopCounterMode(display=False):
            conv(x)
        with FakeTensorMode(allow_non_fake_inputs=True) as mode:
            conv(mode.from_tensor(x))
        assert cached_entries(conv) == 0
        assert type(conv(x)) is torch.Tensor and cached_entries(conv) == 1
