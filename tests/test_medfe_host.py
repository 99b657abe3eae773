"""MEDFE as a host of the harness (issue 27, item 7): its losses, discriminators, variants and registry entry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import vgg16

import adapters.medfe as medfe
from tsgl_encoder.bench import benchmark as benchmark_program
from tsgl_encoder.bench import evaluate
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


def photo_folder(folder: Path, size: int = 128) -> Path:
    """Two real photographs (scikit-image's embedded ones), centre-cropped to ``size``."""
    from skimage import data

    folder.mkdir(parents=True)
    for name in ("astronaut", "coffee"):
        picture = Image.fromarray(getattr(data, name)())
        side = min(picture.size)
        left, top = (picture.width - side) // 2, (picture.height - side) // 2
        picture.crop((left, top, left + side, top + side)).resize((size, size)).save(folder / f"{name}.png")
    return folder


def test_smoke_benchmark_trains_every_variant_and_tsgl_evaluate_runs_its_checkpoints(tmp_path, capsys):
    results = benchmark_program.main(["--preset", "smoke", "--hosts", "medfe", "--variants", "own", "tsgl", "own_wide",
                                      "--out", str(tmp_path / "bench"), "--no-progress"])
    host = results["hosts"]["medfe"]
    assert set(host["variants"]) == {"own", "tsgl", "own_wide"} and not host.get("skipped")
    own, wide, tsgl = (host["variants"][name]["encoder_parameters"] for name in ("own", "own_wide", "tsgl"))
    assert own < tsgl and abs(wide - tsgl) / tsgl < 0.01  # the control matches TSGL's parameter count
    assert (tmp_path / "bench" / "grid_medfe.png").is_file() and (tmp_path / "bench" / "results.md").is_file()

    data = photo_folder(tmp_path / "photos")
    run = tmp_path / "bench" / "medfe" / "tsgl" / "seed0" / "checkpoint.pt"
    common = ["--data", str(data), "--mask-set", "ratio_20-30", "--size", "128", "--no-fid"]
    scored = {}
    for host_name, priors in (("medfe", "masked"), ("tsgl_medfe", "official")):
        out = tmp_path / f"eval_{priors}"
        result = evaluate.main(["--host", host_name, "--checkpoint", str(run), "--priors", priors, "--out", str(out),
                                *common])["ratio_20-30"]
        assert result["priors"] == priors and result["count"] == 2 and 0 < result["metrics"]["l1"] < 1
        scored[priors] = {p.name: np.asarray(Image.open(p)) for p in (out / "ratio_20-30" / "predictions").glob("*")}
    assert sorted(scored["masked"]) == ["astronaut.png", "coffee.png"]
    assert any((scored["masked"][name] != scored["official"][name]).any() for name in scored["masked"])

    own_run = tmp_path / "bench" / "medfe" / "own" / "seed0" / "checkpoint.pt"
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(["--host", "medfe", "--checkpoint", str(own_run), "--priors", "official",
                       "--out", str(tmp_path / "eval_own"), *common])
    assert exit_info.value.code == 2 and "MEDFE's own encoder reads no priors" in capsys.readouterr().err


def test_a_training_checkpoint_rebuilds_its_host_and_variant(tmp_path):
    host = tiny_host()
    torch.manual_seed(0)
    model = host.build("own_wide").eval()
    run = {"host": "medfe", "variant": "own_wide", "host_settings": host.settings(), "generator": model.state_dict()}
    torch.save(run, tmp_path / "checkpoint.pt")
    loaded, rebuilt = MEDFEHost.from_checkpoint(tmp_path / "checkpoint.pt", "tsgl_medfe")
    assert rebuilt.overrides == TINY and rebuilt.encoder == "tsgl_tiny" and not loaded.training
    batch = batch_of()
    with torch.no_grad():
        assert torch.equal(loaded(batch["image"], batch["mask"]), model(batch["image"], batch["mask"]))
    with pytest.raises(ValueError, match="trained with host 'medfe', not 'lama': pass --host medfe"):
        HOSTS["lama"].from_checkpoint(tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match=r"reads checkpoints of kind \['medfe', 'tsgl_medfe'\], got 'lama'"):
        MEDFEHost.from_checkpoint(tmp_path / "checkpoint.pt", "lama")


def test_published_medfe_files_name_their_kind_and_read_their_width(tmp_path):
    torch.manual_seed(0)
    source = medfe.create_generator("medfe", ngf=8).eval()  # upstream's dilation 2: not stored in the files
    for name, part in (("EN.pkl", source.netEN), ("DE.pkl", source.netDE), ("MEDEF.pkl", source.netMEDFE)):
        torch.save(part.state_dict(), tmp_path / name)
    model, host = MEDFEHost.from_checkpoint(tmp_path, "medfe")
    assert isinstance(model, medfe.MEDFEGenerator) and model.netEN.Encoder_1.model[0].out_channels == 8
    with pytest.raises(ValueError, match="holds MEDFE's EN / DE / MEDFE networks, not a TSGL\\(MEDFE\\) generator: "
                                         "pass --host medfe"):
        MEDFEHost.from_checkpoint(tmp_path, "tsgl_medfe")
    with pytest.raises(ValueError, match="MEDFE's own encoder reads no priors"):
        host.use_priors(model, "official")
    with pytest.raises(ValueError, match="priors 'rtv': host 'medfe' computes its priors only as"):
        host.use_priors(model, "rtv")


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
