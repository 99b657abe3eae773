"""segmentation_models_pytorch's U-Net as a host of the harness (issue 30; the ``[smp]`` extra).

A generic decoder, so the substitution result can be asked of a model that was not built for inpainting:
``own`` is the U-Net with its own ``resnet34``-style encoder (smp's, no downloaded weights) reading
``cat(image * mask, mask)``; ``tsgl`` puts a TSGL preset in that encoder's place, projected onto its widths
(:func:`adapters.smp.replace_encoder`: decoder and head keep their weights). smp has no inpainting losses of
its own, so the host trains with the library's defaults (hole + valid L1, a PatchGAN, TSGL's structure loss
through the edge head). ``own_wide`` widens ResNet stages ``layer1 .. layer4`` with a residual pair of
3x3 conv + BN layers each; ``own_edge`` puts the edge head on the own encoder's level at ``S_K``'s reduction.
smp is imported when a model is built, not when the harness loads.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ...registry import get_config
from ..losses import ProjectedEdgeHead, StructureEdgeHead
from ..training import EncoderPart, Host, LossWeights, Prediction, example_batch
from ..training.variants import ResidualWidening

WIDEST_STAGE = 512  # channels of a ResNet's layer4
SMP_UNET_LOSSES = LossWeights()  # smp has no inpainting losses of its own: the library's defaults


def _smp():
    import adapters.smp as smp_adapter  # needs the [smp] extra; registers the TSGL presets with smp

    return smp_adapter


def _conv_bn(c_in: int, c_out: int, activation: bool) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if activation else nn.Sequential(*layers)


@dataclass
class SmpUnetHost(Host):
    """``own``: the smp encoder of the ``own`` variant; ``encoder``: the TSGL preset of ``tsgl``; ``depth``:
    the U-Net's levels (3 .. 5 for a ResNet; heights and widths must be multiples of ``2**depth``)."""

    own: str = "resnet34"
    encoder: str = "tsgl_tiny"
    depth: int = 5
    name: str = "smp_unet"
    native_losses: LossWeights = SMP_UNET_LOSSES
    structure_head: bool = True

    def __post_init__(self) -> None:
        if not 3 <= self.depth <= 5:
            raise ValueError(f"depth must be in [3, 5] (a ResNet encoder has 5 levels), got {self.depth}")
        self.size_multiple = 2**self.depth

    def requirement_problem(self) -> str | None:
        if importlib.util.find_spec("segmentation_models_pytorch") is None:  # the error and note say the rest
            return 'needs segmentation_models_pytorch: pip install "tsgl-encoder[smp]"'
        return None

    def build_own(self, width: int | None = None) -> nn.Module:
        """``width``: hidden channels of a residual pair of 3x3 conv + BN after ``layer4`` (narrower stages in
        proportion); the widths the decoder reads are unchanged."""
        model = _smp().create_generator(self.own, self.depth)
        if width is None:
            return model
        for index in range(1, self.depth):
            name = f"layer{index}"
            stage = getattr(model.encoder, name, None)
            if stage is None:
                raise TypeError(f"own encoder {self.own!r} has no ResNet stage {name}: own_wide widens ResNets only")
            channels = model.encoder.out_channels[index + 1]
            hidden = max(1, round(width * channels / WIDEST_STAGE))
            setattr(model.encoder, name, ResidualWidening(stage, _conv_bn(channels, hidden, True),
                                                          _conv_bn(hidden, channels, False)))
        return model

    def widening_range(self) -> tuple[int, int]:
        return 1, 64 * WIDEST_STAGE

    def swap_encoder(self, model: nn.Module, overrides: dict | None = None) -> nn.Module:
        return model if _smp().is_tsgl(model) else _smp().replace_encoder(model, self.encoder, **(overrides or {}))

    def add_edge_head(self, model: nn.Module) -> nn.Module:
        """TSGL's edge head on ``S_K``; for the own encoder (``own_edge``) the same head behind a 1x1 projection
        of its level at ``S_K``'s reduction."""
        if hasattr(model, "edge_head"):
            return model
        if _smp().is_tsgl(model):
            model.edge_head = StructureEdgeHead(model.encoder.tsgl.config.structure_channels)
            return model
        structure = get_config(self.encoder).with_scales(self.depth - 1).structure_channels
        model.edge_head = ProjectedEdgeHead(model.encoder.out_channels[len(structure)], structure)
        return model

    def predict(self, model: nn.Module, image: Tensor, mask: Tensor) -> Prediction:
        x = torch.cat([image * mask, mask], dim=1)  # the hole zeroed for either encoder
        head = getattr(model, "edge_head", None)
        if _smp().is_tsgl(model):
            levels, features = model.encoder.forward_features(x)
        else:
            levels, features = model.encoder(x), None
        output = model.segmentation_head(model.decoder(levels))
        if head is None:
            return Prediction(output)
        if isinstance(head, StructureEdgeHead):
            return Prediction(output, head(features.structure[-1], features.structure_mask))
        return Prediction(output, head(levels[head.reduction.bit_length() - 1], mask))  # the level at 2**K

    def encoder_parameters(self, model: nn.Module) -> int:
        return _smp().parameters_by_part(model)["encoder"]

    @property
    def label(self) -> str:
        return f"smp_unet_{self.own}"

    def example_inputs(self, batch: int, size: int, device: torch.device) -> tuple:
        image, mask = example_batch(batch, size, device)
        return (torch.cat([image * mask, mask], dim=1),)

    def encoder_part(self, model: nn.Module) -> EncoderPart:
        return EncoderPart(f"{self.label} encoder", model.encoder)
