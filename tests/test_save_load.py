import json

import pytest
import torch

from tsgl_encoder import TSGLEncoder, create_encoder


def test_save_pretrained_round_trip(tmp_path, make_inputs):
    torch.manual_seed(0)
    encoder = create_encoder("tsgl_tiny", tau=50.0).eval()
    encoder.save_pretrained(tmp_path / "ckpt")
    assert json.loads((tmp_path / "ckpt" / "config.json").read_text())["tau"] == 50.0
    assert not [p for p in (tmp_path / "ckpt").iterdir() if p.name.endswith(".tmp")]
    image, mask = make_inputs(1, 64, 64)
    for source in (tmp_path / "ckpt", tmp_path / "ckpt" / "model.safetensors"):  # dir or single file
        loaded = TSGLEncoder.from_pretrained(str(source)).eval()
        assert loaded.config == encoder.config
        with torch.no_grad():
            assert all(torch.equal(a, b) for a, b in zip(encoder(image, mask), loaded(image, mask), strict=True))


def test_from_pretrained_missing_path_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        TSGLEncoder.from_pretrained(str(tmp_path / "nope"))


def test_from_pretrained_rejects_a_checkpoint_of_another_configuration(tmp_path):
    from safetensors.torch import save_file

    small = create_encoder("tsgl_small")
    save_file({k: v.contiguous() for k, v in small.state_dict().items()}, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps(create_encoder("tsgl_tiny").config.to_dict()))
    with pytest.raises(RuntimeError, match="size mismatch"):
        TSGLEncoder.from_pretrained(str(tmp_path))
