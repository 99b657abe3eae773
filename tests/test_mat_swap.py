"""adapters.mat.replace_encoder: the TSGL encoder in place of MAT's first-stage encoder."""

import pytest
import torch
from torch import nn

from adapters.mat import create_generator
from adapters.mat.first_stage import encode
from adapters.mat.swap import TSGLFirstStageEncoder, default_encoder, parameters_by_part, replace_encoder
from tsgl_encoder import TSGLEncoder, create_encoder, get_config

# narrow MATs with every code path (first stage 12 wide, second stage capped at 16 channels) for CPU tests
TINY = {"z_dim": 32, "w_dim": 32, "synthesis_kwargs": {"first_stage_dim": 12, "channel_max": 16}}


def tiny_mat(resolution: int = 128, training: bool = False) -> nn.Module:
    torch.manual_seed(0)
    return create_generator("mat_256", img_resolution=resolution, **TINY).train(training)


def tiny_tsgl(resolution: int) -> TSGLEncoder:
    down_time = {128: 1, 256: 2, 512: 3}[resolution]
    return TSGLEncoder(get_config("tsgl_tiny").with_scales(down_time))


def swapped(resolution: int = 128, training: bool = False) -> nn.Module:
    return replace_encoder(tiny_mat(resolution, training), tiny_tsgl(resolution))


