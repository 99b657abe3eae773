import hashlib

import pytest
import torch
import torch.nn.functional as F

from adapters.mat import Discriminator, Generator, create_discriminator, create_generator, list_generators
from adapters.mat.first_stage import decode, encode
from adapters.mat.ops import fir_kernel, upfirdn2d, upsample_conv2d

# sha256 of "key<TAB>shape" lines of upstream's state_dicts (fenglinglwb/MAT at d273d89, networks/mat.py:
# Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=R, img_channels=3) and
# Discriminator(c_dim=0, img_resolution=R, img_channels=3), built from its code and run locally on CPU):
# equal fingerprints mean equal module names, order and shapes, so upstream checkpoints load with strict=True.
UPSTREAM = {  # preset: (G parameters, G fingerprint, D parameters, D fingerprint)
    "mat_256": (59_779_834, (442, "e7e9be89c8ead883"), 36_083_330, (116, "e046b0d7adf7ec58")),
    "mat_512": (61_562_518, (487, "cbbd851364548043"), 36_231_618, (132, "ce06f18a69fc28f8")),
}
# A narrow MAT with the same code paths (first stage 12 wide, second stage capped at 16 channels) for CPU tests.
TINY = {"z_dim": 32, "w_dim": 32, "img_resolution": 128,
        "synthesis_kwargs": {"first_stage_dim": 12, "channel_max": 16}}
SIZE = 128


