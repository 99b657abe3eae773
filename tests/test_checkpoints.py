"""Published checkpoint formats, written here by the tests, read back without running code from the file."""

from __future__ import annotations

import os
import pickle
import re
import sys
import types
import typing

import pytest
import torch

import adapters.ctsdg as ctsdg
import adapters.lama as lama
from tsgl_encoder.checkpoints import UnsafeCheckpointError, detect_format, load_file, select_state_dict, strip_prefix

LAMA_CONFIG = """\
run_title: b2_ffc075_test
training_model:
  kind: default
location:
  data_root_dir: /data/inpainting
  out_root_dir: /experiments/${env:USER}/inpainting
data:
  batch_size: 8
  train:
    indir: ${location.data_root_dir}/train
generator:
  kind: ffc_resnet
  input_nc: 4
  output_nc: 3
  ngf: 16
  n_downsampling: 3
  n_blocks: 2
  add_out_act: sigmoid
  init_conv_kwargs:
    ratio_gin: 0
    ratio_gout: 0
    enable_lfu: false
  downsample_conv_kwargs:
    ratio_gin: ${generator.init_conv_kwargs.ratio_gout}
    ratio_gout: ${generator.downsample_conv_kwargs.ratio_gin}
    enable_lfu: false
  resnet_conv_kwargs:
    ratio_gin: 0.75
    ratio_gout: ${generator.resnet_conv_kwargs.ratio_gin}
    enable_lfu: false
"""


class Evil:
    """Pickles as a call of os.system: loading it must be refused, not run."""

    def __reduce__(self):
        return (os.system, ("echo never-run",))


def fake_modules(monkeypatch, names: dict[str, type]) -> None:
    """Registers classes under foreign module names (Lightning, OmegaConf) so that pickle can name them."""
    for qualified, cls in names.items():
        module_name, _, name = qualified.rpartition(".")
        cls.__module__, cls.__qualname__, cls.__name__ = module_name, name, name
        parts = module_name.split(".")
        for i in range(1, len(parts) + 1):
            monkeypatch.setitem(sys.modules, ".".join(parts[:i]), sys.modules.get(".".join(parts[:i]))
                                or types.ModuleType(".".join(parts[:i])))
        setattr(sys.modules[module_name], name, cls)


def randomized(model: torch.nn.Module) -> torch.nn.Module:
    """Random weights and BatchNorm statistics, so that a wrong mapping would show in the outputs."""
    torch.manual_seed(0)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                tensor.copy_(torch.rand_like(tensor) * 0.5 + 0.5 if "running_var" in name else
                             torch.randn_like(tensor) * 0.1)
    return model.eval()


# ------------------------------------------------------------------------------------------- formats


def test_formats_are_told_apart_and_unknown_files_are_refused_by_name(tmp_path):
    from safetensors.torch import save_file

    tensors = {"a": torch.arange(3.0)}
    torch.save(tensors, tmp_path / "zip.pt")
    torch.save(tensors, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with open(tmp_path / "net.pkl", "wb") as handle:
        pickle.dump(tensors, handle)
    save_file(tensors, tmp_path / "w.safetensors")
    kinds = {name: detect_format(tmp_path / name) for name in ("zip.pt", "legacy.pt", "net.pkl", "w.safetensors")}
    assert kinds == {"zip.pt": "torch_zip", "legacy.pt": "torch_legacy", "net.pkl": "pickle",
                     "w.safetensors": "safetensors"}
    for name in kinds:
        assert torch.equal(load_file(tmp_path / name)["a"], tensors["a"])
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match=r"notes\.txt.*understood: a torch\.save file"):
        load_file(tmp_path / "notes.txt")