def inputs(size: int, batch: int = 2, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
    mask = torch.ones(batch, 1, size, size)
    mask[..., size // 5 : size // 2, size // 4 : size - size // 6] = 0
    return image, mask, torch.randn(batch, 32, generator=gen)


def run(model, *args, seed=0, **kwargs):
    torch.manual_seed(seed)  # MAT's bottleneck dropout maps and 'random' noise draw from torch's generator
    with torch.no_grad():
        return model(*args, **kwargs)


@pytest.mark.parametrize("name, encoder, total", [("mat_256", 8_023_400, 64_710_474),
                                                   ("mat_512", 14_267_944, 72_445_922)])
def test_default_swap_of_the_presets(name, encoder, total):
    model = replace_encoder(create_generator(name))
    parts = parameters_by_part(model)
    assert parts["encoder"] == encoder and sum(p.numel() for p in model.parameters()) == total == sum(parts.values())
    stage = model.synthesis.first_stage
    assert not hasattr(stage, "conv_first") and not hasattr(stage, "enc_conv")
    assert isinstance(stage.tran[0], nn.Identity) and isinstance(stage.tran[1], nn.Identity)
    assert next(k for k in model.state_dict() if k.startswith("synthesis.first_stage.tran.")).startswith(
        "synthesis.first_stage.tran.2.")  # the kept stages keep their checkpoint keys


@pytest.mark.parametrize("resolution", [128, 256, 512])
def test_swap_returns_what_the_decoder_reads(resolution):
    original, model = tiny_mat(resolution), swapped(resolution)
    image, mask, _ = inputs(resolution, batch=1)
    with torch.no_grad():
        x, size, skips = encode(original.synthesis.first_stage, image, mask)
        x_tsgl, size_tsgl, skips_tsgl = model.synthesis.first_stage.tsgl_encoder(image, mask)
    assert x_tsgl.shape == x.shape and size_tsgl == size
    assert [s.shape for s in skips_tsgl] == [s.shape for s in skips]


@pytest.mark.parametrize("resolution", [256, 512])
def test_output_shape_range_compositing_and_hole_pixels(resolution):
    model = swapped(resolution)
    image, mask, z = inputs(resolution)
    out, stage1 = run(model, image, mask, z, None, return_stg1=True)
    assert out.shape == image.shape and stage1.shape == image.shape and torch.isfinite(out).all()
    assert torch.equal(out * mask, image * mask) and torch.equal(stage1 * mask, image * mask)  # composited
    changed = torch.where(mask.bool(), image, torch.full_like(image, 5.0))  # only hole pixels change
    assert torch.equal(run(model, changed, mask, z, None), out)


def test_fixed_z_and_seeds_are_deterministic():
    model = swapped()
    image, mask, z = inputs(128)
    for noise_mode in ("const", "random", "none"):
        a, b = (run(model, image, mask, z, None, noise_mode=noise_mode, seed=3) for _ in range(2))
        assert torch.equal(a, b)
    assert not torch.equal(run(model, image, mask, z, None, seed=3), run(model, image, mask, z, None, seed=4))
    assert not torch.equal(run(model, image, mask, z, None, seed=3), run(model, image, mask, z.flip(0), None, seed=3))


def test_gradients_reach_tsgl_and_the_kept_parts():
    model = swapped(training=True)
    image, mask, z = inputs(128)
    torch.manual_seed(0)
    out, stage1 = model(image, mask, z, None, return_stg1=True)
    (out.square().mean() + stage1.square().mean()).backward()
    stage = model.synthesis.first_stage
    for part in (stage.tsgl_encoder, stage.tran[2], stage.dec_conv, model.synthesis.dec):
        grads = [p.grad for p in part.parameters() if p.requires_grad]
        assert grads and all(g is not None for g in grads)
    assert any(g.abs().sum() > 0 for g in (p.grad for p in stage.tsgl_encoder.encoder.parameters()))


def test_swapped_in_encoder_follows_the_models_mode():
    for training in (False, True):
        stage = swapped(training=training).synthesis.first_stage
        assert {m.training for m in stage.modules()} == {training}


def test_default_encoder_is_cut_to_the_token_levels():
    encoder = default_encoder(2)
    assert encoder.reductions == (2, 4, 8) and encoder.config.texture_dim == 180
    bridged = TSGLFirstStageEncoder(encoder, 2, 180)
    assert len(bridged.conv_skips) == 1 and len(bridged.token_skips) == 2


def test_refusals():
    with pytest.raises(TypeError, match="expects a MAT Generator"):
        replace_encoder(nn.Conv2d(3, 3, 1))
    with pytest.raises(TypeError, match="encoder must be a TSGLEncoder"):
        replace_encoder(tiny_mat(), nn.Conv2d(3, 3, 1))
    model = swapped()
    with pytest.raises(TypeError, match="already has a TSGL encoder"):
        replace_encoder(model)
    with pytest.raises(ValueError, match=r"needs pyramid levels at reductions \[2, 4, 8\].*lacks \[8\]"):
        replace_encoder(tiny_mat(256), tiny_tsgl(128))
    broken = tiny_mat()
    del broken.synthesis.first_stage.dec_conv
    with pytest.raises(TypeError, match=r"lacks \['dec_conv'\]"):
        replace_encoder(broken, create_encoder("tsgl_tiny"))


# ------------------------------------------------------------------ the benchmark host
TINY_HOST = {"overrides": {"img_resolution": 128, **TINY}, "discriminator_overrides": {"channel_max": 16},
             "encoder": "tsgl_tiny"}


def test_mat_adversary_is_mats_two_stage_non_saturating_loss_with_r1():
    import torch.nn.functional as F

    from adapters.mat import create_discriminator
    from tsgl_encoder.bench.hosts import MAT_LOSSES, MATAdversary
    from tsgl_encoder.bench.losses import r1_penalty
    from tsgl_encoder.bench.training import Prediction, frozen

    torch.manual_seed(0)
    adversary = MATAdversary(MAT_LOSSES, create_discriminator("mat_256", img_resolution=128, channel_max=16))
    image, mask, _ = inputs(128)
    output, stage1 = ((torch.rand(2, 3, 128, 128) * 2 - 1).requires_grad_(True) for _ in range(2))
    batch = {"image": image, "mask": mask}
    prediction = Prediction(output, extras={"stage1": stage1})
    d_loss = adversary(batch, prediction.detach())
    network = adversary.network
    fake, fake1 = network(output.detach(), mask, stage1.detach())
    real, real1 = image.clone().requires_grad_(True), image.clone().requires_grad_(True)
    logits, logits1 = network(real, mask, real1)
    expected = (F.softplus(fake).mean() + F.softplus(fake1).mean() + F.softplus(-logits).mean()
                + F.softplus(-logits1).mean() + 5.0 * (r1_penalty(logits, real) + r1_penalty(logits1, real1)))
    torch.testing.assert_close(d_loss, expected)
    with frozen(adversary):
        terms = adversary.generator_terms(batch, prediction)
    torch.testing.assert_close(terms["adversarial"], F.softplus(-fake).mean() + F.softplus(-fake1).mean())
    terms["adversarial"].backward()
    assert output.grad is not None and stage1.grad is not None
    assert all(p.grad is None for p in adversary.parameters())


@pytest.mark.parametrize("variant", ["own", "tsgl"])
def test_mat_host_trains_with_its_native_losses(tmp_path, variant):
    from torchvision.models import vgg19

    from tsgl_encoder.bench.data import embedded_dataset
    from tsgl_encoder.bench.hosts import MAT_LOSSES, MATHost
    from tsgl_encoder.bench.masks import create_mask_generator
    from tsgl_encoder.bench.training import TrainConfig, train

    torch.manual_seed(0)
    vgg = tmp_path / "vgg19.pth"
    torch.save(vgg19(weights=None).state_dict(), vgg)
    train_set, val_set = embedded_dataset(128, create_mask_generator("mat_large"), None)
    host = MATHost(**TINY_HOST)
    config = TrainConfig(steps=1, batch_size=2, checkpoint_every=1, log_every=1, perceptual_weights=str(vgg))
    trainer = train(host, variant, train_set, config, tmp_path / "run", losses=MAT_LOSSES, progress=False)
    record = trainer.history[-1]
    assert {"perceptual", "adversarial"} <= set(record) and record["d"] > 0
    assert hasattr(trainer.model.synthesis.first_stage, "tsgl_encoder") == (variant == "tsgl")
    model = trainer.model.eval()
    image, mask = torch.stack([val_set[i]["image"] for i in range(2)]), inputs(128)[1]
    state = torch.get_rng_state()
    with torch.no_grad():
        a, b = host.predict(model, image, mask), host.predict(model, image, mask)
    assert torch.equal(a.output, b.output) and torch.equal(torch.get_rng_state(), state)  # fixed draws, RNG kept


def test_mat_host_trains_at_its_resolution_only():
    from tsgl_encoder.bench.hosts import MATHost

    host = MATHost(**TINY_HOST)
    assert host.size_problem(128) is None
    assert host.size_problem(256) == "trains at its img_resolution only (128)"
