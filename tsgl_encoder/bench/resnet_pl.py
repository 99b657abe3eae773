"""LaMa's high receptive field perceptual loss: **ResNet-PL** (the paper's *HRF PL*).

Suvorov et al., "Resolution-robust Large Mask Inpainting with Fourier Convolutions" (LaMa), "High receptive
field perceptual loss":

    L_HRFPL(x, x_hat) = M([phi_HRF(x) - phi_HRF(x_hat)]^2)

with ``[. - .]^2`` element-wise, ``phi_HRF`` a segmentation network with a high receptive field and ``M`` the
two-stage mean (intra-layer mean, then across layers). The official code (``ResNetPL`` in
``saicinpainting/training/losses/perceptual.py``) is what :class:`ResNetPL` reproduces::

    loss = weight * sum_{i=1..4} mse(phi_i(norm(pred)), phi_i(norm(target)))

i.e. the across-layer step is a **sum** (4x the paper's mean; LaMa's configs use ``weight: 30``), ``norm`` is
the ImageNet mean/std normalisation of images in **[0, 1]** (LaMa's images and sigmoid outputs; this library's
encoders take [-1, 1]: pass ``(x + 1) / 2``), and ``phi_1..4`` are the four stage outputs of the MIT CSAIL ADE20k
``resnet50dilated`` encoder (:class:`DilatedResNet50`): a ResNet-50 with a deep 3-conv stem whose ``layer3`` /
``layer4`` are dilated (2 / 4) instead of strided, so the maps have strides 4, 8, 8, 8.

Weights: the CSAIL ``encoder_epoch_20.pth`` (LaMa's README: ``ade20k/ade20k-resnet50dilated-ppm_deepsup/``),
read from a local path only. Its keys are those of :class:`DilatedResNet50`, loaded strictly (only BatchNorm
``num_batches_tracked`` counters may be absent, as in files written before PyTorch 0.4.1; they never enter the maths).

Deviation from the official code: upstream calls ``eval()`` once, so a parent's ``train()`` (e.g. PyTorch
Lightning's: LaMa's ResNetPL is a child of its training module) switches its BatchNorms back to training mode
(batch statistics, drifting running stats); here the encoder stays in eval mode whatever the parent does.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.resnet import Bottleneck

from ..checkpoints import UnsafeCheckpointError, load_file

ADE20K_ENCODER_FILE = "ade20k/ade20k-resnet50dilated-ppm_deepsup/encoder_epoch_20.pth"  # under LaMa's TORCH_HOME
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def make_stage(in_channels: int, planes: int, blocks: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """``blocks`` Bottlenecks (stride on the 3x3 conv, shortcut = strided 1x1 conv + BN).

    ``dilation > 1`` is CSAIL's ``_nostride_dilate(dilate=dilation)`` applied to a stride-2 stage: every conv
    loses its stride, the first block's 3x3 gets dilation (and padding) ``dilation // 2``, every other 3x3
    gets ``dilation``; 1x1 convs are only un-strided.
    """
    width = planes * Bottleneck.expansion
    shortcut = nn.Sequential(nn.Conv2d(in_channels, width, 1, stride=stride, bias=False), nn.BatchNorm2d(width))
    first_dilation = max(dilation // 2, 1)
    layers = [Bottleneck(in_channels, planes, stride, shortcut, dilation=first_dilation)]
    layers += [Bottleneck(width, planes, dilation=dilation) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class DilatedResNet50(nn.Module):
    """The ADE20k ``resnet50dilated`` encoder (CSAIL ``ResnetDilated(resnet50, dilate_scale=8)``).

    ``forward(x (B, 3, H, W)) -> [layer1, layer2, layer3, layer4]`` with :attr:`out_channels` channels at
    :attr:`reductions` (``ceil`` of ``H / r``). The state_dict keys equal the official encoder checkpoint's.
    """

    out_channels = (256, 512, 1024, 2048)
    reductions = (4, 8, 8, 8)

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1, self.relu1 = conv3x3(3, 64, stride=2), nn.BatchNorm2d(64), nn.ReLU(inplace=True)
        self.conv2, self.bn2, self.relu2 = conv3x3(64, 64), nn.BatchNorm2d(64), nn.ReLU(inplace=True)
        self.conv3, self.bn3, self.relu3 = conv3x3(64, 128), nn.BatchNorm2d(128), nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = make_stage(128, 64, 3)
        self.layer2 = make_stage(256, 128, 4, stride=2)
        self.layer3 = make_stage(512, 256, 6, dilation=2)
        self.layer4 = make_stage(1024, 512, 3, dilation=4)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """CSAIL's ResNet init: conv ``N(0, 2 / (k * k * out_channels))``, BatchNorm weight 1, bias 0."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.relu2(self.bn2(self.conv2(x)))
        x = self.maxpool(self.relu3(self.bn3(self.conv3(x))))
        features = []
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
            features.append(x)
        return features


