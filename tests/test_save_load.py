import json
from pathlib import Path

import pytest
import torch
from huggingface_hub import PyTorchModelHubMixin
from safetensors.torch import save_file

from tsgl_encoder import TSGLEncoder, create_encoder
from tsgl_encoder.hub import looks_local


def same_outputs(a, b, image, mask) -> bool:
    with torch.no_grad():
        return all(torch.equal(x, y) for x, y in zip(a.eval()(image, mask), b.eval()(image, mask), strict=True))


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
    with pytest.raises(ValueError, match=r"model.safetensors' does not match TSGLEncoder: shape mismatches"):
        TSGLEncoder.from_pretrained(str(tmp_path))


def test_the_hub_mixin_writes_config_weights_and_a_model_card(tmp_path, make_inputs):
    encoder = create_encoder("tsgl_tiny")
    assert isinstance(encoder, PyTorchModelHubMixin)
    encoder.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    card = (tmp_path / "README.md").read_text()
    assert "library_name: tsgl-encoder" in card and "license: apache-2.0" in card and "arxiv.org/abs/2602.03013" in card
    loaded = TSGLEncoder.from_pretrained(tmp_path)
    assert not loaded.training  # the Hub convention: eval mode
    assert same_outputs(encoder, loaded, *make_inputs(1, 64, 64))


def test_files_written_by_0_3_0_keep_loading(tmp_path, make_inputs):
    """0.3.0's save_pretrained: model.safetensors with the config under the 'tsgl_config' metadata key (no
    'format' key) and config.json beside it; no model card."""
    encoder = create_encoder("tsgl_tiny", tau=30.0)
    config = json.dumps(encoder.config.to_dict(), indent=2)
    save_file({k: v.contiguous() for k, v in encoder.state_dict().items()}, str(tmp_path / "model.safetensors"),
              metadata={"tsgl_config": config})
    (tmp_path / "config.json").write_text(config + "\n")
    for source in (tmp_path, tmp_path / "model.safetensors"):
        loaded = TSGLEncoder.from_pretrained(source)
        assert loaded.config == encoder.config and isinstance(loaded.config.structure_channels, tuple)
        assert same_outputs(encoder, loaded, *make_inputs(1, 64, 64))


def test_load_pretrained_reads_state_dict_files_and_checks_the_config(tmp_path, make_inputs):
    encoder = create_encoder("tsgl_tiny")
    torch.save({"state_dict": {f"module.{k}": v for k, v in encoder.state_dict().items()}}, tmp_path / "w.pth")
    assert same_outputs(encoder, create_encoder("tsgl_tiny").load_pretrained(tmp_path / "w.pth"),
                        *make_inputs(1, 64, 64))
    encoder.save_pretrained(tmp_path / "saved")
    with pytest.raises(ValueError, match=r"another configuration: \{'tau': '100.0 saved, 5.0 here'\}"):
        create_encoder("tsgl_tiny", tau=5.0).load_pretrained(tmp_path / "saved")


def test_local_paths_never_reach_the_network():
    assert looks_local("/abs/path") and looks_local("./dir") and looks_local("weights.safetensors")
    assert looks_local("a/b/c") and not looks_local("user/model")
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        TSGLEncoder.from_pretrained("./no-such-folder")


def test_atomic_writes_get_the_permissions_of_a_plain_write(tmp_path):
    import os

    from tsgl_encoder.hub import atomic_write

    atomic_write(tmp_path / "a.txt", lambda p: Path(p).write_text("x"))
    with open(tmp_path / "b.txt", "w") as handle:
        handle.write("x")
    assert os.stat(tmp_path / "a.txt").st_mode == os.stat(tmp_path / "b.txt").st_mode
