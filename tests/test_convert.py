"""from_official on a checkpoint laid out like the official TSGL(MEDFE) Generator's (built here)."""

import pytest
import torch

from tsgl_encoder import create_encoder
from tsgl_encoder.convert import from_official, official_to_library_key, to_official


@pytest.fixture(scope="module")
def official_checkpoint():
    """tsgl_base weights under official names, with the extras a real checkpoint carries."""
    torch.manual_seed(0)
    source = create_encoder("tsgl_base").eval()
    with torch.no_grad():  # non-trivial statistics so that eval-mode BatchNorm matters
        for module in source.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    state = to_official(source)
    state["en_low_2.blocks.1.attn_mask"] = torch.zeros(64, 64, 64)  # recomputed buffers
    state["en_low_1_f.conv.resample_filter"] = torch.ones(4, 4) / 16
    state["Decoder_1.model.1.weight"] = torch.zeros(512, 512, 4, 4)  # decoder part: ignored
    state["de_high_0.out_layer.0.bias"] = torch.zeros(1)
    return source, {f"module.{k}": v for k, v in state.items()}  # saved from nn.DataParallel


def test_official_key_names():
    assert official_to_library_key("en_high_3.bn.running_var") == "structure.stages.2.norm.running_var"
    assert official_to_library_key("en_low_4.downsample.conv.conv.weight") == "texture.stages.2.merge.conv.weight"
    assert official_to_library_key("h2l_2.conv_s.weight_orig") == (
        "guidance.1.local_side.conv.parametrizations.weight.original"
    )
    assert official_to_library_key("h2l_5.norm_0.param_free_norm.running_mean") == (
        "guidance.4.global_side.spade_in.norm.running_mean"
    )
    assert official_to_library_key("en_fusion_6.0.weight") == "balance.conv.weight"
    with pytest.raises(KeyError, match="Decoder_1"):
        official_to_library_key("Decoder_1.model.1.weight")


def test_conversion_round_trip_reproduces_outputs(official_checkpoint, make_inputs):
    source, checkpoint = official_checkpoint
    converted = from_official(checkpoint).eval()
    image, mask = make_inputs(1, 128, 128)
    with torch.no_grad():
        expected, got = source(image, mask), converted(image, mask)
    for a, b in zip(expected, got, strict=True):
        assert torch.equal(a, b)


def test_conversion_errors(official_checkpoint):
    _, checkpoint = official_checkpoint
    with pytest.raises(ValueError, match="no official TSGL encoder keys"):
        from_official({"Decoder_1.model.1.weight": torch.zeros(1)})
    partial = {k: v for k, v in checkpoint.items() if not k.startswith("module.h2l_3")}
    with pytest.raises(ValueError, match=r"lacks \d+ encoder entries"):
        from_official(partial)
    reshaped = dict(checkpoint)
    reshaped["module.en_fusion_1.0.weight"] = torch.zeros(32, 180, 1, 1)
    with pytest.raises(ValueError, match=r"projections.0.conv.weight.*shape \(32, 180, 1, 1\)"):
        from_official(reshaped)
    with pytest.raises(TypeError, match="state_dict must be a mapping"):
        from_official([1, 2])
