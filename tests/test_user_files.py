"""Images and masks as users store them, and files that must not hang or crash (issue 29, items 2 and 3)."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from tsgl_encoder.bench.evaluate import main as evaluate
from tsgl_encoder.bench.folders import read_image, read_mask
from tsgl_encoder.pictures import MAX_PIXELS, open_picture

SIZE = 32


def bomb_png(path, width=30000, height=30000):
    """A PNG whose header claims ``width`` x ``height`` pixels (what PIL's decompression-bomb check reads)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.fixture
def scored_set(tmp_path):
    """Ground truth, predictions (the truth +20 in the hole) and masks (a quarter of each image is hole)."""
    truth, predictions, masks = (tmp_path / name for name in ("truth", "pred", "masks"))
    for folder in (truth, predictions, masks):
        folder.mkdir()
    hole = np.zeros((SIZE, SIZE), bool)
    hole[: SIZE // 2, : SIZE // 2] = True
    for index in range(3):
        pixels = np.random.default_rng(index).integers(0, 200, (SIZE, SIZE, 3), np.uint8)
        Image.fromarray(pixels).save(truth / f"i{index}.png")
        changed = np.where(hole[..., None], pixels + 20, pixels).astype(np.uint8)
        Image.fromarray(changed).save(predictions / f"i{index}.png")
    return truth, predictions, masks, hole


def score(truth, predictions, masks, out, *extra):
    return evaluate(["--predictions", str(predictions), "--ground-truth", str(truth), "--masks", str(masks),
                     "--out", str(out), "--no-fid", *extra])


def test_zero_one_masks_are_read_as_masks_not_as_no_hole(scored_set, tmp_path):
    truth, predictions, masks, hole = scored_set
    for index in range(3):
        Image.fromarray(hole.astype(np.uint8)).save(masks / f"i{index}.png")  # 0/1, not 0/255
    results = score(truth, predictions, masks, tmp_path / "out")
    assert all(item["hole_ratio"] == 0.25 for item in results["items"])
    assert read_mask(masks / "i0.png").mean() == 0.75


def test_black_hole_masks_without_a_manifest_are_named_in_a_warning_and_the_results(scored_set, tmp_path):
    truth, predictions, masks, hole = scored_set
    for index in range(3):
        Image.fromarray(np.where(hole, 0, 255).astype(np.uint8)).save(masks / f"i{index}.png")  # MAT's black = hole
    with pytest.warns(UserWarning, match="median 75% of each image a hole: .* --hole-value black"):
        results = score(truth, predictions, masks, tmp_path / "out")
    assert results["hole_value_from"] == "the default" and "--hole-value black" in results["warnings"][0]
    assert "hole where the white side exceeds 0.5" in results["mask_reading"]
    assert "**Warning**" in (tmp_path / "out" / "results.md").read_text()
    fixed = score(truth, predictions, masks, tmp_path / "again", "--hole-value", "black")
    assert "warnings" not in fixed and all(item["hole_ratio"] == 0.25 for item in fixed["items"])


def test_sixteen_bit_pngs_are_scaled_not_saturated(tmp_path):
    gray = np.full((SIZE, SIZE), 32768, np.uint16)  # half of 0..65535
    Image.fromarray(gray).save(tmp_path / "sixteen.png")
    assert Image.open(tmp_path / "sixteen.png").mode in ("I;16", "I")
    image = read_image(tmp_path / "sixteen.png")
    assert image.shape == (3, SIZE, SIZE) and abs(float(image.mean()) - 0.5) < 1e-3  # 0.5.0 read 1.0 (white)
    mask = np.zeros((SIZE, SIZE), np.uint16)
    mask[:8] = 65535
    Image.fromarray(mask).save(tmp_path / "mask16.png")
    assert float(1 - read_mask(tmp_path / "mask16.png").mean()) == 0.25


def test_the_same_folder_as_predictions_and_ground_truth_is_refused(scored_set, tmp_path, capsys):
    truth, _, masks, _ = scored_set
    with pytest.raises(SystemExit) as exit_info:
        score(truth, truth, masks, tmp_path / "out")
    assert exit_info.value.code == 2 and "are the same folder" in capsys.readouterr().err


def test_a_decompression_bomb_is_refused_before_decoding_and_skipped_by_name(scored_set, tmp_path):
    bomb = bomb_png(tmp_path / "bomb.png")
    assert 30000 * 30000 > MAX_PIXELS
    with pytest.raises(ValueError, match=r"bomb.png' cannot be read: .*30000x30000|bomb.png' cannot be read"):
        open_picture(bomb)
    truth, predictions, masks, hole = scored_set
    for index in range(3):
        Image.fromarray((hole * 255).astype(np.uint8)).save(masks / f"i{index}.png")
    bomb_png(predictions / "i1.png")  # one prediction is a bomb
    results = score(truth, predictions, masks, tmp_path / "out")
    assert results["count"] == 2 and results["skipped"] == ["i1.png"]
