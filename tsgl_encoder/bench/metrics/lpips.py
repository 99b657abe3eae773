"""LPIPS (Zhang et al. 2018, v0.1) from local backbone and linear-layer files."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch

from .common import (
    PathLike,
    check_image,
    check_same_shape,
    default_device,
    find_package_file,
    load_state_dict,
    tap_features,
)

# LPIPS v0.1 input scaling (applied to images in [-1, 1]) and the backbone layers it taps.
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
LPIPS_TAPS = {"alex": (1, 4, 7, 9, 11), "vgg": (3, 8, 15, 22, 29)}  # indices of the ReLUs in `.features`
LPIPS_CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}


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
        state = load_state_dict(backbone_file)
        state = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
        # layers after the last tap (VGG's last max-pool has no weights anyway) are not needed
        state = {k: v for k, v in state.items() if not (k[0].isdigit() and int(k.split(".")[0]) >= len(features))}
        try:
            features.load_state_dict(state, strict=True, assign=True)
        except RuntimeError as error:
            message = f"backbone_path {str(backbone_file)!r} is not a torchvision {net} state_dict: {error}"
            raise ValueError(message) from None
        features.float()

        lin_state = load_state_dict(linear_file)
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
        self.to(default_device(device))

    @staticmethod
    def find_linear_weights(net: str = "alex") -> Path | None:
        """``weights/v0.1/{net}.pth`` inside an installed ``lpips`` package, or ``None``."""
        return find_package_file("lpips", "weights", "v0.1", f"{net}.pth")

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        return tap_features(self.features, x, self.taps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """LPIPS distance per image, a ``(B,)`` tensor (0 for identical images)."""
        pred = check_image("pred", pred, channels=3)
        target = check_image("target", target, channels=3)
        check_same_shape("pred", pred, "target", target)
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
