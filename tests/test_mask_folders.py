"""Mask folders for training and evaluation (issue 28, item 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from tsgl_encoder.bench import benchmark as benchmark_program
from tsgl_encoder.bench.evaluate import main as evaluate_main
from tsgl_encoder.bench.hosts import LamaHost
from tsgl_encoder.bench.masks import FolderMasks, folder_eval_sets


def write_masks(folder, ratios, size=64, black_hole=False):
    """One file per ratio: the first rows are the hole (white unless ``black_hole``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, ratio in enumerate(ratios):
        hole = np.zeros((size, size), np.uint8)
        hole.reshape(-1)[: round(ratio * size * size)] = 255
        Image.fromarray(255 - hole if black_hole else hole).save(folder / f"m{index:02d}.png")
    return folder


def test_folder_masks_are_seeded_augmented_and_resized(tmp_path):
    folder = tmp_path / "masks"
    folder.mkdir()
    hole = np.zeros((64, 96), np.uint8)
    hole[5:20, 10:30] = 255  # one off-centre rectangle: flips and rotations move it
    Image.fromarray(hole).save(folder / "a.png")
    masks = FolderMasks(folder)
    draws = [masks(48, 48, np.random.default_rng(seed)) for seed in range(12)]
    again = masks(48, 48, np.random.default_rng(3))
    assert all(d.shape == (1, 48, 48) and set(d.unique().tolist()) <= {0.0, 1.0} for d in draws)
    assert torch.equal(again, draws[3])  # seeded
    assert len({tuple(d.flatten().tolist()) for d in draws}) > 3  # flips / rotations / dilation vary
    holes = [float(1 - d.mean()) for d in draws]
    assert min(holes) > 0.04 and max(holes) > min(holes)  # 4.9% in the file; dilation grows it


def test_folder_eval_sets_bin_the_files_by_their_hole_ratio(tmp_path):
    folder = write_masks(tmp_path / "masks", [0.05, 0.15, 0.16, 0.45, 0.55, 0.8])
    sets = folder_eval_sets(folder, 32, 32)
    assert {label: len(masks) for label, masks in sets.items()} == {
        "0-10%": 1, "10-20%": 2, "40-50%": 1, "50-60%": 1, "60-100%": 1}
    assert list(sets) == ["0-10%", "10-20%", "40-50%", "50-60%", "60-100%"]
    flipped = write_masks(tmp_path / "black", [0.15], black_hole=True)
    with pytest.warns(UserWarning, match="mostly hole when read as hole-white.*use hole-black"):
        folder_eval_sets(flipped, 32, 32)
    assert list(folder_eval_sets(flipped, 32, 32, "hole-black")) == ["10-20%"]


def test_the_smoke_benchmark_trains_and_evaluates_on_mask_folders(tmp_path):
    train = write_masks(tmp_path / "train", [0.1, 0.3, 0.5])
    evaluation = write_masks(tmp_path / "eval", [0.12, 0.35, 0.38])
    results = benchmark_program.main(["--preset", "smoke", "--hosts", "lama", "--train-masks", str(train),
                                      "--eval-masks", str(evaluation), "--out", str(tmp_path / "out"),
                                      "--no-progress"])
    assert results["sets"] == ["10-20%", "30-40%"] and results["train_masks"] == str(train)
    runs = results["hosts"]["lama"]["variants"]["tsgl"]["runs"]
    assert set(runs[0]["scores"]) == {"10-20%", "30-40%"} and len(runs[0]["history"]) == 2
    table = (tmp_path / "out" / "results.md").read_text()
    assert "10-20%" in table and "30-40%" in table


def test_the_benchmark_refuses_an_empty_mask_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        benchmark_program.main(["--preset", "smoke", "--train-masks", str(tmp_path / "empty")])
    assert exit_info.value.code == 2 and "holds no" in capsys.readouterr().err


def test_evaluate_runs_a_checkpoint_on_a_mask_folder(tmp_path):
    host = LamaHost(overrides={"ngf": 8, "n_blocks": 1})
    torch.manual_seed(0)
    torch.save({"host": "lama", "variant": "own", "host_settings": host.settings(),
                "generator": host.build("own").state_dict()}, tmp_path / "checkpoint.pt")
    data = tmp_path / "data"
    data.mkdir()
    for index in range(3):
        pixels = np.random.default_rng(index).integers(0, 256, (70, 80, 3), np.uint8)
        Image.fromarray(pixels).save(data / f"{index}.png")
    masks = write_masks(tmp_path / "masks", [0.15, 0.25, 0.27])
    results = evaluate_main(["--host", "lama", "--checkpoint", str(tmp_path / "checkpoint.pt"), "--data", str(data),
                             "--masks", str(masks), "--size", "64", "--out", str(tmp_path / "out"), "--no-fid"])
    assert set(results) == {"bin_10-20", "bin_20-30"}
    assert all(result["count"] == 3 for result in results.values())
    ratios = [item["hole_ratio"] for item in results["bin_20-30"]["items"]]
    assert all(0.2 <= ratio < 0.3 for ratio in ratios)
    saved = json.loads((tmp_path / "out" / "bin_20-30" / "results.json").read_text())
    assert saved["bin"] == "20-30%" and saved["mask_folder"] == str(masks)
