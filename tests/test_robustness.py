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
from tsgl_encoder import TSGLEncoder, create_encoder, get_config

ROOT = Path(__file__).resolve().parents[1]


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_unchanged(model, before: dict, run, expected) -> None:
    after = model.state_dict()
    assert list(after) == list(before) and all(torch.equal(after[k], v) for k, v in before.items())
    with torch.no_grad():
        assert torch.equal(run(model), expected)


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


# ----------------------------------------------------------------------------------------------- checkpoints


def small_run(tmp_path, steps: int):
    from adapters.lama.host import LamaHost
    from tsgl_encoder.bench.data import embedded_dataset
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
    benchmark = load_script("benchmarks/substitute_encoders.py")
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
    with pytest.raises(OSError, match="truncated"):
        data._open(tmp_path / "broken.jpg")
    assert opened and all(image.fp is None for image in opened)  # closed, not left to the garbage collector