def resolve_weights_path(weights_path: str | Path) -> Path:
    """A file, or a directory (LaMa's ``TORCH_HOME``) holding :data:`ADE20K_ENCODER_FILE`."""
    path = Path(weights_path)
    if path.is_dir():
        path = path / ADE20K_ENCODER_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"ResNet-PL: no ADE20k resnet50dilated encoder weights at {str(path)!r} (local files only, nothing is "
            f"downloaded); pass the CSAIL encoder_epoch_20.pth or a directory holding {ADE20K_ENCODER_FILE}"
        )
    return path


def _preview(keys: list[str], limit: int = 4) -> str:
    more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return f"{keys[:limit]}{more}"


def check_encoder_state(state: object, expected: Mapping[str, Tensor], source: str = "state_dict") -> None:
    """ValueError unless ``state`` has exactly the ``expected`` keys and shapes (``num_batches_tracked`` optional)."""
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"ResNet-PL: {source} is not a state_dict (a mapping of names to tensors)")
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    mismatched = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or mismatched:
        raise ValueError(
            f"ResNet-PL: {source} is not an ADE20k resnet50dilated encoder state_dict: missing keys "
            f"{_preview(missing)}, unexpected keys {_preview(unexpected)}, wrong shapes {_preview(mismatched)}"
        )


def load_encoder(weights_path: str | Path) -> DilatedResNet50:
    """A :class:`DilatedResNet50` with the weights of a local file (or ``TORCH_HOME``-style directory)."""
    path = resolve_weights_path(weights_path)
    try:
        state = load_file(path)  # tensors and plain containers only; a foreign global is refused by name
    except UnsafeCheckpointError:
        raise
    except Exception as error:
        raise ValueError(f"ResNet-PL: cannot read {str(path)!r} as a torch state_dict ({error})") from error
    encoder = DilatedResNet50()
    expected = encoder.state_dict()
    check_encoder_state(state, expected, repr(str(path)))
    counters = {k: v for k, v in expected.items() if k not in state}  # absent num_batches_tracked only
    encoder.load_state_dict({**state, **counters}, strict=True)
    return encoder


class ResNetPL(nn.Module):
    """LaMa's ResNet-PL: ``weight * sum_i mse(phi_i(pred), phi_i(target))`` over the four stage outputs.

    ``pred`` and ``target``: ``(B, 3, H, W)`` RGB in [0, 1]. The encoder is frozen and always in eval mode.
    Like upstream, ``target`` is not detached (a target that requires grad receives gradients).
    """

    def __init__(self, weights_path: str | Path, weight: float = 1.0) -> None:
        super().__init__()
        self.encoder = load_encoder(weights_path).eval().requires_grad_(False)
        self.weight = weight
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> ResNetPL:
        super().train(mode)
        self.encoder.eval()
        return self

    def extract(self, image: Tensor) -> list[Tensor]:
        """The four feature maps of an image in [0, 1]."""
        return self.encoder((image - self.mean) / self.std)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        pairs = zip(self.extract(pred), self.extract(target), strict=True)
        return torch.stack([F.mse_loss(a, b) for a, b in pairs]).sum() * self.weight


__all__ = ["ADE20K_ENCODER_FILE", "DilatedResNet50", "ResNetPL", "check_encoder_state", "load_encoder"]
