"""RTV smoothing (Xu et al. 2012, as MEDFE's tsmooth.m): the two solvers, the structure it extracts, the
mask-aware form's hole invariance, argument checks, and the encoder reading it as its smoothed-image prior."""

from __future__ import annotations

import sys

import pytest
import torch

from tsgl_encoder import TSGLConfig, create_encoder, get_config
from tsgl_encoder.priors import StructurePriors
from tsgl_encoder.rtv import gaussian_taps, rtv_smooth, texture_weights

pytest.importorskip("scipy")

CG_TOLERANCE = 5e-4  # max |cg - exact| at the default tol=1e-4 (measured: 6e-6 at 64 px, 6e-5 at 256 px)


def piecewise_constant(size: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    """A two-region colour image and the same image plus a fine checkerboard texture (amplitude 0.08)."""
    clean = torch.full((1, 3, size, size), 0.2)
    quarter = size // 4
    clean[..., quarter : 3 * quarter, quarter : 3 * quarter] = torch.tensor([0.8, 0.5, 0.3]).view(1, 3, 1, 1)
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    texture = 0.08 * torch.sign(torch.sin(2.2 * rows) * torch.sin(2.2 * cols))
    return clean, (clean + texture).clamp(0.0, 1.0)


def hole_mask(batch: int, height: int, width: int) -> torch.Tensor:
    known = torch.ones(batch, 1, height, width)
    known[..., height // 4 : height // 2, width // 3 : 2 * width // 3] = 0.0
    return known


def test_gaussian_taps_follow_matlab_sizes():
    assert [gaussian_taps(s).numel() for s in (3.0, 1.5, 0.75, 0.5)] == [15, 9, 5, 3]  # bitor(round(5 sigma), 1)
    torch.testing.assert_close(gaussian_taps(3.0).sum(), torch.tensor(1.0))


def test_weights_are_zero_on_the_last_column_and_row():
    weight_x, weight_y = texture_weights(torch.rand(2, 3, 16, 20), 3.0, 0.001)
    assert weight_x.shape == weight_y.shape == (2, 1, 16, 20)
    assert (weight_x[..., -1] == 0).all() and (weight_y[..., -1, :] == 0).all()
    assert (weight_x[..., :-1] > 0).all() and weight_x.max() <= 1 / 0.001 / 1e-3


@pytest.mark.parametrize("masked", [False, True])
def test_torch_cg_agrees_with_the_scipy_solve(masked):
    torch.manual_seed(0)
    _, image = piecewise_constant(40)
    image = torch.cat([image, torch.rand(1, 3, 40, 40)])[..., :32]  # two images, non-square
    known = hole_mask(2, 40, 32) if masked else None
    exact = rtv_smooth(image, known=known, solver="exact")
    for preconditioner in ("multigrid", "jacobi"):
        cg = rtv_smooth(image, known=known, solver="cg", preconditioner=preconditioner)
        assert (cg - exact).abs().max() < CG_TOLERANCE, preconditioner
    image = image.double()  # in float64 both reach the same solution
    tight = rtv_smooth(image, known=known, solver="cg", tol=1e-9, max_cg_iter=2000)
    assert (tight - rtv_smooth(image, known=known, solver="exact")).abs().max() < 1e-7


def test_a_textured_piecewise_constant_image_comes_out_close_to_its_structure():
    clean, textured = piecewise_constant(48)
    smoothed = rtv_smooth(textured)
    input_error = (textured - clean).abs().mean()
    error = (smoothed - clean).abs().mean()
    assert error < 0.1 * input_error, (error, input_error)  # measured: 0.005 vs 0.078
    # the region boundary stays sharp: the step is still (nearly) the full jump one pixel across it
    step = smoothed[0, :, 24, 12] - smoothed[0, :, 24, 11]
    torch.testing.assert_close(step, torch.tensor([0.6, 0.3, 0.1]), atol=0.05, rtol=0.0)
    assert smoothed.min() >= -1e-6 and smoothed.max() <= 1 + 1e-6  # within the input's range


def test_the_mask_aware_form_never_reads_the_hole():
    clean, textured = piecewise_constant(40)
    known = hole_mask(1, 40, 40)
    other = torch.where(known.bool(), textured, torch.rand_like(textured))
    for solver in ("exact", "cg"):
        first = rtv_smooth(textured, known=known, solver=solver)
        second = rtv_smooth(other, known=known, solver=solver)
        assert torch.equal(first, second), solver
    # the hole is filled from its surroundings by the smoothness term, and the known part is still smoothed
    hole = ~known.bool().expand_as(clean)
    assert (first - clean)[hole].abs().mean() < 0.1
    assert (first - clean)[~hole].abs().mean() < 0.3 * (textured - clean)[~hole].abs().mean()  # 0.018 vs 0.076


def test_an_all_known_mask_is_the_plain_form_and_an_all_hole_image_gives_zeros():
    _, textured = piecewise_constant(32)
    torch.testing.assert_close(rtv_smooth(textured, known=torch.ones(1, 1, 32, 32)), rtv_smooth(textured))
    known = torch.cat([torch.zeros(1, 1, 32, 32), hole_mask(1, 32, 32)])
    out = rtv_smooth(torch.cat([textured, textured]), known=known, solver="cg")
    assert (out[0] == 0).all() and out[1].abs().sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"image_unit": torch.rand(1, 1, 8, 8)}, ValueError, r"image_unit must have shape \(B, 3, H, W\).*got \(1, 1"),
        ({"image_unit": [0.5]}, TypeError, "image_unit must be a torch.Tensor, got list"),
        ({"image_unit": torch.zeros(1, 3, 8, 8, dtype=torch.uint8)}, TypeError, "floating-point.*torch.uint8"),
        ({"lam": -0.1}, ValueError, r"lam must be a finite number > 0, got -0.1"),
        ({"sigma": "3"}, TypeError, "sigma must be a float, got str"),
        ({"sharpness": 0.0}, ValueError, "sharpness must be a finite number > 0, got 0.0"),
        ({"max_iter": 2.0}, TypeError, "max_iter must be an int, got float"),
        ({"max_iter": 0}, ValueError, "max_iter must be >= 1, got 0"),
        ({"solver": "lu"}, ValueError, r"solver must be one of \('auto', 'exact', 'cg'\), got 'lu'"),
        ({"preconditioner": "ilu"}, ValueError, r"preconditioner must be one of .*got 'ilu'"),
        ({"known": torch.ones(1, 3, 8, 8)}, ValueError, r"known must have shape \(1, 1, 8, 8\).*got \(1, 3, 8, 8\)"),
        ({"known": 1.0}, TypeError, "known must be a torch.Tensor or None, got float"),
    ],
)
def test_bad_arguments_name_the_argument_the_expectation_and_the_value(kwargs, error, message):
    arguments = {"image_unit": torch.rand(1, 3, 8, 8), **kwargs}
    with pytest.raises(error, match=message):
        rtv_smooth(**arguments)


