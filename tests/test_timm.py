"""The presets in timm's registry, timm's pretrained_cfg and FeatureInfo semantics on the encoder."""

from __future__ import annotations

import copy

import pytest
import timm
import torch

from tsgl_encoder import TSGLEncoder, create_encoder, list_encoders


def outputs(encoder: TSGLEncoder, image: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        return encoder.eval()(image, mask)


@pytest.mark.parametrize("name", list_encoders())
def test_timm_create_model_builds_and_loads_what_create_encoder_and_from_pretrained_do(name, tmp_path, make_inputs):
    assert name in timm.list_models("tsgl*")
    image, mask = make_inputs(1, 64, 64)
    torch.manual_seed(0)
    from_timm = timm.create_model(name)
    torch.manual_seed(0)
    ours = create_encoder(name)
    assert type(from_timm) is TSGLEncoder and from_timm.config == ours.config
    assert all(torch.equal(a, b) for a, b in zip(outputs(from_timm, image, mask), outputs(ours, image, mask),
                                                  strict=True))

    torch.manual_seed(1)
    create_encoder(name).save_pretrained(tmp_path)
    reference = outputs(TSGLEncoder.from_pretrained(tmp_path), image, mask)
    for file in (tmp_path, tmp_path / "model.safetensors"):
        loaded = timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=str(file)))
        assert all(torch.equal(a, b) for a, b in zip(outputs(loaded, image, mask), reference, strict=True))


def test_pretrained_cfg_states_the_convention_license_and_source():
    cfg = timm.create_model("tsgl_tiny").pretrained_cfg
    assert cfg["mean"] == cfg["std"] == (0.5, 0.5, 0.5)  # (x - 0.5) / 0.5: [-1, 1]
    assert cfg["input_size"] == (3, 256, 256) and timm.create_model("tsgl_lama").pretrained_cfg["input_size"][1] == 512
    assert cfg["license"] == "apache-2.0" and "ConvInpaint-TSGL" in cfg["origin_url"]


def test_feature_info_has_timms_semantics():
    encoder = create_encoder("tsgl_tiny")
    info = encoder.feature_info
    assert info.channels() == list(encoder.out_channels) and info.reduction() == [2, 4, 8, 16, 32, 64]
    assert info.out_indices == (0, 1, 2, 3, 4, 5) and len(info) == 6 and info[0]["num_chs"] == 16
    for module in info.module_name():
        encoder.get_submodule(module)  # names real modules

    selected = timm.create_model("tsgl_tiny", features_only=True, out_indices=(1, -1))
    assert selected.out_indices == (1, 5) and selected.feature_info.channels() == [32, 128]
    assert selected.out_channels == (32, 128) and selected.reductions == (4, 64) and selected.size_divisor == 64
    torch.manual_seed(0)
    full = create_encoder("tsgl_tiny").eval()
    selected.load_state_dict(full.state_dict())
    image, mask = torch.rand(1, 3, 64, 64) * 2 - 1, torch.ones(1, 1, 64, 64)
    pyramid, picked = outputs(full, image, mask), outputs(selected, image, mask)
    assert len(picked) == 2 and torch.equal(picked[0], pyramid[1]) and torch.equal(picked[1], pyramid[5])


@pytest.mark.parametrize("out_indices", [(3, 1), (0, 6), (), (1.0,), 2])
def test_bad_out_indices_are_named(out_indices):
    with pytest.raises((ValueError, TypeError), match="out_indices"):
        create_encoder("tsgl_tiny", out_indices=out_indices)


def test_timm_arguments_the_encoder_cannot_honour_are_refused():
    with pytest.raises(ValueError, match=r"no published weights.*pretrained_cfg_overlay=dict\(file=PATH\)"):
        timm.create_model("tsgl_tiny", pretrained=True)
    with pytest.raises(ValueError, match=r"in_chans must be 3.*got 4"):
        timm.create_model("tsgl_tiny", in_chans=4)
    with pytest.raises(TypeError, match="unknown override"):
        timm.create_model("tsgl_tiny", nope=1)
    assert timm.create_model("tsgl_tiny", tau=50.0).config.tau == 50.0


