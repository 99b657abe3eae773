import hashlib

import pytest
import torch

from tsgl_encoder.bench.resnet_pl import ADE20K_ENCODER_FILE, DilatedResNet50, ResNetPL, check_encoder_state

# (count, sha256[:16]) of "key\tshape" lines ("\n"-joined, state_dict order, shape as a Python tuple) of UPSTREAM's
# encoder: ResnetDilated(resnet.resnet50(), dilate_scale=8) from advimman/lama models/ade20k, the module whose
# state_dict is ade20k-resnet50dilated-ppm_deepsup/encoder_epoch_20.pth; computed by /work/ref/resnet_pl_parity.py.
UPSTREAM_FINGERPRINT = (330, "69ce334e1260c3f2")


def fingerprint(state: dict[str, torch.Tensor]) -> tuple[int, str]:
    lines = "\n".join(f"{key}\t{tuple(value.shape)}" for key, value in state.items())
    return len(state), hashlib.sha256(lines.encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def torch_home(tmp_path_factory: pytest.TempPathFactory):
    """A LaMa-style TORCH_HOME holding a randomly initialised encoder checkpoint."""
    torch.manual_seed(0)
    home = tmp_path_factory.mktemp("torch_home")
    path = home / ADE20K_ENCODER_FILE
    path.parent.mkdir(parents=True)
    torch.save(DilatedResNet50().state_dict(), path)
    return home


@pytest.fixture(scope="module")
def loss(torch_home) -> ResNetPL:
    return ResNetPL(torch_home / ADE20K_ENCODER_FILE)


def images(seed: int, size: int = 64) -> torch.Tensor:
    return torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_state_dict_keys_match_upstream_checkpoint():
    assert fingerprint(DilatedResNet50().state_dict()) == UPSTREAM_FINGERPRINT


def test_feature_maps_channels_and_strides(loss):
    with torch.no_grad():
        maps = loss.extract(images(0))
    assert [tuple(m.shape[1:]) for m in maps] == [(256, 16, 16), (512, 8, 8), (1024, 8, 8), (2048, 8, 8)]
    assert tuple(64 // m.shape[-1] for m in maps) == DilatedResNet50.reductions


def test_dilation_replaces_stride_as_upstream():
    encoder = DilatedResNet50()
    first, later = encoder.layer4[0], encoder.layer4[1]
    assert (first.conv2.stride, first.conv2.dilation, first.conv2.padding) == ((1, 1), (2, 2), (2, 2))
    assert (later.conv2.dilation, later.conv2.padding) == ((4, 4), (4, 4))
    assert encoder.layer3[0].conv2.dilation == (1, 1) and encoder.layer3[0].downsample[0].stride == (1, 1)
    assert encoder.layer2[0].conv2.stride == (2, 2)


def test_zero_for_identical_and_positive_for_different_images(loss):
    with torch.no_grad():
        assert loss(images(1), images(1)).item() == 0.0
        assert loss(images(1), images(2)).item() > 0.0


def test_weight_scales_the_loss(torch_home, loss):
    scaled = ResNetPL(torch_home, weight=30.0)  # a directory: resolved like LaMa's weights_path (TORCH_HOME)
    with torch.no_grad():
        assert scaled(images(1), images(2)).item() == pytest.approx(30 * loss(images(1), images(2)).item(), rel=1e-5)


def test_gradients_reach_pred_but_not_the_encoder(loss):
    pred = images(3).requires_grad_(True)
    loss(pred, images(4)).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert all(not p.requires_grad and p.grad is None for p in loss.encoder.parameters())


def test_encoder_stays_in_eval_mode(loss):
    loss.train()
    assert loss.training and not loss.encoder.training
    assert not any(m.training for m in loss.encoder.modules())
    before = loss.encoder.bn1.running_mean.clone()
    with torch.no_grad():
        loss(images(5), images(6))
    assert torch.equal(before, loss.encoder.bn1.running_mean)
    parent = torch.nn.Sequential(loss).train()
    assert not parent[0].encoder.training


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="local files only") as info:
        ResNetPL(tmp_path / "nowhere.pth")
    assert "nowhere.pth" in str(info.value)
    with pytest.raises(FileNotFoundError, match=r"encoder_epoch_20\.pth"):
        ResNetPL(tmp_path)  # a directory without the checkpoint


def test_bad_files_are_clear_errors(tmp_path):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read"):
        ResNetPL(garbage)
    wrong = tmp_path / "wrong.pth"
    torch.save({"module.conv1.weight": torch.zeros(64, 3, 3, 3)}, wrong)
    with pytest.raises(ValueError, match=r"missing keys \['conv1.weight'.*unexpected keys \['module.conv1.weight'\]"):
        ResNetPL(wrong)
    tensor = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(ValueError, match="not a state_dict"):
        ResNetPL(tensor)


def test_shape_mismatch_and_optional_batch_counters():
    expected = DilatedResNet50().state_dict()
    state = {k: v for k, v in expected.items() if not k.endswith("num_batches_tracked")}  # pre-1.0 checkpoints
    check_encoder_state(state, expected)
    state["conv1.weight"] = torch.zeros(64, 3, 7, 7)
    with pytest.raises(ValueError, match=r"wrong shapes \['conv1.weight'\]"):
        check_encoder_state(state, expected)