def test_without_scipy_exact_says_what_to_install_and_auto_uses_cg(monkeypatch):
    _, textured = piecewise_constant(32)
    monkeypatch.setitem(sys.modules, "scipy.sparse.linalg", None)
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)
    with pytest.raises(ImportError, match=r"needs scipy: pip install scipy .*solver='cg'"):
        rtv_smooth(textured, solver="exact")
    torch.testing.assert_close(rtv_smooth(textured), rtv_smooth(textured, solver="cg"))


# ------------------------------------------------------------------------------------------------ encoder
def test_smooth_prior_is_a_validated_config_field_whose_default_is_unchanged():
    assert TSGLConfig().smooth_prior == "guided"
    old = TSGLConfig().to_dict()
    del old["smooth_prior"]  # a configuration saved before the field existed
    assert TSGLConfig.from_dict(old) == TSGLConfig()
    with pytest.raises(ValueError, match=r"smooth_prior must be one of \('guided', 'rtv'\), got 'bilateral'"):
        TSGLConfig(smooth_prior="bilateral")
    with pytest.raises(ValueError, match="smooth_prior='rtv' needs smooth_input=True"):
        get_config("tsgl_tiny", smooth_prior="rtv")
    with pytest.raises(ValueError, match="smooth must be one of"):
        StructurePriors(smooth="RTV")


def test_the_encoder_reads_the_rtv_prior_and_stays_hole_invariant():
    torch.manual_seed(0)
    encoder = create_encoder("tsgl_tiny", smooth_input=True, smooth_prior="rtv").eval()
    image = torch.rand(1, 3, 64, 64) * 2 - 1
    mask = hole_mask(1, 64, 64)
    other = torch.where(mask.bool(), image, torch.rand_like(image) * 2 - 1)
    with torch.no_grad():
        features = encoder.forward_features(image, mask)
        pyramid = features.pyramid
        for level, level_other in zip(pyramid, encoder(other, mask), strict=True):
            assert torch.equal(level, level_other)
        _, _, smooth = encoder.priors(image * mask, mask)
        expected = (rtv_smooth((image * mask + 1) / 2, known=mask).clamp(0, 1) * 2 - 1) * mask
        torch.testing.assert_close(smooth, expected)
        guided = create_encoder("tsgl_tiny", smooth_input=True)
        guided.load_state_dict(encoder.state_dict())  # same weights, the other prior: the output changes
        assert not torch.equal(guided.eval()(image, mask)[0], pyramid[0])
