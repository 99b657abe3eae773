"""The paper's ablations as named TSGLConfig overrides: each a real change of the computation."""

from __future__ import annotations

import pytest
import torch

from tsgl_encoder import ABLATIONS, ablation_overrides, create_encoder


def with_shared_weights(name: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    """tsgl_tiny and its ablation ``name``, the ablation holding every base weight it still has."""
    torch.manual_seed(0)
    base = create_encoder("tsgl_tiny").eval()
    ablated = create_encoder("tsgl_tiny", **ablation_overrides(name)).eval()
    own = ablated.state_dict()
    shared = {k: v for k, v in base.state_dict().items() if k in own and own[k].shape == v.shape}
    ablated.load_state_dict(shared, strict=False)
    return base, ablated


@pytest.mark.parametrize("name", sorted(ABLATIONS))
def test_each_ablation_changes_the_outputs_and_keeps_hole_invariance(name, make_inputs):
    base, ablated = with_shared_weights(name)
    image, mask = make_inputs(1, 64, 64)
    other = torch.where(mask.bool(), image, torch.rand_like(image) * 2 - 1)
    with torch.no_grad():
        reference, pyramid, changed = base(image, mask), ablated(image, mask), ablated(other, mask)
    assert [t.shape for t in pyramid] == [t.shape for t in reference]
    assert not all(torch.equal(a, b) for a, b in zip(pyramid, reference, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(pyramid, changed, strict=True))


def test_one_sided_guidance_has_no_parameters_of_the_other_side():
    keys = {name: set(create_encoder("tsgl_tiny", **ablation_overrides(name)).state_dict())
            for name in ("global_only", "local_only")}
    assert keys["global_only"] and not any(".local_side." in k for k in keys["global_only"])
    assert not any(".global_side." in k for k in keys["local_only"])
    assert any(".global_side." in k for k in keys["global_only"])
    assert any(".local_side." in k for k in keys["local_only"])


def test_no_balance_fuses_the_deepest_level_alone():
    encoder = create_encoder("tsgl_tiny", **ablation_overrides("no_balance"))
    assert encoder.balance.conv.in_channels == encoder.config.pyramid_channels[-2]  # f_K only
    assert encoder.out_channels == create_encoder("tsgl_tiny").out_channels


def test_ablation_errors_are_named():
    with pytest.raises(ValueError, match=r"unknown ablation 'nope'; available: \['global_only'"):
        ablation_overrides("nope")
    with pytest.raises(ValueError, match="structure_priors must be one of"):
        create_encoder("tsgl_tiny", structure_priors="depth")
    with pytest.raises(ValueError, match="sides must be one of"):
        create_encoder("tsgl_tiny", guidance_sides="both_and_more")
    with pytest.raises(ValueError, match="cross_layer_balance=False needs pyramid_channels"):
        create_encoder("tsgl_lama", cross_layer_balance=False)