def fingerprint(state_dict) -> tuple[int, str]:
    lines = "\n".join(f"{k}\t{tuple(v.shape)}" for k, v in state_dict.items())
    return len(state_dict), hashlib.sha256(lines.encode()).hexdigest()[:16]


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def inputs(batch=1, height=SIZE, width=SIZE, z_dim=32, seed=0):
    """Upstream conventions: image in [-1, 1], mask (B, 1, H, W) with 1 = known."""
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, height, width, generator=gen) * 2 - 1
    mask = torch.ones(batch, 1, height, width)
    mask[..., height // 5 : height // 2, width // 4 : width - width // 6] = 0
    mask[-1, :, height // 2 : height - 8, 8 : width // 2] = 0
    return image, mask, torch.randn(batch, z_dim, generator=gen)


def randomise_constants(model: torch.nn.Module, seed: int = 0) -> None:
    """Biases, noise strengths and w_avg start as constants upstream: make them matter."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim <= 1:
                p.add_(torch.randn(p.shape, generator=gen) * 0.1)
        for name, buffer in model.named_buffers():
            if name.endswith("w_avg"):
                buffer.normal_(0, 0.1, generator=gen)


def run(model, *args, seed=0, **kwargs):
    torch.manual_seed(seed)  # the bottleneck dropout maps (and 'random' noise) draw from torch's generator
    with torch.no_grad():
        return model(*args, **kwargs)


@pytest.fixture(scope="module")
def tiny() -> Generator:
    torch.manual_seed(0)
    model = create_generator("mat_256", **TINY)
    randomise_constants(model)
    return model.eval()


# ----------------------------------------------------------------------------- presets and upstream names


@pytest.mark.parametrize("name", ["mat_256", "mat_512"])
def test_presets_match_upstream_names_shapes_and_counts(name):
    g_params, g_fingerprint, d_params, d_fingerprint = UPSTREAM[name]
    torch.manual_seed(0)
    generator, discriminator = create_generator(name), create_discriminator(name)
    assert (count(generator), fingerprint(generator.state_dict())) == (g_params, g_fingerprint)
    assert (count(discriminator), fingerprint(discriminator.state_dict())) == (d_params, d_fingerprint)
    create_generator(name).load_state_dict(generator.state_dict(), strict=True)


def test_unknown_preset_and_unsupported_resolution():
    assert list_generators() == ["mat_256", "mat_512"]
    with pytest.raises(ValueError, match=r"unknown MAT preset 'mat_1024'; available: \['mat_256', 'mat_512'\]"):
        create_generator("mat_1024")
    with pytest.raises(ValueError, match=r"img_resolution must be one of \(128, 256, 512\), got 1024"):
        create_generator("mat_512", img_resolution=1024)


def test_strict_round_trip_gives_identical_outputs(tiny):
    torch.manual_seed(1)
    fresh = create_generator("mat_256", **TINY).eval()
    fresh.load_state_dict(tiny.state_dict(), strict=True)
    image, mask, z = inputs()
    for a, b in zip(run(tiny, image, mask, z, None, return_stg1=True),
                    run(fresh, image, mask, z, None, return_stg1=True), strict=True):
        assert torch.equal(a, b)  # same weights, same dropout and noise draws


# ----------------------------------------------------------------------------- behaviour


def test_compositing_and_hole_pixels_of_the_input(tiny):
    image, mask, z = inputs(batch=2, seed=2)
    output, stage1 = run(tiny, image, mask, z, None, return_stg1=True)
    known = mask.expand_as(image) == 1
    for tensor in (output, stage1):
        assert tensor.shape == image.shape and torch.isfinite(tensor).all()
        assert torch.equal(tensor[known], image[known])  # both stages composite with the known pixels
        assert not torch.equal(tensor[~known], image[~known])
    # hole pixels never matter (bool masks are accepted too); known pixels do
    noisy = torch.where(known, image, torch.rand_like(image) * 2 - 1)
    assert torch.equal(run(tiny, noisy, mask.bool(), z, None), output)
    assert not torch.equal(run(tiny, torch.where(known, -image, image), mask, z, None), output)


def test_seeding_makes_every_noise_mode_deterministic(tiny):
    image, mask, z = inputs()
    outputs = {}
    for mode in ("const", "random", "none"):
        outputs[mode] = run(tiny, image, mask, z, None, noise_mode=mode, seed=3)
    assert torch.equal(outputs["random"], run(tiny, image, mask, z, None, noise_mode="random", seed=3))
    assert not torch.equal(outputs["const"], outputs["random"]) and not torch.equal(outputs["const"], outputs["none"])
    # upstream's bottleneck dropout is on in eval mode too: another seed, another output, even with 'const' noise
    assert not torch.equal(outputs["const"], run(tiny, image, mask, z, None, noise_mode="const", seed=4))


def test_mapping_truncation_and_w_avg_tracking(tiny):
    mapping = tiny.mapping
    z = torch.randn(3, 32)
    with torch.no_grad():
        ws = mapping(z, None)
        assert ws.shape == (3, tiny.synthesis.num_layers, 32) and torch.equal(ws[:, 0], ws[:, -1])
        assert torch.allclose(mapping(z, None, truncation_psi=0), mapping.w_avg.expand_as(ws))
        cut = mapping(z, None, truncation_psi=0.5, truncation_cutoff=2)
        assert torch.allclose(cut[:, :2], mapping.w_avg.lerp(ws[:, :2], 0.5)) and torch.equal(cut[:, 2:], ws[:, 2:])
    w_avg = mapping.w_avg.clone()
    try:
        mapping.train()
        with torch.no_grad():
            mapping(z, None, skip_w_avg_update=True)
            assert torch.equal(mapping.w_avg, w_avg)
            mapping(z, None)
        assert torch.allclose(mapping.w_avg, ws[:, 0].mean(dim=0).lerp(w_avg, 0.995))
    finally:
        mapping.w_avg.copy_(w_avg)
        mapping.eval()


def test_first_stage_encode_returns_the_tokens_and_skips_that_decode_reads(tiny):
    # the interface a replacement encoder has to honour: tokens for tran[2], conv skips, token skips
    image, mask, z = inputs()
    stage = tiny.synthesis.first_stage
    with torch.no_grad():
        x, x_size, skips = encode(stage, image, mask)
        ws = tiny.mapping(z, None)
    assert x.shape == (1, 32 * 32, 12) and x_size == (32, 32)
    assert [tuple(s.shape) for s in skips] == [(1, 12, SIZE, SIZE), (1, 64 * 64, 12), (1, 32 * 32, 12)]
    torch.manual_seed(5)
    with torch.no_grad():
        decoded = decode(stage, x, x_size, skips, ws, image, mask, noise_mode="const")
    torch.manual_seed(5)
    with torch.no_grad():
        assert torch.equal(decoded, stage(image, mask, ws, noise_mode="const"))


def test_larger_and_non_square_inputs_with_random_noise(tiny):
    image, mask, z = inputs(height=SIZE, width=2 * SIZE)
    output = run(tiny, image, mask, z, None, noise_mode="random")
    assert output.shape == (1, 3, SIZE, 2 * SIZE) and torch.isfinite(output).all()


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = create_generator("mat_256", **TINY).train()
    image, mask, z = inputs()
    output, stage1 = model(image, mask, z, None, return_stg1=True)
    (output.square().mean() + stage1.square().mean()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("name,size", [("mat_256", 256), ("mat_512", 512)])
def test_presets_run_at_their_resolution(name, size):
    torch.manual_seed(0)
    model = create_generator(name).eval()
    image, mask, z = inputs(height=size, width=size, z_dim=512)
    output, stage1 = run(model, image, mask, z, None, noise_mode="const", return_stg1=True)
    known = mask.expand_as(image) == 1
    assert output.shape == stage1.shape == (1, 3, size, size)
    assert torch.isfinite(output).all() and torch.equal(output[known], image[known])


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "change,error,message",
    [
        ({"image": torch.zeros(1, 4, SIZE, SIZE)}, ValueError, r"images_in must have shape \(B, 3, H, W\), got \(1, 4"),
        ({"image": torch.zeros(1, 3, SIZE, SIZE, dtype=torch.long)}, TypeError, "images_in must be a floating-point"),
        ({"image": torch.zeros(1, 3, 96, 96), "mask": torch.ones(1, 1, 96, 96)}, ValueError,
         "multiples of img_resolution=128, got 96x96"),
        ({"mask": torch.ones(1, 1, SIZE, 64)}, ValueError, r"masks_in must have shape \(1, 1, 128, 128\), got \(1"),
        ({"mask": torch.full((1, 1, SIZE, SIZE), 0.5)}, ValueError, "masks_in must be binary"),
        ({"mask": torch.ones(1, 1, SIZE, SIZE, dtype=torch.long)}, TypeError, "masks_in must be bool or floating"),
        ({"z": torch.zeros(1, 31)}, ValueError, r"z must have shape \(1, 32\), got \(1, 31\)"),
        ({"z": None}, TypeError, "z must be a torch.Tensor"),
        ({"noise_mode": "fixed"}, ValueError, "noise_mode must be one of"),
        ({"image": torch.zeros(1, 3, SIZE, 2 * SIZE), "mask": torch.ones(1, 1, SIZE, 2 * SIZE),
          "noise_mode": "const"}, ValueError, r"noise_mode='const' needs 128x128 inputs"),
    ],
)
def test_bad_inputs_raise(tiny, change, error, message):
    image, mask, z = inputs()
    args = {"image": image, "mask": mask, "z": z, "noise_mode": "random", **change}
    with pytest.raises(error, match=message):
        tiny(args["image"], args["mask"], args["z"], None, noise_mode=args["noise_mode"])


def test_labels_are_required_when_c_dim_is_positive():
    torch.manual_seed(0)
    model = create_generator("mat_256", c_dim=5, **TINY).eval()
    image, mask, z = inputs()
    with pytest.raises(TypeError, match=r"c must be a torch.Tensor of shape \(B, 5\)"):
        model(image, mask, z, None)
    assert run(model, image, mask, z, torch.randn(1, 5)).shape == image.shape


# ----------------------------------------------------------------------------- discriminator


def test_discriminator_outputs_and_checks():
    torch.manual_seed(0)
    model = Discriminator(c_dim=0, img_resolution=SIZE, img_channels=3, channel_max=16).eval()
    image, mask, _ = inputs(batch=4)
    with torch.no_grad():
        logits, logits_stg1 = model(image, mask, image.flip(-1), None)
    assert logits.shape == logits_stg1.shape == (4, 1) and not torch.equal(logits, logits_stg1)
    with pytest.raises(ValueError, match=r"images_stg1 must have shape \(4, 3, 128, 128\)"):
        model(image, mask, image[:, :, :64], None)
    with pytest.raises(ValueError, match=r"batch size \(6\) must be a multiple of the minibatch-std group size"):
        model(*(torch.cat([t, t[:2]]) for t in (image, mask, image)), None)

    labelled = Discriminator(c_dim=3, img_resolution=SIZE, img_channels=3, channel_max=16).eval()
    with torch.no_grad():
        assert all(t.shape == (4, 1) for t in labelled(image, mask, image, torch.randn(4, 3)))
    with pytest.raises(TypeError, match=r"c must be a torch.Tensor of shape \(B, 3\), got NoneType"):
        labelled(image, mask, image, None)


# ----------------------------------------------------------------------------- StyleGAN2 ops


@pytest.mark.parametrize("groups", [1, 2])
def test_upsample_conv2d_equals_zero_insertion_filter_then_conv(groups):
    # upstream's generic path: upfirdn2d(up=2, pad (3, 2), gain 4), then a plain 3x3 correlation
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4 * groups, 5, 6, generator=gen)
    weight = torch.randn(3 * groups, 4, 3, 3, generator=gen)
    kernel = fir_kernel()
    expected = F.conv2d(upfirdn2d(x, kernel, up=2, pad=(3, 2), gain=4.0), weight, groups=groups)
    result = upsample_conv2d(x, weight, kernel, groups=groups)
    assert result.shape == (2, 3 * groups, 10, 12)
    torch.testing.assert_close(result, expected, atol=1e-5, rtol=1e-5)


def test_the_first_stage_dropout_is_drawn_as_upstream_draws_it(monkeypatch):
    """Issue 29, item 5: upstream's first-stage dropout map (tokens (1, 256, 180) laid out channel by channel,
    strides (46080, 1, 256)) for torch.manual_seed(0) on the CPU, fingerprinted from fenglinglwb/MAT's own
    forward: which of the first values are kept, how many, and a position checksum. A different layout
    (0.5.0 laid batch-1 tokens out token by token) draws the same values into other positions."""
    import torch.nn.functional as F

    import adapters.mat as mat

    calls, dropout = [], F.dropout

    def recorded(x, *args, **kwargs):
        calls.append((x.stride(), dropout(x, *args, **kwargs)))
        return calls[-1][1]

    monkeypatch.setattr(F, "dropout", recorded)
    model = mat.create_generator("mat_256", img_resolution=128).eval()
    generator = torch.Generator().manual_seed(123)
    image = torch.rand(1, 3, 128, 128, generator=generator) * 2 - 1
    mask = torch.ones(1, 1, 128, 128)
    mask[..., 32:96, 40:100] = 0
    z = torch.randn(1, 512, generator=generator)
    torch.manual_seed(0)
    with torch.no_grad():
        model(image, mask, z, None, noise_mode="const")
    strides, first = calls[0]
    keep = (first[0] > 0).long()  # (256 tokens, 180 channels)
    positions = torch.arange(keep.numel()).view(keep.shape)
    assert strides == (46080, 1, 256)
    assert keep[:12, 0].tolist() == [0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1]
    assert int(keep.sum()) == 22892 and int((keep * positions).sum()) == 523962157


def test_the_weight_layout_follows_pytorchs_rule_for_the_input():
    from tsgl_encoder.layers.inference_cache import conv_memory_format

    contiguous, channels_last = torch.contiguous_format, torch.channels_last
    tokens = torch.empty(1, 256, 180).transpose(1, 2).view(1, 180, 16, 16)  # MAT's batch-1 map: (180, 1, 2880, 180)
    assert conv_memory_format(tokens) == contiguous  # is_contiguous(channels_last) says channels_last here
    assert conv_memory_format(torch.empty(2, 3, 4, 5).to(memory_format=channels_last)) == channels_last
    assert conv_memory_format(torch.empty(1, 3, 4, 5).to(memory_format=channels_last)) == channels_last
    assert conv_memory_format(torch.empty(2, 3, 4, 5)) == contiguous
    assert conv_memory_format(torch.empty(4, 1, 1, 1)) == contiguous
