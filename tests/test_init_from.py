"""Substitution from a pretrained host: --init-from starts both variants from one checkpoint."""

from __future__ import annotations

import json
from dataclasses import replace

import torch

import adapters.lama as lama
from tsgl_encoder.bench import benchmark as benchmark_program
from tsgl_encoder.bench.hosts import LamaHost

CONFIG = """\
generator:
  kind: ffc_resnet
  ngf: 8
  n_downsampling: 3
  n_blocks: 1
  init_conv_kwargs: {ratio_gin: 0, ratio_gout: 0, enable_lfu: false}
  downsample_conv_kwargs: {ratio_gin: '${generator.init_conv_kwargs.ratio_gout}', ratio_gout: 0, enable_lfu: false}
  resnet_conv_kwargs: {ratio_gin: 0.75, ratio_gout: '${generator.resnet_conv_kwargs.ratio_gin}', enable_lfu: false}
"""


def pretrained_lama(folder):
    """A small LaMa 'published' checkpoint: models/best.ckpt (Lightning-style state_dict) under config.yaml."""
    torch.manual_seed(3)
    model = lama.create_generator("lama_fourier", ngf=8, n_blocks=1)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(torch.randn_like(tensor) * 0.05)
    (folder / "models").mkdir(parents=True)
    (folder / "config.yaml").write_text(CONFIG)
    state = {f"generator.{k}": v for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 1}, folder / "models" / "best.ckpt")
    return model.state_dict()


def test_own_keeps_the_checkpoint_and_tsgl_keeps_everything_but_the_encoder(tmp_path):
    source = pretrained_lama(tmp_path / "lama")
    host = LamaHost()
    own = host.build_pretrained("own", str(tmp_path / "lama"))
    assert own.training
    assert all(torch.equal(own.state_dict()[k], v) for k, v in source.items())
    tsgl = host.build_pretrained("tsgl", str(tmp_path / "lama"))
    kept = {k: v for k, v in source.items() if int(k.split(".")[1]) >= 5}  # FFC blocks and decoder
    assert kept and all(torch.equal(tsgl.state_dict()[k], v) for k, v in kept.items())
    assert any(k.startswith("model.0.encoder.") for k in tsgl.state_dict()) and hasattr(tsgl, "edge_head")


def test_init_from_smoke_run_reports_the_start_and_paired_intervals(tmp_path, load_script):
    pretrained_lama(tmp_path / "lama")
    benchmark = benchmark_program
    preset = benchmark.PRESETS["smoke"]
    benchmark.PRESETS["smoke2"] = replace(preset, size=64, eval_images=2)  # 2 images: intervals
    try:
        results = benchmark.main(["--preset", "smoke2", "--hosts", "lama", "--init-from", f"lama={tmp_path / 'lama'}",
                                  "--out", str(tmp_path / "out"), "--no-progress"])
    finally:
        del benchmark.PRESETS["smoke2"]
    assert results["hosts"]["lama"]["train"]["init_from"] == str(tmp_path / "lama")
    table = (tmp_path / "out" / "results.md").read_text()
    assert f"fine-tuned from `{tmp_path / 'lama'}`" in table
    assert "paired 95% bootstrap interval over 2 evaluation images" in table and "| 30-40% | tsgl |" in table
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    run = saved["hosts"]["lama"]["variants"]["tsgl"]["runs"][0]
    assert len(run["per_image"]["30-40%"]["psnr"]) == 2
