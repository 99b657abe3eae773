import pytest
import torch

from tsgl_encoder import TSGLEncoder, create_encoder, get_config, list_encoders


@pytest.mark.parametrize("name", ["tsgl_tiny", "tsgl_small", "tsgl_base"])
@pytest.mark.parametrize("size", [(256, 256), (512, 512), (256, 384)])
def test_pyramid_shapes_for_every_preset(name, size):
    torch.manual_seed(0)
    encoder = create_encoder(name).eval()
    height, width = size
    image = torch.rand(1, 3, height, width) * 2 - 1
    mask = torch.ones(1, 1, height, width)
    mask[..., height // 4 : height // 2, width // 3 : width // 2] = 0
    with torch.no_grad():
        pyramid = encoder(image, mask)
    assert len(pyramid) == len(encoder.out_channels) == len(encoder.reductions) == 6
    for feature, channels, reduction in zip(pyramid, encoder.out_channels, encoder.reductions, strict=True):
        assert feature.shape == (1, channels, height // reduction, width // reduction)
        assert torch.isfinite(feature).all()


def test_interface_attributes(tiny):
    assert tiny.reductions == (2, 4, 8, 16, 32, 64)
    assert tiny.size_divisor == 64 == tiny.output_stride
    assert tiny.depth == 6
    for info, channels, reduction in zip(tiny.feature_info, tiny.out_channels, tiny.reductions, strict=True):
        assert info["num_chs"] == channels and info["reduction"] == reduction
        tiny.get_submodule(info["module"])  # the module exists


def test_version_is_the_packages_and_has_a_changelog_line():
    from pathlib import Path

    import tsgl_encoder

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    root = Path(__file__).resolve().parents[1]
    assert tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"] == tsgl_encoder.__version__
    assert f"| {tsgl_encoder.__version__} |" in (root / "README.md").read_text()


def test_base_is_the_official_configuration():
    encoder = create_encoder("tsgl_base")
    assert sum(p.numel() for p in encoder.parameters()) == 38_042_744  # official encoder subset
    assert encoder.out_channels == (64, 128, 256, 512, 512, 512)
    assert encoder.texture.head.stem.conv.weight.shape[1] == 7  # image + smoothed image + mask


def test_small_presets_keep_every_mechanism():
    tiny, small, base = (create_encoder(n) for n in ("tsgl_tiny", "tsgl_small", "tsgl_base"))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(tiny) < 2_000_000 < count(small) < count(base)
    for encoder in (tiny, small):
        assert len(encoder.structure.stages) == len(encoder.guidance) == 5
        assert all(len(stage.blocks) >= 2 for stage in encoder.texture.stages)  # plain + shifted windows
        assert encoder.texture.stages[0].blocks[1].shift_size == encoder.config.window_size // 2


def test_registry_errors():
    assert list_encoders() == ["tsgl_base", "tsgl_lama", "tsgl_small", "tsgl_tiny"]
    with pytest.raises(ValueError, match="unknown encoder preset 'tsgl_huge'"):
        create_encoder("tsgl_huge")
    with pytest.raises(TypeError, match="texture_width"):
        create_encoder("tsgl_tiny", texture_width=3)
    with pytest.raises(ValueError, match="depths must have 4 entries"):
        create_encoder("tsgl_tiny", depths=(2, 2))
    assert get_config("tsgl_tiny", tau=10.0).tau == 10.0


def test_hole_invariance(tiny, make_inputs):
    image, mask = make_inputs(2, 128, 128)
    other = torch.where(mask.bool(), image, torch.rand_like(image) * 2 - 1)  # new hole content
    assert not torch.equal(image, other)
    with torch.no_grad():
        reference = tiny.forward_features(image, mask)
        changed = tiny.forward_features(other, mask)
    for a, b in zip(reference.pyramid + reference.structure, changed.pyramid + changed.structure, strict=True):
        assert torch.equal(a, b)


def test_hole_invariance_with_given_priors_and_smooth_input(make_inputs):
    torch.manual_seed(0)
    encoder = create_encoder("tsgl_tiny", smooth_input=True).eval()
    image, mask = make_inputs(1, 64, 128)
    edge, gray, smooth = torch.rand(1, 1, 64, 128), torch.rand(1, 1, 64, 128), torch.rand(1, 3, 64, 128)
    hole = ~mask.bool()
    with torch.no_grad():
        a = encoder(image, mask, edge=edge, gray=gray, smooth=smooth)
        b = encoder(
            image.masked_fill(hole, 0.7), mask, edge=edge.masked_fill(hole, 1.0),
            gray=gray.masked_fill(hole, 0.0), smooth=smooth.masked_fill(hole, -1.0),
        )
        auto_a = encoder(image, mask)  # computed priors and smoothing
        auto_b = encoder(image.masked_fill(hole, -0.3), mask)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(torch.equal(x, y) for x, y in zip(auto_a, auto_b, strict=True))


def test_outputs_depend_on_known_pixels(tiny, make_inputs):
    image, mask = make_inputs(1, 64, 64)
    with torch.no_grad():
        a = tiny(image, mask)
        b = tiny(image.flip(-1), mask)
    assert not torch.allclose(a[0], b[0])


def test_gradients_reach_every_parameter(make_inputs):
    torch.manual_seed(0)
    encoder = create_encoder("tsgl_tiny").train()
    image, mask = make_inputs(2, 64, 64)
    features = encoder.forward_features(image, mask)
    loss = sum(f.square().mean() for f in features.pyramid)
    loss.backward()
    dead = [n for n, p in encoder.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not dead


@pytest.mark.parametrize("fill", [0.0, 1.0])
def test_all_hole_and_no_hole_masks_are_finite(tiny, make_inputs, fill):
    image, _ = make_inputs(2, 64, 128)
    mask = torch.full((2, 1, 64, 128), fill)
    with torch.no_grad():
        features = tiny.forward_features(image, mask)
    assert all(torch.isfinite(f).all() for f in features.pyramid + features.texture)


def test_bool_and_float_masks_agree(tiny, make_inputs):
    image, mask = make_inputs(1, 64, 64)
    with torch.no_grad():
        a, b = tiny(image, mask), tiny(image, mask.bool())
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_batch_items_are_independent_in_eval(tiny, make_inputs):
    image, mask = make_inputs(3, 64, 64)
    with torch.no_grad():
        batched = tiny(image, mask)
        single = tiny(image[1:2], mask[1:2])
    for a, b in zip(batched, single, strict=True):
        torch.testing.assert_close(a[1:2], b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_gives_close_values(tiny, make_inputs, dtype):
    image, mask = make_inputs(1, 128, 128)
    with torch.no_grad():
        reference = tiny(image, mask)
        with torch.autocast("cpu", dtype=dtype):
            low = tiny(image, mask)
    for a, b in zip(reference, low, strict=True):
        assert a.shape == b.shape
        assert torch.isfinite(b).all()
        assert (a - b.float()).abs().mean() < 0.05 * a.abs().mean() + 1e-3


def test_channels_last_matches_contiguous(make_inputs):
    torch.manual_seed(0)
    encoder = create_encoder("tsgl_tiny").eval()
    image, mask = make_inputs(1, 64, 128)
    with torch.no_grad():
        reference = encoder(image, mask)
        encoder = encoder.to(memory_format=torch.channels_last)
        out = encoder(image.to(memory_format=torch.channels_last), mask.to(memory_format=torch.channels_last))
    for a, b in zip(reference, out, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_forward_features_exposes_structure_for_supervision(tiny, make_inputs):
    image, mask = make_inputs(2, 64, 64)
    with torch.no_grad():
        out = tiny.forward_features(image, mask)
    assert [s.shape[1] for s in out.structure] == list(tiny.config.structure_channels)
    assert [t.shape[1] for t in out.texture] == [tiny.config.texture_dim] * 5
    assert out.structure_mask.shape == (2, 1, 2, 2)
    assert out.priors.shape == (2, 2, 64, 64)
    assert torch.equal(out.priors * (1 - mask), torch.zeros_like(out.priors))


def test_state_dict_round_trip(make_inputs):
    torch.manual_seed(0)
    a = create_encoder("tsgl_tiny").eval()
    torch.manual_seed(1)
    b = create_encoder("tsgl_tiny").eval()
    image, mask = make_inputs(1, 64, 64)
    b.load_state_dict(a.state_dict(), strict=True)
    with torch.no_grad():
        assert all(torch.equal(x, y) for x, y in zip(a(image, mask), b(image, mask), strict=True))


def test_default_constructor_is_base():
    assert TSGLEncoder().config == get_config("tsgl_base")


def test_torch_export_matches_eager(tiny, make_inputs):
    image, mask = make_inputs(1, 64, 128)
    exported = torch.export.export(tiny, (image, mask))
    with torch.no_grad():
        eager = tiny(image, mask)
    other_image, other_mask = make_inputs(1, 64, 128, seed=5)
    for a, b in zip(eager, exported.module()(image, mask), strict=True):
        torch.testing.assert_close(a, b)
    with torch.no_grad():
        for a, b in zip(tiny(other_image, other_mask), exported.module()(other_image, other_mask), strict=True):
            torch.testing.assert_close(a, b)


def test_conv_variant_is_hole_invariant_and_fully_trained(make_inputs):
    """The conv-only block type (tsgl_lama's) keeps the two properties of the attention one."""
    torch.manual_seed(0)
    encoder = create_encoder(
        "tsgl_tiny", structure_layer="conv", structure_stem=8, structure_kernels=(3,) * 5, texture_block="conv",
        texture_stem_kernel=7, guidance_identity=True, residual_resize="nearest",
        structure_channels=(16, 32, 64, 96, 32), deepest_split=(8, 24), pyramid_channels=None,
    )
    image, mask = make_inputs(2, 64, 64)
    other = torch.where(mask.bool(), image, torch.rand_like(image))
    encoder.eval()
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(encoder(image, mask), encoder(other, mask), strict=True))
    encoder.train()
    sum(f.square().mean() for f in encoder(image, mask)).backward()
    assert not [n for n, p in encoder.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
