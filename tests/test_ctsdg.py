import hashlib

import pytest
import torch
from torch import nn

from adapters.ctsdg import Discriminator, Generator, create_generator, replace_encoder
from tsgl_encoder import create_encoder

# sha256 of "key<TAB>shape" lines of upstream's state_dicts (xiefan-guo/ctsdg, Generator(3, 2, 3) and
# Discriminator(3, 2), built from its code and run locally): equal fingerprints mean equal module names and
# parameter shapes, so upstream checkpoints load with strict=True.
UPSTREAM_GENERATOR_FINGERPRINT = (210, "54b4a67875618576")
UPSTREAM_DISCRIMINATOR_FINGERPRINT = (59, "0b6b1e0d9109d886")
SIZE = 128  # seven stride-2 stages: height and width must be multiples of 128


def fingerprint(state_dict) -> tuple[int, str]:
    lines = "\n".join(f"{k}\t{tuple(v.shape)}" for k, v in state_dict.items())
    return len(state_dict), hashlib.sha256(lines.encode()).hexdigest()[:16]


def randomise_bn(model: nn.Module) -> None:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)


def inputs(batch=1, height=SIZE, width=SIZE, seed=0):
    """Upstream conventions: image in [-1, 1], cat(edge, gray) in [0, 1], mask 1 = known, inputs pre-masked."""
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, height, width, generator=gen) * 2 - 1
    edge = (torch.rand(batch, 1, height, width, generator=gen) > 0.9).float()
    edge_gray = torch.cat([edge, torch.rand(batch, 1, height, width, generator=gen)], dim=1)
    mask = torch.ones(batch, 1, height, width)
    mask[..., height // 4 : height // 2 + 8, width // 3 : width - 16] = 0
    return image, edge_gray, mask


@pytest.fixture(scope="module")
def generator() -> Generator:
    torch.manual_seed(0)
    model = create_generator()
    with torch.no_grad():
        model.bigff.structure_gamma.fill_(0.5)  # make BiGFF non-trivial (zero-initialised upstream)
        model.bigff.texture_gamma.fill_(-0.5)
    randomise_bn(model)
    return model.eval()


def test_parameter_count_and_upstream_fingerprint(generator):
    assert sum(p.numel() for p in generator.parameters()) == 52_147_789
    assert fingerprint(generator.state_dict()) == UPSTREAM_GENERATOR_FINGERPRINT


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown CTSDG generator 'ctsdg_xl'"):
        create_generator("ctsdg_xl")


def test_strict_load_of_a_built_state_dict_gives_the_same_output(generator):
    torch.manual_seed(1)
    target = Generator(init_weights=False).eval()
    target.load_state_dict(generator.state_dict(), strict=True)
    image, edge_gray, mask = inputs()
    with torch.no_grad():
        expected = generator(image * mask, edge_gray * mask, mask)
        for a, b in zip(expected, target(image * mask, edge_gray * mask, mask), strict=True):
            assert torch.equal(a, b)


def test_output_shapes_and_ranges(generator):
    image, edge_gray, mask = inputs(batch=2, width=2 * SIZE)
    with torch.no_grad():
        output, projected_image, projected_edge = generator(image * mask, edge_gray * mask, mask)
    assert output.shape == projected_image.shape == (2, 3, SIZE, 2 * SIZE)
    assert projected_edge.shape == (2, 1, SIZE, 2 * SIZE)
    for tensor, low, high in ((output, -1, 1), (projected_image, -1, 1), (projected_edge, 0, 1)):
        assert torch.isfinite(tensor).all() and low <= tensor.min() and tensor.max() <= high


def test_hole_pixels_of_the_inputs_do_not_matter(generator):
    # Partial convolutions multiply by the mask themselves, so even unmasked inputs give the pre-masked result.
    image, edge_gray, mask = inputs(seed=2)
    hole = mask == 0
    noisy_image = torch.where(hole, torch.rand_like(image) * 2 - 1, image)
    noisy_edge = torch.where(hole, torch.rand_like(edge_gray), edge_gray)
    with torch.no_grad():
        reference = generator(image * mask, edge_gray * mask, mask)
        for a, b in zip(reference, generator(noisy_image, noisy_edge, mask), strict=True):
            assert torch.equal(a, b)
        known_changed = generator(torch.where(hole, image, -image) * mask, edge_gray * mask, mask)[0]
    assert not torch.equal(reference[0], known_changed)


def test_freeze_ec_bn_keeps_batchnorm_in_eval_mode(generator):
    encoder_bns = [m for n, m in generator.named_modules() if n.startswith("ec_") and isinstance(m, nn.BatchNorm2d)]
    all_bns = [m for m in generator.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(encoder_bns) == 12
    try:
        generator.train()
        assert all(m.training for m in all_bns)
        generator.freeze_ec_bn = True
        generator.train()
        assert generator.training and generator.ec_texture_2.conv.training
        # upstream freezes every BatchNorm2d of the generator, the encoders' included
        assert not any(m.training for m in all_bns)
    finally:
        generator.freeze_ec_bn = False
        generator.eval()


def test_discriminator_shapes_and_fingerprint():
    torch.manual_seed(0)
    model = Discriminator(image_in_channels=3, edge_in_channels=2).eval()
    assert fingerprint(model.state_dict()) == UPSTREAM_DISCRIMINATOR_FINGERPRINT
    image = torch.rand(2, 3, SIZE, SIZE) * 2 - 1
    gray, edge = torch.rand(2, 1, SIZE, SIZE), (torch.rand(2, 1, SIZE, SIZE) > 0.9).float()
    with torch.no_grad():
        for is_real in (True, False):
            pred, fake_edge = model(image, gray, edge, is_real=is_real)
            assert pred.shape == (2, 2, 14, 14) and 0 <= pred.min() and pred.max() <= 1
            assert fake_edge.shape == (2, 1, SIZE, SIZE) and 0 <= fake_edge.min() and fake_edge.max() <= 1


# ----------------------------------------------------------------------------- replace_encoder


def _swap_inputs(batch: int = 1, size: int = 128, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
    edge = torch.rand(batch, 2, size, size, generator=gen)
    mask = torch.ones(batch, 1, size, size)
    mask[..., size // 4 : size // 2 + 10, size // 6 : size // 2] = 0
    return image, edge, mask


def _swapped():
    torch.manual_seed(0)
    return replace_encoder(create_generator(), create_encoder("tsgl_tiny"))


def test_swap_keeps_signature_outputs_and_hole_invariance():
    model = _swapped().eval()
    image, edge, mask = _swap_inputs()
    with torch.no_grad():
        output, projected_image, projected_edge = model(image * mask, edge * mask, mask)
        other = model(torch.where(mask.bool(), image, torch.rand_like(image)), edge, mask)
    assert output.shape == image.shape and projected_image.shape == image.shape
    assert projected_edge.shape == (1, 1, 128, 128)
    assert output.abs().max() <= 1 and 0 <= projected_edge.min() and projected_edge.max() <= 1
    # the decoders' level-0 skips read the raw input through partial convs: hole pixels never matter
    assert torch.equal(other[0], output)


def test_swap_skip_masks_equal_the_original_encoders():
    original = create_generator().eval()
    model = _swapped().eval()
    image, edge, mask = _swap_inputs()
    with torch.no_grad():
        for branch, raw, levels in zip(("texture", "structure"), (image, edge), model.tsgl_encoder(image, edge, mask),
                                       strict=True):
            expected = original._encode(branch, raw, mask.expand(-1, raw.shape[1], -1, -1))
            assert [m.shape for _, m in expected] == [m.shape for _, m in levels]
            assert all(torch.equal(a, b) for (_, a), (_, b) in zip(expected, levels, strict=True))
            assert all(x.shape == y.shape for (x, _), (y, _) in zip(expected, levels, strict=True))


def test_swap_gradients_reach_tsgl_and_kept_decoders():
    model = _swapped().train()
    image, edge, mask = _swap_inputs(batch=2)
    output, projected_image, projected_edge = model(image * mask, edge * mask, mask)
    (output.abs().mean() + projected_image.abs().mean() + projected_edge.mean()).backward()
    dead = [n for n, p in model.tsgl_encoder.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not dead
    assert model.dc_texture_1.conv.weight.grad.abs().sum() > 0 and model.dc_structure_7.conv.weight.grad.abs().sum() > 0
    assert not any(name.startswith("ec_") for name, _ in model.named_children())


def test_swap_keeps_freeze_ec_bn_and_512_inputs():
    model = _swapped()
    model.freeze_ec_bn = True
    model.train()
    assert all(not m.training for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    model.eval()
    image, edge, mask = _swap_inputs(size=512)
    with torch.no_grad():
        assert model(image * mask, edge * mask, mask)[0].shape == (1, 3, 512, 512)


def test_swap_refuses_other_models():
    with pytest.raises(TypeError, match="expects a CTSDG Generator"):
        replace_encoder(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="already has a TSGL encoder"):
        replace_encoder(_swapped())


# ------------------------------------------------------------------ the benchmark host
def test_ctsdg_adversary_trains_the_discriminator_and_not_the_generator_side():
    from tsgl_encoder.bench.hosts import CTSDG_LOSSES, CTSDGAdversary
    from tsgl_encoder.bench.training import Prediction, frozen

    torch.manual_seed(0)
    adversary = CTSDGAdversary(CTSDG_LOSSES)
    image, edge_gray, mask = inputs(batch=2, height=64, width=64)
    batch = {"image": image, "mask": mask, "edge": edge_gray[:, :1], "gray": edge_gray[:, 1:]}
    output = torch.tanh(torch.randn(2, 3, 64, 64, requires_grad=True))
    d_loss = adversary(batch, Prediction(output).detach())
    d_loss.backward()
    for branch in ("texture_branch", "structure_branch", "edge_detector"):
        assert all(p.grad is not None for p in getattr(adversary.network, branch).parameters())
    adversary.zero_grad(set_to_none=True)
    with frozen(adversary):
        terms = adversary.generator_terms(batch, Prediction(output))
    terms["adversarial"].backward()
    assert all(p.grad is None for p in adversary.parameters()) and all(p.requires_grad for p in adversary.parameters())
    assert d_loss.item() > 0 and terms["adversarial"].item() > 0


@pytest.mark.parametrize("variant", ["own", "tsgl"])
def test_ctsdg_host_trains_with_its_native_losses(tmp_path, variant):
    from torchvision.models import vgg16

    from tsgl_encoder.bench.data import embedded_dataset
    from tsgl_encoder.bench.hosts import CTSDG_LOSSES, CTSDGHost
    from tsgl_encoder.bench.masks import create_mask_generator
    from tsgl_encoder.bench.training import TrainConfig, train

    torch.manual_seed(0)
    vgg_path = tmp_path / "vgg16.pth"
    torch.save(vgg16(weights=None).state_dict(), vgg_path)
    train_set, _ = embedded_dataset(SIZE, create_mask_generator("mat_large"), None)
    host = CTSDGHost(encoder="tsgl_tiny")
    config = TrainConfig(steps=1, batch_size=2, checkpoint_every=1, log_every=1, perceptual_weights=str(vgg_path))
    trainer = train(host, variant, train_set, config, tmp_path / "run", losses=CTSDG_LOSSES, progress=False)
    record = trainer.history[-1]
    assert {"l1", "perceptual", "style", "adversarial", "intermediate"} <= set(record)
    assert all(torch.isfinite(torch.tensor(record[k])) for k in ("g_total", "d")) and record["d"] > 0
    assert hasattr(trainer.model, "tsgl_encoder") == (variant == "tsgl")
    assert (tmp_path / "run" / "checkpoint.pt").is_file()


def test_swapped_in_encoder_follows_the_models_mode():
    for training in (False, True):
        model = create_generator().train(training)
        replace_encoder(model, create_encoder("tsgl_tiny"))
        assert {m.training for m in model.tsgl_encoder.modules()} == {training}
