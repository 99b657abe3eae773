"""MEDFE as a host of the harness (issue 27, item 7): its losses, discriminators, variants and registry entry."""

from __future__ import annotations

import pytest
import torch
from torchvision.models import vgg16

import adapters.medfe as medfe
from tsgl_encoder.bench import benchmark as benchmark_program
from tsgl_encoder.bench.hosts import HOSTS, MEDFE_LOSSES, MEDFEAdversary, MEDFEHost
from tsgl_encoder.bench.hosts.medfe import LOCAL_CROP, relativistic_lsgan
from tsgl_encoder.bench.losses import PerceptualLoss
from tsgl_encoder.bench.training import LossNetworks, Prediction
from tsgl_encoder.bench.training.host import Host

TINY = {"ngf": 8, "dilation": 1}


def tiny_host() -> MEDFEHost:
    return MEDFEHost(overrides=TINY, encoder="tsgl_tiny")


def batch_of(size: int = 128, count: int = 2) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    image = torch.rand(count, 3, size, size) * 2 - 1
    mask = torch.ones(count, 1, size, size)
    mask[..., size // 4 : size // 2, size // 4 : 3 * size // 4] = 0
    return {"image": image, "mask": mask}


def test_medfe_is_one_registry_entry_with_the_upstream_losses():
    assert HOSTS["medfe"] is MEDFEHost and issubclass(MEDFEHost, Host)
    assert (MEDFE_LOSSES.l1_hole, MEDFE_LOSSES.l1_valid, MEDFE_LOSSES.adversarial_weight) == (1.0, 1.0, 0.2)
    assert (MEDFE_LOSSES.perceptual, MEDFE_LOSSES.style, MEDFE_LOSSES.adversarial) == (0.2, 250.0, "rlsgan")
    assert MEDFEHost().size_problem(256) is None and "multiples of 64" in MEDFEHost().size_problem(160)
    assert "at least 192" in MEDFEHost().size_problem(128) and tiny_host().size_problem(128) is None


def test_relativistic_lsgan_is_upstreams_gan_loss():
    real, fake = torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    upstream_d = (torch.mean((real - fake.mean() - 1) ** 2) + torch.mean((fake - real.mean() + 1) ** 2)) / 2
    upstream_g = (torch.mean((real - fake.mean() + 1) ** 2) + torch.mean((fake - real.mean() - 1) ** 2)) / 2
    assert torch.allclose(relativistic_lsgan(real, fake, True), upstream_d)
    assert torch.allclose(relativistic_lsgan(real, fake, False), upstream_g)


def test_the_adversary_judges_the_image_and_one_local_crop_the_same_for_both_turns():
    adversary = MEDFEAdversary(MEDFE_LOSSES, width=8)
    batch = batch_of()
    prediction = Prediction(torch.rand_like(batch["image"]) * 2 - 1)
    seen = []
    adversary.network.netF.register_forward_hook(lambda module, args, out: seen.append(args[0].shape))
    d_loss = adversary(batch, prediction)
    corner = adversary._corner
    g_terms = adversary.generator_terms(batch, prediction)
    assert adversary._corner == corner and all(0 <= c <= 128 - LOCAL_CROP for c in corner)
    assert seen and all(shape[-2:] == (LOCAL_CROP, LOCAL_CROP) for shape in seen)
    assert torch.isfinite(d_loss) and set(g_terms) == {"adversarial"}
    with pytest.raises(ValueError, match="relativistic least squares"):
        MEDFEAdversary(MEDFE_LOSSES.__class__(adversarial="hinge"))


@pytest.mark.parametrize("variant", ["own", "tsgl"])
def test_both_variants_give_innercos_maps_and_every_native_term(variant, tmp_path):
    torch.manual_seed(0)
    weights = tmp_path / "vgg16.pth"
    torch.save(vgg16(weights=None).state_dict(), weights)
    host = tiny_host()
    model = host.build(variant).train()
    batch = batch_of()
    prediction = host.predict(model, batch["image"], batch["mask"])
    assert prediction.extras["inner_structure"].shape == prediction.extras["inner_texture"].shape == (2, 3, 16, 16)
    networks = LossNetworks(vgg=PerceptualLoss(weights, host.perceptual_layers))
    terms = host.reconstruction_terms(batch, prediction, MEDFE_LOSSES, networks)
    assert set(terms) == {"l1", "perceptual", "style", "intermediate"}
    assert all(torch.isfinite(value) and value > 0 for value in terms.values())
    sum(terms.values()).backward()
    if variant == "tsgl":  # MEDFE's InnerCos head came along with the swap and trains
        assert isinstance(model, medfe.TSGLMEDFEGenerator) and model.inner_cos.down_model[0].weight.grad is not None
    assert not host.predict(model.eval(), batch["image"], batch["mask"]).extras  # inference: the image only


def test_smoke_benchmark_trains_and_scores_medfe_and_says_why_a_control_is_left_out(tmp_path):
    results = benchmark_program.main(["--preset", "smoke", "--hosts", "medfe", "--variants", "own", "tsgl", "own_wide",
                                      "--out", str(tmp_path), "--no-progress"])
    host = results["hosts"]["medfe"]
    assert set(host["variants"]) == {"own", "tsgl"} and "own_wide" in host["skipped"]
    assert host["variants"]["tsgl"]["encoder_parameters"] > host["variants"]["own"]["encoder_parameters"]
    assert (tmp_path / "grid_medfe.png").is_file() and (tmp_path / "results.md").is_file()


def test_published_files_load_through_the_host(tmp_path):
    torch.manual_seed(0)
    source = medfe.create_generator("medfe", **TINY).eval()
    folder = tmp_path / "medfe"
    folder.mkdir()
    for name, part in (("EN.pkl", source.netEN), ("DE.pkl", source.netDE), ("MEDEF.pkl", source.netMEDFE)):
        torch.save(part.state_dict(), folder / name)
    loaded = tiny_host().load_pretrained(str(folder))
    batch = batch_of()
    with torch.no_grad():
        assert torch.equal(loaded(batch["image"], batch["mask"]), source(batch["image"], batch["mask"]))


def test_tsgl_speed_times_medfe_through_the_host():
    from tsgl_encoder.bench.speed import Settings, host_subjects, measure

    subjects = host_subjects(tiny_host())
    assert [(s.name, s.part, s.variant) for s in subjects] == [
        ("medfe encoder", "encoder", "own"), ("medfe encoder", "encoder", "tsgl"),
        ("medfe", "generator", "own"), ("medfe", "generator", "tsgl")]
    settings = Settings(torch.device("cpu"), warmup=0, repeats=1, bf16=False, channels_last=False, compile=False)
    rows = [measure(subject, 128, 1, False, settings) for subject in subjects]
    assert all(row["gflops_per_image"] > 0 for row in rows)
    assert rows[0]["parameters"] == medfe.parameters_by_part(subjects[2].module)["encoder"]
