import pytest
import torch

from adapters.lama.discriminator import PatchDiscriminator
from tsgl_encoder.bench.losses import (
    PerceptualLoss,
    StructureEdgeHead,
    discriminator_loss,
    edge_loss,
    generator_loss,
    gram_matrix,
    masked_l1,
    r1_penalty,
)


def test_masked_l1_weights_hole_and_valid():
    pred, target = torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    mask = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])  # half known
    assert masked_l1(pred, target, mask, hole_weight=5, valid_weight=1).item() == pytest.approx(5 * 0.5 + 0.5)
    assert edge_loss(pred, target, mask).item() == pytest.approx(3.0)  # the official 5 x hole + 1 x valid


def test_adversarial_losses():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.5])
    assert discriminator_loss(real, fake, "hinge").item() == pytest.approx(0.25 + 0.75)
    assert generator_loss(fake, "hinge").item() == pytest.approx(0.75)
    softplus = torch.nn.functional.softplus
    expected = softplus(-real).mean() + softplus(fake).mean()
    assert discriminator_loss(real, fake, "nsgan").item() == pytest.approx(expected.item())
    with pytest.raises(ValueError, match="adversarial kind must be one of"):
        generator_loss(fake, "wgan")


def test_r1_penalty_of_a_linear_critic_is_its_squared_weight_norm():
    weight = torch.tensor([3.0, 4.0])
    images = torch.randn(5, 2, requires_grad=True)
    assert r1_penalty(images @ weight, images).item() == pytest.approx(25.0)


def test_patch_discriminator_returns_logits_and_features():
    logits, features = PatchDiscriminator(width=8)(torch.randn(2, 3, 64, 64))
    assert logits.shape[:2] == (2, 1) and len(features) == 4


@pytest.mark.parametrize("size", [64, 256])
def test_structure_edge_head_returns_a_full_resolution_edge_map(size):
    head = StructureEdgeHead((8, 16, 32, 32, 64))
    deepest = size // 32
    edges = head(torch.randn(2, 64, deepest, deepest * 2), torch.ones(2, 1, deepest, deepest * 2))
    assert edges.shape == (2, 1, size, 2 * size) and 0 <= edges.min() and edges.max() <= 1


def test_perceptual_loss_reads_local_weights_only(tmp_path):
    from torchvision.models import vgg19

    torch.manual_seed(0)
    features = vgg19(weights=None).features
    path = tmp_path / "vgg19.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    loss = PerceptualLoss(path, layers=("relu1_1", "relu2_1"))
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert loss(x, x).item() == 0.0 and loss(x, x.flip(-1)).item() > 0
    with pytest.raises(FileNotFoundError, match="local files only"):
        PerceptualLoss(tmp_path / "missing.pth")


def test_perceptual_loss_takes_vgg16_with_ctsdg_taps_and_a_style_loss(tmp_path):
    from torchvision.models import vgg16

    torch.manual_seed(0)
    path = tmp_path / "vgg16.pth"
    torch.save(vgg16(weights=None).state_dict(), path)  # with the classifier: it is ignored
    loss = PerceptualLoss(path)
    assert loss.architecture == "vgg16" and loss.taps == [4, 9, 16]  # pool1 .. pool3, as CTSDG's extractor
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    features = loss.extract(x)
    assert [f.shape[1:] for f in features] == [(64, 16, 16), (128, 8, 8), (256, 4, 4)]
    assert loss.style_distance(features, features).item() == 0.0
    assert loss.style_distance(loss.extract(x.flip(-1) * 0.5), features).item() > 0
    gram = gram_matrix(features[0])
    flat = features[0].flatten(2)
    assert torch.allclose(gram, torch.einsum("bci,bdi->bcd", flat, flat) / flat[0].numel())
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not a torchvision vgg16/vgg19"):
        PerceptualLoss(tmp_path / "other.pth")


def test_perceptual_loss_with_weighted_conv_taps_as_mat(tmp_path):
    from torchvision.models import vgg19

    torch.manual_seed(0)
    network = vgg19(weights=None)
    path = tmp_path / "vgg19.pth"
    torch.save(network.state_dict(), path)
    loss = PerceptualLoss(path, {"conv5_4": 0.5, "conv4_4": 0.25})  # MAT's pcp: conv outputs before the ReLU
    assert loss.taps == [25, 34] and loss.layer_weights == [0.25, 0.5]
    x, y = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    a, b = loss.extract(x), loss.extract(y)
    assert (a[0] < 0).any()  # a conv output, not overwritten by an in-place ReLU
    with torch.no_grad():
        normed = lambda t: ((t + 1) / 2 - loss.mean) / loss.std  # noqa: E731
        conv44 = network.features[:26](normed(x))
    torch.testing.assert_close(a[0], conv44)
    expected = 0.25 * (a[0] - b[0]).abs().mean() + 0.5 * (a[1] - b[1]).abs().mean()
    torch.testing.assert_close(loss(x, y), expected)
