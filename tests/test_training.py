"""The training harness: deterministic data, exact resume, checkpoints, DDP under torchrun, the benchmark."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tsgl_encoder.bench import benchmark as benchmark_program
from tsgl_encoder.bench.data import (
    InpaintingDataset,
    SampleSpec,
    StepSampler,
    embedded_dataset,
    find_images,
    folder_datasets,
)
from tsgl_encoder.bench.hosts import LamaHost
from tsgl_encoder.bench.launch import run_local_ranks
from tsgl_encoder.bench.masks import create_mask_generator
from tsgl_encoder.bench.training import LossWeights, TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
LOSSES = LossWeights(l1_hole=5, l1_valid=1, adversarial="hinge", adversarial_weight=0.05, r1=0.01, edge=1.0)


@pytest.fixture(scope="module")
def datasets():
    return embedded_dataset(32, create_mask_generator("mat_large"), None)


def tiny_host() -> LamaHost:
    return LamaHost(overrides={"ngf": 8, "n_blocks": 1}, adversary="patchgan")


def config(**overrides) -> TrainConfig:
    return TrainConfig(**{"steps": 4, "batch_size": 2, "checkpoint_every": 2, "log_every": 1,
                          "discriminator_width": 8, **overrides})


def test_sampler_is_a_function_of_seed_and_step():
    full = list(StepSampler(100, 4, seed=3, start_step=0, num_steps=5))
    tail = list(StepSampler(100, 4, seed=3, start_step=2, num_steps=3))
    assert full[8:] == tail
    assert full != list(StepSampler(100, 4, seed=4, start_step=0, num_steps=5))
    assert list(StepSampler(100, 4, 3, 0, 2, rank=0)) != list(StepSampler(100, 4, 3, 0, 2, rank=1))


def test_samples_are_deterministic_and_well_formed(datasets):
    train_set, val_set = datasets
    spec = next(iter(StepSampler(len(train_set), 1, seed=0, num_steps=1)))
    a, b = train_set[spec], train_set[spec]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert a["image"].shape == (3, 32, 32) and a["mask"].shape == (1, 32, 32) and a["edge"].shape == (1, 32, 32)
    assert a["image"].min() >= -1 and a["image"].max() <= 1 and 0 < a["mask"].mean() < 1
    assert len(val_set) > 0 and torch.equal(val_set[0]["image"], val_set[0]["image"])


class Killed(Exception):
    """Stands for the end of a process that is killed mid-run."""


class DiesDuringStep(torch.utils.data.Dataset):
    """``dataset``, but the run dies while it loads the batch of step ``step`` (earlier steps run unchanged)."""

    def __init__(self, dataset: InpaintingDataset, step: int, batch_size: int) -> None:
        self.dataset, self.samples_left = dataset, (step - 1) * batch_size

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, spec: SampleSpec) -> dict[str, torch.Tensor]:
        if self.samples_left == 0:
            raise Killed
        self.samples_left -= 1
        return self.dataset[spec]


@pytest.mark.parametrize("variant", ["own", "tsgl"])
def test_killed_and_resumed_run_matches_an_uninterrupted_one(tmp_path, datasets, variant):
    train_set, _ = datasets
    host = tiny_host()
    full = train(host, variant, train_set, config(), tmp_path / "full", losses=LOSSES, progress=False)
    with pytest.raises(Killed):  # same configuration, killed during step 3, after the checkpoint of step 2
        train(host, variant, DiesDuringStep(train_set, 3, config().batch_size), config(), tmp_path / "killed",
              losses=LOSSES, progress=False)
    assert torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=True)["step"] == 2
    stale = tmp_path / "killed" / ".checkpoint.pt.x8k2.tmp"  # what a kill during a checkpoint write leaves
    stale.write_bytes(b"half a checkpoint")
    (tmp_path / "killed" / "notes.tmp").write_text("a user's file")  # not one of the run's temporaries
    resumed = train(host, variant, train_set, config(), tmp_path / "killed", losses=LOSSES, resume=True,
                    progress=False)
    assert not stale.exists() and (tmp_path / "killed" / "notes.tmp").exists()
    assert resumed.step == full.step == 4
    for (name, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert [h["g_total"] for h in full.history] == [h["g_total"] for h in resumed.history]
    if variant == "tsgl":
        assert "edge" in full.history[-1]  # the structure supervision is trained


def test_resume_refuses_a_checkpoint_of_another_configuration(tmp_path, datasets):
    train_set, _ = datasets
    train(tiny_host(), "own", train_set, config(steps=2), tmp_path, losses=LOSSES, progress=False)
    with pytest.raises(ValueError, match="from another run: its losses"):
        train(tiny_host(), "own", train_set, config(steps=2), tmp_path, losses=LossWeights(), resume=True,
              progress=False)
    with pytest.raises(ValueError, match="from another run: its variant is own"):
        train(tiny_host(), "tsgl", train_set, config(steps=2), tmp_path, losses=LOSSES, resume=True, progress=False)


def test_folder_data_errors_and_corrupt_images(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_images(tmp_path / "missing")
    with pytest.raises(ValueError, match="holds no"):
        find_images(tmp_path)
    from PIL import Image

    for i in range(4):
        folder = tmp_path / f"sub{i % 2}"
        folder.mkdir(exist_ok=True)
        Image.new("RGB", (40 + i, 48), (i * 40, 90, 200)).save(folder / f"{i}.png")
    (tmp_path / "sub0" / "broken.jpg").write_bytes(b"not a jpeg")
    train_set, val_set = folder_datasets(tmp_path, 32, create_mask_generator("brush"), None, val_size=1)
    assert len(train_set) + len(val_set) == 5  # found recursively, split 4 / 1
    files = find_images(tmp_path)
    dataset = InpaintingDataset(files, Image.open, 32, train=True, mask_fn=create_mask_generator("brush"))
    broken = [str(f) for f in files].index(str(tmp_path / "sub0" / "broken.jpg"))
    with pytest.warns(UserWarning, match="skipping unreadable image .*broken.jpg"):
        item = dataset[SampleSpec(broken, seed=1)]
    assert int(item["skipped"]) == 1 and item["image"].shape == (3, 32, 32)  # the next image stands in


def test_benchmark_smoke_writes_results_for_both_encoders(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "substitute_encoders.py"), "--preset",
                             "smoke", "--out", str(tmp_path), "--no-progress"],
                            capture_output=True, text=True, timeout=600, check=True, cwd=ROOT)
    assert "torch " in result.stdout
    table = (tmp_path / "results.md").read_text()
    assert "| own |" in table and "| tsgl |" in table and "**tsgl - own**" in table and "30-40%" in table
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["hosts"]) == {"lama", "ctsdg", "mat", "medfe", "smp_unet"}
    assert "## ctsdg" in table and "## medfe" in table and "## smp_unet" in table
    for host in ("lama", "ctsdg", "mat", "medfe", "smp_unet"):
        assert set(results["hosts"][host]["variants"]) == {"own", "tsgl"}
        assert (tmp_path / f"grid_{host}.png").stat().st_size > 5000 and (tmp_path / f"curves_{host}.png").is_file()
    for host in ("ctsdg", "medfe"):  # CTSDG's projections, MEDFE's InnerCos terms
        assert "intermediate" in results["hosts"][host]["variants"]["tsgl"]["runs"][0]["history"][-1]
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "substitute_encoders.py"), "--preset", "smoke",
                    "--out", str(tmp_path), "--no-progress", "--resume"],
                   capture_output=True, text=True, timeout=600, check=True, cwd=ROOT)
    again = json.loads((tmp_path / "results.json").read_text())["hosts"]["lama"]["variants"]
    for variant, data in results["hosts"]["lama"]["variants"].items():  # nothing retrained, same scores
        assert again[variant]["runs"][0]["history"] == data["runs"][0]["history"]
        for set_name, scores in data["runs"][0]["scores"].items():
            assert again[variant]["runs"][0]["scores"][set_name] == pytest.approx(scores, rel=1e-5)


def test_benchmark_refuses_sizes_a_host_cannot_take(load_script):
    benchmark = benchmark_program
    preset = replace(benchmark.PRESETS["smoke"], size=64)
    request = benchmark.BenchmarkConfig(preset="x")
    with pytest.raises(ValueError, match="host 'ctsdg' needs sizes that are multiples of 128, preset 'x' has 64"):
        benchmark.host_settings(preset, request)
    with pytest.raises(ValueError, match=r"unknown host\(s\) \['mat2'\]"):
        benchmark.host_settings(preset, replace(request, hosts=("mat2",)))
    settings = benchmark.host_settings(preset, replace(request, hosts=("lama",)))
    assert settings["lama"][2].perceptual == 0.0 and settings["lama"][2].resnet_pl == 0.0
    assert settings["lama"][1].steps == 2


def test_benchmark_as_two_gloo_ranks_exits_cleanly(tmp_path):
    ranks = run_local_ranks(ROOT / "benchmarks" / "substitute_encoders.py",
                            ["--preset", "smoke", "--out", str(tmp_path), "--no-progress", "--hosts", "lama"],
                            world_size=2, env={"OMP_NUM_THREADS": "1"}, cwd=ROOT)
    for rank in ranks:
        assert rank.returncode == 0, f"rank {rank.rank} exited with {rank.returncode}: {rank.stderr[-3000:]}"
    assert (tmp_path / "results.md").is_file()
    state = torch.load(tmp_path / "lama" / "tsgl" / "seed0" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 2


@pytest.mark.parametrize("attempt", range(3))  # an abort at exit was intermittent (~1 run in 6): run it thrice
def test_ddp_ranks_stay_synchronised_and_exit_cleanly(tmp_path, attempt):
    env = {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    ranks = run_local_ranks(ROOT / "tests" / "ddp_worker.py", [str(tmp_path)], world_size=2, env=env, cwd=ROOT)
    for rank in ranks:  # every rank's own exit status: 0, not -6 (SIGABRT at interpreter exit)
        assert rank.returncode == 0, f"rank {rank.rank} exited with {rank.returncode}: {rank.stderr[-3000:]}"
        assert f"rank {rank.rank}: ok" in rank.stdout


def test_mixed_precision_training_step(tmp_path, datasets):
    train_set, _ = datasets
    trainer = train(tiny_host(), "tsgl", train_set, config(steps=1, amp=True), tmp_path, losses=LOSSES,
                    progress=False)
    assert trainer.step == 1 and all(torch.isfinite(torch.tensor(v)) for k, v in trainer.history[-1].items()
                                     if isinstance(v, float))


def test_l1_only_training_builds_no_discriminator(tmp_path, datasets):
    train_set, _ = datasets
    losses = LossWeights(adversarial_weight=0.0, feature_matching=0.0, edge=0.0)
    trainer = train(tiny_host(), "own", train_set, config(steps=2), tmp_path, losses=losses, progress=False)
    assert trainer.history[-1]["d"] == 0.0 and "adversarial" not in trainer.history[-1]
    assert trainer.adversary is None and trainer.opt_d is None