@pytest.mark.parametrize("container", ["torch.save", "pickle"])
def test_a_file_naming_a_forbidden_global_is_refused_and_nothing_runs(tmp_path, container, capfd):
    path = tmp_path / "evil.bin"
    if container == "torch.save":
        torch.save({"state_dict": {"w": torch.ones(1)}, "payload": Evil()}, path)
    else:
        path.write_bytes(pickle.dumps({"G_ema": Evil()}))
    with pytest.raises(UnsafeCheckpointError, match=r"evil\.bin.*names the global posix\.system"):
        load_file(path)
    assert "never-run" not in capfd.readouterr().out


def test_truncated_and_empty_files_name_the_file(tmp_path):
    torch.save({"w": torch.ones(100)}, tmp_path / "full.pt")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "full.pt").read_bytes()[:300])
    (tmp_path / "empty.pt").write_bytes(b"")
    for name in ("cut.pt", "empty.pt"):
        with pytest.raises(ValueError, match=name.replace(".", r"\.")):
            load_file(tmp_path / name)


def test_state_dict_selection_and_prefix_stripping(tmp_path):
    weights = {"module.a": torch.ones(1), "module.b": torch.zeros(1)}
    assert list(strip_prefix(weights)) == ["a", "b"]
    assert list(strip_prefix({"module.a": torch.ones(1), "b": torch.ones(1)})) == ["module.a", "b"]
    assert select_state_dict({"generator": weights, "n_iter": 3}, "x.pt", ("generator",)) == weights
    with pytest.raises(ValueError, match=r"x\.pt.*no state_dict under \['generator'\].*n_iter"):
        select_state_dict({"n_iter": 3}, "x.pt", ("generator",))


# ------------------------------------------------- the harness's weight files (LPIPS, VGG loss, ResNet-PL)


def read_lpips_weights(path):
    from tsgl_encoder.bench.metrics.common import load_state_dict

    return load_state_dict(path)


def read_vgg_weights(path):
    from tsgl_encoder.bench.losses import PerceptualLoss

    return PerceptualLoss(path)


def read_resnet_pl_weights(path):
    from tsgl_encoder.bench.resnet_pl import ADE20K_ENCODER_FILE, load_encoder

    home = path.parent / "torch_home"  # read as LaMa does: a TORCH_HOME folder holding the encoder file
    (home / ADE20K_ENCODER_FILE).parent.mkdir(parents=True)
    path.rename(home / ADE20K_ENCODER_FILE)
    return load_encoder(home)


HARNESS_READERS = {"lpips": read_lpips_weights, "perceptual": read_vgg_weights, "resnet_pl": read_resnet_pl_weights}


@pytest.mark.parametrize("container", ["torch.save", "pickle"])
@pytest.mark.parametrize("reader", sorted(HARNESS_READERS))
def test_harness_weight_files_naming_a_foreign_global_are_refused_by_name(tmp_path, reader, container, capfd):
    path = tmp_path / "evil.pth"
    weights = {"features.0.weight": torch.ones(1), "payload": Evil()}
    if container == "torch.save":
        torch.save(weights, path)
    else:
        path.write_bytes(pickle.dumps(weights))
    with pytest.raises(UnsafeCheckpointError, match=r"names the global posix\.system") as refused:
        HARNESS_READERS[reader](path)
    assert str(tmp_path) in str(refused.value)  # the file is named (ResNet-PL reads it from a TORCH_HOME)
    assert "never-run" not in capfd.readouterr().out


def test_harness_weight_files_written_here_are_read(tmp_path):
    from safetensors.torch import save_file
    from torchvision.models import vgg16

    from tsgl_encoder.bench.resnet_pl import DilatedResNet50

    weights = {"lin0.model.1.weight": torch.rand(1, 64, 1, 1)}  # LPIPS: flat, nested, or .safetensors
    torch.save(weights, tmp_path / "flat.pth")
    torch.save({"state_dict": weights, "epoch": 3}, tmp_path / "nested.pth")
    save_file(weights, tmp_path / "lin.safetensors")
    for name in ("flat.pth", "nested.pth", "lin.safetensors"):
        read = read_lpips_weights(tmp_path / name)
        assert read.keys() == weights.keys()
        assert torch.equal(read["lin0.model.1.weight"], weights["lin0.model.1.weight"])

    torch.manual_seed(0)
    features = vgg16(weights=None).features.state_dict()
    torch.save({f"features.{k}": v for k, v in features.items()}, tmp_path / "vgg16.pth")
    loss = read_vgg_weights(tmp_path / "vgg16.pth")
    assert loss.architecture == "vgg16" and torch.equal(loss.features[0].weight, features["0.weight"])

    source = DilatedResNet50().state_dict()
    torch.save(source, tmp_path / "encoder_epoch_20.pth")
    encoder = read_resnet_pl_weights(tmp_path / "encoder_epoch_20.pth")
    assert all(torch.equal(value, source[key]) for key, value in encoder.state_dict().items())


