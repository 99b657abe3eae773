import numpy as np
import pytest
import torch

from tsgl_encoder.bench.masks import (
    HOLE_RATIO_BINS,
    LAMA_EVAL_SETTINGS,
    MASK_GENERATORS,
    MAT_SETTINGS,
    brush_stroke_mask,
    create_mask_generator,
    eval_mask_set,
    hole_ratio,
    lama_mask,
    mat_mask,
)

SIZES = [(256, 256), (512, 512)]
N = 50


def ratios(name, height, width, n=N, seed=0, **kwargs):
    generate = create_mask_generator(name, **kwargs)
    rng = np.random.default_rng(seed)
    masks = [generate(height, width, rng) for _ in range(n)]
    for mask in masks:
        assert mask.shape == (1, height, width) and mask.dtype == torch.float32
        assert np.isin(mask.numpy(), (0.0, 1.0)).all()  # numpy: torch ops crawl on a CPU shared with other jobs
    return np.array([hole_ratio(mask) for mask in masks])


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", ["thin", "medium", "thick"])
def test_lama_eval_masks_are_non_empty_and_at_most_half_hole(kind, size):
    r = ratios(f"lama_{kind}", *size)
    assert (r > 0).all() and (r <= 0.5).all()
    assert 0.15 < r.mean() < 0.40  # upstream eval sets: mean hole 0.24-0.29 for every kind and size
    assert r.max() > 0.35  # the rejection at 50% is reached, not an artificially small family


@pytest.mark.parametrize("size", SIZES)
def test_mat_masks_stay_in_their_hole_range_and_large_exceeds_small(size):
    large, small = ratios("mat_large", *size), ratios("mat_small", *size)
    assert ((large > 0) & (large < 1)).all() and ((small > 0) & (small < 1)).all()
    assert large.mean() > small.mean() + 0.1  # upstream: about 0.40 vs 0.22
    ranged = ratios("mat_large", *size, n=20, hole_range=(0.3, 0.5))
    assert ((ranged > 0.3) & (ranged < 0.5)).all()


def test_mat_low_hole_range_is_refused_unless_counts_are_unscaled():
    # coef = min(0.05 + 0.1, 1) leaves upstream RandomMask nothing to draw (randint(0) or an endless loop)
    with pytest.raises(ValueError, match=r"hole_range=\(0\.05, 0\.1\) gives MAT's coef .* = 0\.15"):
        mat_mask(256, 256, 0, hole_range=(0.05, 0.1), kind="small")
    r = ratios("mat_small", 256, 256, n=5, hole_range=(0.05, 0.1), scale_counts=False)
    assert ((r > 0.05) & (r < 0.1)).all()
    r = ratios("mat_large", 256, 256, n=5, hole_range=(0.1, 0.2))  # coef 0.3: possible, as upstream
    assert ((r > 0.1) & (r < 0.2)).all()


