"""MEDFE host and the official TSGL(MEDFE) generator (issue 27): names, shapes, checkpoints, conventions, sizes."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import torch
from torch import nn

import adapters.medfe as medfe
from adapters.medfe.equalisation import BASE, raw_view
from tsgl_encoder import create_encoder

# sha256 of the sorted "key:shape" lines of the official state_dicts, computed once from the official code (random
# weights; htyjers/ConvInpaint-TSGL ``TSGL_MEDFE/train/model.py`` Generator without its 15 recomputed attn_mask /
# resample_filter buffers; MEDFE's ``Encoder`` / ``Decoder`` / ``PCblock`` with ``norm: instance``, ngf 64).
OFFICIAL_FINGERPRINTS = {
    "tsgl_medfe": (647, "d68e4c5805c2183b532e5da3d8584027adb2e2ba771c25a89afb690e98d1dd5a"),
    "netEN": (28, "9c07f77c515f6546a614167f4017643ec4af0e2f7934353c081ee5e4a0e7a845"),
    "netDE": (22, "f0ef34719a148634dd45bc4c69737b7d1cfaaed964f26fb50cd092f938b25eb3"),
    "netMEDFE": (83, "ef17a97c013c41b08893c566e514bd3a8fad1ec26ddcfb55d520b9f09adff4e7"),
}
SMALL = 8  # ngf of the small test configurations


def fingerprint(state: dict) -> tuple[int, str]:
    lines = sorted(f"{k}:{tuple(v.shape)}" for k, v in state.items())
    return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def tiny_encoder():
    return create_encoder("tsgl_tiny", pyramid_channels=tuple(SMALL * k for k in (1, 2, 4, 8, 8, 8)))


def small_tsgl_medfe(seed: int = 0, **overrides) -> nn.Module:
    torch.manual_seed(seed)
    model = medfe.create_generator("tsgl_medfe", encoder=tiny_encoder(), ngf=SMALL, **overrides)
    randomise(model)
    return model.eval()


def small_medfe(seed: int = 0, **overrides) -> nn.Module:
    torch.manual_seed(seed)
    model = medfe.create_generator("medfe", ngf=SMALL, **overrides)
    randomise(model)
    return model.eval()


@torch.no_grad()
def randomise(model: nn.Module) -> None:
    """Non-trivial norm parameters and statistics, so that every tensor of a checkpoint matters."""
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d)) and module.affine:
            module.weight.uniform_(0.5, 1.5)
            module.bias.normal_(0, 0.1)
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
        if isinstance(module, medfe.pcconv.PartialConv):
            module.mask_conv.weight.normal_(0, 0.02)  # what upstream's init_weights does


def inputs(batch: int = 2, height: int = 128, width: int = 128, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, height, width, generator=gen) * 2 - 1
    mask = torch.ones(batch, 1, height, width)
    mask[0, :, height // 4 : height // 2, width // 8 : width // 2] = 0
    mask[-1, :, height // 2 :, width // 2 :] = 0
    return image, mask


# ------------------------------------------------------------------------- names and shapes of the official code


def test_state_dicts_have_the_official_names_and_shapes():
    with torch.device("meta"):
        tsgl = medfe.create_generator("tsgl_medfe", structure_head=True)
        plain = medfe.create_generator("medfe")
    assert fingerprint(medfe.tsgl_medfe_to_official(tsgl)) == OFFICIAL_FINGERPRINTS["tsgl_medfe"]
    for part in ("netEN", "netDE", "netMEDFE"):
        assert fingerprint(getattr(plain, part).state_dict()) == OFFICIAL_FINGERPRINTS[part], part
    assert count(plain) == 130_316_070 and count(tsgl) == 191_870_620
    assert count(tsgl) - count(tsgl.structure_head) == 138_331_611
    assert medfe.parameters_by_part(tsgl) == {"encoder": 38_042_744, "pc_block": 82_190_368, "decoder": 18_098_499,
                                              "training heads": 53_539_009}


def test_the_full_tsgl_medfe_runs_at_256():
    torch.manual_seed(0)
    model = medfe.create_generator("tsgl_medfe").eval()
    image, mask = inputs(1, 256, 256)
    with torch.no_grad():
        out = model(image, mask)
    assert out.shape == (1, 3, 256, 256) and out.abs().max() <= 1 and torch.isfinite(out).all()


# ---------------------------------------------------------------------------------------- any size, conventions


@pytest.mark.parametrize("size", [(256, 256), (320, 256), (512, 512)])
@pytest.mark.parametrize("name", ["medfe", "tsgl_medfe"])
def test_any_multiple_of_64_runs(name, size):
    model = small_medfe() if name == "medfe" else small_tsgl_medfe()
    image, mask = inputs(1, *size)
    with torch.no_grad():
        out = model(image, mask)
    assert out.shape == (1, 3, *size) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["medfe", "tsgl_medfe"])
def test_hole_pixels_never_change_the_output_with_the_default_priors(name):
    model = small_medfe() if name == "medfe" else small_tsgl_medfe()
    image, mask = inputs(2, 192, 192)
    other = torch.where(mask.bool(), image, torch.rand_like(image) * 2 - 1)
    with torch.no_grad():
        assert torch.equal(model(image, mask), model(other, mask))


def test_official_priors_read_the_hole_and_say_so():
    pytest.importorskip("skimage")
    model = small_tsgl_medfe()
    image, mask = inputs(1, seed=3)
    image = torch.nn.functional.avg_pool2d(image, 9, 1, 4)  # some structure for the edges to find
    other = torch.where(mask.bool(), image, -image)
    smooth = torch.zeros_like(image)  # the RTV image, passed: the official priors do not compute it then
    with torch.no_grad():
        first = model(image, mask, smooth=smooth, priors="official")
        second = model(other, mask, smooth=smooth, priors="official")
    assert not torch.equal(first, second)  # the official pipeline leaks the ground truth of the hole
    assert "leaks the ground truth" in medfe.priors.__doc__


def test_official_edge_and_gray_see_what_to_pil_image_makes_of_signed_images():
    transforms = pytest.importorskip("torchvision.transforms")
    values = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0, -0.999, 0.3])
    assert medfe.wrap_like_to_pil_image(values).tolist() == [1, 129, 0, 127, 255, 2, 76]
    image = torch.rand(1, 3, 8, 8) * 2 - 1
    pil = np.asarray(transforms.ToPILImage()(image[0])).transpose(2, 0, 1)
    assert np.array_equal(medfe.wrap_like_to_pil_image(image)[0].numpy().astype(np.uint8), pil)


def test_bad_inputs_get_the_library_errors():
    model = small_tsgl_medfe()
    image, mask = inputs(1)
    with pytest.raises(ValueError, match="multiples of size_divisor=64, got 100x128"):
        model(image[..., :100, :], mask[..., :100, :])
    with pytest.raises(TypeError, match=r"dtype mismatch: image is torch\.float64"):
        model(image.double(), mask)
    with pytest.raises(TypeError, match="image must be a floating-point tensor"):
        model((image * 100).long(), mask)
    with pytest.raises(ValueError, match="edge must have shape"):
        model(image, mask, edge=torch.zeros(1, 3, 128, 128))
    with pytest.raises(ValueError, match="at least 192 for MEDFE"):
        small_medfe()(image, mask)
    with pytest.raises(ValueError, match=r"at least 128 for TSGLMEDFEGenerator \(pc_block instance-normalises"):
        model(image[..., :64, :64], mask[..., :64, :64])
    hole_mask = torch.zeros_like(mask)
    hole_mask[..., 50:70, 50:70] = 1  # a 1 = hole mask: nearly nothing known
    with pytest.warns(UserWarning, match="1 = known, 0 = hole"), torch.no_grad():
        model(image, hole_mask)
    with pytest.raises(ValueError, match="priors must be one of"):
        model(image, mask, priors="leaky")


# ----------------------------------------------------------------------------------------------- checkpoints


def test_official_tsgl_medfe_checkpoints_round_trip(tmp_path):
    model = small_tsgl_medfe(structure_head=True)
    official = {f"module.{k}": v for k, v in medfe.tsgl_medfe_to_official(model).items()}
    torch.save(official, tmp_path / "G_14.pth")
    image, mask = inputs(1)
    with torch.no_grad():
        expected, edges = model.forward_with_edges(image, mask)
        with_head = medfe.load_checkpoint(tmp_path / "G_14.pth", structure_head=True, encoder=tiny_encoder(),
                                          ngf=SMALL)
        assert all(torch.equal(a, b) for a, b in zip(with_head.forward_with_edges(image, mask), (expected, edges),
                                                      strict=True))
        loaded = medfe.load_checkpoint(tmp_path / "G_14.pth", encoder=tiny_encoder(), ngf=SMALL)
        assert torch.equal(loaded(image, mask), expected) and not loaded.training
    assert len(loaded.dropped_keys) == 68 and all(medfe.STRUCTURE_KEYS.match(k) for k in loaded.dropped_keys)
    torch.save(model.state_dict(), tmp_path / "ours.pth")  # the library's own names load too
    with torch.no_grad():
        ours = medfe.load_checkpoint(tmp_path / "ours.pth", structure_head=True, encoder=tiny_encoder(), ngf=SMALL)
        assert torch.equal(ours(image, mask), expected)


def test_medfe_checkpoints_round_trip_in_both_formats(tmp_path):
    model = small_medfe()
    image, mask = inputs(1, 192, 256)
    with torch.no_grad():
        expected = model(image, mask)
    folder = tmp_path / "test_script"
    folder.mkdir()
    for part, name in (("netEN", "EN.pkl"), ("netDE", "DE.pkl"), ("netMEDFE", "MEDEF.pkl")):
        torch.save(getattr(model, part).state_dict(), folder / name)  # what MEDFE's test.py loads
    trainer = []
    for part, name in (("netEN", "EN"), ("netDE", "DE"), ("netMEDFE", "MEDFE")):
        state = {f"module.{k}": v for k, v in getattr(model, part).state_dict().items()}
        trainer.append(tmp_path / f"20_net_{name}.pth")
        torch.save({"net": state, "optimize": {"state": {}, "param_groups": [{"lr": 2e-4}]}}, trainer[-1])
    with torch.no_grad():
        assert torch.equal(medfe.load_checkpoint(folder, ngf=SMALL)(image, mask), expected)
        assert torch.equal(medfe.load_checkpoint(trainer[::-1], ngf=SMALL)(image, mask), expected)


def test_checkpoints_are_refused_strictly(tmp_path):
    model = small_tsgl_medfe()
    official = medfe.tsgl_medfe_to_official(model)
    broken = {k: v for k, v in official.items() if k != "pc_block.fuse.model.0.weight"}
    broken["Decoder_7.model.1.weight"] = torch.zeros(1)
    torch.save(broken, tmp_path / "G.pth")
    with pytest.raises(ValueError, match=r"missing keys \(1\): \['pc_block.fuse.model.0.weight'\].*"
                                         r"unexpected keys \(1\): \['Decoder_7.model.1.weight'\]"):
        medfe.load_checkpoint(tmp_path / "G.pth", encoder=tiny_encoder(), ngf=SMALL)
    plain = small_medfe()
    torch.save(plain.netEN.state_dict(), tmp_path / "EN.pkl")
    with pytest.raises(ValueError, match=r"missing \['netMEDFE', 'netDE'\]"):
        medfe.load_checkpoint(tmp_path / "EN.pkl", ngf=SMALL)
    state = plain.netDE.state_dict()
    state.pop("Decoder_6.model.1.bias")
    torch.save(state, tmp_path / "DE.pkl")
    torch.save(plain.netMEDFE.state_dict(), tmp_path / "MEDEF.pkl")
    with pytest.raises(ValueError, match=r"netDE checkpoint .*missing keys \(1\): \['Decoder_6.model.1.bias'\]"):
        medfe.load_checkpoint(tmp_path, ngf=SMALL)


# ------------------------------------------------------------------------------------- PCconv and the swap


def test_the_gaussian_step_equals_upstreams_five_dimensional_product():
    torch.manual_seed(0)
    base = BASE(32)
    x = torch.randn(2, 32, 6, 10)
    height, width = x.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    points = torch.stack([ys.flatten(), xs.flatten()], 1).double()
    table = torch.exp(-torch.cdist(points, points) ** 2 / (2 * 1.5**2))
    table = (table / table.sum(1, keepdim=True)).float().view(height * width, 1, height, width)
    upstream = (x.unsqueeze(1) * table).sum(-1).sum(-1).view_as(x)  # (B, HW, C, H, W) summed, then raw .view
    assert torch.allclose(raw_view(base.gaussian(x)), upstream, atol=1e-6)


def test_the_mask_has_no_effect_inside_pcconv_and_the_softmax_axis_matters():
    model = small_tsgl_medfe()
    shapes = [(SMALL * c, 256 // r) for c, r in ((1, 2), (2, 4), (4, 8), (8, 16), (8, 32), (8, 64))]
    maps = [torch.randn(1, c, s, s) for c, s in shapes]
    with torch.no_grad():
        empty = model.pc_block(maps, torch.zeros(1, 1, 256, 256))
        hole = model.pc_block(maps, torch.ones(1, 1, 256, 256))
        neighbours = model.pc_block(maps, softmax_over="neighbours")
    assert all(torch.equal(a, b) for a, b in zip(empty, hole, strict=True))
    assert not torch.allclose(empty[0], neighbours[0])


def test_replace_encoder_builds_tsgl_medfe_and_leaves_medfe_alone():
    plain = small_medfe()
    before = {k: v.clone() for k, v in plain.state_dict().items()}
    swapped = medfe.replace_encoder(plain, tiny_encoder(), decoder_norm="batch", softmax_over="positions")
    reference = small_tsgl_medfe()
    assert isinstance(swapped, medfe.TSGLMEDFEGenerator)
    assert {k: v.shape for k, v in swapped.state_dict().items()} == {
        k: v.shape for k, v in reference.state_dict().items()}
    assert all(torch.equal(plain.state_dict()[k], v) for k, v in before.items())
    kept = medfe.replace_encoder(plain, tiny_encoder())
    assert kept.softmax_over == "neighbours" and isinstance(kept.Decoder_1.model[2], nn.InstanceNorm2d)
    assert kept.pc_block is plain.netMEDFE.pc_block
    image, mask = inputs(1)
    with torch.no_grad():
        assert swapped.eval()(image, mask).shape == (1, 3, 128, 128)
    with pytest.raises(TypeError, match="expects a MEDFE generator"):
        medfe.replace_encoder(reference)
    with pytest.raises(ValueError, match="decoder_norm must be one of"):
        medfe.replace_encoder(plain, decoder_norm="group")


def test_the_surface_and_the_discriminators():
    for name in ("create_generator", "list_generators", "replace_encoder", "load_checkpoint", "create_discriminator",
                 "parameters_by_part"):
        assert name in medfe.__all__ and callable(getattr(medfe, name))
    assert medfe.list_generators() == ["medfe", "tsgl_medfe"]
    with pytest.raises(ValueError, match=r"unknown MEDFE generator 'nope'"):
        medfe.create_discriminator("nope")
    discriminator = medfe.create_discriminator(ndf=8)
    global_logits, local_logits = discriminator(torch.randn(1, 3, 256, 256), torch.randn(1, 3, 64, 64))
    assert global_logits.shape == (1, 1, 8, 8) and local_logits.shape == (1, 1, 2, 2)
    plain = small_medfe()
    parts = medfe.parameters_by_part(plain)
    assert sum(parts.values()) == count(plain) and parts["training heads"] == 4 * SMALL * 3 + 3
    assert math.isclose(parts["pc_block"], count(plain.netMEDFE.pc_block))