# ------------------------------------------------------------------------------------------------- CTSDG


def test_ctsdg_pt_round_trip_gives_identical_outputs(tmp_path):
    source = randomized(ctsdg.create_generator())
    torch.save({"n_iter": 7, "generator": source.state_dict(), "discriminator": {"x": torch.ones(1)}},
               tmp_path / "000007.pt")
    loaded = ctsdg.load_checkpoint(tmp_path / "000007.pt")
    assert not loaded.training
    torch.manual_seed(1)
    image = torch.rand(1, 3, 128, 128) * 2 - 1
    mask = (torch.rand(1, 1, 128, 128) > 0.3).float()
    structure = torch.rand(1, 2, 128, 128)
    with torch.no_grad():
        expected = source(image * mask, structure * mask, mask)[0]
        assert torch.equal(loaded(image * mask, structure * mask, mask)[0], expected)


def test_ctsdg_key_mismatch_lists_missing_and_unexpected_keys(tmp_path):
    state = ctsdg.create_generator().state_dict()
    state.pop("ec_texture_1.conv.weight")
    state["extra.weight"] = torch.ones(1)
    torch.save({"generator": state}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match=r"bad\.pt.*missing keys \(1\): \['ec_texture_1\.conv\.weight'\]"
                                         r".*unexpected keys \(1\): \['extra\.weight'\]"):
        ctsdg.load_checkpoint(tmp_path / "bad.pt")


# -------------------------------------------------------------------------------------------------- LaMa


def lightning_checkpoint(monkeypatch, path, generator_state: dict) -> None:
    """A PyTorch Lightning 1.2-style ``best.ckpt`` as LaMa's trainer writes it: the generator next to the
    evaluator and discriminator tensors, the ModelCheckpoint class as a dict key, OmegaConf hyper-parameters."""

    class ModelCheckpoint:
        pass

    class DictConfig:
        pass

    class ContainerMetadata:
        pass

    with monkeypatch.context() as patch:
        fake_modules(patch, {"pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint": ModelCheckpoint,
                             "omegaconf.dictconfig.DictConfig": DictConfig,
                             "omegaconf.base.ContainerMetadata": ContainerMetadata})
        hyper = DictConfig()
        metadata = ContainerMetadata()
        metadata.__dict__.update(ref_type=typing.Any, key=None, flags={})
        hyper.__dict__.update(_content={"generator": {"ngf": 16}}, _metadata=metadata)
        state = {f"generator.{k}": v for k, v in generator_state.items()}
        state.update({"val_evaluator.scores.ssim.dummy": torch.ones(2), "discriminator.model0.0.weight": torch.ones(3)})
        torch.save({"epoch": 3, "global_step": 1200, "pytorch-lightning_version": "1.2.9", "state_dict": state,
                    "callbacks": {ModelCheckpoint: {"monitor": "val_ssim_fid100_f1_total_mean",
                                                    "best_model_score": torch.tensor(0.9)}},
                    "optimizer_states": [], "lr_schedulers": [], "hparams_name": "config",
                    "hyper_parameters": hyper, "hparams_type": DictConfig}, path)
    assert "pytorch_lightning" not in sys.modules and "omegaconf" not in sys.modules


