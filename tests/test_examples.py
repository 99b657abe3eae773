import subprocess
import sys
from pathlib import Path

import torch

from tsgl_encoder.bench.masks import brush_stroke_mask

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_writes_a_png(tmp_path):
    out = tmp_path / "quick.png"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py"), "--preset", "tsgl_tiny",
         "--size", "128", "192", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=True,
    )
    assert out.stat().st_size > 10_000
    table = [line for line in result.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert len(table) == 6 and "(1, 128, 2, 3)" in table[-1]


def test_brush_stroke_masks_are_seeded_binary_and_partial():
    a, b, c = (brush_stroke_mask(128, 96, seed=s) for s in (7, 7, 8))
    assert a.shape == (1, 128, 96) and torch.equal(a, b) and not torch.equal(a, c)
    assert set(a.unique().tolist()) <= {0.0, 1.0}
    assert 0.0 < (1 - a).mean() < 0.9


def test_swap_lama_prints_the_parameter_table_and_writes_a_png(tmp_path):
    out = tmp_path / "swap.png"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "swap_lama.py"), "--size", "64", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=True,
    )
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line[:1].isalpha()}
    assert rows["bottleneck"][0] == rows["bottleneck"][1] == "23,927,040"  # kept FFC blocks
    assert rows["total"][0] == "27,048,835"
    assert out.stat().st_size > 10_000


def test_bundled_photos_are_real_rgb_images():
    from tsgl_encoder.bench.data import BUNDLED_PHOTOS, bundled_photo, load_photo

    for name in BUNDLED_PHOTOS:
        photo = bundled_photo(name)
        assert photo.ndim == 3 and photo.shape[2] == 3 and photo.dtype.name == "uint8" and photo.std() > 10
    tensor = load_photo(None, 64, 96)
    assert tensor.shape == (1, 3, 64, 96) and -1 <= tensor.min() and tensor.max() <= 1


def test_swap_ctsdg_prints_the_parameter_table_and_writes_a_png(tmp_path):
    out = tmp_path / "swap.png"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "swap_ctsdg.py"), "--size", "128", "--encoder", "tsgl_tiny",
         "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=True,
    )
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line[:1].isalpha()}
    assert rows["decoders"][0] == rows["decoders"][1] == "33,041,216"  # kept decoders
    assert rows["total"][0] == "52,147,789"
    assert out.stat().st_size > 10_000


def test_swap_mat_prints_the_parameter_table_and_writes_a_png(tmp_path):
    out = tmp_path / "swap.png"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "swap_mat.py"), "--encoder", "tsgl_tiny", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=True,
    )
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line[:1].isalpha()}
    assert rows["stage-2"][0] == rows["stage-2"][1] == "46,782,744"  # the kept second stage
    assert rows["total"][0] == "59,779,834" and rows["encoder"][0] == "3,092,760"
    assert out.stat().st_size > 10_000


def test_swap_medfe_prints_the_parameter_table_and_writes_a_png(tmp_path):
    out = tmp_path / "swap.png"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "swap_medfe.py"), "--ngf", "8", "--encoder", "tsgl_tiny",
         "--size", "192", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=True,
    )
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line[:1].isalpha()}
    assert rows["pc_block"][0] == rows["pc_block"][1] == "1,285,124"  # MEDFE's kept equalisation
    assert rows["total"][0] == "2,039,530"
    assert out.stat().st_size > 10_000


def test_compare_methods_inpaints_scores_and_compares_two_checkpoints(tmp_path):
    """The example end to end on two training checkpoints of the quick preset's LaMa (untrained weights here)."""
    from tsgl_encoder.bench.hosts import LamaHost

    host = LamaHost(overrides={"ngf": 16, "n_blocks": 3}, adversary="patchgan")
    for variant in ("own", "tsgl"):
        torch.manual_seed(0)
        folder = tmp_path / "run" / "lama" / variant / "seed0"
        folder.mkdir(parents=True)
        torch.save({"host": "lama", "variant": variant, "host_settings": host.settings(),
                    "generator": host.build(variant).state_dict()}, folder / "checkpoint.pt")
    subprocess.run([sys.executable, str(ROOT / "examples" / "compare_methods.py"), "--run", str(tmp_path / "run"),
                    "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=600, check=True)
    inpainted = sorted(p.name for p in (tmp_path / "out" / "inpainted" / "lama_tsgl").glob("*.png"))
    assert len(inpainted) == 12 and inpainted[0] == "camera_mask000.png"
    assert (tmp_path / "out" / "compare" / "report.html").stat().st_size > 50_000
    assert "## lama_own - lama_tsgl" in (tmp_path / "out" / "compare" / "compare.md").read_text()
