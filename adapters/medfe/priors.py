"""The priors of TSGL(MEDFE): this library's honest default and the official test pipeline.

``"masked"`` (the default): edge, gray and the smoothed image are computed in torch from the **masked**
image (the encoder's :class:`tsgl_encoder.priors.StructurePriors`), so hole pixels never reach the model.

``"official"`` reproduces ``TSGL_MEDFE/test`` (``dataset_loader.py``, ``canny.py``), on which the official
weights were trained. It **leaks the ground truth into the input**: the priors are computed from the
*unmasked* image, so the model sees the edges and colours of the hole. Scores obtained with it are not
inpainting scores; use it to reproduce the paper's numbers and to measure how much the leak is worth.

* edge / gray: ``canny.image_to_edge`` runs ``ToPILImage`` on the image *after* its normalisation to
  [-1, 1]; ``mul(255).byte()`` wraps negative values (-1 -> 1, -0.5 -> 129, 0.5 -> 127, 1 -> 255).
  gray = scikit-image ``rgb2gray`` of that uint8 image, edge = scikit-image ``canny(gray, sigma=2)``;
* smooth: the RTV image (``tsmooth(img, 0.015, 3, 0.001, 3)``, MEDFE's ``generate_structure_images.m``)
  of the unmasked image, in [-1, 1]; computed with :func:`tsgl_encoder.rtv.rtv_smooth` unless passed.

scikit-image is part of the ``[bench]`` extra; it is imported only when ``"official"`` priors are computed.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

PRIORS = ("masked", "official")


def wrap_like_to_pil_image(image: Tensor) -> Tensor:
    """``(B, 3, H, W)`` in [-1, 1] -> the uint8 values ``torchvision``'s ``ToPILImage`` gives it (as float):
    ``mul(255)`` in float32, truncation toward zero, then modulo 256 (negative values wrap)."""
    return torch.remainder(torch.trunc(image.float() * 255.0), 256.0)


def _skimage():
    try:
        from skimage.color import rgb2gray
        from skimage.feature import canny
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "priors='official' computes the official Canny edges with scikit-image, which this environment "
            "lacks; install the [bench] extra (pip install 'tsgl-encoder[bench]') or pass edge= and gray="
        ) from error
    return rgb2gray, canny


def official_edge_gray(image: Tensor, sigma: float = 2.0) -> tuple[Tensor, Tensor]:
    """The official ``image_to_edge(image, sigma=2)`` per image: ``(edge, gray)``, each ``(B, 1, H, W)`` float32."""
    rgb2gray, canny = _skimage()
    wrapped = wrap_like_to_pil_image(image.detach()).to(torch.uint8).cpu().permute(0, 2, 3, 1).numpy()
    edges, grays = [], []
    for picture in wrapped:
        gray = rgb2gray(np.ascontiguousarray(picture))  # float64 in [0, 1]
        edges.append(canny(gray, sigma=sigma).astype(np.float32))
        grays.append(gray.astype(np.float32))
    as_tensor = [torch.from_numpy(np.stack(x))[:, None].to(image.device) for x in (edges, grays)]
    return as_tensor[0], as_tensor[1]


def official_smooth(image: Tensor) -> Tensor:
    """The RTV image of the unmasked ``image`` (in [-1, 1]), MEDFE's MATLAB parameters."""
    try:
        from tsgl_encoder.rtv import rtv_smooth  # imported on use: the RTV solver is optional here
    except ImportError as error:  # pragma: no cover - depends on the library version
        raise ImportError("priors='official' computes the RTV image with tsgl_encoder.rtv, which this version "
                          "lacks; pass smooth= (the RTV image of the unmasked image, in [-1, 1])") from error

    return rtv_smooth(((image.detach().float() + 1.0) / 2.0).clamp(0.0, 1.0)) * 2.0 - 1.0


def compute_priors(image: Tensor, kind: str, edge: Tensor | None, gray: Tensor | None, smooth: Tensor | None,
                   with_smooth: bool = True) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
    """``(edge, gray, smooth)`` for the encoder: what was passed, the rest computed as ``kind`` says.

    ``"masked"`` leaves missing priors to the encoder (it computes them from the masked image);
    ``"official"`` fills them from the unmasked ``image`` (see the module docstring; the smoothed image only
    ``with_smooth``: encoders without the smoothed input do not read it).
    """
    if kind not in PRIORS:
        raise ValueError(f"priors must be one of {PRIORS}, got {kind!r}")
    if kind == "masked":
        return edge, gray, smooth
    if edge is None or gray is None:
        official_edge, official_gray = official_edge_gray(image)
        edge = official_edge.to(image.dtype) if edge is None else edge
        gray = official_gray.to(image.dtype) if gray is None else gray
    if smooth is None and with_smooth:
        smooth = official_smooth(image).to(image.dtype)
    return edge, gray, smooth


__all__ = ["PRIORS", "compute_priors", "official_edge_gray", "official_smooth", "wrap_like_to_pil_image"]