def test_lama_lightning_checkpoint_with_config_round_trip(tmp_path, monkeypatch):
    source = randomized(lama.create_generator("lama_fourier", ngf=16, n_blocks=2))
    (tmp_path / "big-lama" / "models").mkdir(parents=True)
    (tmp_path / "big-lama" / "config.yaml").write_text(LAMA_CONFIG)
    lightning_checkpoint(monkeypatch, tmp_path / "big-lama" / "models" / "best.ckpt", source.state_dict())
    for target in (tmp_path / "big-lama", tmp_path / "big-lama" / "models" / "best.ckpt"):
        loaded = lama.load_checkpoint(target)
        assert "pytorch_lightning" not in sys.modules and "omegaconf" not in sys.modules
        assert not loaded.training
        x = torch.cat([torch.rand(1, 3, 64, 64), (torch.rand(1, 1, 64, 64) > 0.7).float()], 1)
        with torch.no_grad():
            assert torch.equal(loaded(x), source(x))


def test_lama_config_interpolations_resolve_and_other_kinds_are_refused(tmp_path):
    (tmp_path / "config.yaml").write_text(LAMA_CONFIG)
    kwargs = lama.checkpoint.generator_kwargs(tmp_path / "config.yaml")
    assert kwargs["downsample_conv_kwargs"] == {"ratio_gin": 0, "ratio_gout": 0, "enable_lfu": False}
    assert kwargs["resnet_conv_kwargs"]["ratio_gout"] == 0.75 and "kind" not in kwargs
    resolve = lama.checkpoint.resolve_interpolations
    root = {"a": {"b": 2}, "path": "/x"}
    assert resolve({"n": "${a.b}", "s": "${path}/train", "e": 3}, root) == {"n": 2, "s": "/x/train", "e": 3}
    with pytest.raises(ValueError, match=r"key 'u'.*env:USER"):
        resolve({"u": "${env:USER}"}, root)
    (tmp_path / "pix.yaml").write_text("generator:\n  kind: pix2pixhd_global\n  ngf: 64\n")
    with pytest.raises(ValueError, match="generator kind 'pix2pixhd_global' is not supported"):
        lama.checkpoint.generator_kwargs(tmp_path / "pix.yaml")


def test_lama_plain_state_dict_without_config_picks_the_matching_preset(tmp_path):
    source = randomized(lama.create_generator("lama_fourier"))
    torch.save(source.state_dict(), tmp_path / "generator.pth")
    loaded = lama.load_checkpoint(tmp_path / "generator.pth")
    x = torch.cat([torch.rand(1, 3, 64, 64), (torch.rand(1, 1, 64, 64) > 0.7).float()], 1)
    with torch.no_grad():
        assert torch.equal(loaded(x), source(x))
    torch.save(lama.create_generator("lama_fourier", ngf=8, n_blocks=1).state_dict(), tmp_path / "odd.pth")
    with pytest.raises(ValueError, match=r"odd\.pth.*no config\.yaml.*match neither lama_fourier nor big_lama"):
        lama.load_checkpoint(tmp_path / "odd.pth")


# --------------------------------------------------------------------------------------------------- MAT

TINY_MAT = {"z_dim": 32, "c_dim": 0, "w_dim": 32, "img_resolution": 128, "img_channels": 3}
EVIL_SOURCE = "open({marker!r}, 'w').write('ran'); raise RuntimeError('embedded source executed')\n"


