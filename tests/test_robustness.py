"""Bad calls fail clearly and change nothing; damaged checkpoints and bad command lines are handled (issue 15)."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import adapters.ctsdg as ctsdg
import adapters.lama as lama
import adapters.mat as mat
import adapters.medfe as medfe
from tsgl_encoder import TSGLEncoder, create_encoder, get_config
from tsgl_encoder.bench import benchmark as benchmark_program

ROOT = Path(__file__).resolve().parents[1]


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_unchanged(model, before: dict, run, expected) -> None:
    after = model.state_dict()
    assert list(after) == list(before) and all(torch.equal(after[k], v) for k, v in before.items())
    with torch.no_grad():
        assert torch.equal(run(model), expected)


# ------------------------------------------------------------------------------- one surface for every host

SURFACE = ("create_generator", "list_generators", "replace_encoder", "load_checkpoint", "create_discriminator",
           "parameters_by_part")


@pytest.mark.parametrize("package, host_name", [(lama, "lama"), (ctsdg, "ctsdg"), (mat, "mat"), (medfe, "medfe")])
def test_every_adapter_package_exposes_one_surface(package, host_name):
    from tsgl_encoder.bench.hosts import HOSTS
    from tsgl_encoder.bench.training import Host

    for name in SURFACE:
        assert name in package.__all__ and callable(getattr(package, name)), f"{package.__name__}.{name}"
    assert issubclass(HOSTS[host_name], Host)  # the harness's side of the host lives in tsgl_encoder.bench.hosts
    assert package.list_generators() and isinstance(package.create_discriminator(), torch.nn.Module)
    with pytest.raises(ValueError, match=r"unknown .* 'nope'"):
        package.create_discriminator("nope")


# --------------------------------------------------------------------------------- failed swaps change nothing


def test_a_failed_ctsdg_swap_leaves_the_model_as_it_was():
    torch.manual_seed(0)
    model = ctsdg.create_generator().eval()
    image, mask, structure = torch.rand(1, 3, 128, 128), (torch.rand(1, 1, 128, 128) > 0.3).float(), torch.rand(
        1, 2, 128, 128)
    run = lambda m: m(image * mask, structure * mask, mask)[0]  # noqa: E731
    with torch.no_grad():
        expected = run(model)
    before = snapshot(model)
    with pytest.raises(ValueError, match="levels at reductions"):
        ctsdg.replace_encoder(model, TSGLEncoder(get_config("tsgl_tiny").with_scales(3)))
    assert_unchanged(model, before, run, expected)


def test_a_failed_mat_swap_leaves_the_model_as_it_was():
    torch.manual_seed(0)
    model = mat.create_generator("mat_256", z_dim=16, w_dim=16,
                                 synthesis_kwargs={"first_stage_dim": 12, "channel_max": 16}).eval()
    image, mask, z = torch.rand(1, 3, 256, 256) * 2 - 1, (torch.rand(1, 1, 256, 256) > 0.3).float(), torch.randn(1, 16)

    def run(m):
        torch.manual_seed(3)
        return m(image, mask, z, None, noise_mode="const")

    with torch.no_grad():
        expected = run(model)
    before = snapshot(model)
    with pytest.raises(ValueError, match="needs pyramid levels"):
        mat.replace_encoder(model, TSGLEncoder(get_config("tsgl_tiny").with_scales(1)))
    assert_unchanged(model, before, run, expected)


def test_a_failed_lama_swap_leaves_the_model_as_it_was():
    torch.manual_seed(0)
    model = lama.create_generator("lama_fourier", ngf=16, n_blocks=1).eval()
    x = torch.cat([torch.rand(1, 3, 64, 64), (torch.rand(1, 1, 64, 64) > 0.7).float()], 1)
    with torch.no_grad():
        expected = model(x)
    before = snapshot(model)
    with pytest.raises(ValueError):
        lama.replace_encoder(model, TSGLEncoder(get_config("tsgl_tiny").with_scales(1)))
    assert_unchanged(model, before, lambda m: m(x), expected)


# ------------------------------------------------------------- clear errors instead of failures deep inside


def image_and_mask(size: int = 64, known: float = 0.7, batch: int = 1):
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(batch, 3, size, size, generator=generator) * 2 - 1
    return image, (torch.rand(batch, 1, size, size, generator=generator) < known).float()


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_an_image_of_another_dtype_is_named(dtype):
    image, mask = image_and_mask()
    with pytest.raises(TypeError, match=rf"dtype mismatch: image is {dtype}, the encoder's weights torch.float32; "
                                        rf"convert one \(e.g. image.to\(torch.float32\)\)"):
        create_encoder("tsgl_tiny")(image.to(dtype), mask)


def test_autocast_is_not_a_dtype_mismatch():
    image, mask = image_and_mask()
    with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
        pyramid = create_encoder("tsgl_tiny").eval()(image.bfloat16(), mask)
    assert all(torch.isfinite(level.float()).all() for level in pyramid)


def test_an_image_and_a_mask_on_different_devices_are_named():
    image, mask = image_and_mask()
    encoder = create_encoder("tsgl_tiny")
    with pytest.raises(ValueError, match="device mismatch: mask is on meta, the image on cpu"):
        encoder(image, mask.to("meta"))
    with pytest.raises(ValueError, match="device mismatch: image is on meta, the encoder's weights on cpu"):
        encoder(image.to("meta"), mask.to("meta"))
    with pytest.raises(ValueError, match="device mismatch: edge is on meta, image on cpu"):
        encoder(image, mask, edge=torch.zeros(1, 1, 64, 64, device="meta"))


@pytest.mark.parametrize("size", [64, 192, 250])
@pytest.mark.parametrize("swapped", [False, True])
def test_ctsdg_names_its_size_rule(size, swapped):
    model = ctsdg.create_generator().eval()
    if swapped:
        ctsdg.replace_encoder(model, create_encoder("tsgl_tiny"))
    image, mask = image_and_mask(size)
    with pytest.raises(ValueError, match=f"multiples of CTSDG's size_divisor=128, got {size}x{size}"):
        model(image, torch.rand(1, 2, size, size), mask)


@pytest.mark.parametrize("swapped", [False, True])
def test_a_one_channel_ctsdg_edge_input_is_named(swapped):
    model = ctsdg.create_generator().eval()
    if swapped:
        ctsdg.replace_encoder(model, create_encoder("tsgl_tiny"))
    image, mask = image_and_mask(128)
    with pytest.raises(ValueError, match=r"input_edge must be cat\(edge, gray\) of shape \(B, 2, H, W\), "
                                         r"got \(1, 1, 128, 128\)"):
        model(image, torch.rand(1, 1, 128, 128), mask)


def lama_input(height: int, width: int) -> torch.Tensor:
    hole = (torch.rand(1, 1, height, width, generator=torch.Generator().manual_seed(1)) > 0.7).float()
    return torch.cat([torch.rand(1, 3, height, width) * (1 - hole), hole], 1)


@pytest.mark.parametrize("swapped", [False, True])
def test_lama_names_its_smallest_size(swapped):
    model = lama.create_generator("lama_fourier", ngf=8, n_blocks=1).eval()
    if swapped:
        lama.replace_encoder(model)
    with pytest.raises(ValueError, match=r"needs H and W >= 16 \(2 \*\* \(n_downsampling \+ 1\)\), got 12x40"):
        model(lama_input(12, 40))
    assert model(lama_input(16, 16)).shape == (1, 3, 16, 16)


@pytest.mark.parametrize("swapped", [False, True])
def test_lama_returns_the_input_size_and_is_unchanged_on_multiples(swapped):
    torch.manual_seed(0)
    model = lama.create_generator("lama_fourier", ngf=8, n_blocks=1).eval()
    if swapped:
        lama.replace_encoder(model)
    x = lama_input(250, 250)
    with torch.no_grad():
        output = model(x)
        padded = torch.cat([x, x.flip(-2)[..., :6, :]], -2)  # numpy's 'symmetric' padding to 256 ...
        padded = torch.cat([padded, padded.flip(-1)[..., :6]], -1)
        expected = model.model(padded)[..., :250, :250]  # ... then the crop, as upstream's predict.py
        assert output.shape == (1, 3, 250, 250) and torch.equal(output, expected)
        x = lama_input(64, 64)
        assert torch.equal(model(x), model.model(x))  # multiples of 8: no padding at all


def test_the_host_prediction_keeps_the_input_size():
    from tsgl_encoder.bench.hosts import LamaHost

    host = LamaHost(overrides={"ngf": 8, "n_blocks": 1})
    image, mask = image_and_mask(100)
    for variant in ("own", "tsgl"):
        with torch.no_grad():
            prediction = host.predict(host.build(variant).eval(), image, mask)
        assert prediction.output.shape == image.shape


# ------------------------------------------------------------------------------------ silent wrong conventions


@pytest.mark.parametrize("scale, hint", [(255.0, r"0\.\.255 pixels\? use x / 127\.5 - 1"), (3.0, "")])
def test_an_image_outside_minus_one_one_raises(scale, hint):
    image, mask = image_and_mask()
    with pytest.raises(ValueError, match=rf"image must lie in \[-1, 1\], got values in .*{hint}"):
        create_encoder("tsgl_tiny")((image + 1) / 2 * scale, mask)


def test_values_in_the_holes_and_rounding_are_not_checked():
    encoder = create_encoder("tsgl_tiny").eval()
    image, mask = image_and_mask()
    with torch.no_grad():
        reference = encoder(image, mask)
        garbage = torch.where(mask.bool(), image, torch.full_like(image, 1e4))  # hole pixels are never read
        assert all(torch.equal(a, b) for a, b in zip(encoder(garbage, mask), reference, strict=True))
        encoder(image.clamp(-1, 1) * (1 + 1e-4), mask)  # float rounding of a clamped image


def test_a_zero_one_image_warns_once():
    encoder = create_encoder("tsgl_tiny").eval()
    image, mask = image_and_mask()
    with pytest.warns(UserWarning, match=r"no values below 0.*\[-1, 1\].*image \* 2 - 1"), torch.no_grad():
        encoder((image + 1) / 2, mask)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.no_grad():
            encoder((image + 1) / 2, mask)  # once per encoder
            create_encoder("tsgl_tiny").eval()(torch.zeros_like(image), mask)  # all-zero placeholder: quiet


def test_a_mask_in_the_one_is_hole_convention_warns_once():
    encoder = create_encoder("tsgl_tiny").eval()
    image, known = image_and_mask(known=0.9)
    with pytest.warns(UserWarning, match=r"only \d+% of the pixels as known.*1 = known, 0 = hole.*1 - mask"):
        with torch.no_grad():
            encoder(image, 1 - known)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.no_grad():
            encoder(image, 1 - known)
            create_encoder("tsgl_tiny").eval()(image, known)  # the right convention: no warning


def test_validate_inputs_false_lets_other_ranges_through():
    encoder = create_encoder("tsgl_tiny").eval()
    encoder.validate_inputs = False
    image, mask = image_and_mask()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.no_grad():
            pyramid = encoder((image + 1) * 127.5, 1 - mask)
    assert all(torch.isfinite(level).all() for level in pyramid)


# ----------------------------------------------------------------------------------------------- checkpoints


def small_run(tmp_path, steps: int):
    from tsgl_encoder.bench.data import embedded_dataset
    from tsgl_encoder.bench.hosts import LamaHost
    from tsgl_encoder.bench.masks import create_mask_generator
    from tsgl_encoder.bench.training import LossWeights, TrainConfig, train

    train_set, _ = embedded_dataset(32, create_mask_generator("mat_small"), None)
    host = LamaHost(overrides={"ngf": 8, "n_blocks": 1}, adversary="patchgan")
    config = TrainConfig(steps=steps, batch_size=2, checkpoint_every=1, log_every=1, discriminator_width=8)
    losses = LossWeights(adversarial_weight=0.0, edge=0.0)
    return lambda: train(host, "own", train_set, config, tmp_path, losses=losses, resume=True, progress=False)


def test_a_damaged_latest_checkpoint_resumes_from_the_previous_one(tmp_path):
    run = small_run(tmp_path, 2)
    run()
    assert (tmp_path / "checkpoint.pt").is_file() and (tmp_path / "checkpoint.previous.pt").is_file()
    (tmp_path / "checkpoint.pt").write_bytes((tmp_path / "checkpoint.pt").read_bytes()[:200])  # truncated
    with pytest.warns(UserWarning, match=r"previous checkpoint .*checkpoint\.previous\.pt.*checkpoint\.pt"):
        trainer = run()
    assert trainer.step == 2  # resumed at step 1 from the previous checkpoint, then trained the last step


def test_no_readable_checkpoint_names_the_folder(tmp_path):
    run = small_run(tmp_path, 1)
    (tmp_path / "checkpoint.pt").write_bytes(b"")
    with pytest.raises(ValueError, match=f"no readable checkpoint in {str(tmp_path)!r}.*empty|no readable"):
        run()


# ------------------------------------------------------------------------------------- the benchmark command


@pytest.mark.parametrize("arguments, message", [
    (["--data", "/no/such/folder"], "data folder '/no/such/folder' does not exist"),
    (["--hosts", "lama2"], r"unknown host\(s\) \['lama2'\]"),
    (["--steps", "-1"], "argument --steps: expected an integer >= 1, got '-1'"),
    (["--steps", "0"], "argument --steps: expected an integer >= 1, got '0'"),
    (["--data", "EMPTY"], "holds no .jpg"),
])
def test_bad_benchmark_arguments_give_one_line_and_status_2(arguments, message, tmp_path, load_script, capsys):
    (tmp_path / "empty").mkdir()
    arguments = [str(tmp_path / "empty") if a == "EMPTY" else a for a in arguments]
    benchmark = benchmark_program
    with pytest.raises(SystemExit) as stop:  # argparse's exit: a usage line and one error line, no traceback
        benchmark.main([*arguments, "--out", str(tmp_path / "out")])
    assert stop.value.code == 2
    assert re.search(message, capsys.readouterr().err.strip().splitlines()[-1])
    assert not (tmp_path / "out").exists()  # nothing started


# ----------------------------------------------------------------------------------------------------- minor


def test_an_empty_batch_gives_empty_outputs_without_warnings():
    encoder = create_encoder("tsgl_tiny").eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.no_grad():
            pyramid = encoder(torch.zeros(0, 3, 64, 64), torch.ones(0, 1, 64, 64))
    assert [level.shape[0] for level in pyramid] == [0] * 6


def test_an_unreadable_jpeg_closes_its_file(tmp_path, monkeypatch):
    from PIL import Image

    from tsgl_encoder.bench import data

    opened = []
    real_open = Image.open

    def tracking_open(*args, **kwargs):
        opened.append(real_open(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(data.Image, "open", tracking_open)
    buffer = io.BytesIO()  # a JPEG cut in half: its header opens, its pixels do not decode
    Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)).save(buffer, "JPEG")
    (tmp_path / "broken.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ValueError, match=r"broken\.jpg' cannot be read: .*truncated"):  # names the file
        data._open(tmp_path / "broken.jpg")
    assert opened and all(image.fp is None for image in opened)  # closed, not left to the garbage collector
