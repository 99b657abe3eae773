"""Your images, your masks (issue 28, item 1): tsgl_encoder.inpaint and tsgl-inpaint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import adapters.medfe as medfe
from tsgl_encoder import SizeRule, inpaint
from tsgl_encoder.bench import inpaint as inpaint_program
from tsgl_encoder.bench.hosts import MEDFEHost
from tsgl_encoder.inpainting import hole_groups
from tsgl_encoder.pictures import MaskPolarityError, read_hole

TINY = {"ngf": 8, "dilation": 1}


class MeanFill(nn.Module):
    """An inpainter that fills with the mean known colour of each image and records the shapes it is given."""

    def __init__(self, rule: SizeRule | None = None) -> None:
        super().__init__()
        self.size_rule, self.shapes = rule or SizeRule(8, 8, 64), []
        self.anchor = nn.Parameter(torch.zeros(()))  # gives the inpainter a device

    def forward(self, image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(image.shape))
        assert not (image * (1 - known)).any(), "hole pixels reached the model"
        mean = (image * known).sum((-2, -1), keepdim=True) / known.sum((-2, -1), keepdim=True).clamp(min=1)
        return mean.expand_as(image)


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def box_mask(height: int, width: int, value: int = 255) -> np.ndarray:
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[height // 4 : height // 2, width // 4 : width // 2] = value
    return mask


@pytest.mark.parametrize(("height", "width"), [(17, 33), (200, 300), (64, 64)])
def test_any_size_comes_back_at_its_size_with_known_pixels_untouched(height, width):
    image, mask = photo(height, width), box_mask(height, width)
    model = MeanFill()
    result = inpaint(model, Image.fromarray(image), Image.fromarray(mask))
    out = np.asarray(result)
    assert result.size == (width, height) and result.mode == "RGB"
    assert np.array_equal(out[mask == 0], image[mask == 0])  # bit for bit
    assert not np.array_equal(out[mask > 0], image[mask > 0])
    assert all(shape[-2] % 8 == 0 and shape[-1] % 8 == 0 for shape in model.shapes)


def test_a_one_pixel_image_is_refused_clearly():
    with pytest.raises(ValueError, match="image must be at least 8x8 pixels, got 1x1"):
        inpaint(MeanFill(), np.zeros((1, 1, 3), np.uint8), np.ones((1, 1), np.uint8) * 255, mask_polarity="hole-white")


def test_a_large_image_with_the_crop_strategy_only_runs_windows_at_the_training_size():
    image = photo(2000, 3000)
    mask = np.zeros((2000, 3000), np.uint8)
    mask[100:160, 200:380] = 255
    mask[1500:1700, 2500:2900] = 255
    model = MeanFill(SizeRule(8, 8, 256))
    out = inpaint(model, image, mask)  # auto: larger than twice the training size -> crop
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert len(model.shapes) == 2 and all(max(shape[-2:]) <= 256 for shape in model.shapes)
    assert hole_groups(mask > 0, 32) == [(96, 192, 160, 384), (1472, 2496, 1728, 2912)]


@pytest.mark.parametrize("mode", ["RGBA", "L", "P", "I;16", "LA", "1"])
def test_image_modes_come_back_in_their_own_mode(mode):
    rgb = Image.fromarray(photo(48, 40))
    source = {"RGBA": lambda: _with_alpha(rgb), "L": lambda: rgb.convert("L"), "P": lambda: rgb.convert("P"),
              "I;16": lambda: Image.fromarray(np.asarray(rgb.convert("L")).astype(np.uint16) * 257),
              "LA": lambda: _with_alpha(rgb.convert("L")), "1": lambda: rgb.convert("1")}[mode]()
    mask = box_mask(48, 40)
    result = inpaint(MeanFill(), source, Image.fromarray(mask))
    expected_mode = {"P": "RGB", "I;16": "I;16"}.get(mode, mode if mode != "1" else "L")
    assert result.mode == expected_mode and result.size == source.size
    before = np.asarray(source.convert(expected_mode) if mode in ("P", "1") else source)
    after = np.asarray(result)
    assert np.array_equal(after[mask == 0], before[mask == 0])
    if mode == "I;16":  # 16-bit values are read over 0..65535, not saturated
        assert after.dtype == np.uint16 and after[mask > 0].max() > 255


def _with_alpha(image: Image.Image) -> Image.Image:
    image = image.copy()
    image.putalpha(Image.fromarray(np.full(image.size[::-1], 200, np.uint8)))
    return image


def test_mask_values_and_polarities():
    white_hole = box_mask(40, 40)
    assert read_hole(white_hole).sum() == 100  # 0/255, white = hole
    assert read_hole(box_mask(40, 40, value=1)).sum() == 100  # a 0/1 mask stored as uint8
    assert read_hole(white_hole > 0).sum() == 100  # bool
    assert read_hole(white_hole.astype(np.uint16) * 257).sum() == 100  # 16-bit
    rgba = np.dstack([white_hole] * 3 + [np.full_like(white_hole, 255)])
    assert read_hole(rgba).sum() == 100
    black_hole = 255 - white_hole  # MAT's convention
    with pytest.raises(MaskPolarityError, match=r"94% of the image a hole.*--mask-polarity hole-black"):
        read_hole(black_hole)
    assert read_hole(black_hole, "hole-black").sum() == 100
    assert read_hole(black_hole, "hole-white").sum() == 1500  # told explicitly: as it is
    with pytest.raises(ValueError, match="mask polarity must be one of"):
        read_hole(white_hole, "white")


def test_tensors_follow_the_library_convention():
    image = torch.rand(2, 3, 40, 56) * 2 - 1
    known = torch.ones(2, 1, 40, 56)
    known[..., 10:20, 10:30] = 0
    out = inpaint(MeanFill(), image, known)
    assert out.shape == image.shape and torch.equal(out * known, image * known)
    with pytest.raises(TypeError, match="mask must be a tensor"):
        inpaint(MeanFill(), image, np.zeros((40, 56)))
    with pytest.raises(ValueError, match=r"mask must be \(B, 1, H, W\)"):
        inpaint(MeanFill(), image, known[:, :, :20])


def test_a_mask_of_another_size_is_refused():
    with pytest.raises(ValueError, match="mask is 30x20 but image is 40x48"):
        inpaint(MeanFill(), photo(48, 40), box_mask(20, 30))


def test_a_medfe_generator_is_an_inpainter_with_its_size_rule():
    torch.manual_seed(0)
    model = medfe.create_generator("tsgl_medfe", encoder="tsgl_tiny", ngf=8).eval()
    image, mask = photo(100, 150), box_mask(100, 150)
    out = inpaint(model, image, mask)  # padded to 128 x 192 (multiples of 64, at least 128), cropped back
    assert out.shape == image.shape and np.array_equal(out[mask == 0], image[mask == 0])


# ------------------------------------------------------------------------------------------- tsgl-inpaint


@pytest.fixture
def run_file(tmp_path):
    """A checkpoint of the MEDFE host's tsgl variant in the training loop's format."""
    host = MEDFEHost(overrides=TINY, encoder="tsgl_tiny")
    torch.manual_seed(0)
    model = host.build("tsgl")
    path = tmp_path / "checkpoint.pt"
    torch.save({"host": "medfe", "variant": "tsgl", "host_settings": host.settings(),
                "generator": model.state_dict()}, path)
    return path


def test_tsgl_inpaint_writes_one_png_per_paired_image(tmp_path, run_file, capsys):
    images, masks, out = tmp_path / "images", tmp_path / "masks", tmp_path / "out"
    images.mkdir()
    masks.mkdir()
    Image.fromarray(photo(150, 200)).save(images / "a.jpg")
    Image.fromarray(photo(131, 97, 1)).convert("L").save(images / "b.png")
    Image.fromarray(photo(64, 64, 2)).save(images / "lonely.png")  # no mask: listed
    (images / "broken.png").write_bytes(b"\x89PNG not really")
    Image.fromarray(box_mask(150, 200)).save(masks / "a.png")
    Image.fromarray(box_mask(131, 97, value=1)).save(masks / "b.png")  # a 0/1 mask
    Image.fromarray(box_mask(10, 10)).save(masks / "broken.png")
    Image.fromarray(255 - box_mask(64, 64)).save(masks / "orphan.png")  # no image: listed
    report = inpaint_program.main(["--host", "medfe", "--checkpoint", str(run_file), "--images", str(images),
                                   "--masks", str(masks), "--out", str(out), "--no-progress"])
    assert report["written"] == ["a.png", "b.png"] and report["polarity"] == []
    assert any("broken.png" in line for line in report["skipped"])
    assert any("lonely.png: no mask" in line for line in report["skipped"])
    assert any("orphan.png (mask): no image" in line for line in report["skipped"])
    a, b = Image.open(out / "a.png"), Image.open(out / "b.png")
    assert a.size == (200, 150) and a.mode == "RGB" and b.size == (97, 131) and b.mode == "L"
    source_b, mask_b = np.asarray(Image.open(images / "b.png")), box_mask(131, 97)
    assert np.array_equal(np.asarray(b)[mask_b == 0], source_b[mask_b == 0])
    assert report["strategies"] == {"original": 2}
    printed = capsys.readouterr().out
    assert "wrote 2 image(s)" in printed and "strategy auto: original for 2 (auto: the whole image up to" in printed


def test_tsgl_inpaint_reads_lama_layouts_and_names_masks_of_the_other_polarity(tmp_path, run_file, capsys):
    images, out = tmp_path / "lama", tmp_path / "out"
    images.mkdir()
    Image.fromarray(photo(128, 128)).save(images / "x.png")
    Image.fromarray(box_mask(128, 128)).save(images / "x_mask000.png")
    Image.fromarray(255 - box_mask(128, 128)).save(images / "x_mask001.png")  # black = hole
    report = inpaint_program.main(["--host", "medfe", "--checkpoint", str(run_file), "--images", str(images),
                                   "--out", str(out), "--no-progress"])
    assert report["written"] == ["x_mask000.png"] and report["polarity"] == ["x_mask001.png"]
    assert "--mask-polarity hole-black" in capsys.readouterr().out
    with pytest.warns(UserWarning, match="marks only 6% of the pixels as known"):  # told: x_mask000 as it is
        again = inpaint_program.main(["--host", "medfe", "--checkpoint", str(run_file), "--images", str(images),
                                      "--out", str(out), "--no-progress", "--mask-polarity", "hole-black",
                                      "--batch-size", "1"])
    assert again["written"] == ["x_mask000.png", "x_mask001.png"] and again["polarity"] == []


@pytest.mark.parametrize("where", ["images", "inside"])
def test_tsgl_inpaint_refuses_to_write_among_the_inputs(tmp_path, run_file, capsys, where):
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(photo(64, 64)).save(images / "x.png")
    Image.fromarray(box_mask(64, 64)).save(images / "x_mask000.png")
    out = images if where == "images" else images / "results"
    with pytest.raises(SystemExit) as exit_info:
        inpaint_program.main(["--host", "medfe", "--checkpoint", str(run_file), "--images", str(images),
                              "--out", str(out), "--no-progress"])
    assert exit_info.value.code == 2 and "is or lies inside --images" in capsys.readouterr().err
    assert sorted(p.name for p in images.iterdir()) == ["x.png", "x_mask000.png"]


def test_tsgl_inpaint_batches_same_sized_images_and_names_a_mask_of_another_size(tmp_path, run_file, monkeypatch):
    images, masks, out = tmp_path / "images", tmp_path / "masks", tmp_path / "out"
    images.mkdir()
    masks.mkdir()
    for index in range(3):
        Image.fromarray(photo(128, 128, index)).save(images / f"same{index}.png")
        Image.fromarray(box_mask(128, 128)).save(masks / f"same{index}.png")
    Image.fromarray(photo(128, 128, 9)).save(images / "odd.png")
    Image.fromarray(box_mask(100, 128)).save(masks / "odd.png")
    calls, forward = [], inpaint_program.HostInpainter.forward
    monkeypatch.setattr(inpaint_program.HostInpainter, "forward",
                        lambda self, image, known: calls.append(image.shape[0]) or forward(self, image, known))
    report = inpaint_program.main(["--host", "medfe", "--checkpoint", str(run_file), "--images", str(images),
                                   "--masks", str(masks), "--out", str(out), "--no-progress", "--batch-size", "4"])
    assert report["written"] == ["same0.png", "same1.png", "same2.png"] and calls == [3]  # one batch of three
    assert any("odd.png / odd.png: mask is 128x100 but image is 128x128" in line for line in report["skipped"])


def test_an_official_tsgl_lama_file_runs_as_tsgl_lama_512(tmp_path):
    import adapters.lama as lama
    from adapters.lama.convert import library_to_official_state

    torch.manual_seed(0)
    source = lama.create_generator("tsgl_lama_512", head="tanh").eval()
    torch.save(library_to_official_state(source.state_dict(), "unit"), tmp_path / "G.pth")
    inpainter = inpaint_program.load_inpainter("tsgl_lama_512", tmp_path / "G.pth")
    image, mask = photo(70, 90), box_mask(70, 90)
    out = inpaint(inpainter, image, mask)
    assert out.shape == image.shape and np.array_equal(out[mask == 0], image[mask == 0])
    with pytest.raises(ValueError, match="host must be one of"):
        inpaint_program.load_inpainter("tsgl_lama", tmp_path / "G.pth")