def network_pickle(monkeypatch, path, generator, marker, synthesis_kwargs=None) -> None:
    """A StyleGAN2-ADA / MAT-style network pickle: every module of ours saved as upstream's
    ``torch_utils.persistence`` saves it, ``_reconstruct_persistent_obj(meta)`` with ``meta["module_src"]``
    the source to exec; here that source would write ``marker`` and raise."""

    def _reconstruct_persistent_obj(meta):  # what upstream's loader would call (and exec the source)
        raise AssertionError("never called while writing")

    class EasyDict(dict):
        pass

    stock = (torch.nn.ModuleList, torch.nn.Sequential)

    class Pickler(pickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, torch.nn.Module) and not isinstance(obj, stock):
                state = dict(obj.__dict__)
                if obj is generator:
                    synthesis = synthesis_kwargs or {"first_stage_dim": 12, "channel_max": 16}
                    state["_init_kwargs"] = {**TINY_MAT, "mapping_kwargs": EasyDict(num_layers=8),
                                             "synthesis_kwargs": EasyDict(**synthesis)}
                meta = {"type": "class", "version": 6, "module_src": EVIL_SOURCE.format(marker=str(marker)),
                        "class_name": type(obj).__name__, "state": state}
                return _reconstruct_persistent_obj, (meta,)
            return NotImplemented

    with monkeypatch.context() as patch:
        fake_modules(patch, {"torch_utils.persistence._reconstruct_persistent_obj": _reconstruct_persistent_obj,
                             "dnnlib.util.EasyDict": EasyDict})
        with open(path, "wb") as handle:
            Pickler(handle, protocol=4).dump({"G": generator, "D": None, "G_ema": generator,
                                              "training_set_kwargs": EasyDict(resolution=128), "augment_pipe": None})
    assert "torch_utils" not in sys.modules and "dnnlib" not in sys.modules


def test_mat_network_pickle_loads_without_running_or_importing_its_source(tmp_path, monkeypatch):
    import adapters.mat as mat

    source = randomized(mat.Generator(**TINY_MAT, mapping_kwargs={"num_layers": 8},
                                      synthesis_kwargs={"first_stage_dim": 12, "channel_max": 16}))
    marker = tmp_path / "embedded-source-ran.txt"
    network_pickle(monkeypatch, tmp_path / "network.pkl", source, marker)
    loaded = mat.load_checkpoint(tmp_path / "network.pkl")
    assert not marker.exists() and "torch_utils" not in sys.modules and "dnnlib" not in sys.modules
    assert not loaded.training and list(loaded.state_dict()) == list(source.state_dict())
    torch.manual_seed(2)
    image = torch.rand(1, 3, 128, 128) * 2 - 1
    mask = (torch.rand(1, 1, 128, 128) > 0.4).float()
    z = torch.randn(1, 32)
    with torch.no_grad():
        torch.manual_seed(5)
        expected = source(image, mask, z, None, noise_mode="const")
        torch.manual_seed(5)
        assert torch.equal(loaded(image, mask, z, None, noise_mode="const"), expected)


def test_mat_pickle_naming_a_forbidden_global_is_refused(tmp_path):
    import adapters.mat as mat

    (tmp_path / "bad.pkl").write_bytes(pickle.dumps({"G_ema": torch.nn.Linear(2, 2)}))
    with pytest.raises(UnsafeCheckpointError, match=r"bad\.pkl.*torch\.nn\.modules\.linear\.Linear"):
        mat.load_checkpoint(tmp_path / "bad.pkl")


# -------------------------------------------------------------------------------------------- TSGL(LaMa)

# sha256 of the sorted "key<TAB>shape" lines of the official TSGL_Lama generator's state_dict
# (htyjers/ConvInpaint-TSGL, built and dumped locally): the converter writes exactly these keys
OFFICIAL_TSGL_LAMA = (998, "f7b55f79efe7d75e")


def sorted_fingerprint(state) -> str:
    import hashlib

    lines = "\n".join(f"{k}\t{tuple(v.shape)}" for k, v in sorted(state.items()))
    return hashlib.sha256(lines.encode()).hexdigest()[:16]


