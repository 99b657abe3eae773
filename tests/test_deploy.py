"""Issue 30, item 3: swapped hosts as one ONNX file each (``tsgl_encoder.bench.deploy``), and the example that
runs such a file with onnxruntime, numpy and Pillow only."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT, free_form_mask
from PIL import Image

from tsgl_encoder.bench.benchmark.presets import PRESETS
from tsgl_encoder.bench.deploy import CONVENTION_KEY, InpaintingGraph, export_inpainting_onnx
from tsgl_encoder.bench.hosts import SmpUnetHost
from tsgl_encoder.export import (
    MIN_SIZE_KEY,
    SIZE_MULTIPLE_KEY,
    export_program,
    max_relative_difference,
    onnxruntime_outputs,
)

ONNX_TOLERANCE = 1e-4
# (batch, height, width) each file runs at besides its example's: MEDFE any batch and size, CTSDG any size at the
# example's batch (the examples: 128 and 256 px, batch 1)
SIZES = {"medfe": [(2, 192, 128)], "ctsdg": [(1, 384, 256)]}


def inputs(batch: int, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(height * width + batch)
    return torch.rand(batch, 3, height, width, generator=generator) * 2 - 1, free_form_mask(batch, height, width)


@pytest.mark.parametrize("name", ["medfe", "ctsdg"])
def test_swapped_hosts_export_as_one_file_for_every_size(name, tmp_path):
    torch.manual_seed(0)
    host = PRESETS["smoke"].hosts[name].host
    model = host.build("tsgl").eval()
    size = 256 if name == "ctsdg" else 128
    path = export_inpainting_onnx(host, model, tmp_path / f"{name}.onnx", size=size, optimize=False)
    graph = InpaintingGraph(host, model).eval()
    for batch, height, width in SIZES[name]:
        image, mask = inputs(batch, height, width)
        with torch.no_grad():
            reference = graph(image, mask)
        assert max_relative_difference(onnxruntime_outputs(path, (image, mask)), [reference]) < ONNX_TOLERANCE
    if name == "ctsdg":  # its attention convolves each image with its own patches: the batch is the example's
        with pytest.raises(ValueError, match=r"input 'image' .* must have shape \(1, 3, '\*', '\*'\)"):
            onnxruntime_outputs(path, inputs(2, 256, 256))


def test_the_smp_unet_graph_takes_any_batch_and_size():
    """The smp U-Net's dynamic program (its ONNX file: within 1e-6 of PyTorch when measured, README; the ONNX
    conversion is left to the hosts above, whose graphs hold the same operators, to keep the suite short)."""
    torch.manual_seed(0)
    host = SmpUnetHost(own="resnet18", depth=3)
    graph = InpaintingGraph(host, host.build("tsgl").eval()).eval()
    program = export_program(graph, inputs(1, 128, 128), dynamic=True)
    for batch, height, width in ((2, 192, 128), (1, 256, 320)):
        image, mask = inputs(batch, height, width)
        with torch.no_grad():
            assert max_relative_difference([program.module()(image, mask)], [graph(image, mask)]) < 1e-5


def test_the_onnx_example_inpaints_a_photo_without_torch(tmp_path, load_script):
    """examples/export_onnx.py writes a LaMa + TSGL file; examples/onnx_inpaint.py runs it where torch cannot be
    imported, on a photo whose size is no multiple of the file's, and gives what PyTorch gives."""
    path = tmp_path / "lama.onnx"
    load_script("examples/export_onnx.py").main(["--host", "lama", "--size", "128", "--out", str(path),
                                                 "--no-optimize"])
    import onnx

    metadata = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    assert metadata[SIZE_MULTIPLE_KEY] == "64" and metadata[MIN_SIZE_KEY] == "128" and CONVENTION_KEY in metadata

    from skimage import data

    photo = np.asarray(Image.fromarray(data.astronaut()).resize((200, 150)))  # 200 x 150: padded to 256 x 192
    hole = np.zeros((150, 200), dtype=bool)
    hole[40:90, 60:140] = True
    Image.fromarray(photo).save(tmp_path / "photo.png")
    Image.fromarray((hole * 255).astype(np.uint8)).save(tmp_path / "mask.png")  # white = hole
    out = tmp_path / "inpainted.png"
    no_torch = ("import runpy, sys; sys.modules['torch'] = None; "  # any `import torch` now fails
                f"sys.argv = ['onnx_inpaint.py', {str(path)!r}, {str(tmp_path / 'photo.png')!r}, "
                f"{str(tmp_path / 'mask.png')!r}, '--out', {str(out)!r}, '--grid']; "
                f"runpy.run_path({str(ROOT / 'examples' / 'onnx_inpaint.py')!r}, run_name='__main__')")
    subprocess.run([sys.executable, "-c", no_torch], check=True, cwd=tmp_path, capture_output=True)
    before = {name: (tmp_path / name).read_bytes() for name in ("photo.png", "mask.png")}
    for target in before:  # never over an input
        command = [sys.executable, str(ROOT / "examples" / "onnx_inpaint.py"), str(path), str(tmp_path / "photo.png"),
                   str(tmp_path / "mask.png"), "--out", str(tmp_path / target)]
        over = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
        assert over.returncode == 2 and "over the" in over.stderr, target
    assert all((tmp_path / name).read_bytes() == data for name, data in before.items())
    result = np.asarray(Image.open(out))
    assert result.shape == photo.shape and (tmp_path / "inpainted_grid.png").is_file()
    assert np.array_equal(result[~hole], photo[~hole])  # known pixels kept

    # PyTorch on the same padded input
    script = load_script("examples/onnx_inpaint.py")
    padded = np.pad(photo.astype(np.float32) / 127.5 - 1, ((0, 42), (0, 56), (0, 0)), mode="edge")
    known = np.pad((~hole).astype(np.float32), ((0, 42), (0, 56)), mode="edge")
    host = PRESETS["smoke"].hosts["lama"].host
    torch.manual_seed(0)
    graph = InpaintingGraph(host, host.build("tsgl").eval())
    image = torch.from_numpy(padded.transpose(2, 0, 1))[None] * torch.from_numpy(known)
    with torch.no_grad():
        expected = graph(image, torch.from_numpy(known)[None, None])[0].numpy().transpose(1, 2, 0)[:150, :200]
    expected = np.clip(np.rint((expected + 1) * 127.5), 0, 255).astype(np.uint8)
    assert np.abs(result.astype(int) - expected.astype(int)).max() <= 1  # rounding to 8 bits
    assert script.padded_size(*script.session_of(str(path)), 150, 200) == (192, 256)
    for batch, height, width in ((2, 192, 128), (1, 256, 320)):  # the same file at other batches and sizes
        image, mask = inputs(batch, height, width)
        with torch.no_grad():
            reference = graph(image, mask)
        assert max_relative_difference(onnxruntime_outputs(path, (image, mask)), [reference]) < ONNX_TOLERANCE
