"""tsgl-evaluate: exported mask sets, scoring other methods' folders, running a checkpoint; P-IDS / U-IDS; intervals."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from tsgl_encoder.bench.evaluate import main
from tsgl_encoder.bench.folders import read_mask
from tsgl_encoder.bench.masks import MASK_SETS, fixed_mask
from tsgl_encoder.bench.metrics.ids import inception_discriminative_scores
from tsgl_encoder.bench.stats import paired_bootstrap_interval

SIZE = 64


@pytest.fixture
def photos(tmp_path):
    """Five small images in a nested folder (values <= 200, so a +20 shift never clips) and one broken file."""
    folder = tmp_path / "data"
    (folder / "nested").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, name in enumerate(["a", "b", "c", "d", "nested/e"]):
        size = (80 + 8 * i, 72)  # different sizes: the export centre-crops them
        pixels = rng.integers(0, 201, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{name}.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    return folder


def export(photos, out, mask_set="lama_medium", layout="lama"):
    return main(["--export-masks", mask_set, "--data", str(photos), "--out", str(out), "--size", str(SIZE),
                 "--layout", layout])


def lama_predictions(exported, out, change=None):
    """Predictions in LaMa's naming (``name_mask000.png``), the ground truth itself or ``change(pixels)``."""
    out.mkdir()
    for mask in sorted(exported.glob("*_mask000.png")):
        pixels = np.asarray(Image.open(exported / f"{mask.name.removesuffix('_mask000.png')}.png"))
        Image.fromarray(change(pixels) if change else pixels).save(out / mask.name)


def test_export_writes_fixed_masks_in_both_layouts_and_skips_the_broken_file(photos, tmp_path):
    manifest = export(photos, tmp_path / "lama")
    names = [item["name"] for item in manifest["items"]]
    assert names == ["a", "b", "c", "d", "nested__e"] and len(manifest["skipped"]) == 1
    assert "broken.jpg" in manifest["skipped"][0]
    for item in manifest["items"]:  # white = hole in LaMa's layout; the same holes as fixed_mask
        mask = read_mask(tmp_path / "lama" / item["mask"], "white")
        assert torch.equal(mask, fixed_mask("lama_medium", item["mask_index"], SIZE, SIZE))
        assert Image.open(tmp_path / "lama" / item["image"]).size == (SIZE, SIZE)
    mat = export(photos, tmp_path / "mat", layout="mat")
    assert mat["hole_value"] == "black"
    for item in mat["items"]:  # MAT reads 1 = known: black = hole
        mask = read_mask(tmp_path / "mat" / "masks" / item["mask"], "black")
        assert torch.equal(mask, fixed_mask("lama_medium", item["mask_index"], SIZE, SIZE))


def test_fixed_masks_do_not_depend_on_the_number_of_images():
    for name in MASK_SETS:
        assert torch.equal(fixed_mask(name, 3, SIZE, SIZE), fixed_mask(name, 3, SIZE, SIZE))
    assert not torch.equal(fixed_mask("mat_large", 0, SIZE, SIZE), fixed_mask("mat_large", 1, SIZE, SIZE))
    ratio = 1 - fixed_mask("ratio_30-40", 5, SIZE, SIZE).mean()
    assert 0.3 <= ratio < 0.4


def test_predictions_equal_to_ground_truth_give_infinite_psnr_and_ssim_1(photos, tmp_path):
    export(photos, tmp_path / "set")
    lama_predictions(tmp_path / "set", tmp_path / "pred")
    results = main(["--predictions", str(tmp_path / "pred"), "--ground-truth", str(tmp_path / "set"),
                    "--out", str(tmp_path / "scores"), "--no-fid"])
    assert results["count"] == 5
    assert math.isinf(results["metrics"]["psnr"]) and results["metrics"]["ssim"] == pytest.approx(1.0)
    assert results["metrics"]["l1"] == 0
    written = json.loads((tmp_path / "scores" / "results.json").read_text())
    assert [item["name"] for item in written["items"]] == ["a_mask000", "b_mask000", "c_mask000", "d_mask000",
                                                           "nested__e_mask000"]
    assert (tmp_path / "scores" / "grid.png").stat().st_size > 1000
    assert "| psnr | ssim | l1 |" in (tmp_path / "scores" / "results.md").read_text()


