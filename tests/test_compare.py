"""Methods side by side (issue 28, item 4): tsgl-evaluate --compare and its report.html, checked in Chromium."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from tsgl_encoder.bench import browser
from tsgl_encoder.bench.evaluate import main

SIZE = 48
CHROMIUM = browser.chromium()


@pytest.fixture
def scored(tmp_path):
    """Ground truth, masks and three methods' predictions, each scored: ``near`` (hole shifted by 4),
    ``far`` (shifted by 40) and ``near_copy`` (``near``'s files)."""
    truth, masks = tmp_path / "truth", tmp_path / "masks"
    truth.mkdir()
    masks.mkdir()
    rng = np.random.default_rng(0)
    predictions = {name: tmp_path / name for name in ("near", "far")}
    for folder in predictions.values():
        folder.mkdir()
    for index in range(12):
        pixels = rng.integers(40, 200, (SIZE, SIZE, 3), dtype=np.uint8)
        hole = np.zeros((SIZE, SIZE), np.uint8)
        rows = 5 + 3 * index  # hole ratios from 10% to 75%
        hole[:rows, : SIZE // 2 + 8] = 255
        Image.fromarray(pixels).save(truth / f"img{index:02d}.png")
        Image.fromarray(hole).save(masks / f"img{index:02d}.png")
        for name, shift in (("near", 4), ("far", 40)):
            changed = np.where(hole[..., None] > 0, pixels.astype(int) + shift, pixels).astype(np.uint8)
            Image.fromarray(changed).save(predictions[name] / f"img{index:02d}.png")
    shutil.copytree(predictions["near"], tmp_path / "near_copy")
    scores = tmp_path / "scores"
    for name in ("near", "far", "near_copy"):
        main(["--predictions", str(tmp_path / name), "--ground-truth", str(truth), "--masks", str(masks),
              "--out", str(scores / name), "--no-fid"])
    return scores


def test_a_known_difference_is_found_on_the_right_side_and_identical_methods_are_not_told_apart(scored, tmp_path):
    report = main(["--compare", str(scored / "near"), str(scored / "far"), str(scored / "near_copy"),
                   "--out", str(tmp_path / "compare")])
    assert report["methods"] == ["near", "far", "near_copy"] and report["count"] == 12
    pairs = {(p["a"], p["b"]): p for p in report["pairs"]}
    near_far = pairs[("near", "far")]["bins"]["all"]
    assert near_far["psnr"]["low"] > 0 and near_far["l1"]["high"] < 0  # near is better in both, intervals clear 0
    same = pairs[("near", "near_copy")]["bins"]["all"]["psnr"]
    assert same["low"] <= 0 <= same["high"] and same["mean"] == 0
    assert pairs[("near", "far")]["sentence"].startswith("near - far: PSNR +") and "near is better" in \
        pairs[("near", "far")]["sentence"]
    assert "not told apart" in pairs[("near", "near_copy")]["sentence"]
    assert set(report["bins"]) >= {"10-20%", "all"} and sum(v for k, v in report["bins"].items() if k != "all") == 12
    text = (tmp_path / "compare" / "compare.md").read_text()
    assert "## near - far" in text and "| all | 12 | far |" in text
    assert json.loads((tmp_path / "compare" / "compare.json").read_text())["count"] == 12


def test_runs_that_do_not_pair_are_refused_with_the_list(scored, tmp_path, capsys):
    results = json.loads((scored / "far" / "results.json").read_text())
    results["items"] = results["items"][:-2]
    results["items"][0]["hole_ratio"] += 0.05  # scored on another mask
    (scored / "far" / "results.json").write_text(json.dumps(results))
    with pytest.raises(SystemExit) as exit_info:
        main(["--compare", str(scored / "near"), str(scored / "far"), "--out", str(tmp_path / "compare")])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and "far lacks 2: img10, img11" in error
    assert "different masks (hole ratios differ) for 1: img00" in error
    with pytest.raises(SystemExit):
        main(["--compare", str(scored / "near"), "--out", str(tmp_path / "compare")])
    assert "at least two score folders" in capsys.readouterr().err


def test_the_page_is_self_contained(scored, tmp_path):
    main(["--compare", str(scored / "near"), str(scored / "far"), "--out", str(tmp_path / "compare"),
          "--html-images", "5"])
    page = (tmp_path / "compare" / "report.html").read_text()
    assert "http://" not in page and "https://" not in page and "<link" not in page  # no network, no CDN
    assert page.count('<tr data-name="') == 5 and 'data-images-total="20"' in page
    assert "5 of 12 images (the first 5 by name)" in page


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium; .ci/run installs it)")
def test_the_page_renders_in_a_real_browser_with_every_image_loaded(scored, tmp_path):
    out = tmp_path / "compare"
    main(["--compare", str(scored / "near"), str(scored / "far"), "--out", str(out)])
    dom = browser.dump_dom(out / "report.html")
    body = re.search(r"<body[^>]*>", dom)[0]
    total, loaded = (int(re.search(rf'{key}="(\d+)"', body)[1]) for key in ("data-images-total",
                                                                              "data-images-loaded"))
    assert total == 12 * 4 and loaded == total  # masked input, two methods, ground truth for every image
    rows = re.findall(r'<tr data-name="(img\d+)"[^>]*data-difference="([-0-9.e]+)"', dom)
    assert len(rows) == 12
    differences = [float(d) for _, d in rows]
    assert differences == sorted(differences, reverse=True)  # the script sorted by near - far, PSNR, descending
    assert dom.count("<tr><td>") >= len(json.loads((out / "compare.json").read_text())["bins"]) * 2
    browser.screenshot(out / "report.html", tmp_path / "page.png", window=(1400, 1000))
    with Image.open(tmp_path / "page.png") as shot:
        assert shot.size == (1400, 1000) and len(np.unique(np.asarray(shot.convert("L")))) > 20  # not blank
