import hashlib

import pytest
import torch
from torch import nn

from adapters.lama import TSGLBottleneckStem, create_generator, list_generators, replace_encoder
from tsgl_encoder import create_encoder, get_config
from tsgl_encoder.bench.masks import brush_stroke_mask

# sha256 of "key<TAB>shape" lines of upstream's state_dict (advimman/lama, built from its configs and
# run locally): equal fingerprints mean equal module names and parameter shapes, so upstream
# checkpoints load with strict=True.
UPSTREAM_FINGERPRINTS = {"lama_fourier": (521, "96c29033864fe712"), "big_lama": (989, "222c67d6ac32867f")}


def fingerprint(state_dict) -> str:
    lines = "\n".join(f"{k}\t{tuple(v.shape)}" for k, v in state_dict.items())
    return hashlib.sha256(lines.encode()).hexdigest()[:16]


def small_lama(**overrides) -> nn.Module:
    torch.manual_seed(0)
    return create_generator("lama_fourier", **{"ngf": 16, "n_blocks": 2, **overrides})


def lama_input(image01: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    return torch.cat([image01 * (1 - hole), hole], dim=1)


def inputs(batch=2, height=64, width=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, height, width, generator=gen)
    hole = 1 - torch.stack([brush_stroke_mask(height, width, seed + b) for b in range(batch)])
    return image, hole


@pytest.mark.parametrize(("name", "params"), [("lama_fourier", 27_048_835), ("big_lama", 50_975_875)])
def test_presets_match_upstream(name, params):
    model = create_generator(name)
    assert sum(p.numel() for p in model.parameters()) == params
    assert (len(model.state_dict()), fingerprint(model.state_dict())) == UPSTREAM_FINGERPRINTS[name]


def test_unknown_preset():
    assert {"lama_fourier", "big_lama"} <= set(list_generators())
    with pytest.raises(ValueError, match="unknown LaMa generator 'lama_huge'"):
        create_generator("lama_huge")


def test_strict_load_of_a_built_state_dict_gives_the_same_output():
    source = small_lama().eval()
    with torch.no_grad():
        for module in source.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    torch.manual_seed(1)
    target = create_generator("lama_fourier", ngf=16, n_blocks=2).eval()
    target.load_state_dict(source.state_dict(), strict=True)
    x = lama_input(*inputs())
    with torch.no_grad():
        assert torch.equal(source(x), target(x))


@pytest.mark.parametrize("swap", [False, True])
def test_shape_range_and_hole_invariance(swap):
    model = small_lama()
    if swap:
        replace_encoder(model)
    model.eval()
    image, hole = inputs(2, 64, 96)
    other = torch.where(hole.bool(), torch.rand_like(image), image)
    with torch.no_grad():
        out = model(lama_input(image, hole))
        assert torch.equal(out, model(lama_input(other, hole)))
    assert out.shape == image.shape
    assert 0 <= out.min() and out.max() <= 1


def test_tsgl_stem_ignores_hole_pixels_even_if_the_caller_forgot_to_mask():
    model = replace_encoder(small_lama()).eval()
    image, hole = inputs(1, 64, 64)
    other = torch.where(hole.bool(), torch.rand_like(image), image)
    with torch.no_grad():
        assert torch.equal(model(torch.cat([image, hole], 1)), model(torch.cat([other, hole], 1)))


def test_swap_keeps_indices_blocks_and_decoder():
    model = small_lama()
    kept = {k: v.clone() for k, v in model.state_dict().items() if int(k.split(".")[1]) >= 5}
    replace_encoder(model)
    assert isinstance(model.model[0], TSGLBottleneckStem)
    assert all(isinstance(model.model[i], nn.Identity) for i in range(1, 5))
    assert type(model.model[5]).__name__ == "FFCResnetBlock"
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in kept.items())
    assert all(k.startswith("model.0.") for k in set(state) - set(kept))


def test_checkpoints_of_the_kept_blocks_load_into_the_swapped_model():
    trained = small_lama()
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(1.0)
    swapped = replace_encoder(small_lama())
    blocks = {k: v for k, v in trained.state_dict().items() if int(k.split(".")[1]) >= 5}
    result = swapped.load_state_dict(blocks, strict=False)
    assert not result.unexpected_keys
    assert all(k.startswith("model.0.") for k in result.missing_keys)
    assert torch.equal(swapped.model[5].conv1.ffc.convl2l.weight, trained.model[5].conv1.ffc.convl2l.weight)