@pytest.mark.parametrize("name", sorted(MASK_GENERATORS))
def test_same_seed_same_mask_different_seed_different(name):
    generate = create_mask_generator(name)
    a = generate(128, 160, np.random.default_rng(3))
    b = generate(128, 160, np.random.default_rng(3))
    c = generate(128, 160, np.random.default_rng(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    if name != "brush":  # an int seed is the same as default_rng(seed)
        assert torch.equal(generate(128, 160, 3), a)


@pytest.mark.parametrize("name", sorted(MASK_GENERATORS))
@pytest.mark.parametrize("size", [(200, 320), (320, 200), (8, 8), (600, 700)])
def test_every_generator_handles_non_square_tiny_and_large_sizes(name, size):
    r = ratios(name, *size, n=3)
    assert ((r > 0) & (r < 1)).all()


def test_non_square_uses_the_setting_of_the_shorter_side():
    a = lama_mask(256, 400, 5, "thick")
    b = lama_mask(256, 400, 5, "thick", setting=256)
    assert torch.equal(a, b) and not torch.equal(a, lama_mask(256, 400, 5, "thick", setting=512))
    assert torch.equal(mat_mask(600, 512, 1), mat_mask(600, 512, 1, setting=512))


def test_settings_follow_the_published_configs():
    assert set(LAMA_EVAL_SETTINGS) == {(k, s) for k in ("thin", "medium", "thick") for s in (256, 512)}
    assert LAMA_EVAL_SETTINGS[("thin", 256)]["strokes"]["max_times"] == 50
    assert LAMA_EVAL_SETTINGS[("thick", 512)]["strokes"]["max_width"] == 250
    assert LAMA_EVAL_SETTINGS[("medium", 512)]["boxes"]["bbox_max_size"] == 150
    assert LAMA_EVAL_SETTINGS[("thin", 512)]["box_proba"] == 0
    assert MAT_SETTINGS == {("large", 256): (4, 2, 8), ("large", 512): (5, 3, 9),
                            ("small", 256): (2, 2, 3), ("small", 512): (3, 2, 4)}


def test_eval_set_fills_every_bin_with_masks_in_that_bin():
    masks = eval_mask_set(128, 128, per_bin=6, seed=0)
    assert list(masks) == ["10-20%", "20-30%", "30-40%", "40-50%", "50-60%"]
    for (low, high), batch in zip(HOLE_RATIO_BINS, masks.values(), strict=True):
        assert batch.shape == (6, 1, 128, 128) and batch.dtype == torch.float32
        r = hole_ratio(batch)
        assert ((r >= low) & (r < high)).all()
        assert all(low <= hole_ratio(m) < high for m in batch)
    again = eval_mask_set(128, 128, per_bin=6, seed=0)
    other = eval_mask_set(128, 128, per_bin=6, seed=1)
    assert all(torch.equal(masks[k], again[k]) for k in masks)
    assert not any(torch.equal(masks[k], other[k]) for k in masks)


def test_eval_set_with_other_generators_and_bins():
    masks = eval_mask_set(96, 128, per_bin=3, seed=2, generator="lama_thick", bins=((0.0, 0.25), (0.25, 0.5)))
    assert list(masks) == ["0-25%", "25-50%"]
    assert (hole_ratio(masks["25-50%"]) >= 0.25).all()
    custom = eval_mask_set(64, 64, per_bin=2, seed=0, generator=lambda h, w, rng: mat_mask(h, w, rng, kind="small"),
                           bins=((0.1, 0.3),))
    assert custom["10-30%"].shape == (2, 1, 64, 64)


def test_eval_set_raises_naming_a_bin_it_cannot_fill():
    with pytest.raises(RuntimeError, match="50-60%"):  # LaMa rejects masks above 50% hole
        eval_mask_set(64, 64, per_bin=1, seed=0, generator="lama_thin", bins=((0.2, 0.3), (0.5, 0.6)),
                      max_attempts=30)


def test_hole_ratio_on_single_batched_and_bool_masks():
    mask = torch.ones(1, 10, 10)
    mask[..., :3, :] = 0
    assert hole_ratio(mask) == pytest.approx(0.3) and hole_ratio(mask[0]) == pytest.approx(0.3)
    assert hole_ratio(mask.bool()) == pytest.approx(0.3) and hole_ratio(mask.numpy()) == pytest.approx(0.3)
    batch = torch.stack([mask, torch.ones(1, 10, 10)])
    assert torch.allclose(hole_ratio(batch), torch.tensor([0.3, 0.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="mask must have shape"):
        hole_ratio(torch.ones(10))


def test_bad_arguments_name_what_was_expected_and_received():
    with pytest.raises(ValueError, match=r"height must be an integer >= 8.*got 4"):
        lama_mask(4, 64, 0)
    with pytest.raises(ValueError, match=r"width must be an integer >= 8.*got 7"):
        mat_mask(64, 7, 0)
    with pytest.raises(ValueError, match=r"height must be an integer >= 8"):
        brush_stroke_mask(2, 64, 0)
    with pytest.raises(ValueError, match=r"kind must be one of \('thin', 'medium', 'thick'\), got 'huge'"):
        lama_mask(64, 64, 0, kind="huge")
    with pytest.raises(ValueError, match=r"kind must be one of \('large', 'small'\), got 'thin'"):
        mat_mask(64, 64, 0, kind="thin")
    with pytest.raises(ValueError, match=r"setting must be one of .*got 300"):
        lama_mask(64, 64, 0, setting=300)
    with pytest.raises(ValueError, match=r"hole_range must be .*got \(0\.6, 0\.2\)"):
        mat_mask(64, 64, 0, hole_range=(0.6, 0.2))
    with pytest.raises(ValueError, match=r"max_hole must be"):
        lama_mask(64, 64, 0, max_hole=0)
    with pytest.raises(ValueError, match=r"name must be one of \[.*'lama_thin'.*'mat_large'.*\].*got 'nope'"):
        create_mask_generator("nope")
    for bins in [(), ((0.3, 0.2),), ((0.1, 0.3), (0.2, 0.4)), ((0.1, 1.2),), (0.1, 0.2)]:
        with pytest.raises(ValueError, match=r"bins must be .*got"):
            eval_mask_set(64, 64, per_bin=1, seed=0, bins=bins)
    with pytest.raises(ValueError, match=r"per_bin must be an integer >= 1, got 0"):
        eval_mask_set(64, 64, per_bin=0, seed=0)
    with pytest.raises(ValueError, match=r"generator must be a name in"):
        eval_mask_set(64, 64, per_bin=1, seed=0, generator=3)
    with pytest.raises(ValueError, match=r"non-negative int seed .*got -1"):
        lama_mask(64, 64, -1)
    with pytest.raises(TypeError, match=r"non-negative int seed .*got str"):
        mat_mask(64, 64, "0")