def test_a_known_perturbation_gives_the_psnr_computed_by_hand(photos, tmp_path):
    export(photos, tmp_path / "set", layout="mat")
    (tmp_path / "pred").mkdir()
    for image in (tmp_path / "set" / "images").glob("*.png"):  # MAT's naming: the image's own name
        pixels = np.asarray(Image.open(image)).astype(np.int16) + 20
        Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "pred" / image.name)
    results = main(["--predictions", str(tmp_path / "pred"), "--ground-truth", str(tmp_path / "set" / "images"),
                    "--masks", str(tmp_path / "set" / "masks"), "--out", str(tmp_path / "scores"), "--no-fid"])
    for item in results["items"]:  # only hole pixels differ, by 20/255 in every channel
        mse = (20 / 255) ** 2 * item["hole_ratio"]
        assert item["psnr"] == pytest.approx(10 * math.log10(1 / mse), abs=1e-3)
        assert item["l1"] == pytest.approx(20 / 255 * item["hole_ratio"], abs=1e-6)


def test_unpaired_files_and_mismatched_sizes_are_refused_with_the_files(photos, tmp_path, capsys):
    export(photos, tmp_path / "set")
    lama_predictions(tmp_path / "set", tmp_path / "pred")
    args = ["--predictions", str(tmp_path / "pred"), "--ground-truth", str(tmp_path / "set"),
            "--out", str(tmp_path / "scores"), "--no-fid"]
    (tmp_path / "pred" / "b_mask000.png").unlink()
    (tmp_path / "pred" / "zzz.png").write_bytes((tmp_path / "set" / "a.png").read_bytes())
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert "predictions without ground truth (1): zzz.png" in error
    assert "ground-truth images without a prediction (1): b.png" in error
    assert "masks without a prediction (1): b_mask000.png" in error
    (tmp_path / "pred" / "zzz.png").unlink()
    shutil.copy(tmp_path / "set" / "b.png", tmp_path / "pred" / "b_mask000.png")
    Image.open(tmp_path / "set" / "c.png").resize((SIZE, SIZE + 8)).save(tmp_path / "pred" / "c_mask000.png")
    with pytest.raises(SystemExit):
        main(args)
    assert f"sizes differ: items (1): c_mask000.png {SIZE}x{SIZE + 8} vs c.png {SIZE}x{SIZE}" in capsys.readouterr().err


def test_a_corrupt_prediction_is_skipped_and_named(photos, tmp_path):
    export(photos, tmp_path / "set")
    lama_predictions(tmp_path / "set", tmp_path / "pred")
    (tmp_path / "pred" / "d_mask000.png").write_bytes(b"\x89PNG broken")
    results = main(["--predictions", str(tmp_path / "pred"), "--ground-truth", str(tmp_path / "set"),
                    "--out", str(tmp_path / "scores"), "--no-fid"])
    assert results["count"] == 4 and results["skipped"] == ["d_mask000.png"]
    assert "Skipped (1 unreadable): d_mask000.png" in (tmp_path / "scores" / "results.md").read_text()


def test_bad_mode_combinations_exit_with_status_2(tmp_path):
    for argv in (["--out", str(tmp_path)], ["--out", str(tmp_path), "--host", "lama", "--data", str(tmp_path)]):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2


def test_host_mode_inpaints_a_checkpoint_on_two_mask_sets(photos, tmp_path):
    import adapters.lama as lama

    torch.manual_seed(0)
    model = lama.create_generator("lama_fourier", ngf=8, n_blocks=1)
    (tmp_path / "ckpt").mkdir()
    torch.save(model.state_dict(), tmp_path / "ckpt" / "generator.pth")
    kwargs = "{ratio_gin: %s, ratio_gout: %s, enable_lfu: false}"
    (tmp_path / "ckpt" / "config.yaml").write_text(
        "generator:\n  kind: ffc_resnet\n  ngf: 8\n  n_blocks: 1\n  n_downsampling: 3\n"
        f"  init_conv_kwargs: {kwargs % (0, 0)}\n  downsample_conv_kwargs: {kwargs % (0, 0)}\n"
        f"  resnet_conv_kwargs: {kwargs % (0.75, 0.75)}\n")
    results = main(["--host", "lama", "--checkpoint", str(tmp_path / "ckpt" / "generator.pth"), "--data",
                    str(photos), "--mask-set", "lama_thick", "ratio_20-30", "--out", str(tmp_path / "run"),
                    "--size", str(SIZE), "--no-fid"])
    assert set(results) == {"lama_thick", "ratio_20-30"}
    for name, result in results.items():
        assert result["count"] == 5 and len(result["skipped"]) == 1
        predictions = sorted(p.name for p in (tmp_path / "run" / name / "predictions").glob("*.png"))
        assert predictions == ["a.png", "b.png", "c.png", "d.png", "nested__e.png"]
        assert 0 < result["metrics"]["l1"] < 1 and (tmp_path / "run" / name / "grid.png").is_file()
    for item in results["ratio_20-30"]["items"]:
        assert 0.2 <= item["hole_ratio"] < 0.3