def test_official_tsgl_lama_mapping_loads_strictly_and_round_trips(tmp_path):
    from adapters.lama.convert import library_to_official_state

    source = randomized(lama.create_generator("tsgl_lama_512", head="tanh"))
    for image_range, head in (("unit", "tanh"), ("signed", "sigmoid")):
        official = library_to_official_state(source.state_dict(), image_range)
        assert (len(official), sorted_fingerprint(official)) == OFFICIAL_TSGL_LAMA
        assert official["model_high_4.0.ffc.convl2g.weight"].shape[0] == 192  # the split 1/32 level
        torch.save({f"module.{k}": v for k, v in official.items()}, tmp_path / "G.pth")  # nn.DataParallel keys
        loaded = lama.from_official_tsgl(tmp_path / "G.pth", image_range=image_range)
        assert loaded.head == head and not loaded.training
        for key, value in source.state_dict().items():  # the stems' folding is exact up to float32 rounding
            assert torch.allclose(loaded.state_dict()[key].double(), value.double(), atol=1e-6, rtol=0), key
    loaded = lama.from_official_tsgl(library_to_official_state(source.state_dict(), "unit"), image_range="unit")
    x = torch.cat([torch.rand(1, 3, 64, 64), (torch.rand(1, 1, 64, 64) > 0.7).float()], 1)
    with torch.no_grad():
        for a, b in zip(source.forward_with_edges(x), loaded.forward_with_edges(x), strict=True):
            assert torch.allclose(a, b, atol=1e-4)


def test_official_tsgl_lama_refuses_other_state_dicts(tmp_path):
    with pytest.raises(ValueError, match=r"not a TSGL\(LaMa\) generator: .*'encoder\.weight'"):
        lama.from_official_tsgl({"encoder.weight": torch.ones(1)})
    with pytest.raises(ValueError, match="image_range must be one of"):
        lama.from_official_tsgl({}, image_range="0-255")


def test_mat_constructor_arguments_asking_for_a_huge_model_are_refused_before_allocating(tmp_path, monkeypatch):
    """Issue 29: 0.5.0 passed a pickle's constructor arguments to the allocator (a 256 GB request)."""
    import adapters.mat as mat

    source = mat.Generator(**TINY_MAT, mapping_kwargs={"num_layers": 8},
                           synthesis_kwargs={"first_stage_dim": 12, "channel_max": 16})
    network_pickle(monkeypatch, tmp_path / "huge.pkl", source, tmp_path / "marker",
                   synthesis_kwargs={"first_stage_dim": 12, "channel_max": 1 << 20})
    with pytest.raises(ValueError, match=r"huge\.pkl'.*constructor arguments describe [\d,]+ values .*refusing"):
        mat.load_checkpoint(tmp_path / "huge.pkl")
    network_pickle(monkeypatch, tmp_path / "odd.pkl", source, tmp_path / "marker",
                   synthesis_kwargs={"first_stage_dim": 12, "channel_max": 16, "no_such_option": 1})
    with pytest.raises(ValueError, match=r"odd\.pkl'.*do not build MAT's Generator: TypeError"):
        mat.load_checkpoint(tmp_path / "odd.pkl")


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


@pytest.mark.parametrize(("text", "words"), [
    (LAUGHS + "generator: {kind: ffc_resnet, ngf: 8}\n", "more than 64 YAML aliases"),
    ("generator: {kind: ffc_resnet, ngf: '${generator.ngf}'}\n",
     "circular interpolation generator.ngf -> generator.ngf"),
    ("generator: {kind: ffc_resnet, ngf: '${a}'}\na: '${b}'\nb: '${a}'\n", "circular interpolation a -> b -> a"),
    ("generator: {kind: ffc_resnet, ngf: [unclosed\n", "cannot be read as a LaMa config"),
])
def test_a_lama_config_cannot_hang_or_recurse_without_bound(tmp_path, text, words):
    """Issue 29: 0.5.0 ran past 45 s into a MemoryError on nested aliases (9 ** 9 values here) and hit
    RecursionError on cycles; now each is a ValueError naming the file."""
    from adapters.lama.checkpoint import generator_kwargs

    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(ValueError, match=re.escape(words)) as error:
        generator_kwargs(tmp_path / "config.yaml")
    assert "config.yaml" in str(error.value)
