"""Issue 30, item 1: TSGL's presets as segmentation_models_pytorch encoders, and the smp_unet host."""

from __future__ import annotations

import pytest
import torch

smp = pytest.importorskip("segmentation_models_pytorch")
import adapters.smp as smp_adapter  # noqa: E402  (registers the presets)
from tsgl_encoder import create_encoder  # noqa: E402
from tsgl_encoder.bench.hosts import create_host  # noqa: E402


def unet(preset: str, depth: int) -> torch.nn.Module:
    return smp.Unet(preset, encoder_weights=None, encoder_depth=depth, in_channels=4, classes=3,
                    decoder_channels=smp_adapter.DECODER_CHANNELS[:depth])


def inpainting_input(batch: int, height: int, width: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, height, width, generator=generator) * 2 - 1
    mask = torch.ones(batch, 1, height, width)
    mask[..., height // 4: height // 2, width // 3: 2 * width // 3] = 0
    return image, mask


@pytest.mark.parametrize("preset", smp_adapter.SMP_PRESETS)
def test_each_preset_builds_smp_unets_of_depth_3_to_6_under_smps_contract(preset):
    torch.manual_seed(0)
    for depth in smp_adapter.DEPTHS:
        model = unet(preset, depth).eval()
        encoder = model.encoder
        assert encoder.out_channels[0] == 4 and len(encoder.out_channels) == depth + 1
        assert encoder.output_stride == 2**depth
        assert encoder.tsgl.config == create_encoder(preset).config.with_scales(depth - 1)  # the first levels
        if preset == "tsgl_base" and depth < 6:  # forwards below: the small presets at every depth, base at 6
            continue
        for height, width in ((128, 128), (192, 128)):
            image, mask = inpainting_input(1, height, width)
            x = torch.cat([image, mask], 1)
            with torch.no_grad():
                levels, output = encoder(x), model(x)
            assert [level.shape[1] for level in levels] == encoder.out_channels
            assert [level.shape[-1] for level in levels] == [width // 2**i for i in range(depth + 1)]
            assert torch.equal(levels[0], torch.cat([image * mask, mask], 1))  # the identity level, hole zeroed
            assert output.shape == (1, 3, height, width)


def test_a_gradient_step_trains_encoder_and_decoder_and_the_output_ignores_the_hole():
    torch.manual_seed(0)
    model = unet("tsgl_tiny", 5)
    image, mask = inpainting_input(2, 64, 64)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = (model(torch.cat([image, mask], 1)) - image).abs().mean()
    loss.backward()
    for part in (model.encoder.tsgl.structure, model.encoder.tsgl.texture, model.decoder):
        grads = [p.grad for p in part.parameters() if p.requires_grad]
        assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)
    optimizer.step()
    assert (model(torch.cat([image, mask], 1)) - image).abs().mean() < loss  # the step lowered the loss

    model.eval()
    other = torch.where(mask.bool(), image, torch.rand_like(image) * 2 - 1)  # new pixels in the hole only
    with torch.no_grad():
        first, second = model(torch.cat([image, mask], 1)), model(torch.cat([other, mask], 1))
    assert torch.equal(first, second)


def test_bad_inputs_and_options_are_named():
    model = unet("tsgl_tiny", 5).eval()
    image, _ = inpainting_input(1, 64, 64)
    with pytest.raises(ValueError, match=r"x must be cat\(image in \[-1, 1\], mask with 1 = known\) of shape "
                                         r"\(B, 4, H, W\), got \(1, 3, 64, 64\)"):
        model.encoder(image)
    with pytest.raises(ValueError, match=r"x height and width must be multiples of 2\*\*depth=32, got 64x80"):
        model.encoder(torch.cat(inpainting_input(1, 64, 80), 1))
    with pytest.raises(ValueError, match="in_channels must be 4 for a TSGL encoder"):
        smp.Unet("tsgl_tiny", encoder_weights=None, in_channels=3, classes=3)
    with pytest.raises(ValueError, match=r"no weights to download \(encoder_weights='imagenet'\)"):
        smp.Unet("tsgl_tiny", in_channels=4, classes=3)
    with pytest.raises(ValueError, match="no dilated form"):
        smp.DeepLabV3Plus("tsgl_tiny", encoder_weights=None, in_channels=4, classes=3, encoder_output_stride=16)
    with pytest.raises(ValueError, match=r"depth must be in \[3, 6\]"):
        unet("tsgl_tiny", 2)
    with pytest.raises(ValueError, match="preset must be one of"):
        smp_adapter.TSGLSmpEncoder("tsgl_lama")


def test_other_smp_decoders_read_the_tsgl_pyramid():
    torch.manual_seed(0)
    x = torch.cat(inpainting_input(1, 128, 128), 1)
    for architecture in (smp.FPN, smp.UnetPlusPlus, smp.Linknet, smp.MAnet):  # DeepLabV3(+) and PAN need dilation
        model = architecture("tsgl_tiny", encoder_weights=None, in_channels=4, classes=3).eval()
        with torch.no_grad():
            assert model(x).shape == (1, 3, 128, 128), architecture.__name__


def test_weights_load_from_a_local_file_only(tmp_path):
    torch.manual_seed(0)
    full = create_encoder("tsgl_tiny")
    full.save_pretrained(tmp_path / "tiny")
    deepest = smp_adapter.TSGLSmpEncoder("tsgl_tiny", depth=6).load_pretrained(tmp_path / "tiny")
    assert all(torch.equal(a, b) for a, b in zip(deepest.tsgl.state_dict().values(), full.state_dict().values(),
                                                 strict=True))
    shallow = smp_adapter.TSGLSmpEncoder("tsgl_tiny", depth=4)
    with pytest.warns(UserWarning, match="balance keep their initial values"):
        shallow.load_pretrained(tmp_path / "tiny")
    loaded = full.state_dict()
    for key, value in shallow.tsgl.state_dict().items():
        assert key.startswith("balance.") or torch.equal(value, loaded[key]), key
    with pytest.raises(FileNotFoundError, match="local weights only"):
        shallow.load_pretrained(tmp_path / "user/model")
    small = create_encoder("tsgl_small")
    small.save_pretrained(tmp_path / "small")
    with pytest.raises(ValueError, match="holds another encoder than 'tsgl_tiny'"):
        shallow.load_pretrained(tmp_path / "small")


def test_smp_unet_host_builds_every_variant_and_keeps_the_decoder_in_the_swap():
    host = create_host("smp_unet")
    own = host.build("own")
    decoder = {k: v.clone() for k, v in own.decoder.state_dict().items()}
    swapped = host.swap_encoder(own)
    assert smp_adapter.is_tsgl(swapped) and swapped.encoder.out_channels == [4, 64, 64, 128, 256, 512]
    assert all(torch.equal(v, swapped.decoder.state_dict()[k]) for k, v in decoder.items())
    image, mask = inpainting_input(2, 64, 64)
    for variant in ("own", "tsgl", "own_edge", "tsgl_no_edge"):
        model = host.build(variant).eval()
        with torch.no_grad():
            prediction = host.predict(model, image, mask)
            hole_changed = host.predict(model, torch.where(mask.bool(), image, -image), mask)
        assert prediction.output.shape == (2, 3, 64, 64)
        assert (prediction.edge is not None) == (variant in ("tsgl", "own_edge"))
        assert torch.equal(prediction.output, hole_changed.output), variant  # both encoders read the hole zeroed
    assert "not larger than its own" in host.variant_problem("own_wide")  # tsgl_tiny (1 M) vs ResNet-34 (21 M)
    wide = create_host("smp_unet", encoder="tsgl_base")
    with torch.device("meta"):
        counts = [wide.parameter_counts(wide.build(v))["generator"] for v in ("own_wide", "tsgl")]
    assert abs(counts[0] - counts[1]) / counts[1] < 0.01


def test_a_host_whose_package_is_missing_is_left_out_of_a_preset_or_named_in_an_error(monkeypatch, capsys):
    """Without segmentation_models_pytorch, smp_unet is left out of a preset's default hosts with a note, and named
    on the command line it is an error that says what to install (tests/test_training.py trains it in smoke)."""
    from tsgl_encoder.bench.benchmark.presets import PRESETS
    from tsgl_encoder.bench.benchmark.run import BenchmarkConfig, host_settings
    from tsgl_encoder.bench.hosts import SmpUnetHost

    assert "smp_unet" in host_settings(PRESETS["smoke"], BenchmarkConfig(preset="smoke"))
    monkeypatch.setattr(SmpUnetHost, "requirement_problem", lambda self: "needs segmentation_models_pytorch")
    assert "smp_unet" not in host_settings(PRESETS["smoke"], BenchmarkConfig(preset="smoke"))
    assert "left out host 'smp_unet': it needs segmentation_models_pytorch" in capsys.readouterr().out
    with pytest.raises(ValueError, match="host 'smp_unet' needs segmentation_models_pytorch"):
        host_settings(PRESETS["smoke"], BenchmarkConfig(preset="smoke", hosts=("smp_unet",)))