# ---------------------------------------------------------------------------------------- P-IDS / U-IDS


def test_inception_discriminative_scores_at_their_extremes():
    real = np.random.default_rng(0).normal(size=(40, 16))
    separable = inception_discriminative_scores(real, real + 10.0)
    assert separable == {"p_ids": 0.0, "u_ids": 0.0}  # told apart perfectly: the inpainting fools nobody
    identical = inception_discriminative_scores(real, real.copy())
    assert identical["u_ids"] == 0.5  # no separating hyperplane: chance
    assert identical["p_ids"] == 0.0  # ties: an inpainted image never scores *more* real than its original
    with pytest.raises(ValueError, match="paired"):
        inception_discriminative_scores(real, real[:10])


# ------------------------------------------------------------------------------------- paired intervals


def test_paired_interval_contains_a_known_shift_and_excludes_zero():
    rng = np.random.default_rng(1)
    own = rng.normal(25, 3, size=(2, 200))  # (seeds, images): image difficulty varies a lot ...
    tsgl = own + 0.4 + rng.normal(0, 0.3, size=own.shape)  # ... the paired difference is small and steady
    interval = paired_bootstrap_interval(tsgl - own)
    assert interval.low < 0.4 < interval.high and interval.excludes_zero
    assert interval.verdict().startswith("significantly better")
    null = paired_bootstrap_interval(rng.normal(0, 0.3, size=300))
    assert null.low < 0 < null.high and not null.excludes_zero
    with pytest.raises(ValueError, match="NaN or inf"):
        paired_bootstrap_interval(np.array([1.0, math.inf, 2.0]))


def test_score_mode_reports_each_hole_ratio_bin_of_a_known_mask_folder(tmp_path):
    """Masks whose hole ratios are known by construction land in their bins (issue 28, item 3)."""
    truth, predictions, masks = (tmp_path / name for name in ("truth", "pred", "masks"))
    for folder in (truth, predictions, masks):
        folder.mkdir()
    rng = np.random.default_rng(0)
    ratios = {"a": 0.05, "b": 0.15, "c": 0.175, "d": 0.35, "e": 0.7}
    for name, ratio in ratios.items():
        pixels = rng.integers(0, 201, (SIZE, SIZE, 3), dtype=np.uint8)
        hole = np.zeros((SIZE, SIZE), dtype=np.uint8)
        hole.reshape(-1)[: round(ratio * SIZE * SIZE)] = 255  # the first rows: white = hole
        Image.fromarray(pixels).save(truth / f"{name}.png")
        Image.fromarray(hole).save(masks / f"{name}.png")
        Image.fromarray(np.where(hole[..., None] > 0, pixels + 20, pixels).astype(np.uint8)).save(
            predictions / f"{name}.png")
    results = main(["--predictions", str(predictions), "--ground-truth", str(truth), "--masks", str(masks),
                    "--out", str(tmp_path / "scores"), "--no-fid"])
    assert {label: row["count"] for label, row in results["bins"].items()} == {
        "0-10%": 1, "10-20%": 2, "30-40%": 1, "60-100%": 1}
    by_name = {item["name"]: item for item in results["items"]}
    assert results["bins"]["10-20%"]["l1"] == pytest.approx((by_name["b"]["l1"] + by_name["c"]["l1"]) / 2)
    text = (tmp_path / "scores" / "results.md").read_text()
    assert "| hole ratio | images |" in text and "| 10-20% | 2 |" in text and "| 60-100% | 1 |" in text
    saved = json.loads((tmp_path / "scores" / "results.json").read_text())
    assert saved["bins"].keys() == results["bins"].keys()
