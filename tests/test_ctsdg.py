import hashlib

import pytest
import torch
from torch import nn

from adapters.ctsdg import Discriminator, Generator, create_generator

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