def test_forward_intermediates_follows_timms_semantics(make_inputs):
    """Issue 30, item 2: forward_intermediates."""
    encoder = create_encoder("tsgl_tiny").eval()
    image, mask = make_inputs(2, 128, 128)
    calls = []
    encoder.balance.register_forward_hook(lambda *_: calls.append("balance"))
    with torch.no_grad():
        pyramid = encoder(image, mask)
        final, levels = encoder.forward_intermediates(image, mask)
        assert torch.equal(final, pyramid[-1]) and all(torch.equal(a, b) for a, b in zip(levels, pyramid, strict=True))
        last_two = encoder.forward_intermediates(torch.cat([image, mask], 1), indices=2, intermediates_only=True)
        assert [t.shape for t in last_two] == [p.shape for p in pyramid[-2:]]
        calls.clear()
        early = encoder.forward_intermediates(image, mask, indices=[0, -4], stop_early=True, intermediates_only=True)
        assert not calls  # the balanced deepest level (and the levels after 2) were not computed
        assert all(torch.allclose(a, pyramid[i], atol=1e-6) for a, i in zip(early, (0, 2), strict=True))
        _, nhwc = encoder.forward_intermediates(image, mask, indices=[5], output_fmt="NHWC", norm=True)
        assert torch.equal(nhwc[0].permute(0, 3, 1, 2), pyramid[5])
    for bad, words in (({"indices": 7}, r"in \[1, 6\]"), ({"indices": [6]}, r"in \[-6, 5\]"),
                       ({"output_fmt": "NLC"}, "output_fmt must be one of")):
        with pytest.raises(ValueError, match=words):
            encoder.forward_intermediates(image, mask, **bad)
    with pytest.raises(ValueError, match=r"cat\(image in \[-1, 1\], mask with 1 = known\)"):
        encoder.forward_intermediates(image)


def test_prune_intermediate_layers_keeps_what_the_asked_levels_need(make_inputs, tmp_path):
    """Issue 30, item 2: timm's prune_intermediate_layers removes the scales after the deepest level asked for."""
    original = create_encoder("tsgl_tiny").eval()
    encoder = copy.deepcopy(original)
    image, mask = make_inputs(2, 128, 128)
    full = outputs(encoder, image, mask)
    size = sum(p.numel() for p in encoder.parameters())
    assert encoder.prune_intermediate_layers([0, 2], prune_head=True, prune_norm=True) == [0, 2]
    assert encoder.balance is None and len(encoder.guidance) == 3 and len(encoder.texture.stages) == 2
    assert len(encoder.structure.stages) == 3 and sum(p.numel() for p in encoder.parameters()) < size
    assert encoder.out_indices == (0, 2) and encoder.reductions == (2, 8) and len(encoder.feature_info) == 3
    assert encoder.out_channels == (full[0].shape[1], full[2].shape[1]) and encoder.output_stride == 8
    pruned = outputs(encoder, image, mask)
    assert all(torch.allclose(a, full[i], atol=1e-6) for a, i in zip(pruned, (0, 2), strict=True))
    with torch.no_grad():
        assert [t.shape for t in encoder.forward_intermediates(image, mask, intermediates_only=True)] == \
            [t.shape for t in pruned]
    with pytest.raises(ValueError, match="was pruned"):
        encoder.save_pretrained(tmp_path / "pruned")

    keeps_balance = copy.deepcopy(original)
    assert keeps_balance.prune_intermediate_layers(1) == [5]  # timm's default: the last level, which reads all
    assert keeps_balance.balance is not None and not keeps_balance.pruned
    assert torch.equal(outputs(keeps_balance, image, mask)[0], full[5])
    with pytest.raises(ValueError, match=r"in \[-6, 5\]"):
        create_encoder("tsgl_tiny").prune_intermediate_layers([6])
