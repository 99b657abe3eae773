"""Every error names the file or argument (issue 29, item 4), on files the tests write themselves."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from huggingface_hub import PyTorchModelHubMixin

from tsgl_encoder import TSGLEncoder, create_encoder
from tsgl_encoder.checkpoints import load_file


@pytest.mark.parametrize(("overrides", "words"), [
    ({"tau": -1}, "TSGLConfig.tau must be a finite number > 0, got -1"),
    ({"tau": "100"}, "TSGLConfig.tau must be a finite number > 0, got '100'"),
    ({"texture_dim": 0}, "TSGLConfig.texture_dim must be an integer >= 1, got 0"),
    ({"structure_channels": (32, -64, 128, 256, 512)}, "TSGLConfig.structure_channels must be a tuple of integers"),
    ({"num_heads": 7}, "texture_dim (32) must be divisible by num_heads (7)"),
    ({"structure_kernels": (7, 5, 4, 3, 3)}, "TSGLConfig.structure_kernels must be odd"),
    ({"residual_resize": "bicubic"}, "TSGLConfig.residual_resize must be one of ('bilinear', 'nearest')"),
])
def test_a_config_is_checked_where_it_is_made(overrides, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        create_encoder("tsgl_tiny", **overrides)


def test_a_bad_safetensors_header_names_the_file(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes((40).to_bytes(8, "little") + b'{"weight": {"dtype": "F32", "shape": [2], "data_offsets": ')
    with pytest.raises(ValueError, match=r"model\.safetensors"):
        load_file(bad)
    with pytest.raises(ValueError, match=r"model\.safetensors"):
        TSGLEncoder.from_pretrained(tmp_path)


def test_config_json_that_is_not_json_or_disagrees_with_the_weights_names_both(tmp_path):
    encoder = create_encoder("tsgl_tiny")
    encoder.save_pretrained(tmp_path / "saved")
    config = tmp_path / "saved" / "config.json"
    stored = json.loads(config.read_text())
    config.write_text(json.dumps({**stored, "tau": 5.0}))
    with pytest.raises(ValueError, match=r"disagree \(tau: 100\.0 in the weights, 5\.0 in config\.json\)"):
        TSGLEncoder.from_pretrained(tmp_path / "saved")
    config.write_text("{not json")
    with pytest.raises(ValueError, match=r"config\.json' is not valid JSON"):
        TSGLEncoder.from_pretrained(tmp_path / "saved")


def test_an_allowed_rebuild_function_fed_the_wrong_types_names_the_file(tmp_path):
    class Crafted:
        def __reduce__(self):
            return torch._utils._rebuild_tensor_v2, ("not a storage", 0, (2,), (1,), False, {})

    path = tmp_path / "crafted.pkl"
    path.write_bytes(pickle.dumps({"weight": Crafted()}, protocol=4))
    with pytest.raises(ValueError, match=r"crafted\.pkl' is damaged or not a checkpoint \(AttributeError"):
        load_file(path)


def test_nan_or_inf_weights_are_refused_naming_the_tensors(tmp_path):
    encoder = create_encoder("tsgl_tiny")
    state = encoder.state_dict()
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name] = torch.full_like(state[name], float("nan"))
    torch.save(state, tmp_path / "diverged.pt")
    with pytest.raises(ValueError, match=rf"NaN or inf in 1 tensor\(s\): {name}"):
        create_encoder("tsgl_tiny").load_pretrained(tmp_path / "diverged.pt")


def test_a_missing_local_path_that_looks_like_a_repo_id_is_named_before_any_download(monkeypatch):
    calls = []

    def no_network(cls, name, **kwargs):
        calls.append(name)
        raise ConnectionError("no network here")

    monkeypatch.setattr(PyTorchModelHubMixin, "from_pretrained", classmethod(no_network))
    with pytest.warns(UserWarning, match="'someone/no-such-model' is no local file or folder"), \
            pytest.raises(ConnectionError):
        TSGLEncoder.from_pretrained("someone/no-such-model")
    assert calls == ["someone/no-such-model"]


def test_a_lama_config_with_values_of_the_wrong_kind_names_the_file(tmp_path):
    import adapters.lama as lama

    torch.save(lama.create_generator("lama_fourier", ngf=8, n_blocks=1).state_dict(), tmp_path / "generator.pth")
    (tmp_path / "config.yaml").write_text("generator:\n  kind: ffc_resnet\n  ngf: eight\n")
    with pytest.raises(ValueError, match=r"config\.yaml': its generator options .* do not build LaMa"):
        lama.load_checkpoint(tmp_path / "generator.pth")