def test_gradients_reach_tsgl_and_kept_blocks():
    model = replace_encoder(small_lama()).train()
    image, hole = inputs(2, 64, 64)
    out = model(lama_input(image, hole))
    (out - image).abs().mean().backward()
    stem = model.model[0]
    dead = [n for n, p in stem.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not dead
    assert model.model[5].conv1.ffc.convg2g.fu.conv_layer.weight.grad.abs().sum() > 0
    assert model.model[-2].weight.grad.abs().sum() > 0


def test_default_encoder_is_cut_to_the_bottleneck():
    stem = replace_encoder(small_lama()).model[0]
    assert stem.encoder.reductions[-1] == 8 and stem.level == len(stem.encoder.reductions) - 1
    assert stem.encoder.config == get_config("tsgl_tiny").with_scales(2)
    wide = replace_encoder(create_generator("lama_fourier", n_blocks=1)).model[0]
    assert wide.encoder.config == get_config("tsgl_base").with_scales(2)


def test_any_encoder_with_a_level_at_one_eighth_works():
    model = replace_encoder(small_lama(), encoder=create_encoder("tsgl_tiny")).eval()
    with torch.no_grad():
        assert model(lama_input(*inputs(1, 64, 64))).shape == (1, 3, 64, 64)
    with pytest.raises(ValueError, match="no pyramid level at reduction 8"):
        replace_encoder(small_lama(), encoder=create_encoder("tsgl_tiny", **_one_scale()))


def _one_scale():
    config = get_config("tsgl_tiny").with_scales(1)
    return {f: getattr(config, f) for f in ("structure_channels", "structure_kernels", "depths", "shift_windows",
                                            "mask_aware_stages", "pyramid_channels")}


def test_wrong_models_raise_type_error():
    with pytest.raises(TypeError, match="expects a LaMa FFCResNetGenerator"):
        replace_encoder(nn.Linear(3, 3))
    with pytest.raises(TypeError, match=r"model.model\[0:2\] must be ReflectionPad2d"):
        fake = nn.Module()
        fake.model = nn.Sequential(*[nn.Conv2d(4, 4, 3) for _ in range(8)])
        replace_encoder(fake)
    swapped = replace_encoder(small_lama())
    with pytest.raises(TypeError, match="already has a TSGL encoder"):
        replace_encoder(swapped)
    with pytest.raises(TypeError, match="encoder must be a TSGLEncoder"):
        replace_encoder(small_lama(), encoder=nn.Conv2d(3, 3, 1))


@pytest.mark.parametrize("size", [(512, 512), (192, 320), (72, 104)])
def test_large_and_non_square_inputs(size):
    model = replace_encoder(small_lama(n_blocks=1)).eval()
    height, width = size
    image, hole = inputs(1, height, width)
    with torch.no_grad():
        out = model(lama_input(image, hole))
    assert out.shape == (1, 3, height, width)  # sizes not divisible by 64 are padded inside the stem


def test_trace_and_export_of_the_swapped_model():
    model = replace_encoder(small_lama(n_blocks=1)).eval()
    x = lama_input(*inputs(1, 64, 64))
    other = lama_input(*inputs(1, 64, 64, seed=3))
    with torch.no_grad():
        eager = model(other)
        exported = torch.export.export(model, (x,))
        torch.testing.assert_close(exported.module()(other), eager)


def test_tsgl_lama_512_matches_the_official_parameter_counts():
    model = create_generator("tsgl_lama_512")
    # counted from the official TSGL_Lama code: 38,609,348 in all, of which the encoder 26,326,080,
    # the 9 FFC blocks 5,991,552, the decoder 2,150,403 and the auxiliary edge head 4,141,313
    assert sum(p.numel() for p in model.parameters()) == 38_609_348
    from adapters.lama import parameters_by_part

    assert parameters_by_part(model) == {"encoder": 26_326_080, "bottleneck": 5_991_552, "decoder": 2_150_403}
    assert sum(p.numel() for p in model.edge_head.parameters()) == 4_141_313
    encoder = model.model[0].encoder
    assert encoder.config == get_config("tsgl_lama") and type(encoder).__name__ == "TSGLEncoder"
    assert model.model[0].to_bottleneck is None  # the deepest map enters the FFC blocks as it is


def test_tsgl_lama_512_runs_and_predicts_edges():
    torch.manual_seed(0)
    model = create_generator("tsgl_lama_512", n_blocks=1, edge_blocks=1).eval()
    image, hole = inputs(1, 64, 96)
    x = lama_input(image, hole)
    with torch.no_grad():
        out, edge = model.forward_with_edges(x)
        assert torch.equal(out, model(x))
        other = lama_input(torch.where(hole.bool(), torch.rand_like(image), image), hole)
        assert torch.equal(model(other), out)
    assert out.shape == (1, 3, 64, 96) and edge.shape == (1, 1, 64, 96)
    assert 0 <= edge.min() and edge.max() <= 1


def test_conv_only_encoder_keeps_the_interface():
    encoder = create_encoder("tsgl_lama").eval()
    assert encoder.out_channels == (256,) * 5 and encoder.reductions == (2, 4, 8, 16, 32)
    assert encoder.size_divisor == 32
    assert all(info["module"].startswith("guidance.") for info in encoder.feature_info)
    assert type(encoder.guidance[-1]).__name__ == "SplitGuidanceBlock" and encoder.guidance[-1].groups == (64, 192)


# ------------------------------------------------------------------ LaMa's adversarial loss
def test_lama_adversary_is_lamas_non_saturating_r1_with_mask_as_fake_target():
    import torch.nn.functional as F

    from tsgl_encoder.bench.hosts import LAMA_LOSSES, LamaAdversary, LamaHost
    from tsgl_encoder.bench.losses import r1_penalty
    from tsgl_encoder.bench.training import LossWeights, PatchGANAdversary, Prediction, frozen

    torch.manual_seed(0)
    adversary = LamaAdversary(LAMA_LOSSES, width=8).eval()  # eval: BatchNorm gives the same logits twice
    image = torch.rand(2, 3, 64, 64) * 2 - 1
    mask = 1 - brush_stroke_mask(64, 64, seed=3).expand(2, 1, 64, 64)
    output = (torch.rand(2, 3, 64, 64) * 2 - 1).requires_grad_(True)
    batch = {"image": image, "mask": mask}
    d_loss = adversary(batch, Prediction(output).detach())

    real = image.clone().requires_grad_(True)
    real_logits, _ = adversary.network(real)
    fake_logits, _ = adversary.network(output.detach())
    hole = F.interpolate(1 - mask, size=fake_logits.shape[-2:], mode="nearest")
    assert 0 < hole.mean() < 1  # both targets occur
    expected = (F.softplus(-real_logits).mean() + 0.001 * r1_penalty(real_logits, real)
                + (hole * F.softplus(fake_logits) + (1 - hole) * F.softplus(-fake_logits)).mean())
    torch.testing.assert_close(d_loss, expected)

    with frozen(adversary):
        terms = adversary.generator_terms(batch, Prediction(output))
    fake_logits, fake_features = adversary.network(output)
    _, real_features = adversary.network(image)
    torch.testing.assert_close(terms["adversarial"], 10 * F.softplus(-fake_logits).mean())
    matching = torch.stack([F.mse_loss(f, r) for f, r in zip(fake_features, real_features, strict=True)]).mean()
    torch.testing.assert_close(terms["feature_matching"], 100 * matching)
    sum(terms.values()).backward()
    assert output.grad is not None and all(p.grad is None for p in adversary.parameters())
    assert len(real_features) == 5  # pix2pixHD NLayerDiscriminator(n_layers=4): its 5 inner activations

    assert isinstance(LamaHost().build_adversary(LAMA_LOSSES, 8), LamaAdversary)
    hinge = LossWeights(adversarial="hinge")
    assert isinstance(LamaHost(adversary="patchgan").build_adversary(hinge, 8), PatchGANAdversary)
    with pytest.raises(ValueError, match="must be 'nsgan', got 'hinge'"):
        LamaHost().build_adversary(hinge, 8)
    with pytest.raises(ValueError, match="adversary must be one of"):
        LamaHost(adversary="stylegan")


def test_lama_host_trains_with_all_of_lamas_losses(tmp_path):
    from tsgl_encoder.bench.data import embedded_dataset
    from tsgl_encoder.bench.hosts import LAMA_LOSSES, LamaHost
    from tsgl_encoder.bench.masks import create_mask_generator
    from tsgl_encoder.bench.resnet_pl import DilatedResNet50
    from tsgl_encoder.bench.training import TrainConfig, train

    torch.manual_seed(0)
    weights = tmp_path / "encoder_epoch_20.pth"
    torch.save(DilatedResNet50().state_dict(), weights)
    train_set, _ = embedded_dataset(64, create_mask_generator("lama_medium"), None)
    config = TrainConfig(steps=1, batch_size=2, checkpoint_every=1, discriminator_width=8, log_every=1,
                         resnet_pl_weights=str(weights))
    trainer = train(LamaHost(overrides={"ngf": 8, "n_blocks": 1}), "tsgl", train_set, config, tmp_path / "run",
                    losses=LAMA_LOSSES, progress=False)
    record = trainer.history[-1]
    assert {"l1", "resnet_pl", "adversarial", "feature_matching", "edge"} <= set(record) and record["resnet_pl"] > 0
    with pytest.raises(ValueError, match=r"resnet_pl > 0 needs TrainConfig\.resnet_pl_weights"):
        train(LamaHost(overrides={"ngf": 8, "n_blocks": 1}), "own", train_set, TrainConfig(steps=1, batch_size=2),
              tmp_path / "run2", losses=LAMA_LOSSES, progress=False)


def test_swapped_in_encoder_follows_the_models_mode():
    for training in (False, True):
        model = create_generator("lama_fourier", ngf=8, n_blocks=1).train(training)
        replace_encoder(model)
        assert {m.training for m in model.modules()} == {training}
