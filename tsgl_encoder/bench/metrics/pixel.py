"""Per-image metrics on ``(B, C, H, W)`` images in ``[0, data_range]``: PSNR, SSIM, L1, and the composite."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .common import check_image, check_same_shape

# SSIM constants (Wang et al. 2004; scikit-image's defaults with gaussian_weights=True).
SSIM_SIGMA = 1.5
SSIM_WINDOW = 11
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _check_pair(pred: object, target: object, data_range: float) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(data_range, int | float) and data_range > 0):
        raise ValueError(f"data_range must be a positive number, got {data_range!r}")
    pred = check_image("pred", pred, data_range)
    target = check_image("target", target, data_range)
    check_same_shape("pred", pred, "target", target)
    dtype = torch.promote_types(pred.dtype, target.dtype)
    return pred.to(dtype), target.to(dtype)



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
    output = check_image("output", output)
    image = check_image("image", image)
    check_same_shape("output", output, "image", image)
    mask_known = check_image("mask_known", mask_known)
    b, c, h, w = image.shape
    if mask_known.shape not in ((b, 1, h, w), (b, c, h, w)):
        raise ValueError(f"mask_known must have shape {(b, 1, h, w)} or {(b, c, h, w)}, got {tuple(mask_known.shape)}")
    dtype = torch.promote_types(output.dtype, image.dtype)
    mask_known = mask_known.to(dtype)
    return image.to(dtype) * mask_known + output.to(dtype) * (1 - mask_known)
